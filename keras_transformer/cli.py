"""The ``keras-transformer`` command line: parse arguments, call the library.

keras-transformer train CONFIG --workdir DIR [--set key=value ...]
keras-transformer evaluate --workdir DIR [--split test] [--decode beam]
keras-transformer translate --workdir DIR [TEXT ...] [--attention out.png]
keras-transformer export --workdir DIR EXPORT_DIR [--version N]
keras-transformer average RUN_DIR --last K
"""

import argparse
import json
import os
import signal
import sys

from keras_transformer.errors import TrainingInterrupted, UserError, shorten


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


def _argument_type(name, annotation):
    """argparse keywords for the ``DecodingConfig`` field ``name``: its
    choices, or a type that converts and checks the value with the
    config's own bounds (so a bad value is an argument error)."""
    import typing

    from keras_transformer.inference.decoding_config import DecodingConfig

    if typing.get_origin(annotation) is typing.Union:
        annotation = [
            a for a in typing.get_args(annotation) if a is not type(None)
        ][0]
    if typing.get_origin(annotation) is typing.Literal:
        return {"choices": typing.get_args(annotation)}

    def parse(text):
        try:
            value = annotation(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if annotation is int else 'a number'}"
                f", got {text!r}"
            ) from None
        try:
            DecodingConfig(**{name: value})
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
        return value

    parse.__name__ = annotation.__name__
    return {"type": parse}


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
            **_argument_type(field.name, annotation),
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
    _add_train(commands)
    _add_import(commands)
    _add_average(commands)
    _add_evaluate(commands, decoding)
    _add_predict(commands, decoding)
    _add_export(commands, decoding)
    return parser


def _add_train(commands):
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


def _add_import(commands):
    imported = commands.add_parser(
        "import",
        help="make a run directory of a published checkpoint (Marian/"
        "OPUS-MT, GPT-2): translate, predict, evaluate and export then work "
        "on it",
    )
    imported.add_argument(
        "checkpoint", help="a Hugging Face checkpoint directory"
    )
    imported.add_argument("--workdir", required=True, help="the new run")
    imported.add_argument(
        "--config",
        help="experiment YAML of the data, evaluation and decoding settings "
        "(its model section is replaced by the checkpoint)",
    )
    imported.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a key of the experiment, e.g. "
        "--set evaluation.decoding.beam_size=6",
    )


def _add_average(commands):
    average = commands.add_parser(
        "average",
        help="make model.keras the average of a run's last K snapshots "
        "(training.average_last), then evaluate it",
    )
    average.add_argument("workdir", metavar="RUN_DIR", help="the run")
    average.add_argument(
        "--last",
        type=positive_int,
        required=True,
        metavar="K",
        help="how many of the newest snapshots (1: the final weights)",
    )


def _add_evaluate(commands, decoding):
    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a finished run on a split; writes eval/<split>-"
        "<decoding>.json and .tsv",
        parents=[decoding],
    )
    evaluate.add_argument("--workdir", required=True)
    evaluate.add_argument(
        "--split", default="test", choices=("train", "validation", "test")
    )
    evaluate.add_argument(
        "--output-dir",
        metavar="DIR",
        help="write the results to DIR instead of the run's eval/ (e.g. "
        "for a read-only run directory)",
    )


def _add_predict(commands, decoding):
    """``predict``, and its aliases for the runs of one task
    (``PREDICT_ALIASES``: ``translate``)."""
    from keras_transformer.tasks.registry import PREDICT_ALIASES

    aliases = tuple(
        (alias, f"predict for a {task} run")
        for alias, task in PREDICT_ALIASES.items()
    )
    for name, help in (
        (
            "predict",
            "run a finished model on TEXT arguments (or stdin lines): "
            "translations, labels, completions, [MASK] fillers or answers "
            "(question answering reads question<TAB>context and prints "
            "answer<TAB>start<TAB>end, character offsets); one line per "
            "input: in an output, a backslash, newline, carriage return "
            "and tab are written \\\\, \\n, \\r and \\t, other line "
            "breaks \\uXXXX",
        ),
        *aliases,
    ):
        command = commands.add_parser(
            name, help=help, description=help, parents=[decoding]
        )
        command.add_argument("--workdir", required=True)
        command.add_argument(
            "text", nargs="*", help="inputs, one per argument (default: stdin)"
        )
        command.add_argument(
            "--output",
            metavar="FILE",
            help="write the outputs to FILE (one line per input) instead of "
            "standard output",
        )
        command.add_argument(
            "--scores",
            action="store_true",
            help="print each output's score and a tab first",
        )
        command.add_argument(
            "--batch-size",
            type=positive_int,
            default=64,
            help="inputs per batch",
        )
        command.add_argument(
            "--max-new-tokens",
            type=positive_int,
            default=100,
            help="tokens a language model adds to each prompt",
        )
        command.add_argument(
            "--attention",
            metavar="PNG",
            help="(translation) save the cross-attention heatmap of the "
            "first input",
        )


