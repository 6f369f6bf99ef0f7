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
# # Export a translator and serve it
#
# `export_run` (the `keras-transformer export` command) writes a
# SavedModel whose `serving_default` signature holds the whole loop:
# SentencePiece tokenization, the encoder, beam search over the key/value
# cache, and detokenization. A server sends strings and gets strings back.
# This notebook trains a small translator, exports it, loads it in a fresh
# Python process that imports only TensorFlow and tensorflow-text, calls
# the signature, and builds the REST request TensorFlow Serving expects.

# %%
# Parameters. The quick defaults train the built-in `dates` task of
# `make demo` (dates in human formats -> ISO 8601) for 150 steps with a
# smaller model, under a minute on 2 CPU cores: a half-trained translator,
# which is all serving needs to show.
# To export a real model, point RUN_DIR at a finished run (for example the
# Multi30k run of docs/results.md) and set TRAIN = False.
TRAIN = True
RUN_DIR = None  # None: train into a new temporary directory
DECODE = "beam"  # beam | greedy | sampling: the search inside the export
EXPORT_DIR = None  # None: a new temporary directory

# %%
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keras_transformer.experiment import load_experiment
from keras_transformer.export import export_run
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.run import load_finished
from keras_transformer.train import train_and_evaluate

root = tempfile.mkdtemp()
run_dir = RUN_DIR or os.path.join(root, "run")
if TRAIN:
    experiment = load_experiment(
        "../configs/demo.yaml",
        [
            "training.steps=150",
            "training.steps_per_epoch=150",
            "training.warmup_steps=100",
            "training.batch_tokens=1024",
            "model.d_model=64",
            "model.ff_dim=256",
            "data.train_size=5000",
            "evaluation.max_examples=100",
        ],
    )
    metrics = train_and_evaluate(experiment, run_dir, verbose=2)
    print("held-out exact match:", metrics["exact_match"])

# %% [markdown]
# ## Export
#
# The SavedModel goes into a numbered version folder, `EXPORT_DIR/1/`:
# TensorFlow Serving serves the highest version and picks up new ones as
# they appear.

# %%
export_dir = EXPORT_DIR or os.path.join(root, "exports", "translator")
info = export_run(run_dir, export_dir, decoding=DecodingConfig(DECODE))
print(json.dumps(info, indent=2))
cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
shown = subprocess.run(
    [
        cli,
        "show",
        "--dir",
        info["path"],
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
    ],
    capture_output=True,
    text=True,
).stdout
print(shown)

# %% [markdown]
# ## Load it where this package is not installed
#
# The serving code needs only `tensorflow` and `tensorflow_text` (which
# registers the SentencePiece ops). A fresh Python process proves it: the
# script below does not import `keras_transformer`, and it reports which of
# the package's modules were loaded (none).

# %%
SERVE = r"""
import json, sys, time
started = time.time()
import tensorflow as tf
import tensorflow_text  # noqa: F401  (SentencePiece ops)

model = tf.saved_model.load(sys.argv[1])
loaded = time.time()
translate = model.signatures["serving_default"]
texts = json.loads(sys.argv[2])
outputs = translate(text=tf.constant(texts))
print(json.dumps({
    "translation": [t.decode() for t in outputs["translation"].numpy()],
    "score": [round(float(s), 4) for s in outputs["score"].numpy()],
    "seconds to import and load": round(loaded - started, 1),
    "keras_transformer modules loaded": [
        m for m in sys.modules if m.startswith("keras_transformer")],
}, indent=1, ensure_ascii=False))
"""
texts = [
    "5 March 2021",
    "Friday, July 4, 1980",
    "",
    "   ",
    "ça va 東京",
    "the 3rd of May " * 20,
]
result = subprocess.run(
    [sys.executable, "-c", SERVE, info["path"], json.dumps(texts)],
    capture_output=True,
    text=True,
)
print(result.stdout or result.stderr[-2000:])

# %% [markdown]
# Empty and whitespace-only inputs come back as `""` with score 0; other
# inputs always give a string (the last, too long, is truncated to the
# training `max_length`). The in-process translator agrees: it is the same
# graph (the task's predictor, whose `serve` function the export saved).

# %%
task, model = load_finished(run_dir, compile=False)
translator = task.predictor(model, DecodingConfig(DECODE))
print(translator.translate(texts))

# %% [markdown]
# ## TensorFlow Serving
#
# Start the server on the export's base directory (the one holding `1/`):
#
# ```bash
# docker run --rm -p 8501:8501 \
#     -v "$EXPORT_DIR:/models/translator" -e MODEL_NAME=translator \
#     tensorflow/serving
# ```
#
# and POST to its REST predict endpoint. The request for the sentences
# above (built here; sending it needs the running server):

# %%
request = {
    "signature_name": "serving_default",
    "instances": [{"text": text} for text in texts[:2]],
}
print("POST http://localhost:8501/v1/models/translator:predict")
print(json.dumps(request, indent=1))
print("\nwith curl:")
print(
    f"curl -s -X POST localhost:8501/v1/models/translator:predict "
    f"-d '{json.dumps(request)}'"
)

# %% [markdown]
# The response holds one object per instance with the signature's outputs,
# `{"predictions": [{"translation": "...", "score": ...}, ...]}`. Python
# clients can skip HTTP and load the SavedModel directly, as above.
