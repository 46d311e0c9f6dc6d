"""Fine-grained (ordered-class) metrics, checked by hand on a made-up 5x5 confusion matrix, and the PTB escapes of
SST's sentences read the same in training and serving."""

import numpy as np
import pytest
import tiny
from transformers import AutoTokenizer

from review_sentiment.data.scale import ordered
from review_sentiment.data.text import clean_text, encode
from review_sentiment.evaluation.metrics import classification_metrics, ordinal_metrics

FIVE = ["very negative", "negative", "neutral", "positive", "very positive"]
# rows: true class, columns: predicted class
CONFUSION = np.array([[3, 1, 1, 0, 0],
                      [1, 4, 1, 0, 0],
                      [0, 1, 2, 1, 0],
                      [0, 0, 1, 4, 1],
                      [1, 0, 0, 2, 3]])


def reviews_from(confusion):
    labels, probs = [], []
    for true, row in enumerate(confusion):
        for predicted, count in enumerate(row):
            for _ in range(count):
                p = np.full(5, 0.05)
                p[predicted] = 0.8
                # a neutral guess leans to the true side, so SST-2's mapping reads it as the right polarity
                p[1 if true < 2 else 3] += 0.05 if predicted == 2 else 0.0
                labels.append(true)
                probs.append(p / p.sum())
    return np.array(labels), np.array(probs)


def test_fine_grained_metrics_match_a_hand_count():
    labels, probs = reviews_from(CONFUSION)
    n = CONFUSION.sum()  # 27 reviews, 16 on the diagonal
    metrics = ordinal_metrics(labels, probs)
    # off by one: 9 reviews (two in row 4); off by two: 1 (row 0); off by four: 1 (row 4)
    assert metrics["within_one_accuracy"] == pytest.approx((16 + 9) / 27)
    assert metrics["mae_classes"] == pytest.approx((9 * 1 + 1 * 2 + 1 * 4) / 27)
    # SST-2's mapping: the 23 non-neutral reviews; the neutral guesses lean to the true side and count right; the one
    # "very negative" for a very positive review is the only wrong side
    assert n == 27 and metrics["binary_samples"] == 23
    assert metrics["binary_accuracy"] == pytest.approx(22 / 23)
    full = classification_metrics(labels, probs, FIVE)
    assert full["confusion_matrix"] == CONFUSION.tolist() and full["within_one_accuracy"] == metrics[
        "within_one_accuracy"]
    assert "within_one_accuracy" not in classification_metrics(labels[:10] % 2, probs[:10, :2], ["negative",
                                                                                                 "positive"])


def test_only_classes_that_run_negative_to_positive_are_ordered():
    assert ordered(FIVE) and ordered(["negative", "neutral", "positive"]) and ordered(tiny.STARS)
    assert not ordered(["negative", "positive"]) and not ordered(["positive", "negative", "neutral"])
    assert not ordered(["sports", "politics", "weather"])


def test_ptb_escapes_are_read_as_characters_in_training_and_serving(tmp_path):
    assert clean_text("A -LRB- sweet -RRB- film , ``grand'' and 8 1\\/2 \\* stars") == \
        'A ( sweet ) film , "grand" and 8 1/2 * stars'
    tokenizer = AutoTokenizer.from_pretrained(tiny.make_base_model(tmp_path / "base"))
    ptb, plain = (encode(tokenizer, [t], max_length=32, truncation="head") for t in ("-LRB- great -RRB- film",
                                                                                  "( great ) film"))
    assert ptb == plain and len(ptb[0]) == 6, "[CLS] ( great ) film [SEP]"
