"""Figures that cannot drift (issue 40): README's headline table is rendered from results files, and a table that
disagrees with its files is caught; headline.py runs end to end on tiny models (nothing timed is asserted)."""

import json
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, subprocess_env

sys.path.insert(0, str(ROOT / "benchmarks"))
import render  # noqa: E402


def measured(cls: str, date: str, commit: str, page_ms: float) -> dict:
    return {"kind": "headline", "class": cls, "date": date, "commit": commit,
            "models": {"fine-tuned": {"name": "distilbert size", "weights": "random"}},
            "figures": {"compare_p50_ms": page_ms, "compare_vs_plain": 3.5, "compare_vs_seed": 6.25,
                        "predict_p50_ms": 30.0, "predict_vs_plain": 2.4, "predict_vs_seed": 4.0,
                        "crowd_vs_one": 1.22, "crowd_p95_over_p50": 1.3, "crowd_rss_growth": 0.05,
                        "cold_start_first_s": 17.0, "cold_start_later_s": 12.5}}


@pytest.fixture()
def results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "headline-amd.json").write_text(json.dumps(measured("AMD EPYC family 25 model 17, AVX-512 BF16",
                                                                  "2026-12-07", "abcdef1234", 142.0)))
    (folder / "headline-old-amd.json").write_text(json.dumps(measured("AMD EPYC family 25 model 17, AVX-512 BF16",
                                                                      "2026-12-01", "0000000000", 422.0)))
    (folder / "headline-zen3-transcribed.json").write_text(json.dumps({
        "kind": "headline", "transcribed": True, "class": "AMD EPYC family 25 (Zen 3), AVX2", "date": None,
        "commit": None, "models": {"fine-tuned": {"name": "DistilBERT size"}}, "cells": {"predict": "236 ms, 1.5x"}}))
    return folder


def test_the_table_holds_exactly_its_files_figures_and_dates(results):
    table = render.headline(results)
    lines = table.splitlines()
    assert "AMD EPYC family 25 model 17, AVX-512 BF16 (2026-12-07, abcdef1)" in lines[0]
    assert "AMD EPYC family 25 (Zen 3), AVX2 (an earlier version)" in lines[0]
    assert lines[0].index("2026-12-07") < lines[0].index("Zen 3"), "measured columns first"
    page = next(line for line in lines if "/compare`**" in line)
    assert "142 ms, 3.50x, 6.25x" in page and "422" not in table, "the newest run of a class, only"
    assert "30 ms, 2.40x, 4.00x" in table and "236 ms, 1.5x" in table and "17.0 s / 12.5 s" in table
    assert "1.22x, 1.30, RSS +5%" in table


def test_a_changed_figure_changes_the_table_and_a_stale_document_is_caught(results, tmp_path):
    doc = tmp_path / "README.md"
    doc.write_text("Prose stays.\n\n<!-- rendered: headline -->\nold, typed\n<!-- /rendered: headline -->\n\n"
                   "More prose.\n")
    assert render.disagreements(results, [doc]) == ["README.md: headline"]
    assert render.render_files(results, [doc]) == [doc]
    text = doc.read_text()
    assert text.startswith("Prose stays.") and text.endswith("More prose.\n") and "142 ms" in text
    assert render.disagreements(results, [doc]) == []
    run = json.loads((results / "headline-amd.json").read_text())
    run["figures"]["compare_p50_ms"] = 150.0
    (results / "headline-amd.json").write_text(json.dumps(run))
    assert render.disagreements(results, [doc]) == ["README.md: headline"]
    assert "150 ms" in render.headline(results)


def test_the_repos_tables_agree_with_its_results_files():
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "render.py"), "--check"], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout
    assert "<!-- rendered: headline -->" in (ROOT / "README.md").read_text()


