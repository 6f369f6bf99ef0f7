"""Translation metrics: sacreBLEU BLEU and chrF, and exact match."""

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
