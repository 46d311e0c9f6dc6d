"""train.py --mix-dataset end to end on tiny real models: the phrases asked for reach training (and only those), the
run records them, and phrases with negation teach a model to read negation that reviews alone do not."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import tiny
from conftest import ROOT, SHARED, subprocess_env
from huggingface_hub import ModelCard

from review_sentiment.evaluation import behaviour
from review_sentiment.evaluation.audit import scorer
from review_sentiment.inference.predictor import Predictor
from review_sentiment.training.run import main

NEGATIVE, POSITIVE = tiny.WORDS["negative"], tiny.WORDS["positive"]
# The audit's negation sentences use these words: the tiny vocabulary knows them (their meaning it must learn).
AUDIT_WORDS = sorted({w.strip(".,\"").lower() for t in behaviour.negation_tests() for s in t.texts for w in s.split()})


def phrases() -> list[tuple[str, int]]:
    """SST-like train phrases, labels 0-4: sentiment words alone and negated, in frames and with nouns that are not
    the audit's sentences (its nouns are movie, film, plot, acting, ...), and neutral phrases that must be dropped."""
    rows = []
    for words, plain, negated in ((NEGATIVE, 0, 3), (POSITIVE, 4, 1)):
        for word in words:
            rows += [(word, plain), (f"not {word}", negated), (f"it is not {word}", negated),
                     (f"was n't {word} at all", negated)]
            rows += [(f"the {noun} was not {word}", negated) for noun in ("scene", "music", "director")]
    rows += [(f"the {w}", 2) for w in ("plot", "cast", "story", "music", "scene", "director")]
    return rows


@pytest.fixture(scope="module")
def negation_base(tmp_path_factory):
    return tiny.make_base_model(tmp_path_factory.mktemp("negation-base"), "bert",
                                extra_words=[*AUDIT_WORDS, "n't", "at", "all", "is"])


@pytest.fixture(scope="module")
def review_data(tmp_path_factory):
    """IMDb-like tiny reviews that never negate (the tiny filler's random "not" taken out): as in real reviews,
    negation next to a sentiment word is too rare to learn from, so only the phrases can teach it."""
    folder = tiny.write_dataset(tmp_path_factory.mktemp("reviews"), ["negative", "positive"])
    for split in ("train", "test"):
        frame = pd.read_parquet(folder / f"{split}.parquet")
        frame["text"] = frame["text"].str.replace(r"\bnot\b", "this", regex=True)
        frame.to_parquet(folder / f"{split}.parquet")
    return folder


@pytest.fixture(scope="module")
def phrase_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phrases")
    pd.DataFrame(phrases(), columns=["text", "label"]).to_parquet(folder / "train.parquet")
    # Its validation and test sentences: one equals a train phrase, which may then never be mixed.
    pd.DataFrame({"text": ["not awful", "a plain sentence"], "label": [3, 2]}).to_parquet(folder / "validation.parquet")
    pd.DataFrame({"text": ["it is not great", "the end"], "label": [1, 2]}).to_parquet(folder / "test.parquet")
    return folder


def train(out, base, data, *extra):
    main(["--model", str(base), "--dataset", str(data), "--output-dir", str(out), "--epochs", "8",
          "--learning-rate", "1e-3", "--max-length", "64", "--batch-size", "8", "--eval-steps", "0.25",
          "--no-onnx", "--no-audit", "--precision", "fp32", "--report-to", "none", *extra])
    return json.loads((out / "metrics.json").read_text())


def negation_failures(model) -> dict[str, float]:
    """The audit's negation rows for a saved model (what train.py's audit writes; the rest of the audit, 3,000
    sentences more, is not this test's subject)."""
    results = behaviour.run(behaviour.negation_tests(), scorer(Predictor.load(str(model))))
    return {r["test"]: r["failure_rate"] for r in results}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, negation_base, review_data, phrase_data):
    root = tmp_path_factory.mktemp("mix-runs")
    plain = train(root / "plain", negation_base, review_data)
    mixed = train(root / "mixed", negation_base, review_data, "--mix-dataset", f"phrases={phrase_data}")
    return root, plain, mixed


