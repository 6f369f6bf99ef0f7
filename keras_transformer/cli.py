"""The ``keras-transformer`` command line: parse arguments, call the library.

keras-transformer train CONFIG --workdir DIR [--set key=value ...]
keras-transformer evaluate --workdir DIR [--split test] [--decode beam]
keras-transformer translate --workdir DIR [TEXT ...] [--attention out.png]
keras-transformer export --workdir DIR EXPORT_DIR [--version N]
"""

import argparse
import json
import os
import sys


def _decoding_options():
    """The decoding flags shared by evaluate, translate and export."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("decoding (default: the run's config)")
    group.add_argument(
        "--decode",
        choices=("beam", "greedy", "sampling"),
        help="search strategy (config default: beam)",
    )
    group.add_argument("--beam-size", type=int, help="beam width K")
    group.add_argument(
        "--length-penalty", type=float, help="alpha of ((5 + n) / 6) ** alpha"
    )
    group.add_argument("--temperature", type=float, help="sampling temperature")
    group.add_argument("--top-k", type=int, help="sample among the k best")
    group.add_argument("--top-p", type=float, help="nucleus threshold")
    group.add_argument("--seed", type=int, help="sampling seed")
    return parent


def _decoding(args, experiment):
    return experiment.evaluation.decoding(
        strategy=args.decode,
        beam_size=args.beam_size,
        length_penalty=args.length_penalty,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
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
    translate.add_argument("--batch-size", type=int, default=64)
    export = commands.add_parser(
        "export",
        help="write a SavedModel for TensorFlow Serving to EXPORT_DIR/N/",
        parents=[decoding],
    )
    export.add_argument("--workdir", required=True)
    export.add_argument("export_dir", help="the model's base directory")
    export.add_argument(
        "--version", type=int, help="version folder (default: next number)"
    )
    export.add_argument(
        "--max-new-tokens",
        type=int,
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


def main(argv=None):
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_transformer.experiment import ConfigError, load_experiment
    from keras_transformer.training.train import (
        TrainingDivergedError,
        train_and_evaluate,
    )

    try:
        if args.command == "train":
            experiment = load_experiment(args.config, args.set)
            _print_metrics(dict(train_and_evaluate(experiment, args.workdir)))
        elif args.command == "evaluate":
            _print_metrics(dict(_evaluate(args)))
        elif args.command == "translate":
            _translate(args)
        else:
            _export(args)
    except (
        ConfigError,
        FileExistsError,
        FileNotFoundError,
        TrainingDivergedError,
        ValueError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _evaluate(args):
    from keras_transformer.training.train import evaluate, read_experiment

    decoding = _decoding(args, read_experiment(args.workdir))
    return evaluate(args.workdir, args.split, decoding=decoding)


def _translate(args):
    from keras_transformer.training.train import load_run, translator_for

    experiment, model, tokenizers = load_run(args.workdir, compile=False)
    if experiment.task != "translation":
        raise ValueError(
            f"{args.workdir} holds a {experiment.task} run; translate needs "
            "a translation run."
        )
    texts = args.text or [line.rstrip("\n") for line in sys.stdin]
    translator = translator_for(
        experiment, model, tokenizers, _decoding(args, experiment)
    )
    translations, scores = translator.translate_with_scores(
        texts, batch_size=args.batch_size
    )
    for translation, score in zip(translations, scores):
        print(f"{score:.4f}\t{translation}" if args.scores else translation)
    if args.attention and texts:
        from keras_transformer.inference.attention_plot import (
            save_attention_heatmap,
        )

        save_attention_heatmap(
            *translator.cross_attention(texts[0]), path=args.attention
        )
        print(f"cross-attention of the first sentence: {args.attention}")


def _export(args):
    from keras_transformer.export.saved_model import export_run
    from keras_transformer.training.train import read_experiment

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
