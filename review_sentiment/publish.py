"""Publish the demo as a Hugging Face Space: the app's files only, its models set as Space variables, and each
model preloaded at build time as exactly the files the app reads, at exactly the commit it will use.

    python -m review_sentiment.publish --space-id you/review-sentiment --model-id you/imdb-distilbert
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .cli import option, parse, run
from .defaults import BASELINE_ID, PUBLIC_MODEL_ID
from .errors import UserError
from .hub import check_write_access, explain_hub_error, upload_folder
from .model_files import plan

ROOT = Path(__file__).resolve().parent.parent
# What a Space needs to run app.py; never tests, training outputs or caches.
APP_FILES = ["app.py", "requirements.txt", "README.md", "assets/*", "review_sentiment/*.py"]


@dataclass
class SpaceConfig:
    space_id: str = option("The Space to create or update, 'user/name'.")
    model_id: Optional[str] = option(f"Fine-tuned model the Space serves, a Hub id (default {PUBLIC_MODEL_ID}).")
    baseline_id: str = option("Baseline model the Space compares against.", BASELINE_ID)
    model_revision: Optional[str] = option("Revision of --model-id to serve (default: main, or its safetensors "
                                           "conversion PR); pinned by commit sha either way.")
    baseline_revision: Optional[str] = option("Revision of --baseline-id to serve, as --model-revision.")
    private: bool = option("Create the Space as private.", False)

    def __post_init__(self):
        if not self.space_id or self.space_id.count("/") != 1:
            raise UserError("--space-id must look like user/name")
        self.model_id = self.model_id or PUBLIC_MODEL_ID


def app_files(root: Path = ROOT) -> list[Path]:
    files = {p for pattern in APP_FILES for p in root.glob(pattern) if p.is_file()}
    return sorted(p.relative_to(root) for p in files)


def preload(repo_id: str, revision: str | None = None) -> tuple[str, str]:
    """(preload_from_hub entry, commit sha): `repo file1,file2,... sha`, the files the app's loader reads.

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
    return f"{repo_id} {','.join(sorted(files))} {sha}", sha


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


def publish(cfg: SpaceConfig) -> str:
    from huggingface_hub import HfApi

    check_write_access(cfg.space_id)
    # Resolved before anything is uploaded: a model the app could not load stops here, with the reason.
    (model_entry, model_sha), (baseline_entry, baseline_sha) = (preload(cfg.model_id, cfg.model_revision),
                                                                preload(cfg.baseline_id, cfg.baseline_revision))
    with tempfile.TemporaryDirectory() as tmp:
        stage(cfg, Path(tmp), [model_entry, baseline_entry])
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
