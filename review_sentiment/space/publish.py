"""Publish the demo as a Hugging Face Space: the app's files only, its models set as Space variables, and each
model preloaded at build time as exactly the files the app reads, at exactly the commit it will use.

A model that ships no ONNX files (the default `lvwerra/distilbert-imdb` is one, and so is the baseline, nlptown's
BERT-base, the larger part of what a visitor waits for) would be served in fp32, the slow path on CPU. So publishing
gives both the int8 path the way train.py does (evaluation/check_int8.py): export, quantise, run the int8 accuracy bar
on labelled test reviews (int8_bar.py; the baseline on its stars and its polarity verdict), and ship each file that
passed with the Space
(checked_onnx.py): ONNX Runtime's dynamic int8 and, where OpenVINO and NNCF are installed, OpenVINO's static int8
calibrated on the dataset's train reviews. Their figures show in the About tab and /healthz; a file that misses the
bar is not shipped.

    python -m review_sentiment.space.publish --space-id you/review-sentiment --model-id you/imdb-distilbert
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..cli import option, parse, run
from ..defaults import BASELINE_ID, PROJECT_DIR, PUBLIC_MODEL_ID
from ..errors import UserError
from ..evaluation.check_int8 import check_model
from ..export.checked_onnx import CHECKED_DIR, checked_folder
from ..export.int8_bar import SAMPLES
from ..hub import check_write_access, explain_hub_error, upload_folder
from ..inference.model_files import plan, served_files
from ..model_report import METRICS_FILE, ModelReport

ROOT = PROJECT_DIR
# What a Space needs to run app.py; never tests, training outputs or caches.
APP_FILES = ["app.py", "requirements.txt", "README.md", "assets/*", "review_sentiment/**/*.py"]


@dataclass
class SpaceConfig:
    space_id: str = option("The Space to create or update, 'user/name'.")
    model_id: Optional[str] = option(f"Fine-tuned model the Space serves, a Hub id (default {PUBLIC_MODEL_ID}).")
    baseline_id: str = option("Baseline model the Space compares against.", BASELINE_ID)
    model_revision: Optional[str] = option("Revision of --model-id to serve (default: main, or its safetensors "
                                           "conversion PR); pinned by commit sha either way.")
    baseline_revision: Optional[str] = option("Revision of --baseline-id to serve, as --model-revision.")
    private: bool = option("Create the Space as private.", False)
    int8_check: bool = option("For each of --model-id and --baseline-id that ships no ONNX files: export and "
                              "quantise it (ONNX Runtime's dynamic int8; OpenVINO's static int8, calibrated on "
                              "--check-dataset's train reviews), run the int8 accuracy bar on its test reviews (a "
                              "star model on its stars and its polarity verdict), and ship each int8 file that "
                              "passes with the Space.", True)
    check_dataset: str = option("Labelled reviews for the int8 check: a Hub dataset id or a local directory holding "
                                "test.* (columns text, label), and train.* to calibrate OpenVINO's int8 on.",
                                "stanfordnlp/imdb")
    check_samples: int = option("Test reviews the int8 check scores (stratified).", SAMPLES)
    audit: bool = option("Run the behaviour and fairness audit on each model that carries none (train.py's "
                         "metrics.json does), at the served commit, and ship it for the About tab.", True)

    def __post_init__(self):
        if not self.space_id or self.space_id.count("/") != 1:
            raise UserError("--space-id must look like user/name")
        if self.check_samples < 1:
            raise UserError("--check-samples must be at least 1")
        self.model_id = self.model_id or PUBLIC_MODEL_ID


def app_files(root: Path = ROOT) -> list[Path]:
    files = {p for pattern in APP_FILES for p in root.glob(pattern) if p.is_file()}
    return sorted(p.relative_to(root) for p in files)


def preload(repo_id: str, revision: str | None = None) -> tuple[str, str, list[str]]:
    """(preload_from_hub entry, commit sha, its files): `repo file1,file2,... sha`, the files the app's loader reads.

    When the weights live in a conversion PR, the whole model is pinned to the PR's commit: its tree is main's
    plus the safetensors file, so one entry and one revision variable hold everything.
    """
    try:
        found = plan(repo_id, revision)
        if len(found.files) > 1:
            found = plan(repo_id, found.weights_sha)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"Cannot resolve {repo_id!r} on the Hub: {explain_hub_error(exc)}.") from exc
    sha, files = next(iter(found.files.items()))
    return f"{repo_id} {','.join(sorted(files))} {sha}", sha, files


def audit_models(models: list[tuple[str, str, list[str]]], folder: Path) -> None:
    """The audit of each (repo, commit, files) whose files hold no metrics.json with one, into the Space's
    checked-onnx/<repo>/<commit>/audit.json, where the About tab reads it for exactly that commit."""
    from huggingface_hub import hf_hub_download

    from ..evaluation.audit import AUDIT_FILE, audit, scorer, summary
    from ..inference.predictor import Predictor

    for repo_id, sha, files in models:
        if METRICS_FILE in files:  # train.py's models carry their own audit, unless trained before it or without
            saved = ModelReport.from_json(json.loads(Path(hf_hub_download(repo_id, METRICS_FILE, revision=sha))
                                                     .read_text()))
            if saved.audit is not None:
                continue
        result = audit(scorer(Predictor.load(repo_id, revision=sha, device="cpu")))
        target = checked_folder(repo_id, sha, folder)
        target.mkdir(parents=True, exist_ok=True)
        (target / AUDIT_FILE).write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print(f"{repo_id}: audited ({result['seconds']:.0f} s): {summary(result)}")


def stage(cfg: SpaceConfig, folder: Path, preloads: list[str]) -> None:
    """Copy the app's files into `folder`, with the README front matter naming the models actually served."""
    from huggingface_hub import SpaceCard

    for rel in app_files():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, folder / rel)
    card = SpaceCard.load(folder / "README.md")
    card.data.models = [cfg.model_id, cfg.baseline_id]
    card.data.preload_from_hub = preloads
    card.save(folder / "README.md")


