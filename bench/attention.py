"""Fused against explicit attention: one MultiHeadAttention layer's
forward and backward pass, with ``fused_attention`` on and off.

The fused path calls ``keras.ops.dot_product_attention`` (a cuDNN flash
attention kernel with JAX on a GPU); the explicit one computes
softmax(Q K^T / sqrt(H)) V with its own products. Both run in paired rounds
(fused, explicit, fused, explicit, ...) on the same inputs, with a padding
mask; the figures are medians.

    python bench/attention.py                         # TensorFlow, XLA on
    python bench/attention.py --xla off
    KERAS_BACKEND=jax python bench/attention.py       # jax.jit
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--xla", choices=["on", "off"], default="on")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    return parser.parse_args(argv)


def _step(layer, backend, xla):
    """A compiled forward + backward pass returning the loss."""
    from keras import ops

    if backend == "jax":
        import jax

        def loss(weights, query, mask):
            outputs, _ = layer.stateless_call(
                weights, [], query, query, value_mask=mask
            )
            return ops.mean(ops.square(outputs))

        grad = jax.jit(jax.value_and_grad(loss))
        weights = [w.value for w in layer.trainable_weights]
        return lambda query, mask: grad(weights, query, mask)[0]
    import tensorflow as tf

    def step(query, mask):
        with tf.GradientTape() as tape:
            outputs = layer(query, query, value_mask=mask)
            value = ops.mean(ops.square(outputs))
        tape.gradient(value, layer.trainable_weights)
        return value

    return tf.function(step, jit_compile=xla == "on")


def run(args):
    import keras

    from keras_transformer.layers import MultiHeadAttention

    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.length, args.d_model)
    query = rng.normal(size=shape).astype("float32")
    mask = np.ones(shape[:2], bool)
    mask[:, args.length * 3 // 4 :] = False  # a padded quarter
    head_size = args.d_model // args.num_heads
    steps, weights = {}, None
    for fused in (True, False):
        layer = MultiHeadAttention(
            args.num_heads, head_size, fused_attention=fused
        )
        layer(query[:1, :8], query[:1, :8])
        if weights is None:  # the same weights for both
            weights = [
                rng.normal(size=w.shape) * 0.05 for w in layer.get_weights()
            ]
        layer.set_weights(weights)
        steps[fused] = _step(layer, backend, args.xla)
        np.asarray(steps[fused](query, mask))  # compile
    losses = {f: float(np.asarray(steps[f](query, mask))) for f in steps}
    times = {True: [], False: []}
    for round_index in range(args.rounds):
        for fused, step in steps.items():
            started = time.perf_counter()
            for _ in range(args.steps):
                np.asarray(step(query, mask))
            seconds = (time.perf_counter() - started) / args.steps
            times[fused].append(seconds)
            print(
                f"  round {round_index + 1}/{args.rounds} "
                f"{'fused' if fused else 'explicit'}: "
                f"{1000 * seconds:.2f} ms",
                flush=True,
            )
    fused_ms = 1000 * statistics.median(times[True])
    explicit_ms = 1000 * statistics.median(times[False])
    xla = "jit" if backend == "jax" else args.xla
    return [
        {
            "backend": backend,
            "XLA": xla,
            "B x T x D": "x".join(map(str, shape)),
            "fused ms": round(fused_ms, 2),
            "explicit ms": round(explicit_ms, 2),
            "explicit / fused": round(explicit_ms / fused_ms, 2),
            "loss difference": abs(losses[True] - losses[False]),
        }
    ]


def main(argv=None):
    args = _arguments(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    rows = run(args)
    from tabulate import tabulate

    print(tabulate(rows, headers="keys", tablefmt="github"))


if __name__ == "__main__":
    main()
