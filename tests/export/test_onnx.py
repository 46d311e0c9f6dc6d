"""The ONNX files train.py ships: a graph ONNX Runtime fuses, int8 that keeps the sensitive layers in fp32, the
accuracy bar that decides whether the int8 file ships, and the Space serving the shipped file."""

import json

import numpy as np
import onnx as onnx_lib
import onnxruntime as ort
import pytest
import tiny

from review_sentiment.export import onnx
from review_sentiment.export.int8_bar import MAX_ACCURACY_POINTS, MIN_AGREEMENT, compare, mcnemar_p, reason
from review_sentiment.inference import runtimes
from review_sentiment.inference.predictor import Predictor
from review_sentiment.inference.runtime_choice import choose, shipped_files
from review_sentiment.space.service import Service

POSITIVE = "the acting was superb and the story wonderful , i loved it"
NEGATIVE = "awful boring plot and the worst acting , a waste"


@pytest.fixture(scope="module")
def four_layers(tmp_path_factory):
    """A tiny BERT classifier with 4 layers, so int8 has middle layers to quantise."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig

    folder = tiny.make_classifier(tmp_path_factory.mktemp("four"), ["negative", "positive"])
    config = BertConfig.from_pretrained(folder, num_hidden_layers=4)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    return model, AutoTokenizer.from_pretrained(folder), folder


def ops(path) -> list:
    return list(onnx_lib.load(str(path)).graph.node)


def test_export_is_plain_onnx_with_eager_attention_that_onnxruntime_folds(four_layers, tmp_path):
    model, tokenizer, _ = four_layers
    attention = model.config._attn_implementation
    paths = onnx.write_files(model, tokenizer, tmp_path)
    assert model.config._attn_implementation == attention and not model.training, "the caller's model is as it was"
    assert {p.relative_to(tmp_path).as_posix() for p in paths.values()} == {onnx.FP32_FILE, onnx.INT8_FILE}
    assert {n.domain for n in ops(paths["fp32"])} <= {"", "ai.onnx"}, "no contrib ops: any runtime reads it"
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(paths["fp32"]), options, providers=["CPUExecutionProvider"])
    optimized = [n.op_type for n in ops(tmp_path / "optimized.onnx")]
    assert "IsNaN" not in optimized, "eager attention, not SDPA's masking nodes (module doc)"
    assert optimized.count("FusedMatMul") == 4 and optimized.count("BiasGelu") == 4, "scaled QK^T and GELU folded"
    batch = tokenizer([POSITIVE, NEGATIVE + " and long, " * 5], padding=True, return_tensors="pt")
    expected = model(**batch).logits.detach().numpy()
    fp32, int8 = (runtimes.build("onnx", model, tokenizer, p, paths[p]) for p in ("fp32", "int8"))
    assert np.allclose(fp32.run(batch), expected, atol=1e-5) and fp32.shared_length > 0
    assert np.isfinite(int8.run(batch)).all() and int8.shared_length == 0, "int8: one review per call"


@pytest.mark.parametrize("kind", ["bert", "distilbert"])
def test_the_second_scheme_also_keeps_every_ffn_output_projection_in_fp32(kind, tmp_path):
    """edges+ffn-out, the scheme int8_bar tries when edges misses the bar: each middle layer's FFN output projection
    (BERT's output.dense, DistilBERT's ffn.lin2) stays fp32 too, and nothing else changes."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    folder = tiny.make_classifier(tmp_path / kind, ["negative", "positive"], kind=kind)
    layers = {"num_hidden_layers": 4} if kind == "bert" else {"n_layers": 4}
    model = AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(folder, **layers)).eval()
    fp32 = onnx.export(model, AutoTokenizer.from_pretrained(folder), tmp_path / "model.onnx")
    edges, safer = set(onnx.sensitive_nodes(fp32)), set(onnx.sensitive_nodes(fp32, "edges+ffn-out"))
    extra = sorted(safer - edges)
    ffn_out = "output/dense" if kind == "bert" else "ffn/lin2"
    assert len(extra) == 2 and all(ffn_out in n and "attention" not in n for n in extra), extra
    assert {n.split("layer.")[1].split("/")[0] for n in extra} == {"1", "2"}, "the middle layers' FFN outputs"
    int8 = onnx.quantize(fp32, tmp_path / "int8.onnx", "edges+ffn-out")
    assert len([n for n in ops(int8) if n.op_type == "MatMulInteger"]) == 2 * 5, "the other five products per layer"


