"""Batch shapes of a run's training data, with and without the XLA bound.

Under XLA every batch shape compiles once. For the run in ``--workdir``
(its data, tokenizer, ``training.batch_tokens`` and ``max_length``), one
pass over the training split is batched as training batches it
(``drop_remainder``), once with every bucket combination its own shape and
once bounded to ``--max-shapes`` (``training.max_batch_shapes``, chosen by
``data.batch_shapes.plan_shapes``). Printed: the shapes, the padded tokens
per real token, and the batches of each pass.

    python bench/batch_shapes.py --workdir runs/mine
    python bench/batch_shapes.py --workdir runs/samsum --max-shapes 10
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="a trained run")
    parser.add_argument("--max-shapes", type=int, default=None)
    return parser.parse_args(argv)


def _measure(batches):
    """(shapes, padded tokens, real tokens, batches) of one pass."""
    import numpy as np
    import tensorflow as tf

    shapes, padded, real, count = set(), 0, 0, 0
    for batch in batches:
        arrays = [a.numpy() for a in tf.nest.flatten(batch) if a.shape.rank > 1]
        shapes.add(tuple(a.shape for a in arrays))
        padded += sum(a.size for a in arrays)
        real += sum(int(np.count_nonzero(a)) for a in arrays)
        count += 1
    return len(shapes), padded, real, count


def main(argv=None):
    args = _arguments(argv)
    from keras_transformer.data import batch_shapes, pipeline
    from keras_transformer.experiment import MAX_BATCH_SHAPES
    from keras_transformer.run import load_task

    task = load_task(args.workdir)
    config = task.experiment.training
    bound = args.max_shapes or config.max_batch_shapes or MAX_BATCH_SHAPES
    encoded = task.encode(task.load_splits()["train"], training=True).cache()
    rows = []
    for name, most in (("every combination", None), (f"bound {bound}", bound)):
        started = time.time()
        shapes = most and batch_shapes.plan_shapes(
            encoded, config.max_length, most
        )
        batches = pipeline.batch_by_tokens(
            encoded,
            config.batch_tokens,
            config.max_length,
            drop_remainder=True,
            max_batch_size=task.max_batch_size,
            shapes=shapes,
        )
        count, padded, real, steps = _measure(batches)
        rows.append((name, count, padded / real, steps, time.time() - started))
        print(f"{name}: {count} shapes", flush=True)
    print(
        f"\n{args.workdir}: batch_tokens {config.batch_tokens}, max_length "
        f"{config.max_length}\n"
    )
    print("| batching | shapes | padded / real tokens | batches | s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, count, ratio, steps, seconds in rows:
        print(f"| {name} | {count} | {ratio:.3f} | {steps:,} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
