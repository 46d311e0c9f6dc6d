import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Nothing in the tests may call out: no telemetry, no analytics, no Hub.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tiny  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def bert_base(tmp_path_factory) -> Path:
    return tiny.make_base_model(tmp_path_factory.mktemp("bert-base"), "bert")


@pytest.fixture(scope="session")
def distilbert_base(tmp_path_factory) -> Path:
    return tiny.make_base_model(tmp_path_factory.mktemp("distilbert-base"), "distilbert")


@pytest.fixture(scope="session")
def binary_data(tmp_path_factory) -> Path:
    return tiny.write_dataset(tmp_path_factory.mktemp("binary"), ["negative", "positive"])


@pytest.fixture(scope="session")
def three_class_data(tmp_path_factory) -> Path:
    """String labels, as CSV: exercises label names taken from the data itself."""
    return tiny.write_dataset(tmp_path_factory.mktemp("three"), ["negative", "neutral", "positive"],
                              int_labels=False, fmt="csv")


def subprocess_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({"HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT),
                "TOKENIZERS_PARALLELISM": "false"})
    env.update(extra)
    return env