def test_int8_keeps_the_first_and_last_layers_and_the_head_in_fp32(four_layers, tmp_path):
    model, tokenizer, _ = four_layers
    paths = onnx.write_files(model, tokenizer, tmp_path)
    kept = onnx.sensitive_nodes(paths["fp32"])
    quantized = [n.name for n in ops(paths["int8"]) if n.op_type == "MatMulInteger"]
    assert quantized and all("layer.1/" in n or "layer.2/" in n for n in quantized)
    assert len(quantized) == 2 * 6, "q, k, v, attention output, intermediate, output of the two middle layers"
    assert any("classifier" in n for n in kept) and any("pooler" in n for n in kept)
    assert any("layer.0/" in n for n in kept) and any("layer.3/" in n for n in kept)
    scales = [i for i in onnx_lib.load(str(paths["int8"])).graph.initializer if i.name.endswith("_scale")]
    assert any(len(i.dims) == 1 and i.dims[0] > 1 for i in scales), "weights quantised per output channel"
    from onnx import numpy_helper
    weights = [w for i in onnx_lib.load(str(paths["int8"])).graph.initializer if i.name.endswith("_quantized")
               and (w := numpy_helper.to_array(i)).dtype == np.int8]  # the matrix weights (embeddings are uint8)
    assert len(weights) == 12 and max(int(np.abs(w).max()) for w in weights) <= 64, "7-bit: no u8 x s8 saturation"


def test_the_bar_and_mcnemar():
    labels = np.array([1] * 100 + [0] * 100)
    fp32 = np.eye(2)[labels]
    int8 = fp32.copy()
    int8[:1] = int8[:1, ::-1]  # one of 200 flipped: 99.5% agreement, -0.5 points
    result = compare(labels, fp32, int8)
    assert result["agreement"] == 0.995 and result["accuracy_points"] == pytest.approx(-0.5)
    assert not result["passed"], f"0.5 points is over the {MAX_ACCURACY_POINTS}-point bar"
    labels = np.array([1] * 1000)
    fp32, int8 = np.eye(2)[labels], np.eye(2)[labels]
    int8[:5] = int8[:5, ::-1]
    fp32[5:10] = fp32[5:10, ::-1]  # fp32 wrong on 5 that int8 gets right, int8 wrong on 5 that fp32 gets right
    result = compare(labels, fp32, int8)
    assert result["agreement"] == 0.99 >= MIN_AGREEMENT and result["passed"] and result["mcnemar_p"] == 1.0
    # Only one side wrong, 5 times: exact two-sided p = 2 * 0.5**5.
    assert mcnemar_p(np.ones(10), np.ones(10), np.r_[np.zeros(5), np.ones(5)]) == pytest.approx(0.0625)


