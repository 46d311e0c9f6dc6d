"""Which files a model is read from: a local directory as it is, or a Hub repo resolved to safetensors weights at
one pinned commit, never pickled ones.

A Hub repo is resolved the way transformers resolves a Hub id, without its two side effects (unpickling, or asking
the conversion Space to open a pull request on someone else's repo):

1. the revision asked for (`MODEL_REVISION`, `--revision`), else `main`, when it holds safetensors weights;
2. else, with no revision pinned, the open safetensors-conversion pull request of the Hub's conversion bot whose
   parent is `main`'s head (many older repos, `lvwerra/distilbert-imdb` among them, keep their safetensors only
   there), pinned by its commit sha; config and tokenizer still come from `main`;
3. else one clear line: the repo publishes only pickled weights, and how to fix that.

Only the files inference reads are downloaded (config, weights, tokenizer, the card and metrics the About tab
shows for models train.py made, and of shipped onnx/ and openvino/ folders the files the Space serves), never `.bin`,
`.msgpack` or `.h5` files.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from ..export.files import SERVED_FP32, SERVED_INT8, parts
from ..hub import REPO_ID
from ..model_report import METRICS_FILE, PLOTS

CONVERSION_BOT = "SFconvertbot"
CONVERSION_TITLE = "Adding `safetensors` variant of this model"
CONVERT_SPACE = "https://huggingface.co/spaces/safetensors/convert"
# Root-level files only: subfolders (onnx/, coreml/, checkpoints) are never read by from_pretrained(<dir>).
WEIGHT_PATTERNS = ["model.safetensors", "model-*-of-*.safetensors", "model.safetensors.index.json",
                   "adapter_model.safetensors"]
CONFIG_PATTERNS = ["config.json", "adapter_config.json", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt",
                   "*.model", METRICS_FILE, *PLOTS]
PICKLED = ("pytorch_model.bin", "pytorch_model-*.bin", "*.pt", "*.pth", "*.ckpt", "adapter_model.bin")


def _matches(name: str, patterns) -> bool:
    return "/" not in name and any(fnmatch.fnmatchcase(name, p) for p in patterns)


def weight_files(names) -> list[str]:
    return sorted(n for n in names if _matches(n, WEIGHT_PATTERNS))


def config_files(names) -> list[str]:
    return sorted(n for n in names if _matches(n, CONFIG_PATTERNS))


def served_files(names) -> list[str]:
    """The files the Space serves where the repo ships them: every int8 file (train.py ships one only when it met
    the accuracy bar; the start-up timing picks between them), else one fp32 file. Never more: each other file would
    be 70-270 MB downloaded for nothing."""
    names = set(names)
    int8 = [f for n in SERVED_INT8 if set(parts(n)) <= names for f in parts(n)]
    return int8 or next((parts(n) for n in SERVED_FP32 if set(parts(n)) <= names), [])


@dataclass
class Plan:
    """Where each file comes from, before anything is downloaded: {commit sha: [files]}."""

    repo_id: str
    weights_sha: str
    config_sha: str
    files: dict[str, list[str]] = field(default_factory=dict)
    origin: str = "main"  # "main", "revision <rev>", or "safetensors conversion PR #<n>"


@dataclass
class ModelFiles:
    """A model ready to load: the folder with config and tokenizer, the folder with its safetensors weights
    (the same one unless the weights come from a conversion PR), and where both came from."""

    spec: str
    config_dir: Path
    weights_dir: Path
    repo_id: str | None = None
    revision: str | None = None  # commit sha of the weights (Hub models)
    config_revision: str | None = None
    origin: str = "local directory"
    files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        """What /healthz and the About tab say about the source."""
        return {"repo": self.repo_id, "revision": self.revision, "config_revision": self.config_revision,
                "origin": self.origin}


def _pickled_only(repo_id: str, names, where: str) -> UserError:
    pickled = sorted(n for n in names if _matches(n, PICKLED))
    what = ", ".join(pickled) if pickled else "no safetensors weights"
    return UserError(f"{repo_id} publishes only pickled weights {where} ({what}), which this app never loads. "
                     f"Convert them with {CONVERT_SPACE}, or point the model variable at a safetensors copy "
                     "(a Hub id or a local directory).")


def conversion_pr(api, repo_id: str, main_sha: str):
    """The open conversion PR by the Hub's bot whose parent commit is main's head, as transformers looks for it;
    None if there is none. Pull requests by anyone else, or made against an older main, are never used."""
    for pr in api.get_repo_discussions(repo_id, author=CONVERSION_BOT, discussion_type="pull_request",
                                       discussion_status="open"):
        if pr.author != CONVERSION_BOT or pr.title != CONVERSION_TITLE or not pr.is_pull_request \
                or pr.status != "open":
            continue
        commits = api.list_repo_commits(repo_id, revision=pr.git_reference)
        if len(commits) > 1 and commits[1].commit_id == main_sha:
            return pr, commits[0].commit_id
    return None


def plan(repo_id: str, revision: str | None = None, api=None) -> Plan:
    """Ask the Hub which files, at which commit, this model is read from (no download)."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    info = api.model_info(repo_id, revision=revision)
    names = [s.rfilename for s in info.siblings or []]
    configs = config_files(names)
    if "config.json" not in names and "adapter_config.json" not in names:
        raise UserError(f"{repo_id} has no config.json at {revision or 'main'}: it is not a transformers model.")
    weights = weight_files(names)
    if weights:
        origin = f"revision {revision}" if revision and revision != "main" else "main"
        return Plan(repo_id, info.sha, info.sha, {info.sha: configs + weights + served_files(names)}, origin)
    if revision and revision != "main":
        raise _pickled_only(repo_id, names, f"at revision {revision}")
    found = conversion_pr(api, repo_id, info.sha)
    if found is None:
        raise _pickled_only(repo_id, names, "on main, and it has no open safetensors conversion pull request")
    pr, pr_sha = found
    pr_names = [s.rfilename for s in api.model_info(repo_id, revision=pr_sha).siblings or []]
    pr_weights = weight_files(pr_names)
    if not pr_weights:
        raise _pickled_only(repo_id, names, f"on main, and its conversion PR #{pr.num} holds none either")
    return Plan(repo_id, pr_sha, info.sha, {info.sha: configs, pr_sha: pr_weights + served_files(pr_names)},
                f"safetensors conversion PR #{pr.num}")