def test_headline_runs_end_to_end_on_tiny_models(tmp_path, trained_model, binary_data):
    out = tmp_path / "results" / "headline-tiny.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "headline.py"), "--model", str(trained_model),
                             "--dataset", str(binary_data), "--words", "1-100", "--reviews", "3", "--clients", "2",
                             "--client-reviews", "1", "--baseline-size", "tiny", "--baseline-vocab", "500",
                             "--out", str(out), "--no-render"], capture_output=True, text=True,
                            env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads(out.read_text())
    assert run["kind"] == "headline" and run["class"] and run["machine"]["cpu"] and run["date"] and run["command"]
    assert run["models"]["fine-tuned"]["weights"] == "real" and run["models"]["baseline"]["int8_files"]
    assert all(run["figures"][k] > 0 for k in ("compare_p50_ms", "predict_p50_ms", "crowd_vs_one",
                                               "cold_start_first_s"))
    shutil.copy(out, tmp_path / "results" / "headline-other.json")
    assert f"{run['figures']['compare_p50_ms']:.0f} ms" in render.headline(tmp_path / "results")


def imdb_run(accuracy: float, readings: dict | None) -> dict:
    return {"recipe": {"max_length": 512, "epochs": 1.0, "mix_dataset": "stanfordnlp/sst=x", "mix_select": "negation"},
            "train_reviews": 22500, "train_rows": 34500, "validation_accuracy": 0.9136, "training_min": 189.7,
            "precision": {"precision": "bf16"},
            "negation": {"negated negative": 0.333, "negated negative beyond not": 0.9},
            "test": {"num_samples": 25000, "accuracy": accuracy, "ece": 0.013, "readings": readings}}


def test_the_imdb_run_table_puts_each_reading_in_its_column(tmp_path):
    readings = {"served": {"accuracy": 0.9231, "ece": 0.0111}, "pipeline": {"accuracy": 0.9187, "ece": 0.02},
                "window": {"accuracy": 0.9205, "ece": 0.0132}}
    machine = {"cpu": "AMD EPYC 9R14", "family": 25, "model": 17, "isa": ["avx2", "avx512f", "avx512_bf16"]}
    (tmp_path / "imdb-a.json").write_text(json.dumps({"date": "2026-12-07", "commit": "abcdef123", "machine": machine,
                                                      "runs": {"512, 1 epoch": imdb_run(0.9231, readings)}}))
    (tmp_path / "imdb-b.json").write_text(json.dumps({"date": "2026-12-06", "machine": machine,
                                                      "runs": {"256, before readings": imdb_run(0.9184, None)}}))
    lines = render.imdb_runs(tmp_path).splitlines()
    new = next(line for line in lines if line.startswith("| 512, 1 epoch"))
    cells = [c.strip() for c in new.split("|")[1:-1]]
    assert cells[6:9] == ["92.31%", "91.87%", "92.05%"] and cells[11] == "1.11%", "each reading, ECE as served"
    assert "(2026-12-07, abcdef1)" in cells[1] and "22,500 + 12,000 (negation)" == cells[2]
    assert cells[13] == "33.3% / - / 90.0% / -", "the audit's negation rows a run measured, '-' for the others"
    old = [c.strip() for c in next(line for line in lines if line.startswith("| 256")).split("|")[1:-1]]
    assert old[6:9] == ["-", "-", "91.84%"] and old[11] == "-", "a figure read through the window stays there"
    assert lines.index(new) < lines.index(next(line for line in lines if line.startswith("| 256"))), "newest first"


def test_the_negation_sources_table_holds_its_counts(tmp_path):
    row = {"form": "never", "means": "positive", "sst_by_polarity": {"positive": 39, "neutral": 7, "negative": 12},
           "sst_right": 39, "imdb_sentences": 123, "imdb_share_meant": 0.5935}
    (tmp_path / "negation_sources.json").write_text(json.dumps({"date": "2026-12-07", "rows": [row]}))
    table = render.negation_sources(tmp_path)
    assert "| never | a complaint (means positive) | 39 / 7 / 12 | 39 | 123 | 59% |" in table
