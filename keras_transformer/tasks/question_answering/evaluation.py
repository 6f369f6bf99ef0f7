"""SQuAD v1.1's official answer metrics, and the overlap-sentence baseline.

``normalize_answer``, ``exact_match_score``, ``f1_score`` and
``metric_max_over_ground_truths`` follow the official evaluation script of
SQuAD v1.1 (``evaluate-v1.1.py``) rule for rule: lower case, punctuation
removed, the articles "a", "an" and "the" removed, whitespace collapsed;
F1 over the bag of normalized words; the best score over the gold answers.
``squad_scores`` averages them over a data set (in percent, as the script
prints them).
"""

import collections
import re
import string

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def normalize_answer(text):
    """Lower case, no punctuation, no articles, single spaces.

    Example:

    >>> normalize_answer("The  Denver Broncos!")
    'denver broncos'
    """
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match_score(prediction, ground_truth):
    """1.0 when the normalized answers are equal, else 0.0.

    Example:

    >>> exact_match_score("the Broncos", "Broncos.")
    1.0
    """
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def f1_score(prediction, ground_truth):
    """F1 of the normalized words (a bag: repeated words count).

    Example:

    >>> f1_score("Denver Broncos", "Broncos")
    0.6666666666666666
    """
    predicted = normalize_answer(prediction).split()
    truth = normalize_answer(ground_truth).split()
    common = collections.Counter(predicted) & collections.Counter(truth)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(predicted)
    recall = same / len(truth)
    return 2 * precision * recall / (precision + recall)


def metric_max_over_ground_truths(metric, prediction, ground_truths):
    """The best ``metric(prediction, truth)`` over the gold answers.

    Example:

    >>> metric_max_over_ground_truths(f1_score, "a b", ["a", "a b"])
    1.0
    """
    return max(metric(prediction, truth) for truth in ground_truths)


def squad_scores(predictions, ground_truths):
    """SQuAD v1.1 ``exact_match`` and ``f1`` in percent.

    Args:
        predictions: one answer ``str`` per question.
        ground_truths: one list of gold answers per question.

    Returns:
        ``{"exact_match": float, "f1": float}`` (0-100).

    Example:

    >>> squad_scores(["Denver Broncos"], [["Denver Broncos", "Broncos"]])
    {'exact_match': 100.0, 'f1': 100.0}
    """
    if len(predictions) != len(ground_truths):
        raise ValueError(
            f"{len(predictions)} predictions but {len(ground_truths)} "
            "questions."
        )
    if not predictions:
        return {"exact_match": 0.0, "f1": 0.0}
    exact = f1 = 0.0
    for prediction, truths in zip(predictions, ground_truths):
        exact += metric_max_over_ground_truths(
            exact_match_score, prediction, truths
        )
        f1 += metric_max_over_ground_truths(f1_score, prediction, truths)
    count = len(predictions)
    return {"exact_match": 100.0 * exact / count, "f1": 100.0 * f1 / count}


def overlap_sentence(question, context):
    """The sentence of ``context`` sharing the most normalized words with
    ``question`` (the first of equals): the baseline answer.

    Example:

    >>> overlap_sentence("Where does Ann live?",
    ...                  "Bo lives in Oslo. Ann lives in Rome.")
    'Ann lives in Rome.'
    """
    words = set(normalize_answer(question).split())
    sentences = [s for s in _SENTENCE_END.split(context.strip()) if s] or [""]
    return max(
        sentences,
        key=lambda s: len(words & set(normalize_answer(s).split())),
    )


__all__ = [
    "exact_match_score",
    "f1_score",
    "metric_max_over_ground_truths",
    "normalize_answer",
    "overlap_sentence",
    "squad_scores",
]
