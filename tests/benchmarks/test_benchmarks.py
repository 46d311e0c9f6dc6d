"""Every benchmark script runs end to end on tiny models and writes its JSON (the real numbers come from running
them on ../shared/data/imdb; see benchmarks/README.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, subprocess_env

from review_sentiment.space.ui import examples


def bench(script: str, *args: str, timeout: int = 600) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                            text=True, env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_serving_benchmark(tmp_path, trained_model, binary_data, bert_base):
    """The pipelines and every way the app serves, on the trained model as README's model (the random-weight sizes
    run the same code; the in-process variants are the code the accuracy table runs for each, in one process)."""
    out = tmp_path / "serving.json"
    chosen = ["seed-pipeline", "plain-pipeline", "rest", "rest-onnx-only", "rest-no-onnx"]
    stdout = bench("serving.py", "--sizes", "", "--tokenizer", str(bert_base), "--accuracy-model",
                   str(trained_model), "--dataset", str(binary_data), "--samples", "20", "--repeats", "2",
                   "--batches", "1", "--baseline-size", "tiny", "--variants", ",".join(chosen), "--model-variants",
                   ",".join(chosen), "--out", str(out))
    report = json.loads(out.read_text())
    variants = report["speed"]["readme-model"]
    # What a visitor waits for (issue 32): /compare with the star baseline beside /predict, against the two
    # pipelines a user would run one after the other.
    assert list(report["speed"]) == ["readme-model"]
    assert list(report["baseline_pipelines"]) == ["seed-pipeline", "plain-pipeline"]
    for rows in report["speed"].values():
        rest = rows["rest"]
        assert rest["compare_p50_ms"] > 0 and set(rest["compare_vs_two"]) == {"plain", "seed"}
        assert rest["compare_vs_two"]["plain"] == pytest.approx(
            (rows["plain-pipeline"]["p50_ms"] + report["baseline_pipelines"]["plain-pipeline"]["p50_ms"])
            / rest["compare_p50_ms"])
        assert "int8" in rest["baseline_runtime"] or "fp32" in rest["baseline_runtime"]
    assert stdout.count("rest, /compare with the baseline (") == 1
    assert list(variants) == chosen
    assert all(v["p50_ms"] > 0 and v["peak_rss_mb"] > 0 for v in variants.values())
    # The app serves what it timed fastest at start; a model with onnx/ and openvino/ offers both int8 files, one with
    # onnx/ alone offers its ONNX files to both runtimes, one without offers exports.
    for name in ("rest", "rest-onnx-only", "rest-no-onnx"):
        assert variants[name]["runtime"] == variants[name]["runtime_choice"]["chosen"]
    timed = {name: list(variants[name]["runtime_choice"]["probe_ms"]) for name in variants if name.startswith("rest")}
    assert timed["rest"][:2] == ["OpenVINO, int8 (openvino/openvino_model_qint8_quantized.xml)",
                                 "ONNX Runtime, int8 (onnx/model_quantized.onnx)"]
    assert not any("openvino/" in k for k in timed["rest-onnx-only"])
    assert "OpenVINO, fp32 (onnx/model.onnx)" in timed["rest-onnx-only"]
    assert not any("onnx/" in k for k in timed["rest-no-onnx"])
    clicks = variants["rest"]["example_click_p50_ms"]
    assert clicks["cold"] > 0 and clicks["cached"] > 0 and "answer cache" in stdout
    # Only the second click of each example hits the cache: the timed reviews were all new to the app.
    assert variants["rest"]["answer_cache_hits"] == len(examples())
    assert variants["rest"]["vs_plain_pipeline"] == pytest.approx(
        variants["plain-pipeline"]["p50_ms"] / variants["rest"]["p50_ms"])
    accuracy = report["accuracy"]
    assert accuracy["onnx-fp32"]["agreement_with_fp32"] == 1.0 and accuracy["onnx-fp32"]["mcnemar_p"] == 1.0
    assert set(accuracy) == {"torch-fp32", "onnx-fp32", "onnx-int8", "openvino-fp32", "openvino-int8", "torch-int8"}
    assert accuracy["openvino-fp32"]["agreement_with_fp32"] == 1.0
    assert report["machine"]["cpu"] and "isa" in report["machine"]
    assert "vs pipeline" in stdout and "McNemar p" in stdout


def test_training_benchmark(tmp_path, binary_data, bert_base):
    out = tmp_path / "training.json"
    stdout = bench("training.py", "--size", "tiny", "--tokenizer", str(bert_base), "--dataset", str(binary_data),
                   "--reviews", "32", "--batch-size", "8", "--warmup-steps", "1", "--out", str(out))
    report = json.loads(out.read_text())
    rows = {r["recipe"]: r for r in report["results"]}
    assert list(rows) == ["seed", "ours", "floor"], "cuDNN's row only where there is a GPU"
    assert all(r["steps"] == 4 and r["warmup_steps"] == 1 and r["real_tokens_per_s"] > 0 for r in rows.values())
    assert rows["seed"]["distinct_shapes"] == 1, "the seed pads every review to 512"
    from review_sentiment.cpu import cpu_info
    from review_sentiment.training.precision import cpu_has_bf16

    assert rows["floor"]["precision"] == "fp32", "the plain loop autocasts on a GPU only"
    # train.py's choice: bf16 autocast only on a CPU with bf16 instructions where a timed step shows it faster.
    assert rows["ours"]["precision"] in (("fp32", "bf16") if cpu_has_bf16(cpu_info()) else ("fp32",))
    assert report["speedup"] == pytest.approx(rows["ours"]["real_tokens_per_s"] / rows["seed"]["real_tokens_per_s"])
    assert report["of_floor"] == pytest.approx(rows["ours"]["real_tokens_per_s"] / rows["floor"]["real_tokens_per_s"])
    assert report["gpu"] is None and report["machine"]["cpu"] and "ours / floor" in stdout


def test_gpu_check_runs_small_on_cpu(tmp_path, bert_base, binary_data):
    """benchmarks/gpu_check.sh, the one command for a GPU machine, at tiny sizes so that it cannot rot."""
    import subprocess

    out = tmp_path / "gpu_check"
    env = subprocess_env(HF_HUB_OFFLINE="1", OUT=str(out), SIZE="tiny", REVIEWS="32", BATCH_SIZE="8",
                         MAX_LENGTH="64", EPOCHS="1", LEARNING_RATE="1e-3", MAX_TRAIN_SAMPLES="60",
                         MAX_EVAL_SAMPLES="30")
    result = subprocess.run(["bash", str(ROOT / "benchmarks/gpu_check.sh"), str(bert_base), str(binary_data)],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "gpu_check.json").read_text())
    assert all(step["rc"] == 0 and step["seconds"] > 0 for step in summary["steps"].values())
    assert [r["recipe"] for r in summary["benchmark"]] == ["seed", "ours", "floor"]
    timings = summary["train_py"]["timings_s"]
    assert {"training", "calibration and test scoring", "ONNX and OpenVINO files and int8 bar"} <= set(timings)
    assert summary["checks"]["train_py_s"] >= sum(timings.values()), "end to end holds every phase"
    assert "| ours |" in result.stdout and "| train_py_s |" in result.stdout


def test_long_review_and_explanation_benchmarks(tmp_path, trained_model, binary_data):
    out = tmp_path / "long.json"
    bench("long_reviews.py", "--model", str(trained_model), "--dataset", str(binary_data), "--threshold", "30",
          "--long-samples", "10", "--all-samples", "20", "--out", str(out))
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"head", "head+tail", "chunks (mean)", "chunks (length-weighted)"}
    assert all(0 <= r["long"]["accuracy"] <= 1 for r in report["results"].values())
    out = tmp_path / "explain.json"
    bench("explanations.py", "--model", str(trained_model), "--dataset", str(binary_data), "--reviews", "3",
          "--out", str(out))
    report = json.loads(out.read_text())
    assert report["ig24_ms"]["p50"] > 0 and -1 <= report["spearman_mean"] <= 1


def test_load_benchmark(tmp_path, trained_model, star_baseline, binary_data):
    out = tmp_path / "load.json"
    stdout = bench("load.py", "--model", str(trained_model), "--baseline", str(star_baseline), "--dataset",
                   str(binary_data), "--clients", "3", "--single", "5", "--total", "130", "--gradio-requests", "2",
                   "--timeout", "60", "--out", str(out))
    report = json.loads(out.read_text())
    # Each phase stops when its last answer is in: exactly the requests asked for, none left in flight.
    assert [report[k]["requests"] for k in ("single", "first_100", "concurrent")] == [5, 100, 30]
    assert not any(report[k]["timed_out"] for k in ("single", "first_100", "concurrent"))
    assert all(0 < report[k]["server_cpu_busy"] <= 1.05 for k in ("single", "first_100", "concurrent"))
    assert all(report[k]["errors"] == 0 for k in ("single", "first_100", "concurrent", "gradio"))
    assert report["gradio"]["requests"] == 6 and report["rss_after_total_mb"] > 0
    assert report["answer_cache_hits"] == 0, "every phase sent reviews new to the app: the model answered"
    assert report["reviews"] == 5 and report["runtime_choice"]["chosen"], "one mix of --single reviews, every phase"
    assert "users vs one" in stdout and report["machine"]["cpu"]


def test_compare_benchmark(tmp_path, trained_model, binary_data):
    """What a visitor waits for: /compare on the launched app against two pipelines, every review new to the app."""
    out = tmp_path / "compare.json"
    stdout = bench("compare.py", "--model", str(trained_model), "--dataset", str(binary_data), "--reviews", "4",
                   "--words", "1-100", "--baseline-size", "tiny", "--baseline-vocab", "500", "--baseline-int8",
                   "--clients", "2", "--client-reviews", "2", "--out", str(out))
    report = json.loads(out.read_text())
    assert all(report[k]["p50_ms"] > 0 and report[k]["requests"] == 4 for k in ("compare", "plain", "seed"))
    assert set(report["compare"]["served"]) == {"finetuned", "baseline"} and all(report["compare"]["served"].values())
    # The files it made are the baseline's int8 options at start (a tiny model may be served faster in fp32).
    assert any("int8" in option for option in report["compare"]["options_ms"]["baseline"]), report["compare"]
    assert report["baseline_int8_files"] == ["onnx/model_quantized.onnx", "openvino/openvino_model_qint8_quantized.xml"]
    assert all(ms > 0 for ms in report["compare"]["alone_probe_ms"].values())
    crowd = report["compare"]["crowd"]
    assert crowd["clients"] == 2 and crowd["requests"] == 4 and crowd["vs_one"] > 0 and crowd["rss_after_mb"] > 0
    assert "visitors at once" in stdout
    assert report["summary"]["vs_plain"] == report["plain"]["p50_ms"] / report["compare"]["p50_ms"]
    assert "POST /api/v1/compare" in stdout
    # What it measured, named: the trained model and the stand-in baseline (random weights, its size counted).
    models = report["models"]
    assert models["model"]["weights"] == "fine-tuned (train.py)" and models["baseline"]["weights"].startswith("random")
    assert models["baseline"]["parameters"] > models["model"]["parameters"] > 0


def test_padding_benchmark(tmp_path, trained_model):
    """OpenVINO's cost per call for reviews of every length, by pad multiple and primitives kept, each in its own
    process, with RSS."""
    out = tmp_path / "padding.json"
    stdout = bench("padding.py", "--model", str(trained_model), "--baseline", str(trained_model), "--settings",
                   "32:256", "--out", str(out))
    runs = json.loads(out.read_text())["runs"]
    assert [(r["multiple"], r["primitives"]) for r in runs] == [(32, 256)] * 2
    assert all(r["first_p50_ms"] > 0 and r["rss_after_mb"] > 0 for r in runs) and "primitives kept" in stdout


def test_accuracy_control_benchmark(tmp_path, trained_model, binary_data):
    """Plain static int8 beside accuracy control's file, both held to the bar on the same test reviews, timed in
    turns, on a model whose plain static int8 misses (tiny.outlier_in_attention): operations go back to fp32."""
    import tiny

    out, model = tmp_path / "accuracy_control.json", tmp_path / "model"
    tiny.outlier_in_attention(trained_model, model)
    stdout = bench("accuracy_control.py", "--model", str(model), "--dataset", str(binary_data), "--samples", "60",
                   "--timed-reviews", "3", "--out", str(out))
    files = {f["file"]: f for f in json.loads(out.read_text())["files"]}
    assert list(files) == ["fp32", "static int8", "accuracy control"] and all(f["ms"] > 0 for f in files.values())
    static, controlled = files["static int8"], files["accuracy control"]
    assert not static["check"]["passed"] and static["kept_fp32"] == []
    assert controlled["kept_fp32"] and controlled["check"]["passed"]
    assert controlled["int8_operations"] + len(controlled["kept_fp32"]) == static["int8_operations"]
    assert controlled["check"]["reviews"] == 60 and "int8 / kept fp32" in stdout


def test_two_models_benchmark(tmp_path, trained_model, binary_data):
    """Both models of one review scored one after the other against at once, on the runtimes the app chooses."""
    out = tmp_path / "two.json"
    stdout = bench("two_models.py", "--model", str(trained_model), "--dataset", str(binary_data), "--reviews", "3",
                   "--words", "1-100", "--baseline-size", "tiny", "--baseline-vocab", "500", "--out", str(out))
    report = json.loads(out.read_text())
    assert len(report["ways"]) == 3 and all(w["p50_ms"] > 0 for w in report["ways"].values())
    assert report["ways"]["one after the other (every core each)"]["vs_one_after_the_other"] == 1.0
    assert len(report["served"]) == 2 and "speed vs one after the other" in stdout


def test_feedback_loop_benchmark(tmp_path, trained_model):
    """Visitors' corrections through the running app's REST route, re-training with the model's own recipe from the
    served model's weights (--from-served), the gate, and the before/after table."""
    out = tmp_path / "loop.json"
    stdout = bench("feedback_loop.py", "--model", str(trained_model), "--out-dir", str(tmp_path / "after"),
                   "--corrections", "20", "--no-onnx", "--contrasts", "--from-served", "--json", str(out))
    report = json.loads(out.read_text())
    arguments = json.loads((tmp_path / "after" / "training_config.json").read_text())["arguments"]
    assert report["from_served"] and Path(arguments["model"]).resolve() == trained_model.resolve()
    assert arguments["epochs"] == 1 and arguments["learning_rate"] == 2e-5
    assert report["corrections"] == 20 and report["feedback"]["kept"] == 20 and report["train_exit"] in (0, 2)
    assert report["contrasts_trained"] and report["feedback"]["contrasts"]["with_contrasts"] == 20
    assert report["feedback"]["dropped_evaluation_overlap"] == 0
    rows = report["rows"]
    assert {"IMDb test accuracy (the same reviews)", "their contrasts (the sentiment word swapped)",
            "held-out frames, negated praise (nobody sent them)"} <= set(rows)
    assert report["gate"]["verdict"] in ("passed", "refused", "undecided")
    assert any(name.startswith("audit Negation") for name in rows)
    assert isinstance(report["gate"]["passed"], bool) and report["machine"]["cpu"]
    assert "20 corrections acknowledged" in stdout and "gate against" in stdout


