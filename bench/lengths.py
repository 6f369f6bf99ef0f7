"""Cost with sequence length: training and cached greedy decoding.

For every length L of ``--lengths`` this project's model (the bench config
of ``bench/training.py``: 2 + 2 layers, D 256, d_ff 1024, 4 heads, vocab
8000, tied embeddings, float32) is measured in two fresh processes, so that
each peak memory belongs to one measurement alone:

* training: source and target of L tokens, ``--batch-tokens // L``
  sequences per batch (the same tokens per batch at every length),
  ``model.compile`` + ``train_on_batch``; target tokens per second (median
  step after compilation and a warm-up step) and achieved TFLOP/s
  (``training.train_flops``);
* decoding: ``compile_decoder(greedy_decode, jit_compile=...)`` over the
  key/value cache, a batch of ``--decode-batch`` random sources of L tokens
  generating ``--new-tokens`` tokens each (default: L, capped by
  ``--max-new-tokens``), EOS disabled (``eos_id=-1``) as in
  ``bench/decoding.py``; generated tokens per second (median of
  ``--repeats`` runs after one that includes compilation).

Peak memory: the process's peak resident set (``ru_maxrss``: the imports,
the model, compilation and the work), its resident set before the first
step, and on a GPU the backend's own peak (TensorFlow
``get_memory_info``, JAX ``memory_stats``). Two PNGs (matplotlib, Agg) go
to ``--out``: ``training_vs_length.png`` and ``decoding_vs_length.png``.

    python bench/lengths.py                 # 64..1024 (~9 min, 2-core CPU)
    python bench/lengths.py --lengths 64,128,256 --new-tokens 64
    python bench/lengths.py --only decode --max-new-tokens 256
    KERAS_BACKEND=jax python bench/lengths.py

Training uses the project's ``training.jit_compile: auto`` rule by default
(XLA on a GPU or TPU, off on a CPU; JAX always compiles); decoding uses XLA
(``--decode-xla off``: a plain ``tf.function``).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

MIB = 1024 * 1024


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", default="64,128,256,512,1024")
    parser.add_argument("--only", choices=["train", "decode"])
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument(
        "--batch-tokens",
        type=int,
        default=4096,
        help="training: tokens per batch (per side) at every length",
    )
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument("--train-warmup", type=int, default=1)
    parser.add_argument(
        "--train-xla",
        choices=["auto", "on", "off"],
        default="auto",
        help="auto: XLA on a GPU/TPU only (training.jit_compile: auto)",
    )
    parser.add_argument("--decode-batch", type=int, default=16)
    parser.add_argument(
        "--new-tokens",
        type=int,
        help="tokens generated per sequence (default: the length L)",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=1024,
        help="cap on the default --new-tokens",
    )
    parser.add_argument("--decode-xla", choices=["on", "off"], default="on")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--dtype",
        choices=["float32", "mixed_bfloat16", "mixed_float16"],
        default="float32",
    )
    parser.add_argument(
        "--out",
        default=os.path.join(HERE, "results"),
        help="folder of the two PNGs",
    )
    parser.add_argument("--json", help="also write the results here")
    # One measurement in this process (what the parent runs).
    parser.add_argument(
        "--child", choices=["train", "decode"], help=argparse.SUPPRESS
    )
    parser.add_argument("--length", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --------------------------------------------------------------- memory


def peak_rss():
    """This process's peak resident set, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss():
    """This process's resident set now, in bytes."""
    try:
        import psutil

        return psutil.Process().memory_info().rss
    except ImportError:
        with open("/proc/self/statm", encoding="utf-8") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")


def device_peak():
    """The backend's peak device memory in bytes (GPU/TPU), or None."""
    import keras
    from training import accelerator

    if accelerator() is None:
        return None
    try:
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return tf.config.experimental.get_memory_info("GPU:0")["peak"]
        if keras.backend.backend() == "jax":
            import jax

            stats = jax.devices()[0].memory_stats() or {}
            return stats.get("peak_bytes_in_use")
    except (ValueError, RuntimeError, KeyError):
        return None
    return None


# ---------------------------------------------------------------- child


def _config(args, max_length):
    from training import BENCH_SHAPES

    from keras_transformer.models import TransformerConfig

    return TransformerConfig(
        vocab_size=args.vocab_size,
        max_length=max_length,
        dropout=0.1,
        **BENCH_SHAPES,
    )


def _train_jit(args):
    import keras
    from training import accelerator

    if keras.backend.backend() == "jax":
        return True
    if args.train_xla == "auto":
        return accelerator() is not None
    return args.train_xla == "on"


