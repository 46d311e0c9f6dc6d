"""A model folder's one contract (review_sentiment/model_report.py), read on what the landed train.py wrote.

tests/landed_run/ holds the metrics.json and training_config.json of a real run written by train.py before the
contract existed (MiniLM-L6 on all of IMDb with SST phrases, README's headline run, Intel Xeon with AMX, 2026-12-06):
its sections are as they were published, with the audit, the int8 and bf16 checks and the other domains."""

import json
import shutil

from conftest import ROOT

from review_sentiment.export import onnx
from review_sentiment.export.checked_onnx import check_of
from review_sentiment.export.int8_bar import reason
from review_sentiment.model_report import METRICS_FILE, RUN_FILE, ModelReport, read_report, read_run
from review_sentiment.space.service import Service
from review_sentiment.space.views import origin_line

LANDED = ROOT / "tests" / "landed_run"


def test_a_folder_the_landed_train_py_wrote_reads_typed_and_writes_back_byte_for_byte(tmp_path):
    raw = (LANDED / METRICS_FILE).read_text()
    report, run = read_report(LANDED), read_run(LANDED)
    assert report.test["num_samples"] == 25_000 and report.audit["tests"] and report.domains
    assert report.file_check("onnx", "int8")["passed"] and report.file_check("openvino", "bf16")
    assert report.file_check("torch", "int8") is None and report.failed_step is None and report.other == {}
    assert run.dataset_name == "stanfordnlp/imdb" and run.precision == "bf16" and run.label_names
    report.write(tmp_path)
    run.write(tmp_path)
    assert (tmp_path / METRICS_FILE).read_text() == raw
    assert list(json.loads((tmp_path / METRICS_FILE).read_text())) == list(json.loads(raw)), "sections keep order"
    assert json.loads((tmp_path / RUN_FILE).read_text()) == json.loads((LANDED / RUN_FILE).read_text())


def test_a_section_a_newer_train_py_adds_survives_a_rewrite(tmp_path):
    data = json.loads((LANDED / METRICS_FILE).read_text()) | {"feedback": {"corrections": 3}}
    report = ModelReport.from_json(data)
    assert report.other == {"feedback": {"corrections": 3}} and report.measured("feedback")
    report.add({"baseline": {"accuracy": 0.7}})
    assert report.to_json() == data | {"baseline": {"accuracy": 0.7}}
    assert read_report(tmp_path) is None and read_run(tmp_path) is None, "a model trained elsewhere has neither"


def test_the_space_shows_a_landed_folders_metrics_audit_and_int8_figures(trained_model, star_baseline, tmp_path):
    folder = tmp_path / "landed"
    shutil.copytree(trained_model, folder)
    for name in (METRICS_FILE, RUN_FILE):
        shutil.copy(LANDED / name, folder / name)
    if not (folder / onnx.INT8_FILE).exists():  # the tiny model's own int8 file missed the bar: serve one anyway
        onnx.quantize(folder / onnx.FP32_FILE, folder / onnx.INT8_FILE)
    landed = json.loads((LANDED / METRICS_FILE).read_text())
    service = Service(str(folder), str(star_baseline), runtime="onnx", quantize="int8")
    predictor = service.model.predictor
    assert predictor.runtime.precision == "int8" and predictor.int8_check == landed["onnx"]["int8"]
    assert check_of(folder / onnx.INT8_FILE, folder) == landed["onnx"]["int8"]
    facts = service.model_facts(service.model)
    assert facts["metrics"] == landed["test"] and facts["audit"] == landed["audit"]
    assert service.model.trained_on == "stanfordnlp/imdb"
    assert f"int8 checked by train.py: {reason(landed['onnx']['int8'])}" in origin_line(service.model), "About tab"
