"""The project installs as a package (pyproject.toml): from another directory, with the repository not on the path,
`from review_sentiment import Predictor` imports and the `python -m review_sentiment...` commands run.

A venv on this interpreter's packages (no download: --no-deps, no build isolation) gets `pip install -e .`."""

import os
import subprocess
import sys

from conftest import ROOT


def test_an_installed_package_runs_from_any_directory(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"HF_HUB_OFFLINE": "1",
                                                                         "HF_HUB_DISABLE_TELEMETRY": "1"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = subprocess.run([python, "-c", "import review_sentiment"], cwd=elsewhere, env=env, capture_output=True,
                            text=True, timeout=120)
    assert before.returncode != 0, "not importable before it is installed (the repository is not on the path)"
    installed = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e",
                                str(ROOT)], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    imported = subprocess.run([python, "-c", "from review_sentiment import Predictor; print(Predictor.__module__)"],
                              cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0 and imported.stdout.strip() == "review_sentiment.inference.predictor", \
        imported.stderr[-2000:]
    command = subprocess.run([python, "-m", "review_sentiment.evaluation.evaluate", "--help"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=120)
    assert command.returncode == 0 and "--model" in command.stdout, command.stderr[-2000:]
