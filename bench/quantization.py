"""float32 against int8 weights for a finished run: size, speed, quality.

For the run's model as trained and after ``quantize("int8")``, prints one
table: the size of the ``.keras`` file and of the SavedModel export, the
export's latency at batch 1 (p50 and p95 over ``--requests`` requests of
one test text each) and its texts/s at batch 32, and the quality on the
test split (BLEU for translation, accuracy for classification), decoded
with the run's settings. The two exports are timed in alternating rounds
in one process, so that both see the same machine.

Example (the Multi30k translator and the MiniLM SST-2 classifier of the
documentation, one core)::

    taskset -c 0 .venv/bin/python bench/quantization.py runs/m30k-d01
    taskset -c 0 .venv/bin/python bench/quantization.py runs/sst2_minilm
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODES = ("float32", "int8")


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def _texts(task, split, count):
    data = task.limit_split(task.load_splits()[split])
    texts = []
    for example in data.take(count).as_numpy_iterator():
        first = example[0] if isinstance(example, tuple) else example
        if isinstance(first, dict):
            first = next(iter(first.values()))
        texts.append(first.decode("utf-8"))
    return texts


def _quality(workdir, mode, split):
    from keras_transformer.run import load_finished
    from keras_transformer.train import compile_model

    task, model = load_finished(workdir, compile=False)
    if mode == "int8":
        model.quantize("int8")
    compile_model(model, task, jit_compile=False, build=False)
    started = time.time()
    metrics, _ = task.evaluate(model, task.load_splits(), split, verbose=0)
    seconds = time.time() - started
    if "bleu" in metrics:
        return "BLEU", metrics["bleu"], seconds
    return "accuracy %", 100 * metrics["accuracy"], seconds


def _serve(path):
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    name = next(iter(serve.structured_input_signature[1]))
    return lambda texts: serve(**{name: tf.constant(texts)})


def _latency(serve, texts, requests):
    times = []
    for text in (texts * requests)[:requests]:
        started = time.perf_counter()
        serve([text])
        times.append(time.perf_counter() - started)
    return times


def _throughput(serve, texts, batches):
    batch = (texts * 32)[:32]
    started = time.perf_counter()
    for _ in range(batches):
        serve(batch)
    return 32 * batches / (time.perf_counter() - started)


def _matmul_microseconds(dtype, repeats=300):
    """One (32, 20, 256) x (256, 1024) ``keras.ops.einsum`` in ``dtype``,
    as an int8 projection runs it (int8 x int8 -> int32), in µs."""
    import tensorflow as tf
    from keras import ops

    rng = np.random.default_rng(0)
    x = rng.integers(-127, 128, (32, 20, 256)).astype(dtype)
    w = rng.integers(-127, 128, (256, 1024)).astype(dtype)
    x, w = tf.constant(x), tf.constant(w)
    einsum = tf.function(lambda a, b: ops.einsum("abc,cd->abd", a, b))
    einsum(x, w)
    started = time.perf_counter()
    for _ in range(repeats):
        einsum(x, w)
    return (time.perf_counter() - started) / repeats * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir", help="a finished run")
    parser.add_argument("--split", default="test")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from tabulate import tabulate

    from keras_transformer.export import export_run
    from keras_transformer.run import load_finished, load_task

    rows = {mode: {} for mode in MODES}
    texts = _texts(load_task(args.workdir), args.split, 64)
    with tempfile.TemporaryDirectory() as work:
        servers = {}
        for mode in MODES:
            print(f"{mode}: export and quality ...", flush=True)
            task, model = load_finished(args.workdir, compile=False)
            quantize = None if mode == "float32" else mode
            if quantize:
                model.quantize(quantize)
            keras_file = os.path.join(work, f"{mode}.keras")
            model.save(keras_file)
            info = export_run(
                args.workdir, os.path.join(work, mode), quantize=quantize
            )
            servers[mode] = _serve(info["path"])
            servers[mode](texts[:1])  # traced once, before timing
            key, value, seconds = _quality(args.workdir, mode, args.split)
            rows[mode].update(
                {
                    ".keras MiB": _size(keras_file) / 2**20,
                    "SavedModel MiB": info["bytes"] / 2**20,
                    f"{args.split} {key}": value,
                    "evaluation s": seconds,
                    "latency": [],
                    "texts/s": [],
                }
            )
        for index in range(args.rounds):
            print(f"timing round {index + 1} of {args.rounds} ...", flush=True)
            for mode in MODES if index % 2 == 0 else MODES[::-1]:
                serve = servers[mode]
                rows[mode]["latency"] += _latency(serve, texts, args.requests)
                rows[mode]["texts/s"].append(
                    _throughput(serve, texts, args.batches)
                )
    table = []
    for mode in MODES:
        row = rows[mode]
        latency = np.array(row.pop("latency")) * 1000
        speeds = row.pop("texts/s")
        table.append(
            {
                "weights": mode,
                **row,
                "batch 1 p50 ms": np.percentile(latency, 50),
                "batch 1 p95 ms": np.percentile(latency, 95),
                "batch 32 texts/s": float(np.median(speeds)),
            }
        )
    print(tabulate(table, headers="keys", floatfmt=".2f"))
    float32, int8 = (_matmul_microseconds(d) for d in ("float32", "int8"))
    print(
        f"one projection's matmul here: float32 {float32:.0f} µs, "
        f"int8 {int8:.0f} µs"
    )


if __name__ == "__main__":
    main()
