"""Decoding speed: uncached vs cached greedy, XLA, and beam search.

Prints one table of generated tokens per second for the same model and the
same inputs: greedy search that re-runs encoder and decoder over the whole
prefix at every step (as the TensorFlow tutorial's translator does), greedy
search over the key/value cache (graph mode, then XLA), and beam search
(beam 4). EOS is disabled so every row generates exactly ``--new-tokens``
tokens and every method does the same amount of work.

    python bench/decoding.py                      # the Multi30k model's shape
    python bench/decoding.py --workdir runs/multi30k
    KERAS_BACKEND=jax python bench/decoding.py    # the same on JAX

Without ``--workdir`` the model has random weights and the shape of the
Multi30k model of docs/speed.md (2+2 layers, D 256, 4 heads, d_ff 1,024,
8,000 tied pieces); with EOS disabled the weights do not change the work.
Throughput is ``batch * new_tokens / seconds`` and ms/step is the time of
one generated position for the whole batch (median of ``--repeats`` timed
runs after one warm-up run that includes compilation).
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", help="a trained translation run")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--ff-dim", type=int, default=1024)
    parser.add_argument("--source-length", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--beam-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--skip-uncached-above",
        type=int,
        default=10**9,
        help="skip the slow uncached loop for larger batches",
    )
    parser.add_argument("--json", help="also write the results here")
    return parser.parse_args(argv)


def _model(args):
    if args.workdir:
        from keras_transformer.run import load_run

        _, model, _ = load_run(args.workdir)
        return model
    from keras_transformer.models import TransformerConfig, build_transformer

    return build_transformer(
        TransformerConfig.small(
            vocab_size=args.vocab_size,
            num_layers=args.num_layers,
            d_model=args.d_model,
            num_heads=args.num_heads,
            ff_dim=args.ff_dim,
            dropout=0.0,
            norm_first=True,
            max_length=args.source_length + args.new_tokens + 8,
        )
    )


def _forward(model):
    import keras

    def forward(source, target):
        return model(
            {"source_tokens": source, "target_tokens": target}, training=False
        )

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(forward, reduce_retracing=True)
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(forward)
    return forward


def _time(function, repeats):
    np.asarray(function())  # warm-up, compilation included
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        np.asarray(function())
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def run(args):
    import keras

    from keras_transformer.inference import (
        beam_search,
        compile_decoder,
        greedy_decode,
        greedy_decode_uncached,
    )

    model = _model(args)
    vocab = model.source_embedding.vocab_size
    rng = np.random.default_rng(0)
    forward = _forward(model)
    greedy = compile_decoder(greedy_decode, jit_compile=False)
    greedy_xla = compile_decoder(greedy_decode, jit_compile=True)
    beam_xla = compile_decoder(beam_search, jit_compile=True)
    no_eos = {"eos_id": -1, "max_length": args.new_tokens}
    rows = []
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        source = rng.integers(4, vocab, (batch, args.source_length))
        source = source.astype("int32")
        methods = {
            "uncached greedy (tutorial loop)": lambda: greedy_decode_uncached(
                model,
                source,
                args.new_tokens,
                eos_id=-1,
                forward=forward,
            ),
            "cached greedy": lambda: greedy(model, source, **no_eos)[0],
            "cached greedy, XLA": lambda: greedy_xla(model, source, **no_eos)[
                0
            ],
            f"beam {args.beam_size}, XLA": lambda: beam_xla(
                model, source, beam_size=args.beam_size, **no_eos
            )[0],
        }
        results = {}
        for name, function in methods.items():
            if name.startswith("uncached") and batch > args.skip_uncached_above:
                continue
            seconds = _time(function, args.repeats)
            results[name] = seconds
            print(f"  batch {batch:>3} {name:<32} {seconds:8.3f} s", flush=True)
        base = results.get("uncached greedy (tutorial loop)")
        greedy_seconds = results["cached greedy, XLA"]
        for name, seconds in results.items():
            rows.append(
                {
                    "batch": batch,
                    "method": name,
                    "seconds": round(seconds, 3),
                    "ms/step": round(1000 * seconds / args.new_tokens, 2),
                    "tokens/s": round(batch * args.new_tokens / seconds, 1),
                    "speed-up vs uncached": (
                        round(base / seconds, 1) if base else None
                    ),
                    "time vs XLA greedy": round(seconds / greedy_seconds, 2),
                }
            )
    return {
        "backend": keras.backend.backend(),
        "parameters": model.count_params(),
        "new_tokens": args.new_tokens,
        "source_length": args.source_length,
        "rows": rows,
    }


def main(argv=None):
    args = _arguments(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    results = run(args)
    from tabulate import tabulate

    print(
        f"\nDecoding {results['new_tokens']} tokens from "
        f"{results['source_length']}-token sources; "
        f"{results['parameters']:,} parameters; backend "
        f"{results['backend']}.\n"
    )
    print(tabulate(results["rows"], headers="keys", tablefmt="github"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
