"""Summarisation metrics: ROUGE (Lin 2004) as the summarisation literature
reports it, and the longest-lines baseline."""

import re

ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text):
    """Sentences of ``text``: its lines, each cut after ``.``, ``!`` or ``?``
    followed by a space (rougeLsum's units; no model needed).

    Example:

    >>> split_sentences("Ann is late. Bob waits!\\nThey meet")
    ['Ann is late.', 'Bob waits!', 'They meet']
    """
    return [
        sentence.strip()
        for line in text.splitlines()
        for sentence in _SENTENCE_END.split(line)
        if sentence.strip()
    ]


def summarization_metrics(hypotheses, references):
    """Mean ROUGE-1, ROUGE-2 and ROUGE-Lsum F1 (x100) over the examples.

    ``rouge-score`` with the Porter stemmer; for ROUGE-Lsum each sentence
    (``split_sentences``) is on its own line, as in the literature.

    Args:
        hypotheses: list of generated summaries.
        references: list of reference summaries, one per hypothesis.

    Returns:
        ``{"rouge1": ..., "rouge2": ..., "rougeLsum": ...}``, rounded to
        two decimals.

    Example:

    >>> summarization_metrics(["Ann is late."], ["Ann is late."])["rouge1"]
    100.0
    """
    from rouge_score import rouge_scorer

    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references."
        )
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for hypothesis, reference in zip(hypotheses, references):
        scores = scorer.score(
            "\n".join(split_sentences(reference)),
            "\n".join(split_sentences(hypothesis)),
        )
        for name in ROUGE_TYPES:
            totals[name] += scores[name].fmeasure
    count = max(len(references), 1)
    return {name: round(100 * totals[name] / count, 2) for name in ROUGE_TYPES}


def longest_lines(document, count=3):
    """The SAMSum paper's "longest-3" baseline summary: the ``count``
    longest lines (utterances) of ``document``, in their original order,
    one per line; a one-line document gives its longest sentences.

    Example:

    >>> longest_lines("A: hi\\nB: how are you?\\nA: fine\\nB: ok, bye now")
    'B: how are you?\\nA: fine\\nB: ok, bye now'
    """
    units = [line.strip() for line in document.splitlines() if line.strip()]
    if len(units) <= 1:
        units = split_sentences(document)
    longest = sorted(range(len(units)), key=lambda i: (-len(units[i]), i))
    return "\n".join(units[i] for i in sorted(longest[:count]))
