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
# # Text classification with a Transformer encoder
#
# An encoder stack, masked mean pooling over the real tokens (or a BOS
# "class" token, `task_settings.classification.pooling: first`) and a dense layer: spam vs. ham
# or positive vs. negative. Trained with `model.fit` through the same
# `train_and_evaluate` as translation; evaluated with accuracy and a
# confusion matrix.
#
# Data, by default: short generated reviews whose label depends on a
# sentiment word *and* on negation ("not good" is negative), written to a
# labelled TSV file here, so no download is needed. To use real data:
#
# - `DATA_PATH = "../../shared/data/sms-spam-collection/SMSSpamCollection"`
#   (the file `configs/classify_local.yaml` names; any labelled TSV/CSV
#   works), or
# - `CONFIG = "../configs/imdb.yaml"; DATA_PATH = None; GENERATE = False`:
#   IMDB reviews from tensorflow-datasets (downloads on first use).

# %%
# Parameters. The quick defaults train for 200 steps (well under a minute
# on 2 CPU cores). For the SMS spam file, use DATA_PATH above and
# OVERRIDES = [] (the config's 2,000 steps, D = 128).
CONFIG = "../configs/classify_local.yaml"
DATA_PATH = None  # None: generate a labelled file (GENERATE must be True)
GENERATE = True
NUM_EXAMPLES = 3000  # generated examples
OVERRIDES = [
    "training.steps=200",
    "training.steps_per_epoch=100",
    "training.batch_tokens=1024",
    "training.max_length=32",
    "model.d_model=64",
    "model.ff_dim=128",
    "tokenizer.vocab_size=40",
]
RUN_DIR = None  # None: a new temporary directory
SEED = 0

# %%
import json
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib.pyplot as plt
import numpy as np

from keras_transformer.experiment import load_experiment
from keras_transformer.run import load_finished
from keras_transformer.tasks import get_task
from keras_transformer.train import train_and_evaluate

root = RUN_DIR or tempfile.mkdtemp()

# %% [markdown]
# ## Data

# %%
rng = np.random.default_rng(SEED)
SUBJECTS = [
    "the film",
    "this phone",
    "the food",
    "our hotel",
    "the service",
    "the book",
    "this game",
    "the concert",
]
POSITIVE = ["good", "great", "excellent", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "poor"]
FILLERS = ["really", "very", "quite", "honestly", "", ""]


def review():
    positive = rng.random() < 0.5
    word = rng.choice(POSITIVE if positive else NEGATIVE)
    negated = rng.random() < 0.3
    verb = "was not" if negated else "was"
    text = f"{rng.choice(SUBJECTS)} {verb} {rng.choice(FILLERS)} {word}"
    label = "positive" if positive != negated else "negative"
    return label, " ".join(text.split())


overrides = list(OVERRIDES)
if DATA_PATH is None and GENERATE:
    DATA_PATH = os.path.join(root, "reviews.tsv")
    with open(DATA_PATH, "w") as handle:
        handle.write("label\ttext\n")
        for _ in range(NUM_EXAMPLES):
            handle.write("\t".join(review()) + "\n")
if DATA_PATH is not None:
    overrides.append(f"data.path={DATA_PATH}")
experiment = load_experiment(CONFIG, overrides)
splits = get_task(experiment).load_splits()  # the classification task's
print("classes:", splits.label_names)
for text, label in splits["train"].take(5).as_numpy_iterator():
    print(f"{splits.label_names[label]:>9}: {text.decode()}")

# %% [markdown]
# ## Training

# %%
run_dir = os.path.join(root, "classifier")
metrics = train_and_evaluate(experiment, run_dir, verbose=2)
print(json.dumps({k: metrics[k] for k in ("split", "accuracy", "loss")}))

# %% [markdown]
# ## Confusion matrix on the test split

# %%
task, model = load_finished(run_dir, compile=False)
test = task.make_dataset(splits["test"], training=False)
labels = np.concatenate([y for _, y in test.as_numpy_iterator()])
predicted = np.argmax(model.predict(test, verbose=0), axis=-1)
names = splits.label_names
confusion = np.zeros((len(names), len(names)), int)
for truth, guess in zip(labels, predicted):
    confusion[truth, guess] += 1
print(
    f"test accuracy: {np.mean(labels == predicted):.4f} "
    f"({len(labels)} examples)"
)

figure, axis = plt.subplots(figsize=(4.2, 3.6))
axis.imshow(confusion, cmap="Blues")
for (row, col), count in np.ndenumerate(confusion):
    axis.text(
        col,
        row,
        str(count),
        ha="center",
        va="center",
        color="white" if count > confusion.max() / 2 else "black",
    )
axis.set_xticks(range(len(names)), names)
axis.set_yticks(range(len(names)), names)
axis.set_xlabel("predicted")
axis.set_ylabel("true")
axis.set_title("test confusion matrix")
plt.show()

# %% [markdown]
# ## New sentences
#
# Negation is where a bag of words fails and attention helps: the model
# must combine "not" with the sentiment word.

# %%
sentences = [
    "the film was great",
    "the film was not great",
    "this phone was really awful",
    "this phone was not awful",
]
# The task's predictor: the graph `keras-transformer predict` runs and
# `export` saves (tokenize, truncate, classify, name the label).
for sentence, row in zip(sentences, task.predictor(model).predict(sentences)):
    print(f"{row['label']:>9} ({max(row['probabilities']):.2f}): {sentence}")
