"""app.py's options: one typed config, flags first, then the variables a Space sets, then the defaults; a bad value
is one line naming the variable."""

import subprocess
import sys

import pytest
from conftest import ROOT, subprocess_env

from review_sentiment.cli import parse
from review_sentiment.defaults import BASELINE_ID, DEFAULT_LONG_TEXT, QUANTIZE
from review_sentiment.errors import UserError
from review_sentiment.space.app_config import AppConfig

VARIABLES = ("MODEL_ID", "BASELINE_ID", "MODEL_REVISION", "BASELINE_REVISION", "LONG_TEXT", "QUANTIZE", "RUNTIME",
             "GRADIO_MCP_SERVER", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "SPACE_ID")


@pytest.fixture
def clean_env(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_flags_then_variables_then_defaults(clean_env):
    plain = parse(AppConfig, [], "")
    assert plain.baseline == BASELINE_ID and plain.long_text == DEFAULT_LONG_TEXT and plain.quantize == "auto"
    assert not plain.mcp and plain.server_port == 7860
    clean_env.setenv("MODEL_ID", "someone/model")
    clean_env.setenv("LONG_TEXT", "head")
    clean_env.setenv("GRADIO_MCP_SERVER", "True")
    clean_env.setenv("GRADIO_SERVER_PORT", "8080")
    from_env = parse(AppConfig, [], "")
    assert (from_env.model, from_env.long_text, from_env.mcp, from_env.server_port) == ("someone/model", "head",
                                                                                        True, 8080)
    flagged = parse(AppConfig, ["--model", "other/model", "--long-text", "chunks", "--quantize", "none"], "")
    assert (flagged.model, flagged.long_text, flagged.quantize) == ("other/model", "chunks", "none")


@pytest.mark.parametrize("name, value", [("LONG_TEXT", "all"), ("QUANTIZE", "int4"), ("RUNTIME", "tensorrt"),
                                         ("GRADIO_SERVER_PORT", "http")])
def test_a_bad_variable_is_one_line_naming_it(clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(UserError, match=name):
        AppConfig()


def test_app_py_offers_every_choice_from_the_tuples_that_define_them():
    result = subprocess.run([sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True, text=True,
                            env=subprocess_env(), cwd=ROOT, timeout=120)
    assert result.returncode == 0 and "{" + ",".join(QUANTIZE) + "}" in result.stdout
    bad = subprocess.run([sys.executable, str(ROOT / "app.py")], capture_output=True, text=True, cwd=ROOT,
                         env=subprocess_env(LONG_TEXT="all"), timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: LONG_TEXT='all' is not one of head, head+tail, chunks."]
