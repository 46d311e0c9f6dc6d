"""Reviews longer than the window (head / head+tail / chunks) and word-level explanations, on tiny real models."""

import random

import numpy as np
import pandas as pd
import pytest
import torch

from review_sentiment.data.text import encode, encode_windows
from review_sentiment.evaluation.explain import explain, integrated_gradients
from review_sentiment.inference.predictor import Predictor
from review_sentiment.space.service import Service

LONG = " ".join(["the plot was awful and boring ."] * 20 + ["but the ending was great , wonderful , superb !"] * 3)


@pytest.fixture(scope="module")
def predictor(trained_model):
    return Predictor.load(str(trained_model))


def test_windows_cover_every_token_with_the_given_overlap(predictor):
    tok = predictor.tokenizer
    content = tok(LONG, add_special_tokens=False)["input_ids"]
    windows = encode_windows(tok, [LONG], max_length=64, stride=10)[0]
    assert all(len(w) <= 64 and w[0] == tok.cls_token_id and w[-1] == tok.sep_token_id for w in windows)
    assert [t for t in windows[0][1:-1]] == content[:62]
    assert windows[1][1:11] == windows[0][-11:-1], "consecutive windows share `stride` tokens"
    covered = windows[0][1:-1] + [t for w in windows[1:] for t in w[11:-1]]
    assert covered == content
    short = "great film"
    assert encode_windows(tok, [short], max_length=64)[0] == encode(tok, [short], max_length=64,
                                                                   truncation="head+tail")


def test_chunks_average_window_logits_and_equal_head_tail_for_short_reviews(trained_model):
    chunks = Predictor.load(str(trained_model), long_text="chunks", chunk_stride=10)
    plain = Predictor.load(str(trained_model))
    assert np.allclose(chunks.logits(["great wonderful film"]), plain.logits(["great wonderful film"]), atol=1e-5)
    windows = encode_windows(chunks.tokenizer, [LONG], max_length=64, stride=10)[0]
    per_window = chunks.forward(windows)
    assert np.allclose(chunks.logits([LONG])[0], per_window.mean(axis=0), atol=1e-5)
    weighted = Predictor.load(str(trained_model), long_text="chunks", chunk_stride=10, chunk_aggregation="weighted")
    lengths = np.array([len(w) for w in windows], dtype=np.float32)
    assert np.allclose(weighted.logits([LONG])[0], lengths @ per_window / lengths.sum(), atol=1e-5)
    head = Predictor.load(str(trained_model), long_text="head")
    assert head.settings.truncation == "head" and not np.allclose(head.logits([LONG]), plain.logits([LONG]))


def test_the_app_says_when_a_review_is_longer_than_the_window(trained_model, star_baseline):
    service = Service(str(trained_model), str(star_baseline), long_text="chunks")
    notes = service.compare(LONG)["notes"]
    assert any("more than the fine-tuned model's 62-token window" in n and "overlapping windows" in n
               for n in notes)
    assert not service.compare("great wonderful film")["notes"]


def test_integrated_gradients_are_complete(predictor):
    """Attributions add up to logit(review) - logit(all-[PAD]) (up to the Riemann-sum error)."""
    ids = predictor.encode(["the acting was superb and wonderful"])[0]
    scores = integrated_gradients(predictor, ids, target=1, steps=64)
    with torch.no_grad():
        logit = predictor.model(torch.tensor([ids])).logits[0, 1]
        pad = predictor.model(torch.full((1, len(ids)), predictor.tokenizer.pad_token_id)).logits[0, 1]
    assert scores.sum() == pytest.approx(float(logit - pad), rel=0.1, abs=0.05)


def test_explanation_covers_the_text_with_words_not_word_pieces(predictor):
    text = "The acting was superb<br />but the plot : awful !"
    result = explain(predictor, text)
    assert "".join(seg for seg, _ in result["segments"]) == "The acting was superb but the plot : awful !"
    words = [seg for seg, score in result["segments"] if score is not None]
    assert "superb" in words and "awful" in words and all(" " not in w for w in words)
    assert all(-1 <= score <= 1 for _, score in result["segments"] if score is not None)
    assert result["label"] == "positive"
    signed = dict(result["words"])
    assert signed["superb"] > 0 > signed["awful"]


def test_explanations_are_faithful(predictor, binary_data):
    """Deleting the top-attributed words moves the decision more than deleting as many random words. Moves are
    shares of each review's logit margin (predicted class over the next), which no temperature rescales: the tiny
    model's logits are small, and a temperature fitted on its 24 validation reviews used to be what sharpened them."""
    rng = random.Random(0)
    test = pd.read_parquet(binary_data / "test.parquet").head(20)
    top_moves, random_moves = [], []
    for text in test["text"]:
        words = text.split()
        base = predictor.logits([text])[0]
        cls = int(base.argmax())

        def margin(logits):
            return logits[cls] - np.delete(logits, cls).max()
        attributions = dict(explain(predictor, text)["words"])
        sign = 1 if predictor.labels[cls] == "positive" else -1  # scores point towards "positive"
        ranked = sorted(range(len(words)), key=lambda i: -sign * attributions.get(words[i], 0.0))
        k = 3
        drop_top = set(ranked[:k])
        drop_random = set(rng.sample(range(len(words)), k))
        for drop, bucket in ((drop_top, top_moves), (drop_random, random_moves)):
            kept = " ".join(w for i, w in enumerate(words) if i not in drop)
            bucket.append((margin(base) - margin(predictor.logits([kept])[0])) / margin(base))
    assert np.mean(top_moves) > np.mean(random_moves) + 0.25, (np.mean(top_moves), np.mean(random_moves))


def test_int8_service_serves_quantized_and_still_explains(trained_model, star_baseline):
    service = Service(str(trained_model), str(star_baseline), quantize="int8", runtime="torch")
    served = service.model.predictor
    assert served.runtime.description == "torch, int8 (dynamic)" and served.runtime.shared_length == 0
    assert service.explainer is not served and service.explainer.runtime.description == "torch, fp32"
    fp32 = Predictor.load(str(trained_model)).predict_proba(["great wonderful film", "awful boring plot"])
    probs = served.predict_proba(["great wonderful film", "awful boring plot"])
    assert not np.allclose(probs, fp32, atol=1e-7), "int8 weights: not the fp32 model's exact answers"
    assert (probs.argmax(1) == fp32.argmax(1)).all()
    assert service.explain("great wonderful film")["label"] == "positive"
