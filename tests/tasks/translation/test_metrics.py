import pytest
import sacrebleu

from keras_transformer.tasks.translation.metrics import (
    exact_match,
    translation_metrics,
)


def test_exact_match():
    assert exact_match(["a b", "c", "d"], ["a  b", "c", "e"]) == pytest.approx(
        2 / 3
    )
    assert exact_match([], []) == 0.0
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        exact_match(["a", "b"], ["a"])


def test_translation_metrics_match_sacrebleu():
    hyps = ["the cat sat on the mat", "a dog barked loudly"]
    refs = ["the cat sat on a mat", "a dog barked"]
    metrics = translation_metrics(hyps, refs)
    assert metrics["bleu"] == round(
        sacrebleu.corpus_bleu(hyps, [refs]).score, 2
    )
    assert metrics["chrf"] == round(
        sacrebleu.corpus_chrf(hyps, [refs]).score, 2
    )
    assert metrics["exact_match"] == 0.0
    # 10 output words against 9 reference words (13a tokens).
    assert metrics["length_ratio"] == round(10 / 9, 4)
    assert metrics["bleu_signature"].startswith("nrefs:1")
    assert translation_metrics(refs, refs)["bleu"] == 100.0
