"""Every command's --help, as a person reads it: each option's default said once, never "(default: None)"."""

import re
import subprocess
import sys

import pytest
from conftest import ROOT, subprocess_env

COMMANDS = [["app.py"], ["train.py"], ["-m", "review_sentiment.bulk"], ["-m", "review_sentiment.evaluation.evaluate"],
            ["-m", "review_sentiment.evaluation.audit"], ["-m", "review_sentiment.space.publish"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[-1])
def test_help_says_each_default_once(command):
    result = subprocess.run([sys.executable, *command, "--help"], capture_output=True, text=True, cwd=ROOT,
                            env=subprocess_env(), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    options = re.split(r"\n  (?=-)", result.stdout.split("options:", 1)[1])[1:]
    assert len(options) > 3
    for block in options:
        text = " ".join(block.split())
        assert text.lower().count("default") <= 1, f"said twice: {text}"
        assert "(default: None)" not in text and "(default: False)" not in text, text
    said = [b for b in options if "(default: " in b]
    assert said or command[-1] == "review_sentiment.evaluation.audit", "options with a plain default still say it"