def test_campaign_benchmark(tmp_path, trained_model):
    """An attacker within every limit beside honest visitors, through the running app, re-trained under the owner's
    review (played by a reviewer who accepts what is right): the table and the gate, end to end."""
    out = tmp_path / "campaign.json"
    stdout = bench("campaign.py", "--model", str(trained_model), "--out-dir", str(tmp_path / "after"),
                   "--honest", "10", "--attack", "24", "--addresses", "6", "--defence", "review", "--no-onnx",
                   "--json", str(out))
    report = json.loads(out.read_text())
    assert report["taken"] == 34 and report["train_exit"] in (0, 2), "every correction within the limits is taken"
    review = report["feedback"]["review"]
    assert review["rejected"] == 24 and review["accepted"] <= 10, "the attacker's corrections never train"
    assert report["gate"]["names"] == {}, "so the gate finds no name the trained corrections repeat"
    assert {"IMDb test accuracy (the gate's reviews)"} <= set(report["rows"]) and report["commit"]
    assert "the target moved" in stdout and isinstance(report["target_moved"], float)

    # Cut after its re-training: the same corrections again, and only the steps after training (no second training).
    bench("campaign.py", "--model", str(trained_model), "--out-dir", str(tmp_path / "after"), "--honest", "10",
          "--attack", "24", "--addresses", "6", "--defence", "review", "--no-onnx", "--resume-after-training",
          "--json", str(out))
    again = json.loads(out.read_text())
    assert again["resumed_after_training"] and again["taken"] == 34 and again["rows"] == report["rows"]
    assert again["train_s"] < report["train_s"]

    # Read again with today's yardstick: nothing sent, nothing trained; the same models give the same figures.
    stdout = bench("campaign.py", "--model", str(trained_model), "--out-dir", str(tmp_path / "after"), "--defence",
                   "review", "--rescore", "--json", str(out))
    rescored = json.loads(out.read_text())
    assert rescored["rescored"]["commit"] and rescored["rows"] == again["rows"]
    assert rescored["train_s"] == again["train_s"] and rescored["commit"] == again["commit"]
    assert rescored["target_moved"] == again["target_moved"] and "re-training took" in stdout
    assert len(rescored["controls"]) == 8 and rescored["control_most_moved"]["name"] in rescored["controls"]
    wrong = subprocess.run([sys.executable, str(ROOT / "benchmarks/campaign.py"), "--model", str(trained_model),
                            "--out-dir", str(tmp_path / "after"), "--defence", "none", "--rescore", "--json", str(out)],
                           capture_output=True, text=True, env=subprocess_env(HF_HUB_OFFLINE="1"), cwd=ROOT)
    assert wrong.returncode != 0 and "not this run" in wrong.stderr and json.loads(out.read_text()) == rescored


