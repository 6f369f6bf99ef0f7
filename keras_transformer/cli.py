"""The ``keras-transformer`` command line: parse arguments, call the library.

keras-transformer train CONFIG --workdir DIR [--set key=value ...]
keras-transformer evaluate --workdir DIR [--split test]
"""

import argparse
import json
import os
import sys


def _parser():
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
        "evaluate", help="recompute metrics.json of a finished run"
    )
    evaluate.add_argument("--workdir", required=True)
    evaluate.add_argument(
        "--split", default="test", choices=("train", "validation", "test")
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
        evaluate,
        train_and_evaluate,
    )

    try:
        if args.command == "train":
            experiment = load_experiment(args.config, args.set)
            metrics = train_and_evaluate(experiment, args.workdir)
        else:
            metrics = evaluate(args.workdir, args.split)
    except (
        ConfigError,
        FileNotFoundError,
        TrainingDivergedError,
        ValueError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    _print_metrics(dict(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
