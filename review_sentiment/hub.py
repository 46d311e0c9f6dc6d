"""Talking to the Hugging Face Hub: checking the token before any work, and uploading a folder in one commit."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import UserError

REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def is_hub_id(spec: str) -> bool:
    """Whether `spec` names a Hub repo ('user/name') rather than a local path (an existing path always wins)."""
    return bool(REPO_ID.match(spec)) and not Path(spec).expanduser().exists()


def explain_hub_error(exc: BaseException) -> str:
    """One line a person can act on, for any failure of a Hub call (never the token itself)."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        LocalTokenNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    if isinstance(exc, LocalTokenNotFoundError):
        return "no Hugging Face token: set HF_TOKEN or run `hf auth login`"
    if isinstance(exc, GatedRepoError):
        return "the repository is gated: accept its terms on the Hub with this account"
    if isinstance(exc, RepositoryNotFoundError):
        return "the repository does not exist, or is private and the token cannot see it"
    if isinstance(exc, OfflineModeIsEnabled):
        return "HF_HUB_OFFLINE is set and the files are not in the local cache"
    if isinstance(exc, LocalEntryNotFoundError):
        return f"the Hub at {constants.ENDPOINT} cannot be reached and the files are not in the local cache"
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        if status == 401:
            return "the Hub refused the token (HTTP 401): it is invalid or expired"
        if status == 403:
            return "the token may not do this (HTTP 403): it needs write access"
        return f"the Hub answered HTTP {status}: {str(exc).splitlines()[0]}"
    if isinstance(exc, (ConnectionError, OSError, TimeoutError)) or "connect" in type(exc).__name__.lower() \
            or "timeout" in type(exc).__name__.lower():
        return f"the Hub at {constants.ENDPOINT} cannot be reached ({type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def check_write_access(repo_id: str) -> str:
    """Fail fast, before any training, when the upload at the end could not succeed (any repo type: the token and
    the namespace decide). Returns the user name."""
    from huggingface_hub import HfApi

    if repo_id.count("/") != 1:
        raise UserError(f"Hub repo id {repo_id!r} must look like 'user/name'.")
    try:
        who = HfApi().whoami()
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"Cannot push to the Hub: {explain_hub_error(exc)}.") from exc
    role = (who.get("auth", {}).get("accessToken") or {}).get("role")
    if role == "read":
        raise UserError("Cannot push to the Hub: the token is read-only; create one with write access.")
    namespace = repo_id.split("/")[0]
    allowed = {who.get("name")} | {org.get("name") for org in who.get("orgs", [])}
    if namespace not in allowed:
        raise UserError(f"Cannot push to {repo_id!r}: the token belongs to {who.get('name')!r}, "
                        f"who cannot write to namespace {namespace!r}.")
    return who["name"]


def upload_folder(folder: Path, repo_id: str, *, repo_type: str = "model", private: bool = False,
                  message: str, ignore: list[str] | None = None) -> str:
    """Create the repo if needed and upload the folder as a single commit; returns the repo URL."""
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True,
                              **({"space_sdk": "gradio"} if repo_type == "space" else {}))
        api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type=repo_type, commit_message=message,
                          ignore_patterns=ignore)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"Upload to {repo_id!r} failed: {explain_hub_error(exc)}.") from exc
    return str(url)
