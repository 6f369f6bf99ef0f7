"""Decoding settings measured on a trained run's data: which defaults hold.

For the translation run in ``--workdir`` it decodes ``--split`` (default:
validation, where settings are chosen) once per setting of a grid: greedy
search with ``no_repeat_ngram_size`` 0, 2, 3 and 4, and beam search (the
run's width) with length penalties alpha 0.6 (the paper's), 1.0 and 0.0,
and with ``no_repeat_ngram_size`` 3. Printed: BLEU, chrF and the length of
the outputs over the references' (sacreBLEU, 13a tokens), and the seconds
each decode took. The model is loaded once.

    python bench/decoding_settings.py --workdir runs/multi30k
    python bench/decoding_settings.py --workdir runs/mine --examples 500
"""

import argparse
import dataclasses
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))

GRID = (
    ("greedy", {}),
    ("greedy", {"no_repeat_ngram_size": 2}),
    ("greedy", {"no_repeat_ngram_size": 3}),
    ("greedy", {"no_repeat_ngram_size": 4}),
    ("beam", {"length_penalty": 0.0}),
    ("beam", {"length_penalty": 0.6}),
    ("beam", {"length_penalty": 1.0}),
    ("beam", {"length_penalty": 0.6, "no_repeat_ngram_size": 3}),
)


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="a translation run")
    parser.add_argument(
        "--split", default="validation", choices=["validation", "test"]
    )
    parser.add_argument(
        "--examples", type=int, default=None, help="(default: the run's)"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = _arguments(argv)
    from keras_transformer.run import load_finished

    task, model = load_finished(args.workdir)
    data = task.load_splits()[args.split]
    limit = args.examples or task.experiment.evaluation.max_examples
    data = data.take(limit) if limit else data
    base = task.decoding()
    rows = []
    for strategy, changes in GRID:
        decoding = dataclasses.replace(base, strategy=strategy, **changes)
        started = time.time()
        metrics, _ = task.evaluate_outputs(model, data, decoding, verbose=0)
        seconds = time.time() - started
        rows.append((decoding.describe(), metrics, seconds))
        print(
            f"{decoding.describe()}: BLEU {metrics['bleu']}, chrF "
            f"{metrics['chrf']}, length {metrics['length_ratio']}",
            flush=True,
        )
    print(f"\n{args.workdir}, {args.split} ({limit or 'all'} examples)\n")
    print("| decoding | BLEU | chrF | length / reference | decode s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, metrics, seconds in rows:
        print(
            f"| {name} | {metrics['bleu']:.2f} | {metrics['chrf']:.2f} | "
            f"{metrics['length_ratio']:.3f} | {seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
