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
# # Translation, end to end
#
# Train an encoder-decoder Transformer with the paper's recipe (Adam with
# the warm-up schedule of eq. 3, label smoothing 0.1, batches of similar
# length), then translate held-out sentences with greedy search and beam
# search, score them with sacreBLEU, and look at the cross-attention.
#
# By default it trains on the built-in `dates` task (dates in 12 human
# formats -> ISO 8601; generated, no download). One line changes the data:
#
# - `CONFIG = "../configs/ted_hrlr_pt_en.yaml"`: TED talks Portuguese ->
#   English from tensorflow-datasets (downloads on first use);
# - `CONFIG = "../configs/translate_local.yaml"`: Multi30k English -> German
#   from local files (set `data.path` in `OVERRIDES` to where they are).

# %%
# Parameters. The quick defaults train a smaller model for 300 steps
# (about a minute on 2 CPU cores). OVERRIDES = [] trains the full
# configs/demo.yaml (1,000 steps, D = 128; exact match 0.99 on held-out
# dates, see docs/getting-started.md).
CONFIG = "../configs/demo.yaml"
OVERRIDES = [
    "training.steps=300",
    "training.steps_per_epoch=100",
    "training.warmup_steps=200",
    "training.batch_tokens=1024",
    "model.d_model=64",
    "model.ff_dim=256",
    "data.train_size=10000",
    "data.validation_size=200",
    "evaluation.max_examples=100",
]
RUN_DIR = None  # None: a new temporary directory
EXAMPLES = 8  # translations shown

# %%
import csv
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib.pyplot as plt
import numpy as np

from keras_transformer.experiment import load_experiment
from keras_transformer.inference.attention_plot import attention_figure
from keras_transformer.inference.decoding_config import DecodingConfig
from keras_transformer.run import load_finished
from keras_transformer.tasks.translation.metrics import translation_metrics
from keras_transformer.train import train_and_evaluate
from keras_transformer.training.schedule import TransformerSchedule

experiment = load_experiment(CONFIG, OVERRIDES)
run_dir = RUN_DIR or os.path.join(tempfile.mkdtemp(), "translation")
print(experiment.data)
print(experiment.model)

# %% [markdown]
# ## The learning-rate schedule
#
# Eq. 3 of the paper: $lr = D^{-0.5} \cdot \min(step^{-0.5},
# step \cdot warmup^{-1.5})$, a linear warm-up followed by an inverse
# square-root decay. The paper's base model (D = 512, 4,000 warm-up steps)
# next to this run's:

# %%
d_model = experiment.model_config(8).d_model
steps = np.arange(1, max(experiment.training.steps, 8000) + 1)
ours = TransformerSchedule(d_model, experiment.training.warmup_steps)
paper = TransformerSchedule(512, 4000)
plt.figure(figsize=(6, 3.4))
plt.plot(
    steps, np.asarray(paper(steps)), label="paper base: D=512, warmup 4000"
)
plt.plot(
    steps,
    np.asarray(ours(steps)),
    label=f"this run: D={d_model}, warmup {experiment.training.warmup_steps}",
)
plt.axvline(experiment.training.steps, color="grey", ls=":", label="last step")
plt.xlabel("step")
plt.ylabel("learning rate")
plt.legend()
plt.show()

# %% [markdown]
# ## Training
#
# `train_and_evaluate` is what `keras-transformer train` runs: it generates
# or loads the data, trains a SentencePiece tokenizer, builds the model,
# trains with checkpoints (rerun after an interruption and it resumes) and
# evaluates. `verbose=2` prints one line per epoch.

# %%
metrics = train_and_evaluate(experiment, run_dir, verbose=2)
print({k: metrics[k] for k in ("accuracy", "bleu", "chrf", "exact_match")})

# %%
with open(os.path.join(run_dir, "history.csv")) as handle:
    history = list(csv.DictReader(handle))
epochs = [int(row["epoch"]) + 1 for row in history]
figure, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for key, label in (("loss", "training"), ("val_loss", "validation")):
    axes[0].plot(
        epochs, [float(row[key]) for row in history], "o-", label=label
    )
for key, label in (("accuracy", "training"), ("val_accuracy", "validation")):
    axes[1].plot(
        epochs, [float(row[key]) for row in history], "o-", label=label
    )
axes[0].set_title("loss (label-smoothed cross-entropy)")
axes[1].set_title("next-token accuracy")
for axis in axes:
    axis.set_xlabel(f"epoch ({experiment.training.steps_per_epoch} steps)")
    axis.legend()
plt.show()

# %% [markdown]
# ## Greedy search vs beam search
#
# Greedy search takes the most likely token at every step; beam search
# (the paper: beam 4, length penalty 0.6) keeps the 4 best partial
# translations. Both run over the key/value cache. Scores are the
# length-normalised log-probabilities of the outputs.

# %%
task, model = load_finished(run_dir, compile=False)  # the task: translation
test = task.load_splits()["test"]
pairs = list(test.take(experiment.evaluation.max_examples).as_numpy_iterator())
sources = [s.decode() for s, _ in pairs]
references = [t.decode() for _, t in pairs]

results = {}
for name, decoding in (
    ("greedy", DecodingConfig("greedy", length_penalty=0.6)),
    ("beam 4", DecodingConfig("beam", beam_size=4, length_penalty=0.6)),
):
    translator = task.predictor(model, decoding)  # a Translator
    hypotheses, scores = translator.translate_with_scores(sources)
    results[name] = (hypotheses, np.array(scores))
    scores_line = translation_metrics(hypotheses, references)
    print(
        f"{name:>7}: BLEU {scores_line['bleu']:6.2f}  chrF "
        f"{scores_line['chrf']:6.2f}  exact match "
        f"{scores_line['exact_match']:.3f}  mean score "
        f"{np.mean(scores):.3f}"
    )
print(scores_line["bleu_signature"])

# %%
greedy, beam = results["greedy"], results["beam 4"]
print(
    f"beam scores >= greedy scores on {np.mean(beam[1] >= greedy[1] - 1e-4):.0%}"
    " of the sentences"
)
differ = [i for i in range(len(sources)) if greedy[0][i] != beam[0][i]]
shown = (differ + [i for i in range(len(sources)) if i not in differ])[
    :EXAMPLES
]
for i in shown:
    print(
        f"source:    {sources[i]}\nreference: {references[i]}\n"
        f"greedy:    {greedy[0][i]}  ({greedy[1][i]:.3f})\n"
        f"beam 4:    {beam[0][i]}  ({beam[1][i]:.3f})\n"
    )

# %% [markdown]
# ## Cross-attention: what the decoder read
#
# Each row is one output piece; the columns are the source pieces. A
# trained translator attends to the source piece it is translating, so the
# map reads as an alignment (for dates: the day, the month name, the
# year digits).

# %%
for sentence in sources[:2]:  # `translator`: the beam-4 one from above
    figure = attention_figure(*translator.cross_attention(sentence))
    plt.show()
