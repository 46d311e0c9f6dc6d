"""Which precision a CPU run trains in: bf16 autocast only where the CPU has the instructions and a timed step shows
it faster, fp32 elsewhere; the CPU's flags are faked both ways, the timing is real."""

import json

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from review_sentiment.cpu import cpu_info
from review_sentiment.errors import UserError
from review_sentiment.training.precision import MIN_SPEEDUP, choose_precision, flags

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU path; a GPU picks bf16/fp16 by itself")

NO_BF16 = {"cpu": "AMD EPYC", "family": "25", "model": "1", "cores": 2, "isa": ["avx2"], "hypervisor": True,
           "machine": "x86_64"}
AMX = {**NO_BF16, "cpu": "Intel Xeon", "family": "6", "model": "143",
       "isa": ["avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"]}
AVX512_BF16 = {**NO_BF16, "family": "25", "model": "17", "isa": ["avx2", "avx512f", "avx512_bf16"]}


@pytest.fixture()
def model(bert_base):
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(bert_base, num_labels=2)


def test_a_cpu_without_bf16_trains_in_fp32_untimed(model):
    precision, report = choose_precision("auto", model, 8, 32, info=NO_BF16)
    assert precision == "fp32" and "no bf16 instructions" in report["decided_by"] and "speedup" not in report
    assert flags(precision) == {"bf16": False, "fp16": False}


@pytest.mark.parametrize("info", [AMX, AVX512_BF16], ids=["amx", "avx512-bf16"])
def test_a_cpu_with_bf16_times_both_and_keeps_the_faster(model, info):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    precision, report = choose_precision("auto", model, 8, 32, info=info)
    assert report["fp32_s_per_step"] > 0 and report["bf16_s_per_step"] > 0
    assert report["speedup"] == round(report["fp32_s_per_step"] / report["bf16_s_per_step"], 2)
    assert precision == ("bf16" if report["speedup"] >= MIN_SPEEDUP else "fp32") == report["precision"]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items()), "timing changes no weight"
    assert all(p.grad is None for p in model.parameters())


def test_explicit_choices_are_checked_against_the_cpu(model):
    with pytest.raises(UserError, match="needs AMX or AVX-512 BF16"):
        choose_precision("bf16", model, info=NO_BF16)
    with pytest.raises(UserError, match="fp16 needs a GPU"):
        choose_precision("fp16", model, info=AMX)
    assert choose_precision("bf16", model, info=AMX)[0] == "bf16"
    assert choose_precision("fp32", model, info=AMX)[1]["decided_by"] == "--precision fp32"


def test_the_run_records_what_precision_it_trained_in(tmp_path, bert_base, binary_data):
    """On this machine's real CPU: metrics.json, training_config.json and the card say the same precision; where
    the CPU has bf16 instructions the card gives the timed step in each."""
    from review_sentiment.training.run import main

    out = tmp_path / "run"
    main(["--model", str(bert_base), "--dataset", str(binary_data), "--output-dir", str(out), "--epochs", "1",
          "--max-length", "64", "--batch-size", "8", "--no-onnx", "--no-audit", "--report-to", "none"])
    report = json.loads((out / "metrics.json").read_text())["train"]["precision"]
    config = json.loads((out / "training_config.json").read_text())
    card = (out / "README.md").read_text()
    assert config["sizes"]["precision"] == report["precision"]
    assert f"| precision | {report['precision']} |" in card
    has_bf16 = any(f in cpu_info()["isa"] for f in ("amx_bf16", "avx512_bf16"))
    assert ("precision choice" in card) == has_bf16 == ("speedup" in report)
