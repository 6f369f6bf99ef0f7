"""Metrics: sacreBLEU BLEU, chrF and exact match; ROUGE for summaries."""

import re

import sacrebleu


def exact_match(hypotheses, references):
    """Fraction of hypotheses equal to their reference (whitespace-normed).

    Example:

    >>> exact_match(["a b", "c"], ["a  b", "d"])
    0.5
    """
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references."
        )
    if not references:
        return 0.0
    same = sum(
        " ".join(h.split()) == " ".join(r.split())
        for h, r in zip(hypotheses, references)
    )
    return same / len(references)


def translation_metrics(hypotheses, references):
    """Corpus BLEU and chrF (sacreBLEU, detokenized text) and exact match.

    Args:
        hypotheses: list of detokenized system outputs.
        references: list of detokenized references, one per hypothesis.

    Returns:
        A dict with ``bleu``, ``chrf``, ``exact_match``, ``length_ratio``
        (the outputs' length over the references', in BLEU's tokens: above
        1, outputs run long) and the sacreBLEU signatures
        ``bleu_signature`` / ``chrf_signature``.

    Example:

    >>> translation_metrics(["the cat sat"], ["the cat sat"])["bleu"]
    100.0
    """
    exact = exact_match(hypotheses, references)
    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    return {
        "bleu": round(bleu_score.score, 2),
        "chrf": round(chrf_score.score, 2),
        "exact_match": round(exact, 4),
        "length_ratio": round(
            bleu_score.sys_len / max(bleu_score.ref_len, 1), 4
        ),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


# Summarisation: ROUGE (Lin 2004) as the summarisation literature reports it.

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
