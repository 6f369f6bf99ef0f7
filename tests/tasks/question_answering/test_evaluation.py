"""SQuAD v1.1's official metrics, on cases worked out by hand from the
rules of its evaluation script."""

import pytest

from keras_transformer.tasks.question_answering.evaluation import (
    exact_match_score,
    f1_score,
    metric_max_over_ground_truths,
    normalize_answer,
    overlap_sentence,
    squad_scores,
)


@pytest.mark.parametrize(
    "text, normalized",
    [
        ("The Denver Broncos", "denver broncos"),  # case, article
        ("  an   apple,  a pear ", "apple pear"),  # articles, whitespace
        ("U.S.A.!", "usa"),  # punctuation is removed, not spaced
        ("theatre anthem", "theatre anthem"),  # only whole-word articles
        ("rock-'n'-roll", "rocknroll"),
        ("A", ""),
        ("café (1999)", "café 1999"),  # non-ASCII letters stay
    ],
)
def test_normalize_answer(text, normalized):
    assert normalize_answer(text) == normalized


def test_exact_match_ignores_case_punctuation_and_articles():
    assert exact_match_score("the Broncos.", "Broncos") == 1.0
    assert exact_match_score("Denver Broncos", "Broncos") == 0.0
    assert exact_match_score("", "the") == 1.0  # both normalize to ""


def test_f1_counts_shared_words_as_a_bag():
    # 1 shared word of 2 predicted and 1 true: P 1/2, R 1, F1 2/3.
    assert f1_score("Denver Broncos", "Broncos") == pytest.approx(2 / 3)
    # "the" is dropped: 2 shared of 3 predicted, 2 true: P 2/3, R 1.
    assert f1_score("the big red dog", "red dog") == pytest.approx(0.8)
    # Repeated words count once per occurrence in both (Counter &).
    # Articles go first: "b" against "b b", 1 shared: P 1, R 1/2.
    assert f1_score("a a b", "a b b") == pytest.approx(2 / 3)
    # min(2, 1) x + min(1, 2) y = 2 shared of 3 and 3: P = R = 2/3.
    assert f1_score("x x y", "x y y") == pytest.approx(2 / 3)
    assert f1_score("Paris", "Rome") == 0.0  # nothing shared
    assert f1_score("", "Rome") == 0.0


def test_the_best_gold_answer_counts():
    golds = ["Denver Broncos", "the Broncos", "Broncos team"]
    assert metric_max_over_ground_truths(exact_match_score, "Broncos", golds)
    assert metric_max_over_ground_truths(
        f1_score, "Denver", golds
    ) == pytest.approx(2 / 3)
    scores = squad_scores(["Broncos", "Paris"], [golds, ["Rome", "paris!"]])
    assert scores == {"exact_match": 100.0, "f1": 100.0}
    scores = squad_scores(["Denver", "x"], [golds, ["y"]])
    assert scores["exact_match"] == 0.0
    assert scores["f1"] == pytest.approx(100 * (2 / 3) / 2)
    with pytest.raises(ValueError, match="2 predictions but 1"):
        squad_scores(["a", "b"], [["a"]])


def test_the_overlap_sentence_baseline():
    context = "Bo lives in Oslo. Ann works as a chef! Ann lives in Rome."
    assert overlap_sentence("Where does Ann live?", context) == (
        "Ann works as a chef!"  # the first of two with one shared word
    )
    assert overlap_sentence("Which city is Oslo in?", context) == (
        "Bo lives in Oslo."
    )
    assert overlap_sentence("Nothing shared", "One. Two.") == "One."