def test_gate_agreement_benchmark(tmp_path, trained_model, distilbert_base, binary_data):
    """The gate's accuracy test on disjoint test folds, two re-trained models read against one served model: an
    untrained model is refused on every fold and on all of them together, the served model against itself is never
    refused (no review reads differently), and each pair's folds agree."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import render

    out = tmp_path / "results" / "gate_agreement-tiny.json"
    stdout = bench("gate_agreement.py", "--old", str(trained_model), "--new", str(distilbert_base),
                   str(trained_model), "--dataset", str(binary_data), "--folds", "2", "--fold-size", "30",
                   "--json", str(out))
    report = json.loads(out.read_text())
    untrained, itself = report["pairs"]
    assert [f["reviews"] for f in untrained["folds"]] == [30, 30, 60] and report["commit"]
    assert all(f["before"] == 1.0 and f["verdict"] == "refused" for f in untrained["folds"]), untrained["folds"]
    assert all(f["points"] == 0 and f["verdict"] != "refused" for f in itself["folds"]), itself["folds"]
    assert report["agree"] and stdout.count("the folds' verdicts agree") == 2
    assert set(report["models"]) == {"old", "new 1", "new 2"}
    table = render.gate_agreement(out.parent)
    assert "| 1 of 2 | 30 | 100.00% |" in table and f"{trained_model.name} against {trained_model.name}" in table


def test_bulk_benchmark(tmp_path, trained_model, binary_data):
    out = tmp_path / "bulk.json"
    stdout = bench("bulk.py", "--model", str(trained_model), "--data", str(binary_data / "test.parquet"),
                   "--sizes", "20,60", "--pipeline-sizes", "60", "--chunk-size", "16", "--out", str(out))
    report = json.loads(out.read_text())
    assert report["machine"]["cpu"] and report["machine"]["cores"] >= 1
    assert {(r["variant"].split()[0], r["reviews"]) for r in report["results"]} == {
        ("python", 20), ("pipeline", 60), ("python", 60)}
    assert report["summary"]["compared_at"] == 60
    assert all(r["reviews_per_s"] > 0 and r["peak_rss_mb"] > 100 for r in report["results"])
    assert all(r["accuracy"] > 0.9 for r in report["results"]), "the trained tiny model, read both ways"
    assert "ours / pipeline loop" in stdout and "ISA" in stdout


def test_cold_start_benchmark(tmp_path, bert_base):
    out = tmp_path / "cold.json"
    stdout = bench("cold_start.py", "--size", "tiny", "--tokenizer", str(bert_base), "--out", str(out))
    report = json.loads(out.read_text())
    assert [r["runtime"] for r in report["results"]] == ["auto", "auto", "auto", "torch"]
    assert all(0 < r["seconds"] < 600 for r in report["results"])
    shipped, later, bare, on_torch = (r["served"] for r in report["results"])
    # auto serves what it timed fastest: a shipped file or torch, never an export where files were shipped.
    assert "exported" not in shipped["finetuned"] and "onnx/" not in bare["finetuned"]
    assert on_torch["finetuned"] == on_torch["baseline"] == "torch, fp32"
    assert "first REST answer" in stdout


def test_language_benchmark(tmp_path, binary_data):
    out = tmp_path / "language.json"
    stdout = bench("language.py", "--dataset", str(binary_data), "--imdb-reviews", "20", "--out", str(out))
    report = json.loads(out.read_text())
    ours = report["results"]["review_sentiment.data.language"]
    assert report["short_reviews"] >= 245 and report["imdb_reviews"] == 20 and report["machine"]["cpu"]
    assert "py3langid" in report["results"], "the identifier ours is built on, measured beside it"
    assert 0 < ours["p50_ms"] < 5 and ours["notice_accuracy"] > 0.9 and "IMDb false notice" in stdout


def test_batching_and_int8_scheme_benchmarks(tmp_path, trained_model, binary_data):
    out = tmp_path / "batching.json"
    stdout = bench("batching.py", "--model", str(trained_model), "--sizes", "--lengths", "8", "16", "--reviews", "1",
                   "2", "--repeats", "1", "--variants", "onnx:fp32", "onnx:int8", "openvino:fp32", "openvino:int8",
                   "torch:fp32", "--out", str(out))
    report = json.loads(out.read_text())
    assert len(report["rows"]) == 5 * 2 * 2, "five runtimes and precisions x two lengths x two call sizes"
    assert {r["runtime"] for r in report["rows"]} >= {"OpenVINO, int8 (openvino/openvino_model_qint8_quantized.xml)",
                                                      "OpenVINO, fp32 (openvino/openvino_model.xml)"}
    assert all(r["vs_single"] == 1.0 for r in report["rows"] if r["reviews"] == 1)
    assert {(m["precision"], m["arena"]) for m in report["memory"]} == {(p, a) for p in ("fp32", "int8")
                                                                         for a in (True, False)}
    assert all(m["rss_end_mb"] > 0 for m in report["memory"]) and "ISA" in stdout and "arena" in stdout
    out = tmp_path / "schemes.json"
    schemes = ["int8 s8 weights, 7-bit, all layers", "int8 s8 weights, 7-bit, edges + FFN outputs fp32 (scheme 2)",
               "static QDQ, MinMax, edges + FFN outputs fp32",
               "OpenVINO bf16 (the fp32 file, bf16 inference precision)",
               "OpenVINO static int8, NNCF (the shipped file)"]
    stdout = bench("int8_schemes.py", "--model", str(trained_model), "--data", str(binary_data), "--samples", "20",
                   "--calibration", "30", "--schemes", *schemes, "--out", str(out))
    report = json.loads(out.read_text())
    assert [r["scheme"] for r in report["rows"]][0] == "fp32" and len(report["rows"]) == 6
    assert [(r["runtime"], r["precision"]) for r in report["rows"][-2:]] == [("openvino", "bf16"), ("openvino", "int8")]
    assert report["calibration_reviews"] == 30, "static schemes calibrate on train reviews (test reviews are scored)"
    assert all(0 <= r["agreement"] <= 1 and r["ms_per_review"] > 0 for r in report["rows"])
    assert "meets the bar" in stdout and report["machine"]["isa"] is not None


def test_audit_benchmark(tmp_path, trained_model):
    out = tmp_path / "audit.json"
    stdout = bench("audit.py", "--model", f"tiny={trained_model}", "--model", f"again={trained_model}", "--out",
                   str(out))
    report = json.loads(out.read_text())
    assert report["machine"]["cores"] >= 1 and set(report["runs"]) == {"tiny", "again"}
    saved = json.loads((trained_model / "metrics.json").read_text())["audit"]
    audited = report["runs"]["tiny"]["audit"]
    # The same reviews and sentences as train.py's own audit of the run, so the same failure rates.
    assert [(t["test"], t["failure_rate"]) for t in audited["tests"]] == \
        [(t["test"], t["failure_rate"]) for t in saved["tests"]]
    assert "| gender: largest gap |" in stdout and "| test accuracy |" in stdout


def test_sst5_benchmark_reads_runs_and_picks_the_recipe_by_validation(tmp_path, distilbert_base):
    import shutil

    import tiny

    from review_sentiment.training.run import main

    data = tiny.write_dataset(tmp_path / "five", tiny.SST5, n_train=200, n_test=50)
    first = tmp_path / "first"
    main(["--model", str(distilbert_base), "--dataset", str(data), "--output-dir", str(first), "--epochs", "2",
          "--learning-rate", "1e-3", "--max-length", "32", "--no-audit", "--no-onnx", "--report-to", "none"])
    # A second run that looks better on test but worse on validation: the table must choose by validation.
    second = tmp_path / "second"
    shutil.copytree(first, second)
    metrics = json.loads((second / "metrics.json").read_text())
    metrics["validation"]["accuracy"] -= 0.1
    metrics["test"]["accuracy"] = 0.99
    (second / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "sst5.json"
    stdout = bench("sst5.py", "--run", f"first={first}", "--run", f"second={second}", "--out", str(out))
    report = json.loads(out.read_text())
    saved = json.loads((first / "metrics.json").read_text())
    run = report["runs"]["first"]
    assert run["test"]["accuracy"] == saved["test"]["accuracy"] and run["recipe"]["learning_rate"] == 1e-3
    assert report["machine"]["cores"] >= 1 and report["chosen"] == "first"
    assert f"first (chosen by validation): {saved['test']['accuracy']:.2%}" in stdout
    tree_lstm = 100 * (saved["test"]["accuracy"] - 0.51)
    assert f"| Constituency Tree-LSTM (Tai et al. 2015) | 51.0% | {tree_lstm:+.1f} points |" in stdout


def test_imdb_benchmark_reads_runs_and_compares_them_on_the_same_reviews(tmp_path, trained_model, binary_data):
    """Two runs side by side: the second is the first with three right answers turned wrong, so McNemar's p is the
    exact binomial one of 0 against 3 discordant reviews; the negation rows are the run's own audit. A run scored
    again by evaluate.py (--test-from) carries that scoring's three readings; a paused one no training time."""
    import shutil

    import pandas as pd

    from review_sentiment.export.int8_bar import mcnemar_p

    worse = shutil.copytree(trained_model, tmp_path / "worse")
    predictions = pd.read_csv(worse / "predictions.csv")
    right = predictions.index[predictions["label"] == predictions["prediction"]][:3]
    predictions.loc[right, "prediction"] = 1 - predictions.loc[right, "label"]
    predictions.to_csv(worse / "predictions.csv", index=False)
    out = tmp_path / "imdb.json"
    scored = tmp_path / "scored"
    subprocess.run([sys.executable, "-m", "review_sentiment.evaluation.evaluate", "--model", str(trained_model),
                    "--dataset", str(binary_data), "--out", str(scored)], check=True, capture_output=True, cwd=ROOT,
                   env=subprocess_env(HF_HUB_OFFLINE="1"), timeout=600)
    stdout = bench("imdb.py", "--run", f"trained={trained_model}", "--run", f"worse={worse}", "--out", str(out),
                   "--test-from", f"worse={scored}", "--paused", "worse")
    report = json.loads(out.read_text())
    rescored = report["runs"]["worse"]
    assert set(rescored["test"]["readings"]) == {"served", "pipeline", "window"} and rescored["training_paused"]
    assert rescored["test"]["accuracy"] == json.loads((scored / "metrics.json").read_text())["accuracy"]
    assert rescored["test_rescored_by"] == str(scored) and not report["runs"]["trained"].get("training_paused")
    saved = json.loads((trained_model / "metrics.json").read_text())
    run = report["runs"]["trained"]
    assert run["test"]["accuracy"] == saved["test"]["accuracy"] and report["reference"] == "trained"
    p = report["runs"]["worse"]["mcnemar_p_vs_reference"]
    assert p == mcnemar_p(predictions["label"], pd.read_csv(trained_model / "predictions.csv")["prediction"],
                          predictions["prediction"]) == 0.25
    audit = {t["test"]: t["failure_rate"] for t in saved["audit"]["tests"]}
    assert run["negation"]["negated negative"] == audit["negated negative"]
    assert report["machine"]["cores"] >= 1 and "| negated negative |" in stdout and "| trained |" in stdout
