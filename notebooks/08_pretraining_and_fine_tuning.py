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
# # Masked-language-model pretraining, then fine-tuning
#
# Why the encoder exists on its own: pretrain it on text without labels
# (BERT's masked language model: hide 15% of the tokens and predict them),
# then start a classifier from it and fine-tune on a few labelled examples.
# The `masked_lm` task does the first step, `model.init_from: RUN_DIR` the
# second; everything runs through `train_and_evaluate`, as
# `keras-transformer train` does.
#
# Data, by default: generated runs of number words ("four five six seven",
# "twelve eleven ten nine"); many without labels for pretraining and a few
# labelled "up" or "down" for fine-tuning. To predict a masked number the
# encoder must learn the order of the words, which is what the classifier
# then needs. The real-data version of this notebook is SST-2 sentiment:
#
# ```bash
# keras-transformer train configs/mlm_local.yaml --workdir runs/sst2_mlm
# keras-transformer train configs/sst2_finetune.yaml --workdir runs/sst2_ft
# keras-transformer train configs/sst2_finetune.yaml --workdir runs/sst2_scratch \
#     --set model.init_from=null --set tokenizer.path=runs/sst2_mlm/tokenizer
# ```
#
# (docs/tasks.md has the numbers), or here: set
# `SST2 = "../../shared/data/sst2"` and use the configs' sizes.

# %%
# Parameters. The quick defaults pretrain for 400 steps and fine-tune on
# 300 labelled examples for 30 steps (under two minutes on 2 CPU cores).
SST2 = None  # None: generated runs of number words; else the sst2 folder
UNLABELLED = 5000  # generated sentences for pretraining
LABELLED = 1000  # generated labelled sentences (80% train, 10% dev, 10% test)
TRAIN_LABELS = 300  # labelled training examples the classifier sees
MODEL = [
    "model.num_layers=2",
    "model.d_model=64",
    "model.num_heads=4",
    "model.ff_dim=128",
    "model.dropout=0.0",
]
PRETRAIN = [
    "training.steps=400",
    "training.steps_per_epoch=100",
    "training.batch_tokens=2048",
    "training.max_length=16",
    "training.warmup_steps=100",
    "tokenizer.vocab_size=40",
]
FINE_TUNE = [
    "training.steps=30",
    "training.steps_per_epoch=15",
    "training.batch_size=32",
    "training.batch_tokens=512",
    # the BOS state, as BERT's [CLS]
    "task_settings.classification.pooling=first",
    "training.max_length=16",
    "training.learning_rate=0.001",
]
SEED = 0

# %%
import csv
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib.pyplot as plt
import numpy as np

from keras_transformer.data import pipeline
from keras_transformer.experiment import load_experiment
from keras_transformer.run import load_finished
from keras_transformer.tasks import get_task
from keras_transformer.train import train_and_evaluate

root = tempfile.mkdtemp()

# %% [markdown]
# ## Data

# %%
rng = np.random.default_rng(SEED)
NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
).split()


def number_run():
    """Four to six consecutive number words, counting up or down."""
    start = rng.integers(0, 14)
    words = NUMBERS[start : start + rng.integers(4, 7)]
    up = rng.random() < 0.5
    return ("up" if up else "down"), " ".join(words if up else words[::-1])


def write(path, count, labels):
    with open(path, "w") as handle:
        handle.write("label\ttext\n")
        for _ in range(count):
            label, text = number_run()
            handle.write(f"{label if labels else 'none'}\t{text}\n")
    return path


if SST2 is None:
    unlabelled = write(os.path.join(root, "unlabelled.tsv"), UNLABELLED, False)
    labelled = write(os.path.join(root, "labelled.tsv"), LABELLED, True)
    data = {
        "pretrain": [f"data.path={unlabelled}"],
        "fine_tune": [
            f"data.path={labelled}",
            f"data.max_train_examples={TRAIN_LABELS}",
            "evaluation.split=test",
        ],
    }
    print(open(labelled).read()[:120])
else:
    data = {"pretrain": [f"data.path={SST2}/{{split}}"]}
    data["fine_tune"] = data["pretrain"]

# %% [markdown]
# ## The masking scheme
#
# Of the ordinary tokens of a sentence (not BOS, EOS or padding), 15% are
# selected; a selected token becomes `[MASK]` 80% of the time, a random
# token 10% of the time, and stays itself 10% of the time. The loss reads
# the selected positions only. Every pass over the data masks anew. Drawn
# here on one sentence, masked 12 times:

