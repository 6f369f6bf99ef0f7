# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # 09 Named entities, question answers and summaries
#
# Three more uses of the same layers, each a `task:` in a config:
#
# - `token_classification`: a tag for every word (named-entity
#   recognition), with an encoder and a per-token head;
# - `question_answering`: the span of a context that answers a question,
#   with an encoder and start/end logits;
# - `summarization`: a short text from a long one, with the
#   encoder-decoder of translation and its beam search.
#
# Each section writes a small generated data set in the format of the real
# one (CoNLL columns, SQuAD JSON, SAMSum JSON), trains the real config with
# a smaller model and fewer steps, and looks inside the result: entities
# marked in text, the start and end probabilities over a context, and the
# cross-attention of a summary. The same commands on the data in
# `$DATA_DIR` are in docs/results.md.

# %%
# Parameters. The quick defaults train three small models, each in about a
# minute on 2 CPU cores. docs/results.md trains the configs' full models on the
# real data sets.
SEED = 0
NER_STEPS = 600
QA_STEPS = 300
SUMMARY_STEPS = 150

# %%
import gzip
import json
import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import html

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import HTML, display

from keras_transformer.experiment import load_experiment
from keras_transformer.inference.attention_plot import attention_figure
from keras_transformer.run import load_finished
from keras_transformer.tasks.question_answering.windows import question_windows
from keras_transformer.train import train_and_evaluate

rng = np.random.default_rng(SEED)
root = tempfile.mkdtemp()
SMALL_MODEL = [
    "model.num_layers=1",
    "model.d_model=64",
    "model.num_heads=4",
    "model.ff_dim=128",
    "model.dropout=0.0",
]

# %% [markdown]
# ## Named entities
#
# Sentences of filler words in which a cue announces a person ("met",
# "with", "called") or a place ("in", "to", "from"), followed by one or two
# made-up capitalised names, new in almost every sentence. Tagging a word
# with its most frequent training tag (the baseline) finds few of them;
# reading the cue and the capitals finds them all. The files are CoNLL
# columns, `word<TAB>tag`, with BIO tags, as WNUT-17's.

# %%
FILLER = "the a we they then today later some good old day nice".split()
CUES = {"person": ("met", "with", "called"), "location": ("in", "to", "from")}
SYLLABLES = "ka lo mi ra te su bé no vi ør da ze ku pa".split()


def made_up_name():
    return "".join(rng.choice(SYLLABLES, rng.integers(2, 4))).capitalize()


def tagged_sentence():
    words, tags = [], []
    for _ in range(rng.integers(1, 3)):
        filler = list(rng.choice(FILLER, rng.integers(1, 4)))
        kind = ("person", "location")[rng.integers(0, 2)]
        words += filler + [str(rng.choice(CUES[kind]))]
        tags += ["O"] * (len(filler) + 1)
        for index in range(rng.integers(1, 3)):
            words.append(made_up_name())
            tags.append(("B-" if index == 0 else "I-") + kind)
    return words, tags


ner_dir = os.path.join(root, "ner")
os.makedirs(ner_dir)
# The file names of configs/wnut17_ner.yaml's data.split_names.
for name, count in [
    ("wnut17train.conll", 3000),
    ("emerging.dev.conll", 100),
    ("emerging.test.annotated", 200),
]:
    with open(os.path.join(ner_dir, name), "w") as handle:
        for words, tags in (tagged_sentence() for _ in range(count)):
            handle.writelines(f"{w}\t{t}\n" for w, t in zip(words, tags))
            handle.write("\n")
print(open(os.path.join(ner_dir, "wnut17train.conll")).read()[:120])

