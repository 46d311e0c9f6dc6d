"""The bulk scoring CLI: streamed, resumable, and scaled out with torchrun (gloo on this CPU). Real processes, a
really fine-tuned tiny model, real files; nothing faked."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tiny
from conftest import ROOT, subprocess_env

from review_sentiment.inference.predictor import Predictor
from review_sentiment.inference.runtime_choice import choose
from review_sentiment.space.service import DEFAULT_LONG_TEXT, Service


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    # One HF_HOME for the module, so the ONNX export of the model is made once and reused, as on a user's machine.
    return subprocess_env(HF_HOME=str(tmp_path_factory.mktemp("hf-home")), HF_HUB_OFFLINE="1")


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """2,000 reviews with ids, a few of them empty or blank, as parquet."""
    frame = tiny.reviews(2000, ["negative", "positive"], seed=7)
    frame.insert(0, "review_id", [f"r{i:05d}" for i in range(len(frame))])
    frame.loc[[5, 999, 1500], "text"] = ["", "   ", None]
    path = tmp_path_factory.mktemp("input") / "reviews.parquet"
    frame.to_parquet(path)
    return path


def cli(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "review_sentiment.bulk", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def test_single_process_output_equals_the_predictor_row_for_row(env, reviews, trained_model, tmp_path):
    out = tmp_path / "scored.parquet"
    result = cli(env, "--model", trained_model, "--input", reviews, "--output", out, "--id-column", "review_id",
                 "--chunk-size", 300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrote 2,000 rows" in result.stdout and "review/s" in result.stderr, "progress bar with a rate"
    assert not (tmp_path / "scored.parquet.parts").exists()
    scored, source = pd.read_parquet(out), pd.read_parquet(reviews)
    assert scored["review_id"].tolist() == source["review_id"].tolist(), "input order, ids carried through"
    bad = [5, 999, 1500]
    assert scored.loc[bad, "label"].isna().all() and scored.loc[bad, "error"].str.contains("review first").all()
    good = scored.drop(index=bad)
    # The Space's serving path (the model's first shipped int8 file), which the CLI promises to share. The CLI's calls
    # are planned chunk by chunk, these over all reviews at once: OpenVINO's static int8 answers a review in another
    # shared call to within INT8_SHARED_MOVE (runtimes/ov.py), every other runtime to rounding.
    served = choose(Predictor.load(str(trained_model), long_text=DEFAULT_LONG_TEXT), timed=False)
    expected = served.predict_proba(source.drop(index=bad)["text"].tolist())
    from review_sentiment.inference.runtimes.ov import INT8_SHARED_MOVE

    tolerance = INT8_SHARED_MOVE if (served.runtime.name, served.runtime.precision) == ("openvino", "int8") else 1e-5
    assert np.allclose(good[["p_negative", "p_positive"]].to_numpy(), expected, atol=tolerance)
    clear = np.abs(expected[:, 1] - 0.5) > tolerance  # verdicts that no shared call can move
    assert (good["label"].to_numpy()[clear] == np.array(["negative", "positive"])[expected.argmax(1)][clear]).all()
    assert clear.mean() > 0.9, "the trained model is rarely within the tolerance of undecided"
    assert (good["error"] == "").all() and good["confidence"].to_numpy() == pytest.approx(expected.max(1),
                                                                                         abs=tolerance)
    accuracy = (good["label"].to_numpy() == source.drop(index=bad)["label"].to_numpy()).mean()
    assert accuracy > 0.95


def test_csv_directory_to_jsonl_with_the_baseline(env, trained_model, star_baseline, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    for part in range(2):
        tiny.reviews(30, ["negative", "positive"], seed=part).rename(columns={"text": "body"}) \
            .to_csv(folder / f"part-{part}.csv", index=False)
    out = tmp_path / "scored.jsonl"
    result = cli(env, "--model", trained_model, "--input", folder, "--output", out, "--text-column", "body",
                 "--baseline", "--baseline-model", star_baseline, "--runtime", "torch")
    assert result.returncode == 0, result.stderr[-3000:]
    scored = pd.read_json(out, lines=True)
    assert len(scored) == 60 and set(scored["baseline_verdict"]) <= {"negative", "neutral", "positive", "undecided"}
    assert scored["baseline_expected_stars"].between(1, 5).all()
    expected = Predictor.load(str(trained_model)).predict_proba(
        pd.concat([pd.read_csv(folder / f"part-{i}.csv") for i in range(2)])["body"].tolist())
    assert np.allclose(scored[["p_negative", "p_positive"]].to_numpy(), expected, atol=1e-5)
    # One reading of probabilities (data/answers.py): the Space's Batch tab, on the same reviews, writes the same
    # columns (prefixed finetuned_) with the same values, to the 4 places it shows.
    both = pd.concat([pd.read_csv(folder / f"part-{i}.csv") for i in range(2)])
    both.to_csv(tmp_path / "upload.csv", index=False)
    table, _ = Service(str(trained_model), str(star_baseline), runtime="torch").batch(str(tmp_path / "upload.csv"),
                                                                                     "body")
    page = {c.removeprefix("finetuned_"): c for c in table.columns if c.startswith("finetuned_")} | \
        {c: c for c in table.columns if c.startswith("baseline_")}
    assert set(page) == {c for c in scored.columns if c not in ("language", "error")}
    for bulk_column, page_column in page.items():
        if not pd.api.types.is_numeric_dtype(scored[bulk_column]):
            assert scored[bulk_column].tolist() == table[page_column].tolist(), bulk_column
        else:
            assert np.allclose(scored[bulk_column].to_numpy(float), table[page_column].to_numpy(float),
                               atol=1e-2 if "expected" in bulk_column else 1e-4), bulk_column


def test_torchrun_two_processes_write_the_same_file_as_one(env, reviews, trained_model, tmp_path):
    single, double = tmp_path / "one.parquet", tmp_path / "two.parquet"
    args = ["--model", trained_model, "--input", reviews, "--id-column", "review_id", "--chunk-size", 300]
    assert cli(env, *args, "--output", single).returncode == 0
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "review_sentiment.bulk", *map(str, args), "--output", str(double)],
                            capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert double.read_bytes() == single.read_bytes()


def test_killed_midway_then_resumed_is_byte_identical(env, trained_model, tmp_path):
    big = tmp_path / "big.csv"
    frame = tiny.reviews(12_000, ["negative", "positive"], seed=11)
    frame.to_csv(big, index=False)
    args = ["--model", trained_model, "--input", big, "--chunk-size", 400, "--runtime", "torch"]
    whole, resumed = tmp_path / "whole.csv", tmp_path / "resumed.csv"
    assert cli(env, *args, "--output", whole).returncode == 0
    parts = tmp_path / "resumed.csv.parts"
    process = subprocess.Popen([sys.executable, "-m", "review_sentiment.bulk", *map(str, args), "--output",
                                str(resumed)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and len(list(parts.glob("chunk-*.parquet"))) < 3:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = len(list(parts.glob("chunk-*.parquet")))
    assert not resumed.exists() and 3 <= done < 30, "killed midway"
    refused = cli(env, *args, "--output", resumed)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    result = cli(env, *args, "--output", resumed, "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert resumed.read_bytes() == whole.read_bytes()
    assert not parts.exists()


@pytest.mark.parametrize("case, message", [
    ("missing", "neither a file, a directory, nor a Hub dataset id"),
    ("column", "has no column 'review'; its columns are ['text', 'label']"),
    ("latin-1", "not UTF-8"),
    ("corrupt-in-dir", "part-1.parquet is not a readable parquet file"),
    ("mixed-dir", "mixes file types"),
    ("output-exists", "exists; pass --overwrite"),
    ("bad-extension", "--output must end in one of"),
    ("changed-settings", "--resume needs the interrupted run's settings; these differ:"),
])
def test_bad_input_is_one_line_and_leaves_nothing_behind(env, trained_model, tmp_path, case, message):
    frame = tiny.reviews(20, ["negative", "positive"], seed=3)
    source, out, extra = tmp_path / "in.csv", tmp_path / "out.csv", []
    frame.to_csv(source, index=False)
    if case == "missing":
        source = tmp_path / "nope.csv"
    elif case == "column":
        extra = ["--text-column", "review"]
    elif case == "latin-1":
        source.write_bytes("text,label\nun film très réussi,1\n".encode("latin-1"))
    elif case in ("corrupt-in-dir", "mixed-dir"):
        source = tmp_path / "dir"
        source.mkdir()
        frame.to_parquet(source / "part-0.parquet")
        if case == "corrupt-in-dir":
            (source / "part-1.parquet").write_bytes(b"PAR1 not really")
        else:
            frame.to_csv(source / "part-1.csv", index=False)
    elif case == "output-exists":
        out.write_text("keep me")
    elif case == "bad-extension":
        out = tmp_path / "out.xlsx"
    elif case == "changed-settings":
        (tmp_path / "out.csv.parts").mkdir()
        (tmp_path / "out.csv.parts" / "run.json").write_text('{"chunk_size": 5}')
        extra = ["--resume"]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli(env, "--model", trained_model, "--input", source, "--output", out, *extra)
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert message in last and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing written, nothing removed"
    if case == "output-exists":
        assert out.read_text() == "keep me"

