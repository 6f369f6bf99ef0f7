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
