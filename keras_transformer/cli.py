"""The ``keras-transformer`` command line: parse arguments, call the library.

keras-transformer train CONFIG --workdir DIR [--set key=value ...]
keras-transformer evaluate --workdir DIR [--split test] [--decode beam]
keras-transformer translate --workdir DIR [TEXT ...] [--attention out.png]
keras-transformer export --workdir DIR EXPORT_DIR [--version N]
"""

import argparse
import json
import os
import signal
import sys

from keras_transformer.errors import TrainingInterrupted, UserError


def positive_int(text):
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {value}"
        )
    return value


def _decoding_fields():
    import dataclasses
    import typing

    from keras_transformer.inference.decoding_config import DecodingConfig

    hints = typing.get_type_hints(DecodingConfig)
    return [
        (field, hints[field.name])
        for field in dataclasses.fields(DecodingConfig)
    ]


def _argument_type(annotation):
    """argparse keywords for a dataclass field's annotation."""
    import typing

    if typing.get_origin(annotation) is typing.Union:
        annotation = [
            a for a in typing.get_args(annotation) if a is not type(None)
        ][0]
    if typing.get_origin(annotation) is typing.Literal:
        return {"choices": typing.get_args(annotation)}
    return {"type": annotation}


def _decoding_options():
    """The decoding flags of evaluate, translate, predict and export, made
    from the fields of ``DecodingConfig``."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("decoding (default: the run's config)")
    for field, annotation in _decoding_fields():
        flag = field.metadata.get("flag", field.name).replace("_", "-")
        group.add_argument(
            f"--{flag}",
            dest=field.name,
            help=field.metadata["help"],
            **_argument_type(annotation),
        )
    return parent


def _decoding(args, experiment):
    """The run's ``DecodingConfig`` with the flags given on the command line."""
    return experiment.evaluation.decoding.replace(
        **{
            field.name: getattr(args, field.name)
            for field, _ in _decoding_fields()
        }
    )


def _parser():
    decoding = _decoding_options()
    parser = argparse.ArgumentParser(
        prog="keras-transformer",
        description="Train and evaluate Transformers (Vaswani et al. 2017).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train", help="train an experiment (resumes an interrupted run)"
    )
    train.add_argument("config", help="experiment YAML file (see configs/)")
    train.add_argument("--workdir", required=True, help="the run directory")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set training.steps=200",
    )
    evaluate = commands.add_parser(
        "evaluate",
        help="recompute metrics.json of a finished run",
        parents=[decoding],
    )
    evaluate.add_argument("--workdir", required=True)
    evaluate.add_argument(
        "--split", default="test", choices=("train", "validation", "test")
    )
    translate = commands.add_parser(
        "translate",
        help="translate TEXT arguments (or stdin lines), one per line",
        parents=[decoding],
    )
    translate.add_argument("--workdir", required=True)
    translate.add_argument("text", nargs="*", help="sentences (default: stdin)")
    translate.add_argument(
        "--attention",
        metavar="PNG",
        help="save the cross-attention heatmap of the first sentence",
    )
    translate.add_argument(
        "--scores", action="store_true", help="print each score and a tab first"
    )
    translate.add_argument(
        "--batch-size",
        type=positive_int,
        default=64,
        help="sentences per decoding batch",
    )
    export = commands.add_parser(
        "export",
        help="write a SavedModel for TensorFlow Serving to EXPORT_DIR/N/",
        parents=[decoding],
    )
    export.add_argument("--workdir", required=True)
    export.add_argument("export_dir", help="the model's base directory")
    export.add_argument(
        "--version",
        type=positive_int,
        help="version folder, >= 1 (default: next number)",
    )
    export.add_argument(
        "--max-new-tokens",
        type=positive_int,
        default=100,
        help="tokens a language model generates per prompt",
    )
    return parser


def _print_metrics(metrics):
    examples = metrics.pop("examples", [])
    print(json.dumps(metrics, indent=2))
    if examples:
        print("\nTranslations of held-out inputs:")
        for example in examples:
            print(f"  source:      {example['source']}")
            print(f"  translation: {example['translation']}")
            print(f"  reference:   {example['reference']}\n")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _one_line(err):
    return " ".join(str(err).split()) or type(err).__name__


