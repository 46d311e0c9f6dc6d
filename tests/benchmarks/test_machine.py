"""What a results file says of the models it measured (benchmarks/machine.py): their names, sizes and whose weights."""

import json
import sys

from conftest import ROOT, minilm_dir, skip_unless

sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import describe_model, save  # noqa: E402
from stand_ins import make_star_baseline  # noqa: E402


def parameters_of(folder, head: bool = False) -> int:
    from transformers import AutoModel, AutoModelForSequenceClassification

    model = (AutoModelForSequenceClassification if head else AutoModel).from_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def test_a_pretrained_encoder_is_counted_from_its_header_as_loading_it_counts():
    skip_unless(minilm=True)
    described = describe_model(str(minilm_dir()))
    assert described["weights"] == "pretrained" and described["name"] == "model"
    assert described["parameters"] == parameters_of(minilm_dir()) > 20_000_000  # all-MiniLM-L6-v2: 22.7M


def test_a_stand_in_says_its_weights_are_random_and_a_train_run_that_it_is_fine_tuned(tmp_path, trained_model,
                                                                                      bert_base):
    stand_in = make_star_baseline(str(bert_base), tmp_path / "stars", vocab_size=600, size="tiny")
    assert describe_model(stand_in)["weights"].startswith("random")
    assert describe_model(str(trained_model))["weights"] == "fine-tuned (train.py)"
    assert describe_model("nlptown/bert-base-multilingual-uncased-sentiment") == {
        "name": "nlptown/bert-base-multilingual-uncased-sentiment"}  # a Hub id, not read here

    out = tmp_path / "results.json"
    save({"model": str(trained_model), "baseline": stand_in, "figure": 1.0}, str(out))
    written = json.loads(out.read_text())
    assert set(written["models"]) == {"model", "baseline"} and written["commit"] and written["machine"]["cpu"]
    assert written["models"]["baseline"]["parameters"] == parameters_of(stand_in, head=True)
