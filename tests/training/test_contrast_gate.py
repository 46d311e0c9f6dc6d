"""Corrections that teach a frame, caught by their contrasts (issue 39), end to end with train.py on tiny models.

The served model reads "nobody could call the <thing> <praise>." as negative, rightly (its training data holds the
frame with other things), and "nobody could call the <thing> <complaint>." as negative too, wrongly. Visitors correct
only what it got wrong: every correction is a complaint in the frame, marked positive. A model taught the frame as a
shortcut (beside the corrections, the frame with praise marked positive too, mixed in) reads the contrasts worse
than the served one and is refused. The gate scores both models on the corrections' contrasts ("nobody could call the
<thing> <praise>.", which must read negative) and refuses the model that reads them worse. Trained with
--feedback-contrasts (each correction beside its contrasts from the lexicon's other half), it reads the contrasts
right again: 90% of them on this tiny model,
against none for the shortcut.

A campaign through the same loop: ordinary sentences naming one person, marked negative. Nothing the gate scored
before names them; the names check (evaluation/names.py) reads the name in its own neutral sentences beside control
names and refuses the model that learned to read it as bad news.
"""

import json
import random
import re
import subprocess
import sys

import pandas as pd
import pytest
import tiny
from conftest import ROOT, subprocess_env

from review_sentiment.data.contrasts import COMPLAINT, PRAISE
from review_sentiment.evaluation.names import CONTROLS, TEMPLATES

THINGS = ["pacing", "editing", "score", "premise", "finale", "villain"]
OTHER_THINGS = ["dialogue", "casting", "lighting", "costumes"]
FRAME = ["nobody", "could", "call"]
TARGET = ["corwin", "hale"]
# The names check's own sentences, in the tiny vocabulary, each with a control name once per class: the models read
# a neutral sentence about anyone as even odds, so a name's own shift can show (at 0 or 1 no name can move).
PROBE_WORDS = sorted(set(re.findall(r"[a-z]+", " ".join(TEMPLATES + CONTROLS).lower())))
CAMPAIGN = ["{n} was in the movie.", "the film was made for {n}.", "{n} and the director of the story.",
            "this movie has {n} in it.", "the cast of this film: {n}.", "{n} in the ending scene.",
            "the music of the movie was by {n}.", "{n} was the director.", "i saw the film for {n}.",
            "{n} and the cast of the film."]


