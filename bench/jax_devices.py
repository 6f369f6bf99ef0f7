"""Training over several JAX devices: one device, data parallel and model
parallel, on the same global batches.

Each layout trains this project's Transformer (``bench/training.py``'s
model A and its training step: Adam, the paper's schedule, label-smoothed
masked cross-entropy) in its own process under ``KERAS_BACKEND=jax``,
inside ``keras_transformer.training.jax_devices.JaxDevices(...).scope()``,
as ``keras-transformer train`` does:

* ``1 device``: ``JaxDevices(devices[:1])``, no distribution;
* ``data parallel``: every device, ``keras.distribution.DataParallel``
  (each device takes an equal share of every batch);
* ``model parallel K``: a (devices / K, K) mesh: the attention and
  feed-forward kernels split over K devices
  (``jax_devices.MODEL_PARALLEL_LAYOUT``), the batch over the rest.

All three take the same ``--steps`` global batches (synthetic ids, the
same seed) from the same initial weights, with dropout off
(``--dropout``), so that their weights stay comparable. Columns: the
median wall milliseconds of a step after the first (which compiles) with
``train_on_batch`` (it returns the loss, so every step is synchronised),
the first step's seconds, target tokens per second, the speed
against one device, the last loss, and the largest absolute difference of
any weight from the one-device run's.

On a CPU, ``--cpu-devices N`` splits the host into N XLA devices
(``--xla_force_host_platform_device_count``): that shows the layouts work
and agree, not the speed of N accelerators, since the N devices share the
same cores. Needs no TensorFlow.

Examples::

    .venv/bin/python bench/jax_devices.py --cpu-devices 2   # docs/speed.md
    # A machine with 8 GPUs (jax[cuda12] and the keras wheel):
    PYTHONPATH=. python bench/jax_devices.py --preset base \\
        --batch-size 64 --model-parallel 2
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

LAYOUTS = ("1 device", "data parallel", "model parallel")


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cpu-devices",
        type=int,
        help="split the CPU into this many XLA devices (default: the "
        "machine's JAX devices)",
    )
    parser.add_argument(
        "--model-parallel",
        type=int,
        default=2,
        help="devices each copy of the model is sharded over (the model "
        "parallel layout)",
    )
    parser.add_argument(
        "--preset", choices=["bench", "base", "big"], default="bench"
    )
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--source-length", type=int, default=64)
    parser.add_argument("--target-length", type=int, default=64)
    parser.add_argument(
        "--batch-size", type=int, default=32, help="the global batch"
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--dropout",
        type=float,
        default=0.0,
        help="0 keeps the layouts' weights comparable",
    )
    parser.add_argument(
        "--dtype",
        choices=["float32", "mixed_bfloat16", "mixed_float16"],
        default="float32",
    )
    parser.add_argument("--layout", help=argparse.SUPPRESS)  # one process
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _devices(layout, model_parallel):
    """The ``JaxDevices`` of ``layout``."""
    import jax

    from keras_transformer.training.jax_devices import JaxDevices

    if layout == "1 device":
        return JaxDevices(jax.devices()[:1])
    if layout == "data parallel":
        return JaxDevices(jax.devices())
    return JaxDevices(jax.devices(), model_parallel)


def train_layout(args):
    """Trains ``args.layout`` and writes its figures and weights."""
    import keras
    from training import (
        build_model,
        compile_for_training,
        model_config,
        synthetic_batches,
    )

    keras.config.set_dtype_policy(args.dtype)
    devices = _devices(args.layout, args.model_parallel)
    config = model_config(args)
    batches = synthetic_batches(
        args.steps,
        args.batch_size,
        args.source_length,
        args.target_length,
        args.vocab_size,
        seed=1,
        random_lengths=False,
    )
    with devices.scope():
        model = compile_for_training(
            build_model("A", config), config.d_model, jit_compile=True
        )
        seconds, losses = [], []
        for inputs, labels in batches:
            started = time.perf_counter()
            losses.append(float(model.train_on_batch(inputs, labels)))
            seconds.append(time.perf_counter() - started)
    weights = {v.path: np.asarray(v) for v in model.weights}
    np.savez(args.out, **weights)
    step = statistics.median(seconds[1:])
    print(
        json.dumps(
            {
                "layout": devices.describe(),
                "step_ms": 1000 * step,
                "compile_s": seconds[0],
                "tokens_per_s": args.batch_size * args.target_length / step,
                "loss": losses[-1],
            }
        )
    )


def _run(args, argv, layout, out):
    """Trains ``layout`` in a new process with the same arguments."""
    environment = dict(os.environ, KERAS_BACKEND="jax")
    if args.cpu_devices:
        environment["XLA_FLAGS"] = (
            environment.get("XLA_FLAGS", "")
            + f" --xla_force_host_platform_device_count={args.cpu_devices}"
        ).strip()
    command = [sys.executable, __file__, "--layout", layout, "--out", out]
    command += argv
    print(f"{layout} ...", flush=True)
    result = subprocess.run(
        command, env=environment, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"{layout} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _largest_difference(path, reference):
    """The largest absolute difference of any weight from ``reference``."""
    weights, base = np.load(path), np.load(reference)
    return max(np.abs(weights[name] - base[name]).max() for name in base.files)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _arguments(argv)
    if args.layout:
        return train_layout(args)
    from training import table

    with tempfile.TemporaryDirectory() as folder:
        outs = [os.path.join(folder, f"{i}.npz") for i in range(len(LAYOUTS))]
        results = [_run(args, argv, *pair) for pair in zip(LAYOUTS, outs)]
        rows = [
            {
                "devices": result["layout"],
                "step ms": f"{result['step_ms']:.1f}",
                "first step s": f"{result['compile_s']:.1f}",
                "target tokens/s": f"{result['tokens_per_s']:,.0f}",
                "speed": f"{results[0]['step_ms'] / result['step_ms']:.2f}",
                "last loss": f"{result['loss']:.4f}",
                "largest weight difference": (
                    f"{_largest_difference(out, outs[0]):.1e}"
                ),
            }
            for result, out in zip(results, outs)
        ]
    print(
        f"\n{args.preset} preset, global batch {args.batch_size} x "
        f"{args.source_length}/{args.target_length} tokens, {args.steps} "
        f"steps, {args.dtype}\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
