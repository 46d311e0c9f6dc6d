"""OpenVINO as a runtime: fp32 that answers as torch does, static int8 calibrated on training reviews and held to the
bar, answers that do not depend on the reviews sharing a call, and a machine without OpenVINO (or one where it cannot
compile a file) serving the other runtimes."""

import json
import logging
import shutil

import httpx
import numpy as np
import pandas as pd
import pytest
import tiny
from conftest import LiveApp, minilm_dir, skip_unless
from openvino import Type

from review_sentiment.export import int8_bar, onnx, openvino_ir
from review_sentiment.inference.padding import pad
from review_sentiment.inference.predictor import Predictor
from review_sentiment.inference.runtime_choice import candidates, choose
from review_sentiment.inference.runtimes import ov

# Written for these tests, of every length a visitor types: one line to a paragraph.
REVIEWS = [
    "Great film.",
    "Dull.",
    "A warm, funny and beautifully shot comedy; the cast is wonderful and the ending earns its tears.",
    "I wanted to like it, but the plot falls apart halfway and the dialogue is painfully wooden.",
    "Not bad at all, though the second act drags.",
    "The worst two hours I have spent in a cinema this year. Avoid.",
    "An ambitious mess: gorgeous to look at, impossible to care about, and at least forty minutes too long. The "
    "lead does what she can with a script that gives her nothing to play, and the score never stops telling you "
    "what to feel.",
    "A quiet masterpiece. Every frame is considered, every performance lived in, and the final scene stayed with "
    "me for days afterwards. I have already seen it twice and will again.",
    "It's fine. Nothing special, nothing terrible.",
    "Loved the first half, hated the second.",
    "The effects are cheap but the heart is real, and the kids in the audience were cheering by the end.",
    "Predictable from the first scene to the last, and not even in an enjoyable way.",
]
# Training-like reviews for calibration, none of them among REVIEWS (the reviews the answers are checked on).
CALIBRATION = [f"{opening} {middle} {ending}" for opening in ("This movie was", "Honestly, the film is",
                                                               "What a picture:")
               for middle in ("a delight from start to finish,", "a slog with no ideas,", "uneven but watchable,",
                              "beautifully acted and badly written,")
               for ending in ("and I would watch it again.", "so skip it.", "with a great soundtrack.")]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    """The pretrained all-MiniLM-L6-v2 encoder (real weights) with a seeded two-class head, as a model folder."""
    skip_unless(minilm=True)  # real weights
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("minilm") / "model"
    model = AutoModelForSequenceClassification.from_pretrained(
        minilm_dir(), num_labels=2, id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(folder)
    predictor = Predictor.load(str(folder), device="cpu")
    fp32_onnx = onnx.export(predictor.model, predictor.tokenizer, folder / onnx.FP32_FILE)
    openvino_ir.convert(fp32_onnx, folder / openvino_ir.FP32_FILE)
    return folder, predictor


def test_openvino_fp32_answers_as_torch_fp32_from_either_file(minilm):
    """Real weights: OpenVINO reading the ONNX export, and its own saved file, give torch's logits to 1e-4 (fp32
    arithmetic in another order) and so the same verdicts; the saved weights are fp32 (save_model would halve them to
    fp16), and the compiled model runs in fp32 even on CPUs with AMX or AVX-512 BF16, where OpenVINO would pick bf16."""
    folder, predictor = minilm
    expected = predictor.logits(REVIEWS)
    for path in (folder / onnx.FP32_FILE, folder / openvino_ir.FP32_FILE):
        served = predictor.on("openvino", "fp32", path)
        assert served.runtime.description == f"OpenVINO, fp32 ({path.parent.name}/{path.name})"
        logits = served.logits(REVIEWS)
        assert np.abs(logits - expected).max() < 1e-4, path
        assert (logits.argmax(1) == expected.argmax(1)).all()
    parameters = sum(p.numel() for p in predictor.model.parameters())
    assert openvino_ir.weights_of(folder / openvino_ir.FP32_FILE).stat().st_size >= 4 * parameters * 0.95, "fp32"
    compiled = ov.compile_model(folder / openvino_ir.FP32_FILE)
    assert compiled.get_property("INFERENCE_PRECISION_HINT") == Type.f32


def test_openvino_calls_come_in_at_most_sixteen_lengths_and_answer_as_unpadded_torch(minilm):
    """OpenVINO rebuilds its kernels for a length it does not hold (ov.py keeps 16), so its calls are padded to a
    multiple of ov.PAD_MULTIPLE: reviews of every length from 2 to 600 words reach it in at most 16 lengths, each a
    multiple of 32 or the model's whole window, and answer as torch does with no padding to 1e-4; ONNX Runtime, which
    pays nothing for a new length, gets each review's own."""
    import dataclasses

    folder, predictor = minilm
    words = "the plot was slow but the acting was fine and i liked the ending".split()
    reviews = [" ".join(words[i % len(words)] for i in range(n)) for n in range(2, 600, 7)]
    expected = np.concatenate([predictor.logits([r]) for r in reviews])
    for runtime, path, multiple in (("openvino", folder / openvino_ir.FP32_FILE, ov.PAD_MULTIPLE),
                                    ("onnx", folder / onnx.FP32_FILE, 1)):
        served = predictor.on(runtime, "fp32", path)
        assert served.runtime.pad_multiple == multiple
        lengths, run = [], served.runtime.run

        def recording(batch, run=run, lengths=lengths):
            lengths.append(batch["input_ids"].shape[1])
            return run(batch)
        served.runtime = dataclasses.replace(served.runtime, run=recording)
        logits = np.concatenate([served.logits([r]) for r in reviews])
        assert np.abs(logits - expected).max() < 1e-4, runtime
        window = predictor.settings.max_length
        if runtime == "openvino":
            assert len(set(lengths)) <= 16 and all(n % 32 == 0 or n == window for n in lengths), sorted(set(lengths))
        else:
            assert len(set(lengths)) > 16, "ONNX Runtime reads each review at its own length"


def test_static_int8_answers_barely_depend_on_the_reviews_sharing_a_call(minilm, tmp_path):
    """OpenVINO's static int8 fixes every activation scale at calibration, so a review's probabilities alone and in one
    padded call with all the others agree to ov.INT8_SHARED_MOVE (kernels chosen for another shape may round an
    activation differently), which is why it may share calls like fp32. ONNX Runtime's dynamic int8, whose scales are
    per call, moves more: the same check tells them apart."""
    from review_sentiment.export.temperature import softmax

    folder, predictor = minilm
    xml = tmp_path / openvino_ir.INT8_FILE
    calibrated = openvino_ir.quantize(folder / openvino_ir.FP32_FILE, xml, predictor, CALIBRATION)
    assert calibrated["reviews"] == len(CALIBRATION) and "NNCF" in calibrated["method"]
    served = predictor.on("openvino", "int8", xml)
    assert served.runtime.shared_length == ov.SHARED_LENGTH["int8"] > 0, "static int8 shares calls like fp32"
    dynamic = predictor.on("onnx", "int8", onnx.quantize(folder / onnx.FP32_FILE, tmp_path / "dynamic.onnx"))
    assert dynamic.runtime.shared_length == 0, "dynamic int8: one review per call"

    def moved(runtime) -> float:
        ids = predictor.encode(REVIEWS)
        alone = np.concatenate([runtime.run(pad(predictor.tokenizer, [{"input_ids": i}], "cpu", 512)) for i in ids])
        together = runtime.run(pad(predictor.tokenizer, [{"input_ids": i} for i in ids], "cpu", 512))
        return float(np.abs(softmax(alone, 1.0) - softmax(together, 1.0)).max())
    static_moved, dynamic_moved = moved(served.runtime), moved(dynamic.runtime)
    print(f"\nlargest probability move alone vs together: static int8 {static_moved:.2e}, dynamic {dynamic_moved:.2e}")
    assert static_moved <= ov.INT8_SHARED_MOVE and dynamic_moved > static_moved
    np.testing.assert_allclose(served.predict_proba(REVIEWS),
                               np.concatenate([served.predict_proba([r]) for r in REVIEWS]), atol=ov.INT8_SHARED_MOVE)


def test_openvino_int8_ships_only_past_the_bar_and_was_calibrated_on_training_reviews(trained_model, binary_data,
                                                                                   tmp_path, monkeypatch):
    """train.py's output: openvino/ holds fp32 and, past the bar, static int8, with the calibration reviews' digests
    in metrics.json. None of them is a test review the bar scored; all are training reviews. Calibration reviews
    among the scored ones are left out and counted, and a file that misses it is removed while fp32 stays."""
    metrics = json.loads((trained_model / "metrics.json").read_text())["openvino"]
    check = metrics["int8"]
    train, test = (pd.read_parquet(binary_data / f"{split}.parquet") for split in ("train", "test"))
    used = set(check["calibration"]["fingerprints"])
    assert len(used) == check["calibration"]["reviews"] > 0
    assert used <= {openvino_ir.fingerprint(t) for t in train["text"]}, "training reviews"
    assert not used & {openvino_ir.fingerprint(t) for t in test["text"]}, "never a test review"
    assert (trained_model / openvino_ir.INT8_FILE).exists() == check["passed"]
    assert metrics["files"][:2] == ["openvino/openvino_model.bin", "openvino/openvino_model.xml"]
    assert "calibrated on" in metrics["summary"] and metrics["summary"] in (trained_model / "README.md").read_text()

    model = shutil.copytree(trained_model, tmp_path / "model", ignore=shutil.ignore_patterns("onnx", "openvino"))
    texts, labels = test["text"].tolist(), test["label"].to_numpy()
    predictor = Predictor.load(str(model), device="cpu")
    fp32_path = onnx.export(predictor.model, predictor.tokenizer, model / onnx.FP32_FILE)
    fp32 = int8_bar.scores(predictor, "onnx", "fp32", fp32_path, texts)
    # Issue 33: calibration reviews among the scored ones are left out and counted, no longer raised (a full IMDb
    # run met one of the 123 texts train and test share in its last step and lost everything it had measured).
    check = int8_bar.check_openvino(predictor, fp32_path, model, texts, labels, fp32,
                                    texts[:5] + train["text"][:20].tolist())
    assert check["calibration"]["dropped_scored"] == 5 and check["calibration"]["reviews"] == 20
    assert not set(check["calibration"]["fingerprints"]) & {openvino_ir.fingerprint(t) for t in texts}
    monkeypatch.setattr(int8_bar, "MIN_AGREEMENT", 1.01)  # out of reach: both files miss
    report = int8_bar.ship(Predictor.load(str(model), device="cpu"), model, texts, labels, train["text"].tolist()[:40])
    assert not report["openvino"]["int8"]["passed"] and "only the fp32 file ships" in report["openvino"]["summary"]
    assert not (model / openvino_ir.INT8_FILE).exists() and not (model / openvino_ir.INT8_FILE).with_suffix(".bin") \
        .exists()
    assert (model / openvino_ir.FP32_FILE).exists() and report["openvino"]["files"] == [
        "openvino/openvino_model.bin", "openvino/openvino_model.xml"]


@pytest.mark.parametrize("bar", ["met", "out of reach"])
def test_accuracy_control_ships_what_plain_static_int8_missed_keeping_the_costly_layers_in_fp32(
        trained_model, binary_data, tmp_path, monkeypatch, bar):
    """Issue 32: where plain static int8 misses the bar, NNCF's accuracy control tries again with the bar itself
    (int8_bar.bar_score) read on held-out reviews, and the file it makes is scored on the test reviews like any
    other. Built to miss: tiny.outlier_in_attention. With the bar met, the file ships and records which operations
    stayed fp32 (those of the damaged layer, and not all of them); with the bar out of reach, what accuracy control
    makes misses it on the test reviews too, and nothing ships."""
    train, test = (pd.read_parquet(binary_data / f"{split}.parquet") for split in ("train", "test"))
    texts, labels = test["text"].tolist(), test["label"].to_numpy()
    model = tmp_path / "model"
    predictor = tiny.outlier_in_attention(trained_model, model)
    if bar == "out of reach":
        monkeypatch.setattr(int8_bar, "MIN_AGREEMENT", 1.01)
    calibration = train["text"].tolist()[:100]
    held_out = (train["text"].tolist()[100:], train["label"].to_numpy()[100:])
    report = int8_bar.ship(predictor, model, texts, labels, calibration, held_out)["openvino"]
    check = report["int8"]
    static, controlled = check["schemes_tried"]
    assert static["scheme"] == "static" and not static["passed"] and static["agreement"] < int8_bar.MIN_AGREEMENT
    assert controlled["scheme"] == "accuracy control"
    if bar == "met":
        kept, left = check["calibration"]["kept_fp32"], check["calibration"]["int8_operations"]
        assert check["passed"] and check["scheme"] == "accuracy control" and controlled["passed"]
        assert check["agreement"] >= int8_bar.MIN_AGREEMENT and abs(check["accuracy_points"]) <= 0.3
        assert kept and all("/layer.0/" in name for name in kept), kept
        assert left == len(openvino_ir.int8_operations(model / openvino_ir.INT8_FILE)) > 0
        assert check["calibration"]["validation_reviews"] == len(held_out[0])
        assert f"accuracy control keeping {len(kept)} matrix products in fp32" in report["summary"]
        served = Predictor.load(str(model), device="cpu").on("openvino", "int8", model / openvino_ir.INT8_FILE)
        assert (served.predict_proba(texts).argmax(axis=1) == predictor.predict_proba(texts).argmax(axis=1)).all()
        metrics = {"openvino": report}  # what train.py's files step writes into metrics.json, as JSON
        assert json.loads(json.dumps(metrics, default=str))["openvino"]["int8"]["calibration"]["kept_fp32"] == kept
    else:
        assert not check["passed"] and not controlled["passed"], check["schemes_tried"]
        assert not (model / openvino_ir.INT8_FILE).exists() and "only the fp32 file ships" in report["summary"]


def test_a_machine_without_openvino_serves_the_other_runtimes(trained_model, star_baseline, tmp_path):
    """The app started where `import openvino` fails (a package that refuses to import stands first on the path, as
    on a machine without it): no OpenVINO option is timed, the others serve, nothing reaches the log as a traceback."""
    hidden = tmp_path / "hidden" / "openvino"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text('raise ImportError("No module named openvino (hidden by the test)")\n')
    from conftest import ROOT

    app = LiveApp(trained_model, star_baseline, extra_env={"PYTHONPATH": f"{hidden.parent}:{ROOT}"})
    try:
        app.wait()
        health = httpx.get(f"{app.url}/healthz").json()["models"]
        for slot in ("finetuned", "baseline"):
            timed = list(health[slot]["runtime_choice"]["probe_ms"])
            assert timed and not any(k.startswith("OpenVINO") for k in timed), timed
            assert "ONNX Runtime" in health[slot]["runtime"] or health[slot]["runtime"] == "torch, fp32"
        answer = httpx.post(f"{app.url}/api/v1/predict", json={"texts": ["great wonderful film"]}, timeout=60)
        assert answer.status_code == 200 and answer.json()["predictions"][0]["label"] == "positive"
        assert "Traceback" not in app.output()
    finally:
        app.stop()


def test_a_file_openvino_cannot_compile_drops_out_in_one_line(trained_model, tmp_path, caplog):
    """A broken openvino/ file (a truncated download, say): that option drops out with one logged line and its reason
    in the runtime choice; the other options are timed and one serves."""
    model = shutil.copytree(trained_model, tmp_path / "model")
    (model / openvino_ir.FP32_FILE).write_text("<net>not a graph")
    predictor = Predictor.load(str(model), device="cpu")
    with caplog.at_level(logging.WARNING, logger="review_sentiment.inference.predictor"):
        served = choose(predictor, quantize="none")
    failed = served.choice["failed"]
    assert list(failed) == [f"openvino, fp32 ({openvino_ir.FP32_FILE})"] and failed[list(failed)[0]]
    assert not any(k.startswith("OpenVINO, fp32") for k in served.choice["probe_ms"])
    assert served.runtime.name in ("onnx", "torch") and len(served.choice["probe_ms"]) == 2
    warnings = [r for r in caplog.records if "cannot run" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None, "one line, no traceback"


def test_bf16_is_checked_and_offered_only_on_cpus_that_compute_it(trained_model):
    """On a CPU that computes bf16 (AMX, or AVX-512 BF16: its flags and OpenVINO's capabilities say so), train.py also
    scores OpenVINO's fp32 file run in bf16 against the bar, and the Space may time it beside the int8 files (never
    with QUANTIZE=none); elsewhere neither happens, since the hint would run fp32 there."""
    from review_sentiment.cpu import native_bf16

    metrics = json.loads((trained_model / "metrics.json").read_text())["openvino"]
    predictor = Predictor.load(str(trained_model), device="cpu")
    bf16 = [o for o in candidates(predictor, None, "auto") if o[1] == "bf16"]
    assert not [o for o in candidates(predictor, None, "none") if o[1] == "bf16"]
    if not native_bf16():
        assert "bf16" not in metrics and not bf16
        return
    check = metrics["bf16"]
    assert check["precision"] == "bf16" and "bf16" in check["cpu"] and "bf16 " in metrics["summary"]
    assert bf16 == ([("openvino", "bf16", trained_model / openvino_ir.FP32_FILE)] if check["passed"] else [])
    served = predictor.on("openvino", "bf16", trained_model / openvino_ir.FP32_FILE)
    assert served.runtime.description == f"OpenVINO, bf16 ({openvino_ir.FP32_FILE})" and served.int8_check == check


@pytest.mark.parametrize("isa, openvino_says, offered", [
    (["avx2", "avx512f", "avx512_bf16"], True, True),  # AVX-512 BF16 without AMX (AMD Zen 4): offered, then timed
    (["avx2", "avx512f", "amx_tile", "amx_bf16"], True, True),
    (["avx2", "avx512f", "avx512_vnni"], True, False),  # no bf16 units
    (["avx2", "avx512f", "avx512_bf16"], False, False),  # OpenVINO's CPU plugin does not run bf16 here
])
def test_bf16_is_offered_where_the_cpu_says_it_computes_it_and_never_unchecked(trained_model, tmp_path, monkeypatch,
                                                                               isa, openvino_says, offered):
    """The CPU's facts faked both ways; the model folder carries a passing bf16 check (as train.py writes it on such a
    CPU), or none: without a check nothing in bf16 is offered on any CPU."""
    from review_sentiment import cpu

    monkeypatch.setattr(cpu, "cpu_info", lambda: {"cpu": "faked", "family": None, "model": None, "cores": 2,
                                                  "isa": isa, "hypervisor": False, "machine": "x86_64"})
    monkeypatch.setattr(cpu, "openvino_bf16", lambda: openvino_says)
    folder = tmp_path / "model"
    shutil.copytree(trained_model, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics["openvino"]["bf16"] = {"passed": True, "precision": "bf16", "agreement": 1.0, "cpu": "faked"}
    (folder / "metrics.json").write_text(json.dumps(metrics))
    predictor = Predictor.load(str(folder), device="cpu")
    bf16 = [o for o in candidates(predictor, None, "auto") if o[1] == "bf16"]
    assert bf16 == ([("openvino", "bf16", folder / openvino_ir.FP32_FILE)] if offered else [])
    del metrics["openvino"]["bf16"]  # unchecked
    (folder / "metrics.json").write_text(json.dumps(metrics))
    assert not [o for o in candidates(Predictor.load(str(folder), device="cpu"), None, "auto") if o[1] == "bf16"]


def test_nncf_is_imported_with_its_telemetry_off():
    """NNCF sends usage statistics unless told not to, and decides when it is imported (pytest alone switches it off,
    so this runs in a plain interpreter): every import through openvino_ir turns it off first."""
    import subprocess
    import sys

    from conftest import ROOT, subprocess_env

    code = ("from review_sentiment.export import openvino_ir\nassert openvino_ir.nncf_available()\n"
            "import nncf.telemetry.wrapper as w\nprint(type(w.telemetry).__name__)")
    env = {k: v for k, v in subprocess_env().items() if k != "NNCF_CI"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "MagicMock", "NNCF's stub, not its Google Analytics sender"