# %%
ner = load_experiment(
    "../configs/wnut17_ner.yaml",
    SMALL_MODEL
    + [
        f"data.path={ner_dir}/{{split}}",
        "tokenizer.vocab_size=400",
        "model.norm_first=true",
        f"training.steps={NER_STEPS}",
        f"training.steps_per_epoch={NER_STEPS}",
        "training.max_length=48",
        "training.batch_tokens=1024",
        "training.learning_rate=0.003",
    ],
)
ner_dir_run = os.path.join(root, "ner_run")
metrics = train_and_evaluate(ner, ner_dir_run, verbose=2)
print(
    f"entity F1 {metrics['entity_f1']:.3f} (precision "
    f"{metrics['entity_precision']:.3f}, recall {metrics['entity_recall']:.3f}); "
    "most-frequent-tag baseline "
    f"{metrics['baseline_f1']:.3f}"
)

# %% [markdown]
# The predictor (the graph that `predict` runs and `export` saves) splits a
# text at whitespace and returns every entity with its type, its text and
# its character offsets into the original text, accents and all.
# At this size the commonest remaining error starts a new entity at the
# second word of a two-word name (`B-` where `I-` belongs); look for it
# below.

# %%
task, model = load_finished(ner_dir_run, compile=False)
tagger = task.predictor(model)
texts = [
    "later we met Sulora Vibé in Kazenø today",
    "they called Danoku then went to Pamira",
]
COLOURS = {"person": "#ffd8a8", "location": "#b2f2bb"}


def highlighted(text, entities):
    parts, position = [], 0
    for entity in entities:
        parts.append(html.escape(text[position : entity["start"]]))
        parts.append(
            f'<mark style="background:{COLOURS.get(entity["type"], "#ddd")}">'
            f"{html.escape(text[entity['start'] : entity['end']])} "
            f"<sub>{entity['type']}</sub></mark>"
        )
        position = entity["end"]
    parts.append(html.escape(text[position:]))
    return "".join(parts)


rows = tagger.predict(texts)
for text, row in zip(texts, rows):
    print(tagger.format(row))
display(
    HTML(
        "<br>".join(highlighted(t, r["entities"]) for t, r in zip(texts, rows))
    )
)

# %% [markdown]
# ## Question answering
#
# SQuAD v1.1 JSON: articles of paragraphs, each a context with questions
# and the character offset of each answer. Here each context says where a
# person lives, what they do and when they were born, in a random order,
# and a sentence about the weather; the questions ask one of the three.
# The baseline answers with the context sentence that shares the most
# words with the question.

# %%
PEOPLE = "Ann Bo Cleo José Karl Lena Mia Zoë Ægir Søren".split()
CITIES = "Paris Rome Oslo Kraków Zürich Lima Cairo Malmö".split()
JOBS = "baker pilot nurse farmer singer chef".split()
FACTS = [
    ("lives in", CITIES, "Where does {} live?"),
    ("works as a", JOBS, "What is the job of {}?"),
    ("was born in", [str(y) for y in range(1950, 2010)], "When was {} born?"),
]


def paragraph(number):
    name = str(rng.choice(PEOPLE))
    sentences = [("It rains a lot there in spring.", None)]
    for verb, values, question in FACTS:
        value = str(rng.choice(values))
        sentences.append((f"{name} {verb} {value}.", (value, question)))
    context, qas = "", []
    for index in rng.permutation(len(sentences)):
        sentence, fact = sentences[index]
        if fact:
            value, question = fact
            qas.append(
                {
                    "id": f"q{number}-{len(qas)}",
                    "question": question.format(name),
                    "answers": [
                        {
                            "text": value,
                            "answer_start": len(context)
                            + sentence.index(value),
                        }
                    ],
                }
            )
        context += sentence + " "
    return {"context": context.strip(), "qas": qas}


squad = {
    "version": "1.1",
    "data": [
        {
            "title": f"article {a}",
            "paragraphs": [paragraph(a * 10 + p) for p in range(10)],
        }
        for a in range(120)
    ],
}
squad_path = os.path.join(root, "squad.json.gz")
with gzip.open(squad_path, "wt", encoding="utf-8") as handle:
    json.dump(squad, handle)