def _add_export(commands, decoding):
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
    export.add_argument(
        "--jit-compile",
        action="store_true",
        help="(translation, summarisation) run the search under XLA, one "
        "compilation per batch size and source-length bucket at its first "
        "request; TensorFlow Serving on a CPU then needs "
        "--xla_cpu_compilation_enabled=true",
    )
    export.add_argument(
        "--quantize",
        choices=("int8",),
        help="serve int8 weights (per-channel scales): a smaller file; see "
        "docs/export-serving.md for the quality and speed measured",
    )
    export.add_argument(
        "--serve-batch-size",
        type=positive_int,
        metavar="N",
        help="the most inputs the graph runs at once, which bounds its "
        "memory; larger requests run in chunks of N (default 64)",
    )


def _print_metrics(metrics):
    examples = metrics.pop("examples", [])
    print(json.dumps(metrics, indent=2))
    if examples:
        print("\nOutputs on held-out inputs:")
        width = max(len(key) for key in examples[0]) + 2
        for example in examples:
            for key, value in example.items():
                print(f"  {key + ':':<{width}}{value}")
            print()


def _import_tensorflow_quietly():
    """Imports TensorFlow without the lines its C++ runtime writes to
    stderr before its logging is set up (TF_CPP_MIN_LOG_LEVEL cannot
    silence those); an import error still shows."""
    if (
        "tensorflow" in sys.modules
        or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"
    ):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pass  # reported by the import that needs it, with stderr back
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


#: The most characters of an error line (a value quoted whole could be
#: megabytes long).
MESSAGE_LIMIT = 2000


def _one_line(err):
    text = " ".join(str(err)[: 4 * MESSAGE_LIMIT].split())
    return shorten(text, MESSAGE_LIMIT) or type(err).__name__


def main(argv=None):
    """Entry point of the console script; returns the exit status.

    Errors the user can fix print one line, ``error: ...``, and return 1;
    Ctrl-C (or SIGTERM) returns 130 after saying how to resume.
    """
    args = _parser().parse_args(argv)
    # TensorFlow's C++ log lines (CUDA probing on CPU machines, ...) are
    # noise here; TF_CPP_MIN_LOG_LEVEL=0 in the environment shows them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _import_tensorflow_quietly()
    # SIGTERM (a scheduler stopping the job) ends like Ctrl-C: files are
    # left complete, and the message says how to resume.
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main(args)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def _report(args, message):
    """Prints ``message`` to stderr, on a line of its own."""
    if args.command in ("train", "evaluate", "average") and sys.stdout.isatty():
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
    except Exception as err:  # a full disk, as any library reports it
        from keras_transformer.run_files import disk_problem

        problem = disk_problem(err)
        if problem is None:
            raise
        filename = getattr(err, "filename", None)
        where = f" ({filename})" if filename else ""
        _report(
            args,
            f"error: {problem}{where}. Fix that, then rerun the same "
            "command: completed work is kept.",
        )
        return 1


def _run(args):
    from keras_transformer import backend
    from keras_transformer.experiment import load_experiment
    from keras_transformer.train import train_and_evaluate

    backend.keep_tensorflow_off_accelerators()
    if args.command == "train":
        experiment = load_experiment(args.config, args.set)
        _print_metrics(dict(train_and_evaluate(experiment, args.workdir)))
    elif args.command == "import":
        _import(args)
    elif args.command == "evaluate":
        _evaluate(args)
    elif args.command == "average":
        from keras_transformer.train import average_run

        metrics = average_run(args.workdir, args.last)
        print(f"averaged steps {metrics['averaged']}: {_summary(metrics)}")
    elif args.command in ("predict", "translate"):
        return _predict(args)
    else:
        _export(args)
    return 0


def _import(args):
    from keras_transformer.experiment import (
        experiment_from_dict,
        load_experiment,
        set_override,
    )
    from keras_transformer.import_checkpoint import (
        checkpoint_task,
        import_checkpoint,
    )

    if args.config:
        experiment = load_experiment(args.config, args.set)
    else:
        values = {"task": checkpoint_task(args.checkpoint)}
        for assignment in args.set:
            set_override(values, assignment)
        experiment = experiment_from_dict(values)
    import_checkpoint(args.checkpoint, args.workdir, experiment)