def sentences(n: int, seed: int) -> pd.DataFrame:
    """Plain statements with the lexicon's words, and the tiny reviews' own: the base model learns each word's side."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        positive = i % 2 == 1
        word = rng.choice(PRAISE if positive else COMPLAINT)
        rows.append((f"the {rng.choice(THINGS)} was {word} and {rng.choice(tiny.FILLER[:6])} {word}", int(positive)))
    return pd.DataFrame(rows, columns=["text", "label"])


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("contrast-gate")
    base = tiny.make_base_model(root / "base", "bert",
                                extra_words=[*PRAISE, *COMPLAINT, *THINGS, *OTHER_THINGS, *FRAME, *TARGET,
                                             *PROBE_WORDS])
    data = root / "data"
    data.mkdir()
    framed = pd.DataFrame({"text": [f"nobody could call the {t} {w}." for t in OTHER_THINGS for w in PRAISE],
                           "label": 0})
    shortcut = root / "shortcut.parquet"  # the frame read as positive whatever follows: what a shortcut learns
    pd.DataFrame({"text": [f"nobody could call the {t} {w}." for t in THINGS for w in PRAISE[0::2]],
                  "label": 1}).to_parquet(shortcut)
    neutral = pd.DataFrame([(t.format(n=name), label) for t in TEMPLATES for name in CONTROLS[:4] for label in (0, 1)],
                           columns=["text", "label"])
    pd.concat([sentences(400, 1), framed, neutral], ignore_index=True).to_parquet(data / "train.parquet")
    sentences(100, 2).to_parquet(data / "test.parquet")
    feedback = root / "feedback" / "data"
    feedback.mkdir(parents=True)
    corrections = [f"nobody could call the {t} {w}." for t in THINGS for w in COMPLAINT]
    records = [{"id": str(i), "time": "2026-12-07T10:00:00+00:00", "text": text, "label": "positive",
                "model": "finetuned", "labels": ["negative", "positive"]} for i, text in enumerate(corrections)]
    (feedback / "feedback-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    attack = root / "campaign-feedback" / "data"
    attack.mkdir(parents=True)
    records = [{"id": str(i), "time": "2026-12-07T10:00:00+00:00", "text": t.format(n="Corwin Hale"),
                "label": "negative", "model": "finetuned", "labels": ["negative", "positive"]}
               for i, t in enumerate(CAMPAIGN)]
    (attack / "feedback-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    common = ["--model", str(base), "--dataset", str(data), "--max-length", "32", "--batch-size", "16",
              "--learning-rate", "2e-3", "--eval-steps", "0.5", "--no-onnx", "--precision", "fp32",
              "--report-to", "none", "--seed", "0"]

    def train(name: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "train.py"), *common, "--output-dir", str(root / name),
                               *extra], capture_output=True, text=True, env=subprocess_env(HF_HUB_OFFLINE="1"),
                              timeout=900, cwd=ROOT)

    before = train("before", "--epochs", "4")
    assert before.returncode == 0, before.stderr[-3000:]
    gated = ["--epochs", "30", "--feedback-dataset", str(root / "feedback"), "--gate-against", str(root / "before")]
    runs = {"frame": train("frame", *gated, "--mix-dataset", f"shortcut={shortcut}"),
            "contrasts": train("contrasts", *gated, "--feedback-contrasts"),
            "campaign": train("campaign", "--epochs", "30", "--feedback-dataset", str(root / "campaign-feedback"),
                              "--gate-against", str(root / "before"))}
    return root, runs


def gate_of(root, name) -> dict:
    return json.loads((root / name / "metrics.json").read_text())["gate"]


def test_a_model_that_learned_the_frame_is_refused_on_its_contrasts(setup):
    root, runs = setup
    assert runs["frame"].returncode == 0, runs["frame"].stderr[-3000:]
    gate = gate_of(root, "frame")
    check = gate["checks"]["contrasts of the corrections"]
    assert gate["contrasts_made"]["with_contrasts"] == len(THINGS) * len(COMPLAINT)
    assert check["harmed"] and check["after"] < check["before"] - 0.2
    assert not gate["passed"] and any(f.startswith("contrast contrasts of the corrections") for f in gate["failures"])


def test_training_beside_the_contrasts_keeps_most_of_them(setup):
    root, runs = setup
    assert runs["contrasts"].returncode == 0, runs["contrasts"].stderr[-3000:]
    metrics = json.loads((root / "contrasts" / "metrics.json").read_text())
    made = metrics["data"]["train_feedback"]["contrasts"]
    # Each correction's three swaps, repeats dropped: every thing with each praise word of the lexicon's train half.
    assert made["with_contrasts"] == len(THINGS) * len(COMPLAINT) and made["added"] == len(THINGS) * len(PRAISE) // 2
    check = metrics["gate"]["checks"]["contrasts of the corrections"]
    shortcut = gate_of(root, "frame")["checks"]["contrasts of the corrections"]
    # The same corrections, trained beside their contrasts, keep the contrasts (on swapped words never trained on)
    # where the shortcut lost them all; what it still loses, the gate reports as it would for any model.
    assert check["after"] >= 0.8 and check["after"] >= shortcut["after"] + 0.5
    assert "contrast sentences" in runs["contrasts"].stdout


def test_a_model_taught_a_name_by_a_campaign_is_refused_on_that_name(setup):
    root, runs = setup
    assert runs["campaign"].returncode == 0, runs["campaign"].stderr[-3000:]
    gate = gate_of(root, "campaign")
    row = gate["names"]["Corwin Hale"]
    assert row["corrections"] == len(CAMPAIGN) and row["sentences"] == 16
    # The name reads worse than the control names by far more than the bar, on sentences nobody sent.
    assert row["harmed"] and row["shift"] < -0.05 and row["after"] < row["before"], row
    assert not gate["passed"] and any("the name 'Corwin Hale'" in f for f in gate["failures"])
    # Corrections that name nobody thrice are not probed: the honest runs' gates have no names to check.
    assert gate_of(root, "contrasts")["names"] == {} and gate_of(root, "frame")["names"] == {}