def _download(repo_id: str, sha: str, files: list[str]) -> Path:
    from huggingface_hub import snapshot_download

    # Exact names as patterns (escaped: fnmatch treats [ and ] as sets).
    patterns = [re.sub(r"([\[\]*?])", r"[\1]", f) for f in files]
    return Path(snapshot_download(repo_id, revision=sha, allow_patterns=patterns))


def _from_cache(repo_id: str, revision: str | None) -> ModelFiles:
    """Offline: the snapshot already in the cache (e.g. preloaded by a Space build), with safetensors weights. With
    no revision pinned and none in `main`'s snapshot, the weights of a cached pull-request ref (`refs/pr/N`, as a
    preload of the conversion PR leaves it), config and tokenizer from `main`, as online."""
    from huggingface_hub import snapshot_download

    def cached(rev: str | None, patterns=(*WEIGHT_PATTERNS, *CONFIG_PATTERNS,
                                          *(f for n in SERVED_INT8 + SERVED_FP32 for f in parts(n)))) -> Path:
        # The cache knows each commit's tree and refuses a snapshot missing a file the patterns match, so a PR's
        # snapshot is asked for its weights alone (its config is preloaded from main, not from the PR).
        return Path(snapshot_download(repo_id, revision=rev, local_files_only=True, allow_patterns=list(patterns)))

    folder = cached(revision)
    names = [p.name for p in folder.iterdir()]
    origin = "pinned revision, from the local cache" if revision else "main, from the local cache"
    weights, pr = folder, None
    if not weight_files(names) and not revision:
        pr, pr_folder = _cached_pull_request(folder, cached)
        if pr:
            weights = pr_folder
            origin = f"safetensors conversion PR #{pr}, from the local cache; config from main"
    if not weight_files(p.name for p in weights.iterdir()):
        raise UserError(f"{repo_id} is in the local cache without safetensors weights; pin the revision that has "
                        "them (MODEL_REVISION / BASELINE_REVISION / --revision).")
    files = {folder.name: sorted(names), weights.name: sorted(p.name for p in weights.iterdir())}
    return ModelFiles(repo_id, folder, weights, repo_id, weights.name, folder.name, origin, files)


def _cached_pull_request(snapshot: Path, cached) -> tuple[int | None, Path | None]:
    """The newest pull request whose ref is in the cache (snapshots/<sha> -> ../../refs/refs/pr/N) and whose snapshot
    holds safetensors weights: (its number, its snapshot folder), else (None, None)."""
    refs = snapshot.parent.parent / "refs" / "refs" / "pr"
    numbers = sorted((int(p.name) for p in refs.glob("*") if p.name.isdigit()), reverse=True) if refs.is_dir() else []
    for number in numbers:
        try:
            folder = cached(f"refs/pr/{number}", WEIGHT_PATTERNS)
            if weight_files(p.name for p in folder.iterdir()):
                return number, folder
        except Exception:  # noqa: BLE001 - a ref whose snapshot is gone is no candidate
            continue
    return None, None


def locate(spec: str, revision: str | None = None) -> ModelFiles:
    """A local directory as is; a Hub id resolved (see the module doc) and its files downloaded to the cache."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return ModelFiles(spec, path.resolve(), path.resolve())
    if path.exists():
        raise UserError(f"Model {spec!r} is a file; give the directory that holds config.json.")
    if not REPO_ID.match(spec):
        raise UserError(f"Model {spec!r} not found: it is neither a local directory nor a Hub id like 'user/name'.")
    from huggingface_hub.errors import OfflineModeIsEnabled, RepositoryNotFoundError, RevisionNotFoundError

    from ..hub import explain_hub_error

    try:
        found = plan(spec, revision)
    except UserError:
        raise
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise UserError(f"Model {spec!r}{f' at revision {revision}' if revision else ''}: "
                        f"{explain_hub_error(exc)}") from exc
    except Exception as exc:  # noqa: BLE001 - offline or unreachable: fall back to what the cache holds
        try:
            return _from_cache(spec, revision)
        except UserError:
            raise
        except Exception:  # noqa: BLE001
            reason = explain_hub_error(exc) if not isinstance(exc, OfflineModeIsEnabled) else \
                "HF_HUB_OFFLINE is set and the files are not in the local cache"
            raise UserError(f"Model {spec!r} is no local directory, and the Hub download failed: {reason}") from exc
    try:
        folders = {sha: _download(spec, sha, files) for sha, files in found.files.items()}
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"Model {spec!r}: downloading its files failed: {explain_hub_error(exc)}") from exc
    return ModelFiles(spec, folders[found.config_sha], folders[found.weights_sha], spec, found.weights_sha,
                      found.config_sha, found.origin, found.files)
