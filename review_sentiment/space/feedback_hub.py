"""The feedback folder pushed to a Hub dataset (`FEEDBACK_DATASET=owner/name`), by huggingface_hub's CommitScheduler:
a commit every `FEEDBACK_EVERY` minutes when something new was written, once at start (files an earlier process
left are pushed then) and once more at exit. Private unless `FEEDBACK_PUBLIC=1`; created if missing, with a dataset
card saying what a record holds.

The push reads each file up to the size it had under the store's lock (whole records only: appends happen under the
same lock), uploads every file that grew, and only after the commit succeeded counts those records as on the Hub: a
failed push is retried by the next one, whole. No token, a dataset the token cannot write, or a Hub that cannot be
reached: one log line, and the folder keeps every record (an unreachable Hub is tried again every few minutes).
"""

from __future__ import annotations

import logging
import threading
import time

from huggingface_hub import CommitOperationAdd, CommitScheduler, get_token

from ..data.feedback import FIELDS
from ..errors import UserError
from ..hub import check_write_access, explain_hub_error
from .feedback import FeedbackStore

log = logging.getLogger(__name__)
CARD = """---
license: apache-2.0
task_categories:
- text-classification
language:
- en
pretty_name: Visitors' corrections of review-sentiment
tags:
- sentiment-analysis
- human-feedback
configs:
- config_name: default
  data_files: data/*.jsonl
---

# Visitors' corrections of review-sentiment

Each record is one correction a visitor of the review-sentiment Space sent with "Was this right?": a movie review, the
class the visitor says is right, and what both models of the page answered. A record is written only when the
visitor presses send. No IP address, account or cookie is kept; e-mail addresses, URLs, phone numbers and @handles
in the review are replaced by placeholders before anything is written. Corrections are unverified: anyone may send
one.

## Fields

{fields}

## Use

```python
from datasets import load_dataset
corrections = load_dataset("{repo_id}", split="train")
```

Re-train on them with review-sentiment: `python train.py ... --feedback-dataset {repo_id}@<commit>` (added to the
training split only; any correction equal to a validation or test review is dropped and counted), and gate the new
model with `--gate-against <the served model>`.
"""


def dataset_card(repo_id: str) -> str:
    fields = "\n".join(f"- `{name}`: {meaning}" for name, meaning in FIELDS.items())
    return CARD.replace("{fields}", fields).replace("{repo_id}", repo_id)


def start(store: FeedbackStore) -> threading.Thread | None:
    """Push the store's folder to its dataset from now on (in the background: a slow Hub never delays the start)."""
    settings = store.settings
    if not settings.dataset:
        return None
    if not get_token():
        log.warning("Feedback is kept in %s only: FEEDBACK_DATASET=%s is set but no Hub token is (set HF_TOKEN as a "
                    "Space secret with write access).", store.folder, settings.dataset)
        return None
    store.where = f"kept in {store.folder}, pushed to the dataset {settings.dataset} every {settings.every_min:g} min"
    thread = threading.Thread(target=connect, args=(store,), daemon=True, name="feedback-hub")
    thread.start()
    return thread


def connect(store: FeedbackStore) -> None:
    """Check the token may write the dataset, create it with its card, then hand over to the scheduler. Tried
    again every FEEDBACK_EVERY minutes while the Hub cannot be reached."""
    settings, said = store.settings, False
    while True:
        try:
            check_write_access(settings.dataset)
            scheduler = FeedbackScheduler(store)
            break
        except UserError as exc:  # the token cannot write there: retrying will not change it
            log.warning("Feedback is kept in %s only: %s", store.folder, exc)
            store.where = f"kept in {store.folder} (the dataset {settings.dataset} cannot be written)"
            return
        except Exception as exc:  # noqa: BLE001 - the Hub is down or unreachable: keep writing locally, try later
            if not said:
                log.warning("Feedback is kept in %s for now: %s; trying again every %g min.", store.folder,
                            explain_hub_error(exc), settings.every_min)
                said = True
            time.sleep(settings.every_min * 60)  # a daemon thread: the process may exit while it waits
    store.syncing = True
    log.info("Feedback is pushed to the dataset %s every %g min (%s).", scheduler.repo_id, settings.every_min,
             "public" if settings.public else "private")


class FeedbackScheduler(CommitScheduler):
    """CommitScheduler for an append-only folder of whole-line records (its documented way to change what a push
    uploads is to override push_to_hub)."""

    def __init__(self, store: FeedbackStore):
        self.store = store
        settings = store.settings
        super().__init__(repo_id=settings.dataset, repo_type="dataset", folder_path=store.folder, path_in_repo="data",
                         every=settings.every_min, private=not settings.public)
        if not self.api.file_exists(self.repo_id, "README.md", repo_type="dataset"):
            self.api.upload_file(path_or_fileobj=dataset_card(self.repo_id).encode(), path_in_repo="README.md",
                                 repo_id=self.repo_id, repo_type="dataset",
                                 commit_message="Dataset card: what a correction holds")

    def push_to_hub(self):
        store = self.store
        with store.lock:  # sizes of whole records only: every append holds this lock
            grown = {p: (p.stat().st_size, store.lines.get(p, 0)) for p in store.files()
                     if store.pushed.get(p) != store.lines.get(p, 0)}
        if not grown:
            return None
        operations = []
        for path, (size, _) in grown.items():
            with open(path, "rb") as f:
                operations.append(CommitOperationAdd(path_in_repo=f"data/{path.name}", path_or_fileobj=f.read(size)))
        lines = sum(n - store.pushed.get(p, 0) for p, (_, n) in grown.items())
        info = self.api.create_commit(repo_id=self.repo_id, repo_type="dataset", operations=operations,
                                      commit_message=f"{lines} visitor correction{'s' * (lines != 1)}")
        with store.lock:
            store.pushed.update({p: n for p, (_, n) in grown.items()})
        return info
