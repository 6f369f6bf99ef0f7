# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A decoder-only language model, and how to sample from it
#
# The decoder stack without cross-attention, causal self-attention, one
# byte per token (GPT-style, pre-LN): trained to predict the next byte of a
# text file, then used to continue prompts with greedy search and with
# sampling (temperature, top-k, top-p) over the key/value cache.
#
# Text, by default: the docstrings of a few Python standard-library modules
# (English prose that every Python install has, so no download). For
# Shakespeare: `TEXT_PATH = "../../shared/data/tiny-shakespeare/input.txt"`
# (the file `configs/lm_local.yaml` names), or `CONFIG =
# "../configs/tiny_shakespeare.yaml"` for the tensorflow-datasets version.

# %%
# Parameters. The quick defaults train a 2-layer, D = 128 model for 300
# steps (about a minute and a half on 2 CPU cores): enough to learn the
# commonest words and the spacing, not enough for sense, but the effect of
# each sampling knob shows. OVERRIDES = [] with the Shakespeare file trains
# the config's 4-layer, D = 256 model for 5,000 steps.
CONFIG = "../configs/lm_local.yaml"
TEXT_PATH = None  # None: standard-library docstrings
OVERRIDES = [
    "training.steps=300",
    "training.steps_per_epoch=100",
    "training.batch_size=16",
    "training.max_length=64",
    "training.warmup_steps=100",
    "training.lr_scale=2.0",
    "model.num_layers=2",
    "model.d_model=128",
    "model.ff_dim=512",
]
PROMPTS = ["Return the ", "The default value", "If the"]
NEW_TOKENS = 80
RUN_DIR = None  # None: a new temporary directory
SEED = 0

# %%
import inspect
import json
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from keras_transformer.experiment import load_experiment
from keras_transformer.inference import (
    compile_decoder,
    greedy_decode,
    sample,
)
from keras_transformer.train import load_run, train_and_evaluate

root = RUN_DIR or tempfile.mkdtemp()

# %%
if TEXT_PATH is None:
    import collections
    import functools
    import itertools
    import json as json_module
    import pathlib
    import re
    import textwrap

    documents = []
    for module in (
        collections,
        functools,
        itertools,
        json_module,
        pathlib,
        re,
        textwrap,
        inspect,
        os,
        str,
        list,
        dict,
    ):
        for _, member in inspect.getmembers(module):
            doc = inspect.getdoc(member)
            if doc and len(doc) > 80:
                documents.append(doc)
    text = "\n\n".join(dict.fromkeys(documents))
    TEXT_PATH = os.path.join(root, "docstrings.txt")
    with open(TEXT_PATH, "w") as handle:
        handle.write(text)
print(f"{os.path.getsize(TEXT_PATH):,} bytes of text; it starts:")
print(open(TEXT_PATH).read()[:300])

# %% [markdown]
# ## Training

# %%
experiment = load_experiment(CONFIG, OVERRIDES + [f"data.path={TEXT_PATH}"])
run_dir = os.path.join(root, "language_model")
metrics = train_and_evaluate(experiment, run_dir, verbose=2)
print(json.dumps({k: metrics[k] for k in ("split", "loss", "perplexity")}))
print("a uniform guess over 256 bytes has perplexity 256")

# %% [markdown]
# ## Continuing prompts
#
# `greedy_decode` and `sample` take the prompt ids of a language model
# (right-padded, of different lengths in one batch) and return the
# continuation. Greedy search tends to loop; sampling trades accuracy for
# variety, and the three knobs limit how far it strays:
#
# - temperature T divides the logits: T < 1 sharpens the distribution,
#   T > 1 flattens it;
# - top-k samples among the k most likely tokens only;
# - top-p (nucleus) samples among the smallest set of tokens whose
#   probabilities add up to p.
#
# `compile_decoder` wraps a search in `tf.function` (or `jax.jit`) so the
# whole loop runs as one graph; each new combination of settings is traced
# once.

# %%
_, model, (tokenizer, _) = load_run(run_dir, compile=False)
prompt_ids = tokenizer.tokenize(PROMPTS).to_tensor().numpy()


def show(title, tokens):
    print(f"--- {title}")
    completions = tokenizer.detokenize(np.asarray(tokens)).numpy()
    for prompt, completion in zip(PROMPTS, completions):
        print(repr(prompt + completion.decode("utf-8", "replace")))


fast_greedy = compile_decoder(greedy_decode)
fast_sample = compile_decoder(sample)
show("greedy", fast_greedy(model, prompt_ids, max_length=NEW_TOKENS)[0])
for settings in (
    {"temperature": 0.5},
    {"temperature": 1.0},
    {"temperature": 1.5},
    {"temperature": 1.0, "top_k": 10},
    {"temperature": 1.0, "top_p": 0.9},
):
    tokens, _ = fast_sample(
        model, prompt_ids, max_length=NEW_TOKENS, seed=SEED, **settings
    )
    show(", ".join(f"{k}={v}" for k, v in settings.items()), tokens)

# %% [markdown]
# A fixed seed reproduces a sample exactly:

# %%
first, _ = fast_sample(
    model, prompt_ids, max_length=NEW_TOKENS, seed=SEED, temperature=1.0
)
again, _ = fast_sample(
    model, prompt_ids, max_length=NEW_TOKENS, seed=SEED, temperature=1.0
)
print("same tokens with the same seed:", bool(np.all(first == again)))

# %% [markdown]
# ## What the knobs do to one next-token distribution

# %%
logits = model({"tokens": tokenizer.tokenize(["The default val"]).to_tensor()})
logits = ops.convert_to_numpy(logits)[0, -1]
order = np.argsort(logits)[::-1][:20]
pieces = [p.decode() for p in tokenizer.id_to_piece(order).numpy()]
figure, axes = plt.subplots(1, 3, figsize=(13, 3.2), sharey=True)
for axis, temperature in zip(axes, (0.5, 1.0, 1.5)):
    probabilities = np.exp(logits / temperature)
    probabilities /= probabilities.sum()
    sorted_probabilities = probabilities[order]
    nucleus = np.cumsum(sorted_probabilities) - sorted_probabilities < 0.9
    colours = ["tab:blue" if keep else "lightgrey" for keep in nucleus]
    axis.bar(range(20), sorted_probabilities, color=colours)
    axis.set_xticks(range(20), pieces, rotation=90)
    axis.set_title(f"T = {temperature}: blue = top-p 0.9 nucleus")
axes[0].set_ylabel('p(next byte | "The default val")')
figure.tight_layout()
plt.show()