CHECKS_HEADING = "## int8 files checked at publishing"


def note_checks(folder: Path, lines: list[str]) -> None:
    """The Space card says what each int8 check found and which languages its reviews were in: the baseline reads
    six, and the check read IMDb's English reviews only."""
    from huggingface_hub import SpaceCard

    card = SpaceCard.load(folder / "README.md")
    card.text = card.text.rstrip() + f"\n\n{CHECKS_HEADING}\n\n" + "".join(f"- {line}\n" for line in lines)
    card.save(folder / "README.md")


def publish(cfg: SpaceConfig) -> str:
    from huggingface_hub import HfApi

    check_write_access(cfg.space_id)
    # Resolved before anything is uploaded: a model the app could not load stops here, with the reason.
    (model_entry, model_sha, model_files), (baseline_entry, baseline_sha, baseline_files) = (
        preload(cfg.model_id, cfg.model_revision), preload(cfg.baseline_id, cfg.baseline_revision))
    with tempfile.TemporaryDirectory() as tmp:
        stage(cfg, Path(tmp), [model_entry, baseline_entry])
        # Both models: a visitor waits for the baseline too, and at nlptown's size it is the larger part of the wait.
        checked = []
        for repo_id, sha, files in ((cfg.model_id, model_sha, model_files),
                                    (cfg.baseline_id, baseline_sha, baseline_files)):
            if served_files(files):
                print(f"{repo_id} ships its own ONNX or OpenVINO files; the Space serves them (no int8 check here).")
            elif cfg.int8_check:
                for name, check in check_model(repo_id, cfg.check_dataset, cfg.check_samples, sha,
                                               Path(tmp) / CHECKED_DIR.name).items():
                    print(f"{repo_id}, {name}: {check['summary']}")
                    checked.append(f"`{repo_id}` ({name}): {check['summary']}")
        if checked:
            note_checks(Path(tmp), checked)
        if cfg.audit:
            audit_models([(cfg.model_id, model_sha, model_files), (cfg.baseline_id, baseline_sha, baseline_files)],
                         Path(tmp) / CHECKED_DIR.name)
        url = upload_folder(Path(tmp), cfg.space_id, repo_type="space", private=cfg.private,
                            message=f"Deploy review-sentiment demo serving {cfg.model_id}@{model_sha[:10]}")
    api = HfApi()
    try:
        for key, value, description in (
                ("MODEL_ID", cfg.model_id, "Fine-tuned model served"),
                ("MODEL_REVISION", model_sha, "Commit of the fine-tuned model (preloaded at build)"),
                ("BASELINE_ID", cfg.baseline_id, "Baseline model"),
                ("BASELINE_REVISION", baseline_sha, "Commit of the baseline (preloaded at build)")):
            api.add_space_variable(cfg.space_id, key, value, description=description)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"The files are up, but setting the Space variables failed: {explain_hub_error(exc)}.") \
            from exc
    print(f"Space ready: {url}\n  preloads: {model_entry}\n            {baseline_entry}")
    return url


def main(argv: list[str] | None = None) -> None:
    publish(parse(SpaceConfig, argv, "Create or update the Hugging Face Space that serves the demo."))


if __name__ == "__main__":
    raise SystemExit(run(main))