print(json.dumps(squad["data"][0]["paragraphs"][0], ensure_ascii=False)[:300])

# %%
qa = load_experiment(
    "../configs/squad_local.yaml",
    SMALL_MODEL
    + [
        f"data.path={squad_path}",
        "data.validation_fraction=0.05",
        "data.test_fraction=0.1",
        "tokenizer.vocab_size=200",
        "tokenizer.model_type=bpe",
        f"training.steps={QA_STEPS}",
        f"training.steps_per_epoch={QA_STEPS}",
        "training.max_length=32",
        "task_settings.question_answering.doc_stride=8",
        "training.batch_tokens=2048",
        "training.learning_rate=0.003",
        "task_settings.question_answering.max_answer_length=4",
    ],
)
qa_run = os.path.join(root, "qa_run")
metrics = train_and_evaluate(qa, qa_run, verbose=2)
print(
    f"exact match {metrics['exact_match']:.1f}, F1 {metrics['f1']:.1f}; "
    f"overlap-sentence baseline F1 {metrics['baseline_f1']:.1f}"
)

# %% [markdown]
# The context is longer than a window of `training.max_length` = 32
# tokens, so the model reads it in several windows
# `task_settings.question_answering.doc_stride` tokens apart; the answer is the best span over all of them. Below, the
# probability of each context piece being the start and the end of the
# answer, in every window (one line per window).

# %%
task, model = load_finished(qa_run, compile=False)
extractor = task.predictor(model)
question = "When was Zoë born?"
context = (
    "Zoë works as a pilot. It rains a lot there in spring. "
    "Zoë was born in 1987. Zoë lives in Kraków."
)
answer = extractor.predict([(question, context)])[0]
print(answer)
assert context[answer["start"] : answer["end"]] == answer["answer"]

tokenizer = task.tokenizers[0]
windows = question_windows(
    tokenizer,
    tf.constant([question]),
    tf.constant([context]),
    qa.training.max_length,
    qa.task_settings["question_answering"].doc_stride,
)
logits = np.asarray(model({"tokens": windows["tokens"]}), "float32")
probabilities = np.exp(logits - logits.max(1, keepdims=True))
probabilities /= probabilities.sum(1, keepdims=True)  # over positions
pieces = tokenizer.id_to_piece(
    tokenizer.tokenize(tf.constant([context])).flat_values
).numpy()
pieces = [piece.decode("utf-8") for piece in pieces]
figure, axes = plt.subplots(2, 1, figsize=(12, 5), sharex=True)
for window in range(len(windows["tokens"])):
    offset = int(windows["offset"][window])
    first = int(windows["first"][window])
    length = int(windows["length"][window])
    span = np.arange(first, first + length)
    for side, axis in enumerate(axes):
        axis.plot(
            span,
            probabilities[window, offset : offset + length, side],
            "o-",
            label=f"window {window}",
        )
for axis, name in zip(axes, ["start", "end"]):
    axis.set_ylabel(f"p({name})")
    axis.legend(loc="upper left", fontsize=8)