def measure_training(args):
    """Training tokens/s and memory at one length, in this process."""
    import keras
    from training import (
        compile_for_training,
        config_flops,
        synthetic_batches,
    )

    from keras_transformer.models import build_transformer

    keras.config.set_dtype_policy(args.dtype)
    length = args.length
    batch = max(1, args.batch_tokens // length)
    config = _config(args, length)
    keras.utils.set_random_seed(0)
    model = build_transformer(config)
    jit = _train_jit(args)
    compile_for_training(model, config.d_model, jit)
    batches = synthetic_batches(
        2, batch, length, length, args.vocab_size, 0, False
    )
    rss_before = current_rss()
    started = time.perf_counter()
    model.train_on_batch(*batches[0])
    compile_seconds = time.perf_counter() - started
    for step in range(args.train_warmup):
        model.train_on_batch(*batches[step % 2])
    seconds = []
    for step in range(args.train_steps):
        started = time.perf_counter()
        loss = float(np.asarray(model.train_on_batch(*batches[step % 2])))
        seconds.append(time.perf_counter() - started)
    step = statistics.median(seconds)
    flops = config_flops(config, batch, length, length)
    return {
        "length": length,
        "batch": batch,
        "xla": jit,
        "compile_s": compile_seconds,
        "step_s": step,
        "tokens_per_s": batch * length / step,
        "tflops": flops / step / 1e12,
        "loss": loss,
        "rss_before_mib": rss_before / MIB,
        "peak_rss_mib": peak_rss() / MIB,
        "device_peak_mib": _mib(device_peak()),
    }


def measure_decoding(args):
    """Cached greedy decoding tokens/s and memory at one length."""
    import keras

    from keras_transformer.inference import compile_decoder, greedy_decode
    from keras_transformer.models import build_transformer

    keras.config.set_dtype_policy(args.dtype)
    length = args.length
    new_tokens = args.new_tokens or min(length, args.max_new_tokens)
    config = _config(args, length + new_tokens + 8)
    keras.utils.set_random_seed(0)
    model = build_transformer(config)
    rng = np.random.default_rng(0)
    source = rng.integers(4, args.vocab_size, (args.decode_batch, length))
    source = source.astype("int32")
    decode = compile_decoder(greedy_decode, jit_compile=args.decode_xla == "on")

    def run():
        tokens, _ = decode(model, source, max_length=new_tokens, eos_id=-1)
        return np.asarray(tokens)

    rss_before = current_rss()
    started = time.perf_counter()
    tokens = run()
    compile_seconds = time.perf_counter() - started
    if tokens.shape != (args.decode_batch, new_tokens):
        raise RuntimeError(f"decoded shape {tokens.shape}")
    seconds = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return {
        "length": length,
        "new_tokens": new_tokens,
        "batch": args.decode_batch,
        "xla": args.decode_xla == "on",
        "first_run_s": compile_seconds,
        "run_s": median,
        "tokens_per_s": args.decode_batch * new_tokens / median,
        "rss_before_mib": rss_before / MIB,
        "peak_rss_mib": peak_rss() / MIB,
        "device_peak_mib": _mib(device_peak()),
    }


def _mib(value):
    return None if value is None else value / MIB


def _child(args):
    if os.environ.get("KERAS_BACKEND") == "jax":
        # keras.utils.set_random_seed imports TensorFlow when it is
        # installed (to seed it too): keep it out of a JAX process's memory.
        sys.modules.setdefault("tensorflow", None)
    import keras

    measure = measure_training if args.child == "train" else measure_decoding
    result = measure(args)
    result["backend"] = keras.backend.backend()
    from training import device_name

    result["device"] = device_name()
    with open(args.result, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


# --------------------------------------------------------------- parent


def _run_child(kind, length, argv):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.json")
        command = [
            sys.executable,
            os.path.abspath(__file__),
            *argv,
            "--child",
            kind,
            "--length",
            str(length),
            "--result",
            path,
        ]
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        started = time.perf_counter()
        completed = subprocess.run(command, env=env)
        if completed.returncode:
            print(
                f"  {kind} L={length}: failed (exit {completed.returncode})",
                flush=True,
            )
            return None
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
        result["process_s"] = time.perf_counter() - started
        return result


def _forwarded(argv):
    """The parent's arguments that the children need (not --json/--out)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--json", "--out", "--lengths", "--only"):
            skip = True
            continue
        if arg.startswith(("--json=", "--out=", "--lengths=", "--only=")):
            continue
        kept.append(arg)
    return kept


def _rounded(value, digits=1):
    return None if value is None else round(value, digits)


def _training_rows(results):
    rows = []
    for r in results:
        rows.append(
            {
                "length": r["length"],
                "batch": r["batch"],
                "XLA": "on" if r["xla"] else "off",
                "compile + 1st step s": _rounded(r["compile_s"]),
                "step ms": _rounded(1000 * r["step_s"]),
                "tokens/s": round(r["tokens_per_s"]),
                "TFLOP/s": _rounded(r["tflops"], 3),
                "RSS before MiB": round(r["rss_before_mib"]),
                "peak RSS MiB": round(r["peak_rss_mib"]),
                "device peak MiB": _rounded(r["device_peak_mib"], 0),
            }
        )
    return rows


def _decoding_rows(results):
    rows = []
    for r in results:
        rows.append(
            {
                "length": r["length"],
                "new tokens": r["new_tokens"],
                "batch": r["batch"],
                "XLA": "on" if r["xla"] else "off",
                "first run s": _rounded(r["first_run_s"]),
                "run s": _rounded(r["run_s"], 2),
                "tokens/s": round(r["tokens_per_s"], 1),
                "RSS before MiB": round(r["rss_before_mib"]),
                "peak RSS MiB": round(r["peak_rss_mib"]),
                "device peak MiB": _rounded(r["device_peak_mib"], 0),
            }
        )
    return rows


def plot(results, kind, path, title):
    """tokens/s and peak memory against length, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = [r["length"] for r in results]
    figure, (speed, memory) = plt.subplots(1, 2, figsize=(10, 4))
    speed.plot(lengths, [r["tokens_per_s"] for r in results], "o-")
    speed.set_ylabel(
        "target tokens/s" if kind == "train" else "generated tokens/s"
    )
    memory.plot(
        lengths, [r["peak_rss_mib"] for r in results], "o-", label="peak RSS"
    )
    memory.plot(
        lengths,
        [r["rss_before_mib"] for r in results],
        "o--",
        label="RSS before the first step",
    )
    device = [r["device_peak_mib"] for r in results]
    if all(value is not None for value in device):
        memory.plot(lengths, device, "s-", label="device peak")
    memory.set_ylabel("MiB")
    memory.legend(loc="lower right")
    for axis in (speed, memory):
        axis.set_xscale("log", base=2)
        axis.set_xticks(lengths)
        axis.set_xticklabels([str(length) for length in lengths])
        axis.set_xlabel("sequence length L")
        axis.grid(True, alpha=0.3)
    speed.set_ylim(bottom=0)
    memory.set_ylim(bottom=0)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def run(args, argv=None):
    lengths = [int(length) for length in args.lengths.split(",")]
    forwarded = _forwarded(argv)
    kinds = [args.only] if args.only else ["train", "decode"]
    results = {"train": [], "decode": []}
    for kind in kinds:
        for length in lengths:
            print(f"== {kind} L={length}", flush=True)
            result = _run_child(kind, length, forwarded)
            if result is None:
                continue
            results[kind].append(result)
            speed = result["tokens_per_s"]
            print(
                f"  {kind} L={length}: {speed:,.0f} tokens/s, peak RSS "
                f"{result['peak_rss_mib']:,.0f} MiB "
                f"({result['process_s']:.0f} s in all)",
                flush=True,
            )
    return results


def main(argv=None):
    args = _arguments(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.child:
        _child(args)
        return
    results = run(args, argv)
    from training import table

    os.makedirs(args.out, exist_ok=True)
    done = [r for kind in results.values() for r in kind]
    where = f"{done[0]['backend']} on {done[0]['device']}" if done else ""
    shapes = (
        f"2+2 layers, D 256, d_ff 1024, vocab {args.vocab_size}, "
        f"{args.dtype}; {where}"
    )
    if results["train"]:
        rows = _training_rows(results["train"])
        print(
            f"\nTraining, {args.batch_tokens} tokens per batch (source and "
            f"target of length L); {shapes}.\n"
        )
        print(table(rows))
        path = os.path.join(args.out, "training_vs_length.png")
        plot(
            results["train"],
            "train",
            path,
            f"Training, {args.batch_tokens} tokens per batch\n{shapes}",
        )
        print(f"\nWrote {path}")
    if results["decode"]:
        rows = _decoding_rows(results["decode"])
        print(
            f"\nCached greedy decoding, batch {args.decode_batch}, sources "
            f"of length L, EOS disabled; {shapes}.\n"
        )
        print(table(rows))
        path = os.path.join(args.out, "decoding_vs_length.png")
        plot(
            results["decode"],
            "decode",
            path,
            f"Cached greedy decoding, batch {args.decode_batch}\n{shapes}",
        )
        print(f"\nWrote {path}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
