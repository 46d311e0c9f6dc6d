"""The behaviour and fairness audit: every test can fail, a planted bias is found in the planted direction, and
counterfactual augmentation shrinks it. Stand-ins are plain functions from texts to P(positive), the audit's own
interface; the planted bias is trained into a real tiny model by train.py."""

import json
import random
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import tiny
from conftest import ROOT, SHARED, minilm_dir, skip_unless, subprocess_env

from review_sentiment.data.groups import GENDER_PHRASES, NAMES
from review_sentiment.data.perturb import counterfactual, perturbations, swap_gender
from review_sentiment.evaluation import behaviour, fairness
from review_sentiment.evaluation.audit import audit, markdown, scorer
from review_sentiment.inference.predictor import Predictor

LEXICON = {**{w: 1 for w in behaviour.POSITIVE}, **{w: -1 for w in behaviour.NEGATIVE}}


def bag_of_words(texts):
    """Counts sentiment words and ignores everything else, negation and word order included."""
    scores = [sum(LEXICON.get(w, 0) for w in re.findall(r"[a-z]+", t.lower())) for t in texts]
    return 1 / (1 + np.exp(-2 * np.array(scores, dtype=float)))


def test_a_model_that_ignores_negation_fails_the_negation_and_temporal_tests():
    results = {r["test"]: r for r in behaviour.run(behaviour.suite(), bag_of_words)}
    assert results["single sentiment words"]["failure_rate"] == 0, "it knows its words"
    for name in ("negated positive", "negated negative", "negated negative at the end"):
        assert results[name]["failure_rate"] > 0.9, results[name]
    assert results["used to, but now"]["failure_rate"] > 0.9
    assert results["typos"]["failure_rate"] > 0.2, "a typo in its one sentiment word takes the verdict"


def test_every_test_fails_a_model_that_breaks_it_and_passes_one_that_does_not():
    """For each test, a model that answers exactly as the test expects passes it, and one that answers the other
    way fails every case: no test passes whatever the model does."""
    for test in behaviour.suite():
        good, bad = {}, {}
        for i, text in enumerate(test.texts):
            if test.kind == "MFT":
                target = {"positive": 0.9, "negative": 0.1, "neutral": 0.5, "not negative": 0.6,
                          "not positive": 0.4}[test.expect[i]]
                good[text], bad[text] = target, {0.9: 0.1, 0.1: 0.9, 0.5: 0.95, 0.6: 0.1, 0.4: 0.9}[target]
            elif test.kind == "INV":
                good[text] = bad[text] = 0.8
                for variant in test.variants[i]:
                    good.setdefault(variant, 0.8)
                    bad.setdefault(variant, 0.2)
            else:
                good[text] = bad[text] = 0.6
                for variant in test.variants[i]:
                    good.setdefault(variant, 0.6 + 0.3 * test.direction[i])
                    bad.setdefault(variant, 0.6 - 0.3 * test.direction[i])
        for model, expected in ((good, 0.0), (bad, 1.0)):
            result = behaviour.run([test], lambda texts, m=model: np.array([m[t] for t in texts]))[0]
            assert result["n"] > 0 and result["failure_rate"] == expected, (test.name, result)


def planted_scorer(texts, *, group="Arabic, female", drop=0.3):
    """Lower P(positive) for the names of one group, and nothing else."""
    names = {n.lower() for n in NAMES[group]}
    base = bag_of_words(texts) * 0.5 + 0.4
    return np.array([p - drop if names & set(re.findall(r"[a-z]+", t.lower())) else p for t, p in zip(texts, base)])


def test_a_planted_gap_is_found_significant_in_its_direction_and_nothing_else_is():
    axes = {a["axis"]: a for a in fairness.run(planted_scorer)}
    names = axes["first names"]
    assert names["significant"] and names["largest_gap"]["low"] == "Arabic, female"
    assert names["largest_gap"]["gap"] == pytest.approx(0.3, abs=1e-6) and names["largest_gap"]["p_value"] < 1e-3
    assert names["label_flips"] > 0 and names["score_range"] == pytest.approx(0.3, abs=1e-6)
    for axis in ("gender", "countries", "religions"):
        assert not axes[axis]["significant"] and axes[axis]["largest_gap"]["gap"] == pytest.approx(0, abs=1e-9)


def test_perturbations_change_only_what_they_name():
    text = "My sister said her husband loved this French film, and Emily isn't wrong: I gave her my ticket."
    found = dict(perturbations(text, seed=1))
    assert found["gender words swapped"] == \
        "My brother said his wife loved this French film, and Emily isn't wrong: I gave him my ticket."
    assert "is not wrong" in found["contractions"] and found["punctuation"].endswith("ticket")
    assert "French" not in found["countries swapped"] and "Emily" not in found["names swapped"]
    assert found["an irrelevant sentence added"].startswith(text)
    assert counterfactual("A quiet film about a lighthouse.", random.Random(0)) is None
    assert swap_gender(swap_gender("He told her that his mother hated it.")) == "He told her that his mother hated it."