axes[1].set_xticks(range(len(pieces)))
axes[1].set_xticklabels(pieces, rotation=90)
axes[0].set_title(f"{question} -> {answer['answer']!r}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Summarisation
#
# SAMSum-style JSON: chat dialogues with one utterance per line, and a
# one-sentence summary. Two people chat and agree where and when to meet;
# the summary says who meets where and when. The baseline is the SAMSum
# paper's "longest-3": the three longest utterances. Long chit-chat lines
# make it a poor summary here.

# %%
NAMES = ["Ann", "Bob", "Cleo", "Dan", "Eve", "Finn", "Gia", "Hugo"]
PLACES = ["park", "cafe", "station", "library", "gym", "cinema"]
DAYS = ["monday", "tuesday", "friday", "saturday", "sunday"]
CHATTER = [
    "how was your week",
    "i am so tired today after all that work",
    "did you see the game last night",
    "my sister says hello to you",
    "the weather is terrible again",
]


def dialogue(index):
    a, b = rng.choice(NAMES, 2, replace=False)
    place, day = rng.choice(PLACES), rng.choice(DAYS)
    lines = [f"{a}: hi {b}", f"{b}: hey"]
    lines += [
        f"{rng.choice([a, b])}: {rng.choice(CHATTER)}"
        for _ in range(rng.integers(1, 4))
    ]
    lines += [f"{a}: meet at the {place} on {day}?", f"{b}: sure"]
    return {
        "id": str(index),
        "dialogue": "\r\n".join(lines),
        "summary": f"{a} and {b} will meet at the {place} on {day}.",
    }


summary_dir = os.path.join(root, "samsum")
os.makedirs(summary_dir)
# The file names of configs/samsum.yaml's data.split_names.
for name, count in [
    ("train.json.gz", 1500),
    ("val.json", 20),
    ("test.json", 40),
]:
    records = [dialogue(i) for i in range(count)]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(
        os.path.join(summary_dir, name), "wt", encoding="utf-8"
    ) as handle:
        json.dump(records, handle)
print(records[0]["dialogue"], "\n->", records[0]["summary"])

# %%
summarisation = load_experiment(
    "../configs/samsum.yaml",
    SMALL_MODEL
    + [
        f"data.path={summary_dir}/{{split}}",
        "tokenizer.vocab_size=80",
        f"training.steps={SUMMARY_STEPS}",
        f"training.steps_per_epoch={SUMMARY_STEPS}",
        "training.max_length=96",
        "training.batch_tokens=1024",
        "training.schedule=constant",
        "training.cooldown_fraction=0.0",
        "training.learning_rate=0.003",
        "training.label_smoothing=0.0",
        "task_settings.summarization.max_summary_length=24",
        "evaluation.decoding.beam_size=2",
        # SAMSum's minimum of 25 pieces would pad these short summaries.
        "evaluation.decoding.min_length=0",
    ],
)
summary_run = os.path.join(root, "summary_run")
metrics = train_and_evaluate(summarisation, summary_run, verbose=2)
for key in ("rouge1", "rouge2", "rougeLsum"):
    print(
        f"{key}: {metrics[key]:.1f} (longest-3: {metrics['baseline_' + key]:.1f})"
    )

# %% [markdown]
# `configs/samsum.yaml` copies (`model.copy_source: true`): each output
# piece mixes the decoder's vocabulary distribution with a pointer over the
# dialogue's pieces (`PointerGenerator`). Below, the summary of a new
# dialogue and what it copied: each row is an output piece, labelled with
# the share of its probability that is copied; each column is a dialogue
# piece, and the colour is the copy attention. The names are copied from
# the first lines that hold them, the place and the day mostly from the
# line that proposes the meeting (any position holding the same piece
# serves: a piece of "gym" may come from "hey"); "and", "will" and the
# full stop, which the dialogue does not spell that way, come from the
# vocabulary.

# %%
task, model = load_finished(summary_run, compile=False)
summarizer = task.predictor(model)
document = "Eve: hi Finn\nFinn: hey\nEve: the weather is terrible again\nEve: meet at the gym on friday?\nFinn: sure"
print(summarizer.predict([document])[0])
source_pieces, output_pieces, weights, copied = summarizer.copy_attention(
    document
)
rows = [f"{piece}  {share:.0%}" for piece, share in zip(output_pieces, copied)]
attention_figure(source_pieces, rows, weights, title="copy attention")
plt.show()

# %% [markdown]
# The cross-attention of the last decoder layer (mean over heads) for the
# same summary: where the decoder looked while computing its states, as
# in notebook 04. It feeds both the vocabulary distribution and the
# pointer's queries; it is spread over many pieces, with its peaks on the
# meeting line, and need not point where the copy comes from.

# %%
attention_figure(
    *summarizer.cross_attention(document), title="decoder cross-attention"
)
plt.show()
