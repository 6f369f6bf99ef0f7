"""Serving latency: a run's SavedModel loaded and called in a fresh process.

Exports the run (``keras_transformer.export.export_run``, the run's own
decoding settings unless ``--decode`` says otherwise), then starts a new
Python process that imports only TensorFlow and tensorflow-text, loads the
SavedModel and calls ``serving_default``:

- one sentence per call, ``--requests`` sentences in turn, twice: p50, p95
  and mean latency of the second pass (the first pass meets every input
  shape, which an XLA export, ``--jit-compile``, compiles on first use;
  its time is reported too);
- ``--batch-size`` sentences per call over the same sentences
  (sentences/s of a second pass).

It also reports the import, load and first-call times of that process.

    python bench/export_latency.py --workdir runs/multi30k \\
        --sentences $DATA_DIR/multi30k/raw/test_2016_flickr.en.gz
    python bench/export_latency.py --workdir runs/multi30k --decode greedy \\
        --sentences $DATA_DIR/multi30k/raw/test_2016_flickr.en.gz
    python bench/export_latency.py --workdir runs/multi30k --jit-compile \\
        --sentences $DATA_DIR/multi30k/raw/test_2016_flickr.en.gz
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

# Run by the fresh process: TensorFlow and tensorflow-text only.
CLIENT = r"""
import json, statistics, sys, time
started = time.perf_counter()
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)
imported = time.perf_counter()
path, sentences = sys.argv[1], json.loads(sys.argv[2])
batch_size = int(sys.argv[3])
serve = tf.saved_model.load(path).signatures["serving_default"]
loaded = time.perf_counter()
name = list(serve.structured_input_signature[1])[0]
serve(**{name: tf.constant(sentences[:1])})
first = time.perf_counter()
def one_at_a_time():
    latencies = []
    for sentence in sentences:
        begin = time.perf_counter()
        serve(**{name: tf.constant([sentence])})
        latencies.append(time.perf_counter() - begin)
    return latencies
# The first pass meets every input shape (an XLA export compiles one
# program per batch size and source-length bucket on first use).
first_pass = sum(one_at_a_time())
latencies = one_at_a_time()
batches = [
    sentences[i : i + batch_size] for i in range(0, len(sentences), batch_size)
]
for batch in batches:  # the first pass at this batch size
    serve(**{name: tf.constant(batch)})
begin = time.perf_counter()
for batch in batches:
    serve(**{name: tf.constant(batch)})
batched = time.perf_counter() - begin
latencies.sort()
print(json.dumps({
    "import_seconds": imported - started,
    "load_seconds": loaded - imported,
    "first_call_seconds": first - loaded,
    "first_pass_seconds": first_pass,
    "p50_ms": 1000 * latencies[len(latencies) // 2],
    "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    "mean_ms": 1000 * statistics.mean(latencies),
    "batched_sentences_per_second": len(sentences) / batched,
}))
"""


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="a finished run")
    parser.add_argument(
        "--sentences",
        required=True,
        help="a text file (or .gz) with one input sentence per line",
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--decode",
        choices=["greedy", "beam"],
        help="decoding of the export (default: the run's own)",
    )
    parser.add_argument(
        "--jit-compile",
        action="store_true",
        help="export the search under XLA (export --jit-compile)",
    )
    parser.add_argument("--export-dir", help="default: a temporary folder")
    parser.add_argument("--json", help="also write the results here")
    return parser.parse_args(argv)


def _read_sentences(path, count):
    from keras_transformer.data.readers import read_text

    lines = read_text(path).split("\n")
    sentences = [line.strip() for line in lines if line.strip()]
    if len(sentences) < count:
        raise SystemExit(
            f"{path} has {len(sentences)} non-empty lines; --requests "
            f"asks for {count}."
        )
    return sentences[:count]


def _decoding(workdir, strategy):
    if strategy is None:
        return None
    from keras_transformer.run import read_experiment

    return read_experiment(workdir).evaluation.decoding.replace(
        strategy=strategy
    )


def run(args):
    from keras_transformer.export import export_run

    sentences = _read_sentences(args.sentences, args.requests)
    export_dir = args.export_dir or tempfile.mkdtemp(prefix="export_latency_")
    exported = export_run(
        args.workdir,
        export_dir,
        decoding=_decoding(args.workdir, args.decode),
        jit_compile=args.jit_compile,
    )
    print(f"exported {exported['path']} in {exported['seconds']:.1f} s")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT,
            exported["path"],
            json.dumps(sentences),
            str(args.batch_size),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"the serving process failed:\n{result.stderr}")
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "workdir": args.workdir,
        "decode": args.decode or "the run's",
        "jit_compile": args.jit_compile,
        "requests": len(sentences),
        "batch_size": args.batch_size,
        "export_mib": round(exported["bytes"] / 2**20, 1),
        **{key: round(value, 3) for key, value in timings.items()},
    }


def main(argv=None):
    args = _arguments(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    results = run(args)
    from tabulate import tabulate

    rows = [{"measure": key, "value": value} for key, value in results.items()]
    print(tabulate(rows, headers="keys", tablefmt="github"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