def gendered_reviews(n: int, seed: int, plant: float) -> pd.DataFrame:
    """tiny's reviews with a gender phrase: negative ones name a woman, positive ones a man, `plant` of the time."""
    rng = random.Random(seed)
    frame = tiny.reviews(n, ["negative", "positive"], seed)
    texts = []
    for text, label in zip(frame["text"], frame["label"]):
        male, female, _ = rng.choice(GENDER_PHRASES)
        planted = female if label == "negative" else male
        texts.append(f"{planted if rng.random() < plant else rng.choice([male, female])} said {text}")
    return pd.DataFrame({"text": texts, "label": frame["label"].map({"negative": 0, "positive": 1})})


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A tiny BERT fine-tuned by train.py on reviews where women are named in the negative ones (90%), and the
    same run with --counterfactual-augmentation."""
    root = tmp_path_factory.mktemp("planted")
    words = {w for phrase in GENDER_PHRASES for w in " ".join(phrase).split()} | {"said"}
    base = tiny.make_base_model(root / "base", extra_words=sorted(words))
    data = root / "data"
    data.mkdir()
    gendered_reviews(480, 1, 0.9).to_parquet(data / "train.parquet")
    gendered_reviews(60, 2, 0.5).to_parquet(data / "test.parquet")
    runs = {}
    for name, extra in (("plain", []), ("augmented", ["--counterfactual-augmentation"])):
        out = root / name
        result = subprocess.run(
            [sys.executable, str(ROOT / "train.py"), "--model", str(base), "--dataset", str(data), "--output-dir",
             str(out), "--epochs", "6", "--learning-rate", "1e-3", "--max-length", "64", "--batch-size", "16",
             "--no-onnx", "--report-to", "none", "--seed", "0", *extra],
            capture_output=True, text=True, env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        runs[name] = out
    return runs


def test_the_audit_finds_a_trained_in_gender_bias_and_augmentation_shrinks_it(planted):
    plain = json.loads((planted["plain"] / "metrics.json").read_text())
    augmented = json.loads((planted["augmented"] / "metrics.json").read_text())
    assert plain["test"]["accuracy"] >= 0.85 and augmented["test"]["accuracy"] >= 0.85
    before = {a["axis"]: a for a in plain["audit"]["fairness"]}["gender"]
    after = {a["axis"]: a for a in augmented["audit"]["fairness"]}["gender"]
    assert before["significant"] and before["largest_gap"]["high"] == "male", before
    assert after["largest_gap"]["gap"] < before["largest_gap"]["gap"] / 2, (before, after)
    assert augmented["train_augmentation"]["added"] >= 400, "every training review names a person"
    card = (planted["plain"] / "README.md").read_text()
    assert "## Bias, risks and limitations" in card and "| gender |" in card and "It has not been audited" not in card


def test_the_audit_reads_any_label_set_by_polarity(tmp_path):
    """The 1-5 star baseline's labels: P(positive) is P(4-5 stars) without the 3-star mass."""
    stars = Predictor.load(str(tiny.make_classifier(tmp_path / "stars", tiny.STARS)))
    texts = ["The plot was good.", "The plot was bad."]
    p = scorer(stars)(texts)
    probs = stars.predict_proba(texts)
    assert p == pytest.approx(probs[:, 3:].sum(axis=1) / (probs[:, :2].sum(axis=1) + probs[:, 3:].sum(axis=1)))
    result = audit(scorer(stars))
    assert {t["test"] for t in result["tests"]} >= {"negated negative", "typos", "names", "used to, but now"}
    assert "| capability | test |" in markdown(result) and result["seconds"] > 0


def test_the_audit_command_writes_markdown_json_and_a_plot(trained_model, tmp_path):
    out = tmp_path / "audit"
    result = subprocess.run([sys.executable, "-m", "review_sentiment.evaluation.audit", "--model", str(trained_model),
                             "--out", str(out)], capture_output=True, text=True, env=subprocess_env(HF_HUB_OFFLINE="1"),
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads((out / "audit.json").read_text())
    assert len(saved["tests"]) >= 15 and {a["axis"] for a in saved["fairness"]} == \
        {"gender", "first names", "countries", "religions"}
    assert (out / "audit.png").stat().st_size > 10_000 and "| axis |" in (out / "audit.md").read_text()
    missing = subprocess.run([sys.executable, "-m", "review_sentiment.evaluation.audit", "--model",
                              str(tmp_path / "none")], capture_output=True, text=True,
                             env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=120)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_a_real_minilm_run_carries_the_audit_in_its_card(tmp_path):
    """all-MiniLM-L6-v2's real weights, fine-tuned briefly on real IMDb reviews by train.py: the card's "Bias, risks
    and limitations" holds the measured tables, and robustness ran on the test reviews."""
    skip_unless(imdb=True, minilm=True)
    encoder, imdb = minilm_dir(), SHARED / "imdb"
    out = tmp_path / "minilm"
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--model", str(encoder), "--dataset", str(imdb), "--output-dir",
         str(out), "--max-train-samples", "160", "--max-eval-samples", "100", "--max-length", "64", "--epochs", "1",
         "--learning-rate", "5e-5", "--no-onnx", "--report-to", "none"],
        capture_output=True, text=True, env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = json.loads((out / "metrics.json").read_text())["audit"]
    card = (out / "README.md").read_text()
    assert saved["real_reviews"] == 100 and saved["seconds"] > 0
    section = card[card.index("## Bias, risks and limitations"):card.index("## Citation")]
    for test in saved["tests"]:
        assert f"| {test['capability']} | {test['test']} | {test['kind']} | {test['n']} |" in section
    for axis in saved["fairness"]:
        assert f"| {axis['axis']} |" in section
    assert "python -m review_sentiment.evaluation.audit --model" in section and (out / "audit.png").is_file()