def test_train_ships_onnx_with_its_check_and_the_space_serves_the_shipped_file(trained_model, star_baseline):
    metrics = json.loads((trained_model / "metrics.json").read_text())["onnx"]
    check = metrics["int8"]
    assert check["reviews"] == json.loads((trained_model / "metrics.json").read_text())["test"]["num_samples"]
    assert (trained_model / onnx.INT8_FILE).exists() == check["passed"]
    assert metrics["files"] == [onnx.FP32_FILE] + ([onnx.INT8_FILE] if check["passed"] else [])
    card = (trained_model / "README.md").read_text()
    assert "## How to use" in card and "onnx/model.onnx" in card and metrics["summary"] in card
    # The card's ONNX Runtime snippet runs as printed (a local model: a path, no Hub download).
    snippet = card.split("### ONNX Runtime and transformers.js", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert "hf_hub_download" not in snippet
    scope: dict = {}
    exec(snippet, scope)  # noqa: S102 - our own card's code
    assert scope["logits"].shape == (1, 2)
    shipped = onnx.INT8_FILE if check["passed"] else onnx.FP32_FILE
    service = Service(str(trained_model), str(star_baseline), runtime="onnx")
    precision = "int8" if check["passed"] else "fp32"
    # Both shipped files are allowed (int8 only past the bar), and the faster on this CPU serves.
    options = list(service.model.predictor.choice["probe_ms"])
    assert options == [f"ONNX Runtime, {p} ({f})" for p, f in (("int8", onnx.INT8_FILE), ("fp32", onnx.FP32_FILE))
                       if p == "fp32" or check["passed"]]
    assert service.model.predictor.runtime.description == service.model.predictor.choice["chosen"]
    shipped_only = Service(str(trained_model), str(star_baseline), runtime="onnx", quantize="int8")
    assert shipped_only.model.predictor.runtime.description == f"ONNX Runtime, {precision} ({shipped})" or \
        not check["passed"]
    assert shipped_only.model.predictor.int8_check == (check if check["passed"] else None), "its figures, /healthz"
    refused = Service(str(trained_model), str(star_baseline), quantize="none", runtime="onnx")
    assert refused.model.predictor.runtime.description == f"ONNX Runtime, fp32 ({onnx.FP32_FILE})"
    # The baseline ships no ONNX files: its own export, cached, in fp32 (its int8 accuracy was never checked).
    assert service.baseline.predictor.runtime.description == "ONNX Runtime, fp32 (exported at first start, cached)"
    torch_probs = Predictor.load(str(trained_model)).predict_proba([POSITIVE, NEGATIVE])
    assert np.allclose(refused.model.predictor.predict_proba([POSITIVE, NEGATIVE]), torch_probs, atol=1e-5)


def test_no_onnx_flag_writes_none(tmp_path, distilbert_base, binary_data):
    from review_sentiment.training.run import main

    out = tmp_path / "model"
    main(["--model", str(distilbert_base), "--dataset", str(binary_data), "--output-dir", str(out), "--epochs", "0.1",
          "--max-length", "32", "--batch-size", "8", "--max-train-samples", "16", "--max-eval-samples", "16",
          "--no-onnx", "--no-calibrate"])
    assert not (out / "onnx").exists() and "onnx" not in json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("bar", ["met", "missed"])
def test_publish_time_int8_check_ships_only_files_that_met_the_bar(trained_model, binary_data, tmp_path, monkeypatch,
                                                                   bar):
    """check_hub_model (what publishing runs for a Hub model without onnx/ or openvino/): each passing int8 file
    (ONNX Runtime's dynamic one, OpenVINO's static one calibrated on the train reviews) and its figures land under
    <owner>--<name>/<commit>/, and the loader serves them for that commit alone; a miss ships nothing. The bar is set
    out of reach to make the tiny model miss it (it always agrees otherwise)."""
    import shutil

    import pandas as pd

    from review_sentiment.cpu import native_bf16
    from review_sentiment.export import int8_bar, openvino_ir
    from review_sentiment.export.checked_onnx import BF16_KEY

    if bar == "missed":
        monkeypatch.setattr(int8_bar, "MIN_AGREEMENT", 1.01)
    hub_like = shutil.copytree(trained_model, tmp_path / "model",
                               ignore=shutil.ignore_patterns("onnx", "openvino", "checkpoints"))
    predictor = Predictor.load(str(hub_like), device="cpu")
    predictor.files.repo_id, predictor.files.revision = "someone/model", "a" * 40  # as a Hub model would be
    test, train = (pd.read_parquet(binary_data / f"{split}.parquet") for split in ("test", "train"))
    checks = int8_bar.check_hub_model(predictor, test["text"].tolist(), test["label"].to_numpy(), "local",
                                      tmp_path / "checked-onnx", train["text"].tolist()[:50])
    folder = tmp_path / "checked-onnx" / "someone--model" / ("a" * 40)
    # Where this CPU computes bf16, publishing also checks the fp32 graph in bf16 (recorded, no file of its own).
    bf16 = checks.pop("openvino bf16", None)
    assert set(checks) == {"onnx", "openvino"} and (bf16 is not None) == native_bf16()
    assert checks["openvino"]["calibration"]["reviews"] == 50 and checks["openvino"]["scheme"] == "static"
    for check in [*checks.values(), *([bf16] if bf16 else [])]:
        assert check["passed"] == (bar == "met") and check["reviews"] == len(test)
    for name in (onnx.INT8_FILE, openvino_ir.INT8_FILE, "openvino/openvino_model_qint8_quantized.bin"):
        assert (folder / name).exists() == (bar == "met"), name
    assert (folder / "int8_check.json").exists() == (bar == "met")
    monkeypatch.setenv("CHECKED_ONNX_DIR", str(tmp_path / "checked-onnx"))
    tried = [t["scheme"] for t in checks["onnx"]["schemes_tried"]]
    if bar == "met":
        figures = json.loads((folder / "int8_check.json").read_text())
        assert figures == {onnx.INT8_FILE: checks["onnx"], openvino_ir.INT8_FILE: checks["openvino"],
                           **({BF16_KEY: bf16} if bf16 else {})}
        for runtime in ("onnx", "openvino"):
            served = choose(predictor, runtime)
            assert served.runtime.precision == "int8" and served.int8_check == checks[runtime]
            assert served.runtime.file.parent.parent == folder
        assert "the Space ships it" in checks["onnx"]["summary"] and tried == ["edges"], "the faster scheme passed"
    else:
        served = choose(predictor, "onnx")
        assert served.runtime.precision == "fp32" and served.int8_check is None
        assert "fp32 serves, exported at the first start" in checks["onnx"]["summary"]
        assert tried == list(onnx.SCHEMES), "every scheme"
    predictor.files.revision = "b" * 40  # other weights: the file checked for another commit is never served
    assert shipped_files(predictor) == {}
    # With no training reviews to calibrate on, OpenVINO's int8 is not made (the test reviews never calibrate).
    unchecked = int8_bar.check_hub_model(predictor, test["text"].tolist()[:10], test["label"].to_numpy()[:10], "local",
                                         tmp_path / "other")
    assert unchecked["openvino"]["skipped"].startswith("no training reviews") and "passed" in unchecked["onnx"]


def test_a_star_model_is_held_to_the_bar_on_its_stars_and_its_polarity_verdict():
    """The baseline answers in stars: int8 must keep its stars and its polarity verdict (1-2 negative, 4-5 positive)
    on 99% of reviews, and the polarity accuracy within 0.3 points. Four stars from a mass mostly on 1-2 stars reads
    negative; the same four stars from a mass mostly on 4 reads positive: the stars agree, the verdict does not."""
    stars = tiny.STARS
    labels = np.array([1] * 50 + [4] * 50)  # IMDb's negative/positive as domains.align maps them onto stars 2 and 5
    split = np.tile([0.3, 0.3, 0.0, 0.4, 0.0], (100, 1))  # 4 stars on top, yet 60% of the mass on 1-2 stars
    clear = np.tile([0.0, 0.0, 0.0, 0.9, 0.1], (100, 1))
    same = compare(labels, split, split, stars)
    assert same["passed"] and same["stars"] and same["agreement"] == same["polarity_agreement"] == 1.0
    assert same["accuracy_fp32"] == 0.5, "every verdict negative: right on the 50 negative reviews"
    flipped = compare(labels, split, clear, stars)
    assert flipped["agreement"] == 1.0 and flipped["polarity_agreement"] == 0.0 and not flipped["passed"]
    one_star_off = clear.copy()
    one_star_off[:2] = [0.0, 0.0, 0.0, 0.1, 0.9]  # 2 of 100 reviews a star higher, the same verdict
    near = compare(labels, clear, one_star_off, stars)
    assert near["polarity_agreement"] == 1.0 and near["agreement"] == 0.98 and not near["passed"], "the stars count"
    assert "stars agree on 98.00%, the polarity verdict on 100.00%" in reason(near)


@pytest.mark.parametrize("bar", ["met", "missed"])
def test_publishing_checks_the_star_baseline_and_the_app_serves_what_passed(star_baseline, binary_data, tmp_path,
                                                                            monkeypatch, bar):
    """The baseline gets the fine-tuned model's fast path: check_hub_model on a star model, IMDb's labels aligned
    onto its stars, ships each int8 file that met the bar under <owner>--<name>/<commit>/ with the languages of the
    reviews checked, and choose() serves it for that commit; one built to miss (the bar out of reach) ships nothing
    and serves fp32."""
    import pandas as pd

    from review_sentiment.data.domains import align
    from review_sentiment.export import int8_bar

    if bar == "missed":
        monkeypatch.setattr(int8_bar, "MIN_AGREEMENT", 1.01)
    predictor = Predictor.load(str(star_baseline), device="cpu")
    predictor.files.repo_id, predictor.files.revision = "nlptown/stars", "c" * 40  # as the Hub baseline would be
    test, train = (pd.read_parquet(binary_data / f"{split}.parquet") for split in ("test", "train"))
    test, _, rule = align(test, ["negative", "positive"], predictor.labels)
    assert rule == "by polarity (negative -> 2 stars, positive -> 5 stars)"
    checks = int8_bar.check_hub_model(predictor, test["text"].tolist(), test["label"].to_numpy(), "local",
                                      tmp_path / "checked-onnx", train["text"].tolist()[:50], {"en": len(test)})
    folder = tmp_path / "checked-onnx" / "nlptown--stars" / ("c" * 40)
    for check in checks.values():
        assert check["stars"] and check["passed"] == (bar == "met") and check["languages"] == {"en": len(test)}
        assert "reviews checked: English 60" in check["summary"]
    assert (folder / onnx.INT8_FILE).exists() == (bar == "met")
    monkeypatch.setenv("CHECKED_ONNX_DIR", str(tmp_path / "checked-onnx"))
    served = choose(predictor, "onnx")
    if bar == "met":
        assert served.runtime.precision == "int8" and served.int8_check == checks["onnx"]
        assert served.runtime.file.parent.parent == folder
    else:
        assert served.runtime.precision == "fp32" and served.int8_check is None


@pytest.mark.parametrize("space_computes_bf16", [True, False])
def test_publishing_on_a_bf16_cpu_checks_the_hub_models_bf16_and_only_a_bf16_space_offers_it(
        star_baseline, binary_data, tmp_path, monkeypatch, space_computes_bf16):
    """Issue 32: bf16 is checked by publishing too, on the CPU it runs on. Published from a CPU that computes bf16
    (faked), the baseline's fp32 graph is scored in bf16 against the same bar and, where it passes, recorded for its
    commit (no file ships: the Space exports the graph at its first start); a Space whose CPU computes bf16 offers
    it with those figures where no checked int8 file is there to serve instead (it would export the graph only to
    time it against one), one whose CPU does not (faked) never does, and a commit without the record offers none."""
    import pandas as pd

    from review_sentiment import cpu
    from review_sentiment.data.domains import align
    from review_sentiment.export import int8_bar
    from review_sentiment.export.checked_onnx import BF16_KEY, CHECK_FILE
    from review_sentiment.inference.runtime_choice import candidates

    def cpu_computes_bf16(yes: bool) -> None:
        isa = ["avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"] if yes else ["avx2", "avx512f"]
        monkeypatch.setattr(cpu, "cpu_info", lambda: {"cpu": "faked", "family": None, "model": None, "cores": 2,
                                                      "isa": isa, "hypervisor": False, "machine": "x86_64"})
        monkeypatch.setattr(cpu, "openvino_bf16", lambda: yes)

    cpu_computes_bf16(True)
    predictor = Predictor.load(str(star_baseline), device="cpu")
    predictor.files.repo_id, predictor.files.revision = "nlptown/stars", "d" * 40
    test, train = (pd.read_parquet(binary_data / f"{split}.parquet") for split in ("test", "train"))
    test, _, _ = align(test, ["negative", "positive"], predictor.labels)
    checks = int8_bar.check_hub_model(predictor, test["text"].tolist(), test["label"].to_numpy(), "local",
                                      tmp_path / "checked-onnx", train["text"].tolist()[:50], {"en": len(test)})
    bf16 = checks["openvino bf16"]
    assert bf16["precision"] == "bf16" and bf16["stars"] and bf16["revision"] == "d" * 40 and bf16["cpu"]
    assert "the fp32 file run in bf16" in bf16["summary"] and "reviews checked: English 60" in bf16["summary"]
    record = json.loads((tmp_path / "checked-onnx" / "nlptown--stars" / ("d" * 40) / CHECK_FILE).read_text())
    assert record.get(BF16_KEY) == (bf16 if bf16["passed"] else None)
    monkeypatch.setenv("CHECKED_ONNX_DIR", str(tmp_path / "checked-onnx"))
    cpu_computes_bf16(space_computes_bf16)
    # With checked int8 files here the Space serves those and exports nothing, for bf16 either.
    assert checks["onnx"]["passed"] and not [o for o in candidates(predictor, None, "auto") if o[1] == "bf16"]
    folder = tmp_path / "checked-onnx" / "nlptown--stars" / ("d" * 40)
    for name in [n for n in record if n != BF16_KEY]:  # as if no int8 file had passed and bf16 had
        for part in (folder / name, (folder / name).with_suffix(".bin")):
            part.unlink(missing_ok=True)
    (folder / CHECK_FILE).write_text(json.dumps({k: v for k, v in record.items() if k == BF16_KEY}))
    offered = [o for o in candidates(predictor, None, "auto") if o[1] == "bf16"]
    assert offered == ([("openvino", "bf16", None)] if space_computes_bf16 and bf16["passed"] else [])
    if offered:
        assert predictor.on("openvino", "bf16").int8_check == bf16, "served with the figures publishing measured"
    predictor.files.revision = "e" * 40  # another commit: nothing was checked for it
    assert not [o for o in candidates(predictor, None, "auto") if o[1] == "bf16"]


def test_a_local_baseline_folder_is_checked_by_its_command_and_served_at_the_next_start(star_baseline, binary_data,
                                                                                        tmp_path):
    """BASELINE_ID=./folder: `python -m review_sentiment.evaluation.check_int8 --model ./folder` writes each int8 file
    that met the bar into the folder with int8_check.json, and the app's runtime choice serves it with its figures;
    a second run refuses in one line rather than check files it would overwrite."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT, subprocess_env

    folder = shutil.copytree(star_baseline, tmp_path / "baseline", ignore=shutil.ignore_patterns("_base"))
    command = [sys.executable, "-m", "review_sentiment.evaluation.check_int8", "--model", str(folder), "--dataset",
               str(binary_data)]
    result = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{folder}, onnx: int8 meets the bar on 60 test reviews: stars agree on" in result.stdout
    assert f"kept in {folder}" in result.stdout
    figures = json.loads((folder / "int8_check.json").read_text())
    assert figures[onnx.INT8_FILE]["stars"] and (folder / onnx.INT8_FILE).is_file()
    served = choose(Predictor.load(str(folder), device="cpu"), "onnx")
    assert served.runtime.precision == "int8" and served.int8_check == figures[onnx.INT8_FILE]
    again = subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), cwd=ROOT, timeout=300)
    assert again.returncode == 2 and again.stderr.strip() == f"error: {folder} already holds int8 files; remove " \
                                                             "them to check it again."