def _summary(metrics):
    """``bleu 33.18, chrf 58.03, loss 2.1012, ...`` of the numbers."""
    first = ("bleu", "chrf", "exact_match", "accuracy", "perplexity", "loss")
    keys = [key for key in first if key in metrics] + sorted(
        key
        for key, value in metrics.items()
        if key not in first and isinstance(value, (int, float))
    )
    return ", ".join(f"{key} {metrics[key]}" for key in keys)


def _evaluate(args):
    from keras_transformer.run import read_experiment
    from keras_transformer.train import evaluate

    decoding = _decoding(args, read_experiment(args.workdir))
    metrics = evaluate(
        args.workdir,
        args.split,
        decoding=decoding,
        output_dir=args.output_dir,
    )
    how = f", {metrics['decode']}" if "decode" in metrics else ""
    print(
        f"{args.split}{how}: {_summary(metrics)} -> "
        f"{', '.join(metrics['outputs'])}"
    )


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


def _parse_inputs(predictor, texts, what):
    """The predictor's examples of the input lines (``parse_line``: e.g.
    question<TAB>context); the error names the line."""
    from keras_transformer.errors import UserError

    examples = []
    for number, text in enumerate(texts, 1):
        try:
            example = None if text is None else predictor.parse_line(text)
        except UserError as err:
            raise type(err)(f"{what} {number}: {err}") from None
        examples.append(example)
    return examples


def _predict(args):
    from keras_transformer.run import load_finished, read_experiment

    _check_attention(args)
    experiment = read_experiment(args.workdir)
    _check_predict(args, experiment)
    task, model = load_finished(args.workdir, compile=False)
    predictor = task.predictor(
        model,
        _decoding(args, experiment),
        max_new_tokens=args.max_new_tokens,
    )
    if args.attention and not hasattr(predictor, "cross_attention"):
        from keras_transformer.errors import ConfigError

        raise ConfigError(
            "--attention draws the cross-attention of a model that reads a "
            f"source (translation, summarisation); {args.workdir} holds a "
            f"{experiment.task} run."
        )
    problems = []
    if args.text:
        texts = list(args.text)
    else:
        texts, problems = _read_lines(sys.stdin.buffer)
    texts = _parse_inputs(predictor, texts, "argument" if args.text else "line")
    lines = predictor.output_lines(texts, args.batch_size, args.scores)
    if args.output:
        from keras_transformer.run_files import write_text

        write_text(args.output, "".join(line + "\n" for line in lines))
        print(f"{len(lines)} outputs written to {args.output}")
    else:
        for line in lines:
            print(line)
    valid = [text for text in texts if text is not None]
    if args.attention and valid:
        from keras_transformer.inference.attention_plot import (
            save_attention_heatmap,
        )

        save_attention_heatmap(
            *predictor.cross_attention(valid[0]), path=args.attention
        )
        print(f"cross-attention of the first input: {args.attention}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _check_attention(args):
    """Refuses ``--attention`` without matplotlib, before anything loads."""
    from keras_transformer.errors import ConfigError

    if args.attention:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ConfigError(
                "--attention draws with matplotlib, which is not installed: "
                "pip install matplotlib (or the package's [notebooks] extra)."
            ) from None


def _check_predict(args, experiment):
    """Refuses ``predict`` arguments that cannot work, before the model
    loads: an alias for another task's runs, an ``--output`` that cannot
    be written."""
    from keras_transformer.errors import RunError

    if not _answers_to(args.command, experiment):
        raise RunError(
            f"{args.workdir} holds a {experiment.task} run, which has no "
            f"{args.command} command; use predict."
        )
    if args.output:
        _check_output(args.output)


def _answers_to(command, experiment):
    from keras_transformer.tasks.registry import PREDICT_ALIASES

    return PREDICT_ALIASES.get(command, experiment.task) == experiment.task


def _check_output(path):
    from keras_transformer.run_files import check_writable

    if os.path.isdir(path):
        raise UserError(f"--output {path} is a directory; name a file.")
    check_writable(os.path.dirname(os.path.abspath(path)), "write --output")


def _export(args):
    from keras_transformer.export.saved_model import check_backend, export_run
    from keras_transformer.run import read_experiment

    check_backend()
    experiment = read_experiment(args.workdir)
    result = export_run(
        args.workdir,
        args.export_dir,
        version=args.version,
        decoding=_decoding(args, experiment),
        max_new_tokens=args.max_new_tokens,
        jit_compile=args.jit_compile,
        serve_batch_size=args.serve_batch_size,
        quantize=args.quantize,
    )
    megabytes = result["bytes"] / 2**20
    print(
        f"SavedModel written to {result['path']} ({megabytes:.1f} MiB, "
        f"{result['seconds']} s); signature serving_default."
    )


if __name__ == "__main__":
    sys.exit(main())
