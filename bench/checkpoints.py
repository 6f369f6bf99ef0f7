"""This package against Hugging Face ``transformers`` on one checkpoint:
encoder inference and fine-tuning speed on this machine.

Both load the same BERT-family checkpoint directory (all-MiniLM-L6-v2 in
docs/checkpoints.md) and run the same work on the same shapes:

* inference: the encoder's forward pass on a batch of ``--batch`` texts of
  ``--length`` tokens (random ids, no padding); sentences per second.
* fine-tuning: one training step of a two-class classifier on top of the
  encoder (mean pooling over the tokens, then a dense layer; dropout as
  the checkpoint sets it) with AdamW at 1e-4 and cross-entropy; steps per
  second.

This package runs under TensorFlow with XLA off and on
(``jit_compile``) and under JAX (always compiled); ``transformers`` runs on
PyTorch's CPU build, eagerly, with as many threads as this process may use.
Every measurement runs in its own process (``--worker``); the
implementations take turns in each of ``--rounds`` paired rounds, so that
the machine's drift hits all alike, and each figure is the median over
rounds of the median step after ``--warmup`` steps (which compile).
``transformers`` runs in the Python of ``--torch-python``, an environment
of its own (torch is not a dependency of this package)::

    python3 -m venv /tmp/ref
    /tmp/ref/bin/pip install torch==2.13.0 transformers safetensors

Example (the table of docs/speed.md, one core)::

    taskset -c 0 .venv/bin/python bench/checkpoints.py \\
        checkpoints/all-MiniLM-L6-v2 --torch-python /tmp/ref/bin/python
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMPLEMENTATIONS = {
    # name: (worker, environment)
    "keras-transformer, TensorFlow": ("keras", {"KERAS_BACKEND": "tensorflow"}),
    "keras-transformer, TensorFlow + XLA": (
        "keras-xla",
        {"KERAS_BACKEND": "tensorflow"},
    ),
    "keras-transformer, JAX": ("keras", {"KERAS_BACKEND": "jax"}),
    "transformers, PyTorch": ("torch", {}),
}
MODES = ("inference", "training")


def _inputs(args, vocab_size):
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, vocab_size, (args.batch, args.length))
    labels = rng.integers(0, 2, (args.batch,))
    return ids.astype("int32"), labels.astype("int32")


def _keras_worker(args, jit):
    sys.path.insert(0, ROOT)
    import keras

    from keras_transformer.checkpoints import huggingface
    from keras_transformer.models import Classifier, TextEncoder

    config = huggingface.pretrained_config(args.checkpoint)
    ids, labels = _inputs(args, config.vocab_size)
    inputs = {"tokens": ids}
    if args.mode == "inference":
        model = TextEncoder(config)
        huggingface.load_encoder(args.checkpoint, model)
        model.compile(jit_compile=jit)
        step = lambda: model.predict_on_batch(inputs)  # noqa: E731
    else:
        model = Classifier(config, 2, pooling="mean")
        huggingface.load_encoder(args.checkpoint, model)
        model.compile(
            optimizer=keras.optimizers.AdamW(1e-4),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit,
        )
        step = lambda: model.train_on_batch(inputs, labels)  # noqa: E731
    return step


def _torch_worker(args):
    import torch
    from transformers import AutoModel

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    encoder = AutoModel.from_pretrained(args.checkpoint)
    ids, labels = _inputs(args, encoder.config.vocab_size)
    ids = torch.tensor(ids, dtype=torch.long)
    labels = torch.tensor(labels, dtype=torch.long)
    mask = torch.ones_like(ids)
    if args.mode == "inference":
        encoder.eval()

        def step():
            with torch.inference_mode():
                return encoder(input_ids=ids, attention_mask=mask)

        return step
    head = torch.nn.Linear(encoder.config.hidden_size, 2)
    parameters = list(encoder.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=1e-4)
    encoder.train()

    def step():
        states = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        loss = torch.nn.functional.cross_entropy(head(states.mean(1)), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def _work(args):
    """Runs in the worker process: prints the median step in seconds."""
    if args.worker == "torch":
        step = _torch_worker(args)
    else:
        step = _keras_worker(args, jit=args.worker == "keras-xla")
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    print(json.dumps({"median": statistics.median(times)}))


def _measure(args, name, mode):
    worker, environment = IMPLEMENTATIONS[name]
    python = args.torch_python if worker == "torch" else sys.executable
    command = [python, os.path.abspath(__file__), args.checkpoint]
    command += ["--worker", worker, "--mode", mode]
    for option in ("batch", "length", "steps", "warmup"):
        command += [f"--{option}", str(getattr(args, option))]
    # TensorFlow sizes its pool by the machine's cores, torch (above) by
    # the cores this process may use: both get the latter.
    cores = str(len(os.sched_getaffinity(0)))
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        TF_NUM_INTRAOP_THREADS=cores,
        **environment,
    )
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, check=False
    )
    if result.returncode:
        sys.exit(f"{name}, {mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["median"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", help="a BERT-family checkpoint dir")
    parser.add_argument("--torch-python", default="/tmp/ref/bin/python")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=["keras", "keras-xla", "torch"])
    parser.add_argument("--mode", choices=MODES, default="inference")
    args = parser.parse_args()
    if args.worker:
        return _work(args)

    from tabulate import tabulate

    seconds = {(name, mode): [] for name in IMPLEMENTATIONS for mode in MODES}
    for index in range(args.rounds):
        order = list(IMPLEMENTATIONS)
        order = order if index % 2 == 0 else order[::-1]
        for mode in MODES:
            for name in order:
                print(f"round {index + 1}/{args.rounds}: {name}, {mode}")
                seconds[name, mode].append(_measure(args, name, mode))
    rows = []
    torch = "transformers, PyTorch"
    for name in IMPLEMENTATIONS:
        inference = statistics.median(seconds[name, "inference"])
        training = statistics.median(seconds[name, "training"])
        rows.append(
            {
                "implementation": name,
                "inference sentences/s": args.batch / inference,
                "vs transformers": statistics.median(
                    seconds[torch, "inference"]
                )
                / inference,
                "training steps/s": 1 / training,
                "vs transformers ": statistics.median(
                    seconds[torch, "training"]
                )
                / training,
            }
        )
    print(
        f"batch {args.batch}, {args.length} tokens, "
        f"{len(os.sched_getaffinity(0))} core(s)"
    )
    print(tabulate(rows, headers="keys", floatfmt=".3g"))


if __name__ == "__main__":
    main()