def test_the_phrases_asked_for_reach_training_and_are_recorded(runs, review_data):
    root, plain, mixed = runs
    report = mixed["data"]["train_mix"]
    eligible = [p for p in phrases() if p[1] != 2]
    assert report["dropped_classes"] == 6 and "neutral dropped" in report["mapping"]
    assert report["dropped_evaluation_overlap"] == 2, "'not awful' and 'it is not great' are evaluation sentences"
    assert report["added"] == len(eligible) - 2
    assert report["per_class"] == {"negative": 55, "positive": 55} and report["with_negation"] == 94
    train_reviews = len(pd.read_parquet(review_data / "train.parquet"))
    assert mixed["train"]["rows"] == plain["train"]["rows"] + report["added"] < train_reviews + report["added"]
    config = json.loads((root / "mixed" / "training_config.json").read_text())
    assert config["arguments"]["mix_dataset"].startswith("phrases=") and config["arguments"]["mix_select"] == "all"
    # Validation and test stay the dataset's own: the same sizes with or without the mix.
    sizes = json.loads((root / "plain" / "training_config.json").read_text())["sizes"]
    assert {k: config["sizes"][k] for k in ("train", "validation", "test")} == \
        {k: sizes[k] for k in ("train", "validation", "test")}
    card = ModelCard.load(root / "mixed" / "README.md")
    assert f"**Mixed into training**: {report['added']:,} texts of `phrases`" in card.text


def test_negation_phrases_teach_a_model_to_read_negation(runs):
    """The audit's negated sentences ("The plot was not dull.") are in neither training set; phrases that negate
    sentiment words in other frames lower the failure rate."""
    root, plain, mixed = runs
    without, with_phrases = negation_failures(root / "plain"), negation_failures(root / "mixed")
    for name in without:
        print(f"{name}: {without[name]:.0%} without phrases, {with_phrases[name]:.0%} with")
    assert with_phrases["negated negative"] < without["negated negative"]
    assert with_phrases["negated positive"] <= without["negated positive"]
    assert mixed["test"]["accuracy"] >= plain["test"]["accuracy"] - 0.05


def test_bad_mixes_fail_before_training_in_one_line(tmp_path, bert_base, binary_data, phrase_data):
    def start(*args):  # every case at once: each is a process that stops before training
        return subprocess.Popen([sys.executable, str(ROOT / "train.py"), "--model", str(bert_base), "--dataset",
                                 str(binary_data), "--output-dir", str(tmp_path / "out"), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=subprocess_env(HF_HUB_OFFLINE="1"))

    pets = tmp_path / "pets"
    pets.mkdir()
    pd.DataFrame({"text": ["a cat", "a dog"], "label": ["cat", "dog"]}).to_parquet(pets / "train.parquet")
    cases = [(("--mix-dataset", f"phrases={phrase_data}", "--mix-size", "1.5"), "--mix-size"),
             (("--mix-dataset", f"phrases={phrase_data}", "--mix-size", "0"), "--mix-size"),
             (("--mix-dataset", str(phrase_data)), "NAME=PATH"),
             (("--mix-dataset", f"pets={pets}"), "None of the classes"),
             (("--mix-dataset", f"phrases={phrase_data}", "--text-column", "sentence"), "no column 'sentence'"),
             (("--mix-size", "100"), "need --mix-dataset")]
    started = [(args, needle, start(*args)) for args, needle in cases]
    for args, needle, process in started:
        _, stderr = process.communicate(timeout=300)
        last = stderr.strip().splitlines()[-1]
        assert process.returncode == 2 and last.startswith("error: ") and needle in last, (args, stderr[-800:])
        assert "Traceback" not in stderr and not (tmp_path / "out").exists()


@pytest.mark.skipif(not (SHARED / "sst5_phrases" / "train.parquet").exists(), reason="../shared/data/sst5_phrases "
                    "is not here")
def test_sst_phrases_never_mix_an_sst_validation_or_test_sentence():
    """The real phrases: neutral dropped, and the 3 validation and 2 test sentences that are also train phrases
    (SST's README) left out."""
    from review_sentiment.data.mixing import MixSpec, mix, normalised

    sst = SHARED / "sst5_phrases"
    rows, report = mix(MixSpec("sst", str(sst)), ["negative", "positive"], select="negation", size=None, held_out=[],
                       text_column="text", label_column="label", seed=0)
    assert report["dropped_classes"] == 81_658 and report["dropped_evaluation_overlap"] >= 2
    evaluation = {normalised(t) for s in ("validation", "test") for t in pd.read_parquet(sst / f"{s}.parquet")["text"]}
    assert not evaluation & {normalised(t) for t in rows["text"]}
    assert report["added"] == report["with_negation"] > 8_000