# %%
pretrain = load_experiment(
    "../configs/mlm_local.yaml", data["pretrain"] + MODEL + PRETRAIN
)
pretrain_dir = os.path.join(root, "mlm")
task = get_task(pretrain)
splits = task.load_splits()
task.prepare(pretrain_dir, splits)
tokenizer = task.tokenizers[0]
sentence = (
    "eleven twelve thirteen fourteen fifteen"
    if SST2 is None
    else "a gorgeous , witty , seductive movie ."
)
ids = tokenizer.tokenize(sentence, add_bos=True, add_eos=True).numpy()
pieces = [p.decode() for p in tokenizer.id_to_piece(ids).numpy()]
kinds = np.zeros((12, len(ids)), int)  # 0 kept, 1 [MASK], 2 random, 3 same
shown = []
for row in range(12):
    inputs, labels = (
        np.asarray(x)
        for x in pipeline.mask_tokens(
            ids,
            [row, 7],
            tokenizer.mask_id,
            tokenizer.vocab_size,
            tokenizer.mask_id + 1,
        )
    )
    selected = labels != 0
    kinds[row] = np.where(
        ~selected,
        0,
        np.where(inputs == tokenizer.mask_id, 1, np.where(inputs == ids, 3, 2)),
    )
    shown.append(tokenizer.id_to_piece(inputs).numpy())
figure, axis = plt.subplots(figsize=(1.0 * len(ids) + 1, 4.5))
colours = np.array(
    [[1, 1, 1], [0.3, 0.5, 0.9], [0.95, 0.6, 0.2], [0.5, 0.8, 0.5]]
)
axis.imshow(colours[kinds], aspect="auto")
for (row, col), kind in np.ndenumerate(kinds):
    axis.text(
        col, row, shown[row][col].decode(), ha="center", va="center", fontsize=8
    )
axis.set_xticks(range(len(ids)), pieces)
axis.set_yticks(range(12), [f"pass {i + 1}" for i in range(12)])
axis.set_title("white: not selected, blue: [MASK], orange: random, green: kept")
plt.show()

# %% [markdown]
# ## Pretraining
#
# The encoder (`models.MaskedLanguageModel`: embedding, encoder, and BERT's
# head of a dense GELU layer, a LayerNorm and the tied vocabulary
# projection) learns to predict the selected tokens. Accuracy and
# perplexity are measured on the selected tokens only.

# %%
metrics = train_and_evaluate(pretrain, pretrain_dir, verbose=2)
print({k: metrics[k] for k in ("accuracy", "perplexity")})
with open(os.path.join(pretrain_dir, "history.csv")) as handle:
    history = list(csv.DictReader(handle))
steps = [int(row["step"]) for row in history]
figure, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for key, label in (("loss", "training"), ("val_loss", "validation")):
    axes[0].plot(steps, [float(r[key]) for r in history], "o-", label=label)
for key, label in (("accuracy", "training"), ("val_accuracy", "validation")):
    axes[1].plot(steps, [float(r[key]) for r in history], "o-", label=label)
axes[0].set_title("masked-token cross-entropy")
axes[1].set_title("masked-token accuracy")
for axis in axes:
    axis.set_xlabel("step")
    axis.legend()
plt.show()

# %% [markdown]
# ## Filling masks
#
# The task's predictor (`MaskFiller`, also what `keras-transformer predict`
# prints and `export` serves) reads `[MASK]` in the text:

# %%
task, model = load_finished(pretrain_dir, compile=False)
filler = task.predictor(model)
for row in filler.predict(
    ["three four [MASK] six", "nine eight [MASK] six", "[MASK] eleven twelve"]
    if SST2 is None
    else ["a [MASK] , witty movie .", "the acting is [MASK] ."]
):
    print(filler.format(row))

# %% [markdown]
# ## Fine-tuning: from the pretrained encoder vs from scratch
#
# The same classifier, data, steps and seed, once starting from the
# pretrained embedding and encoder (`model.init_from`), once from random
# weights with the same tokenizer (`tokenizer.path`). Only the head
# (the dense layer on the pooled states) is new in the first.

# %%
base = data["fine_tune"] + MODEL + FINE_TUNE
results = {}
for name, extra in (
    ("pretrained", [f"model.init_from={pretrain_dir}"]),
    (
        "from scratch",
        [
            "model.init_from=null",
            f"tokenizer.path={os.path.join(pretrain_dir, 'tokenizer')}",
        ],
    ),
):
    experiment = load_experiment("../configs/sst2_finetune.yaml", base + extra)
    run_dir = os.path.join(root, name.replace(" ", "_"))
    results[name] = train_and_evaluate(experiment, run_dir, verbose=0)
print(f"{'':>14} {'accuracy':>9} {'loss':>7}")
for name, metrics in results.items():
    print(f"{name:>14} {metrics['accuracy']:9.3f} {metrics['loss']:7.3f}")

# %% [markdown]
# Both runs saw the same 300 labelled examples in the same order. The
# pretrained encoder already orders the number words (it had to, to fill
# the masks), so its head learns "up" against "down" from those few
# examples; the encoder from scratch must learn the words and their order
# from the labels alone. With `SST2` set and the configs' sizes, the same
# comparison on real reviews is in docs/tasks.md.
