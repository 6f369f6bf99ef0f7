"""Generated data and settings that several test modules share."""

import numpy as np

NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
).split()


def counting_lines(count, seed=0, descending_share=0.0):
    """Runs of 4-6 consecutive number words ("five six seven eight"): a
    masked word is predictable from its neighbours, a unigram guess is
    right about one time in twenty. Returns (line, ascending) pairs."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(count):
        start = int(rng.integers(0, 14))
        words = NUMBERS[start : start + int(rng.integers(4, 7))]
        ascending = rng.random() >= descending_share
        lines.append((" ".join(words if ascending else words[::-1]), ascending))
    return lines


MASKED_LM = {
    "task": "masked_lm",
    "tokenizer": {"vocab_size": 40},
    "model": {
        "num_layers": 2,
        "d_model": 64,
        "num_heads": 4,
        "ff_dim": 128,
        "dropout": 0.0,
    },
    "training": {
        "steps": 300,
        "steps_per_epoch": 150,
        "batch_tokens": 1024,
        "max_length": 16,
        "schedule": "constant",
        "learning_rate": 0.002,
        "label_smoothing": 0.0,
    },
}


# Named entities: sentences of filler words where a cue word announces a
# person ("met", "with", "called") or a location ("in", "to", "from"), and
# the entity is one or two capitalised made-up words, new in (almost)
# every sentence: tagging a word by its most frequent training tag finds
# few entities, reading the cue and the capitals finds them all.
NER_FILLER = "the a we they then today later some good old day nice".split()
NER_CUES = {
    "person": ("met", "with", "called"),
    "location": ("in", "to", "from"),
}
NER_SYLLABLES = "ka lo mi ra te su bé no vi ør da ze ku pa".split()


def _made_up_name(rng):
    syllables = rng.choice(NER_SYLLABLES, int(rng.integers(2, 4)))
    return "".join(syllables).capitalize()


def entity_sentences(count, seed=0):
    """``count`` generated NER sentences (see above), as ``(words, tags)``
    lists with BIO tags of the types ``person`` and ``location``."""
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(count):
        words, tags = [], []
        for _ in range(int(rng.integers(1, 3))):
            filler = rng.choice(NER_FILLER, int(rng.integers(1, 4)))
            words += list(filler)
            tags += ["O"] * len(filler)
            kind = ("person", "location")[int(rng.integers(0, 2))]
            words.append(str(rng.choice(NER_CUES[kind])))
            tags.append("O")
            for index in range(int(rng.integers(1, 3))):
                words.append(_made_up_name(rng))
                tags.append(("B-" if index == 0 else "I-") + kind)
        filler = rng.choice(NER_FILLER, int(rng.integers(0, 3)))
        words += list(filler)
        tags += ["O"] * len(filler)
        sentences.append((words, tags))
    return sentences


def conll_text(sentences):
    """Sentences of ``(words, tags)`` as a CoNLL file: ``word<TAB>tag``
    lines, a blank line after each sentence."""
    return "".join(
        "".join(f"{word}\t{tag}\n" for word, tag in zip(words, tags)) + "\n"
        for words, tags in sentences
    )