def main(argv=None):
    """Entry point of the console script; returns the exit status.

    Errors the user can fix print one line, ``error: ...``, and return 1;
    Ctrl-C (or SIGTERM) returns 130 after saying how to resume.
    """
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # SIGTERM (a scheduler stopping the job) ends like Ctrl-C: files are
    # left complete, and the message says how to resume.
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main(args)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def _report(args, message):
    """Prints ``message`` to stderr, on a line of its own."""
    if args.command in ("train", "evaluate") and sys.stdout.isatty():
        print(flush=True)  # end the line of a progress bar first
    print(message, file=sys.stderr)


def _main(args):
    try:
        return _run(args)
    except TrainingInterrupted as err:
        _report(args, f"interrupted: {_one_line(err)}")
        return 130
    except KeyboardInterrupt:
        _report(
            args,
            "interrupted; files already written are complete: rerun the "
            "same command to continue.",
        )
        return 130
    except (UserError, FileNotFoundError, FileExistsError, ValueError) as err:
        _report(args, f"error: {_one_line(err)}")
        return 1
    except OSError as err:
        from keras_transformer.run import disk_problem

        problem = disk_problem(err)
        if problem is None:
            raise
        where = f" ({err.filename})" if err.filename else ""
        _report(
            args,
            f"error: {problem}{where}. Fix that, then rerun the same "
            "command: completed work is kept.",
        )
        return 1


def _run(args):
    from keras_transformer.experiment import load_experiment
    from keras_transformer.training.train import train_and_evaluate

    if args.command == "train":
        experiment = load_experiment(args.config, args.set)
        _print_metrics(dict(train_and_evaluate(experiment, args.workdir)))
    elif args.command == "evaluate":
        _print_metrics(dict(_evaluate(args)))
    elif args.command == "translate":
        return _translate(args)
    else:
        _export(args)
    return 0


def _evaluate(args):
    from keras_transformer.run import read_experiment
    from keras_transformer.training.train import evaluate

    decoding = _decoding(args, read_experiment(args.workdir))
    return evaluate(args.workdir, args.split, decoding=decoding)


def _read_lines(stream, name="stdin"):
    """Lines of a binary stream; invalid UTF-8 lines become None (reported).

    Returns:
        ``(texts, problems)``.
    """
    texts, problems = [], []
    for number, raw in enumerate(stream, 1):
        try:
            texts.append(raw.decode("utf-8").rstrip("\r\n"))
        except UnicodeDecodeError as err:
            texts.append(None)
            problems.append(
                f"line {number} of {name} is not valid UTF-8 (byte "
                f"{raw[err.start]:#04x} at column {err.start + 1}); it was "
                "skipped and its output line left empty"
            )
    return texts, problems


def _translate(args):
    from keras_transformer.errors import ConfigError, RunError
    from keras_transformer.run import load_run
    from keras_transformer.training.train import translator_for

    if args.attention:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ConfigError(
                "--attention draws with matplotlib, which is not installed: "
                "pip install matplotlib (or the package's [notebooks] extra)."
            ) from None
    experiment, model, tokenizers = load_run(args.workdir, compile=False)
    if experiment.task != "translation":
        raise RunError(
            f"{args.workdir} holds a {experiment.task} run; translate needs "
            "a translation run."
        )
    problems = []
    if args.text:
        texts = list(args.text)
    else:
        texts, problems = _read_lines(sys.stdin.buffer)
    translator = translator_for(
        experiment, model, tokenizers, _decoding(args, experiment)
    )
    valid = [text for text in texts if text is not None]
    translations, scores = translator.translate_with_scores(
        valid, batch_size=args.batch_size
    )
    outputs = iter(zip(translations, scores))
    for text in texts:
        if text is None:
            print("")
            continue
        translation, score = next(outputs)
        print(f"{score:.4f}\t{translation}" if args.scores else translation)
    if args.attention and valid:
        from keras_transformer.inference.attention_plot import (
            save_attention_heatmap,
        )

        save_attention_heatmap(
            *translator.cross_attention(valid[0]), path=args.attention
        )
        print(f"cross-attention of the first sentence: {args.attention}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _export(args):
    from keras_transformer.export.saved_model import export_run
    from keras_transformer.run import read_experiment

    experiment = read_experiment(args.workdir)
    result = export_run(
        args.workdir,
        args.export_dir,
        version=args.version,
        decoding=_decoding(args, experiment),
        max_new_tokens=args.max_new_tokens,
    )
    megabytes = result["bytes"] / 2**20
    print(
        f"SavedModel written to {result['path']} ({megabytes:.1f} MiB, "
        f"{result['seconds']} s); signature serving_default."
    )


if __name__ == "__main__":
    sys.exit(main())
