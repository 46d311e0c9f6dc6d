"""Visitors' corrections, kept safely: "Was this right?" on the page, `POST /api/v1/feedback` and gr.api's feedback.

Each process appends to its own JSONL file, named by a UUID, under `FEEDBACK_DIR/data/` (huggingface_hub's
"Scheduled uploads" layout: no two writers share a file, so no push ever sees another process's half-written line).
A record is one whole line written with one `write` and fsynced before the visitor is thanked, under the lock the
Hub push reads the files' sizes under (feedback_hub.py): what a visitor was thanked for survives a crash, and a push
never carries a partial line. Nothing is kept until the visitor presses send.

Checks before anything is written: the review's own (blank, too long, binary), the label must be one of that model's
classes, personal details are replaced (data/feedback.redact), and per client at most `per_minute` corrections a
minute and `per_day` a day, the same text at most `per_text_per_day` times a day from everyone, and at most
`max_pending` records waiting to reach the Hub (or, kept locally only, on disk): past any of them the caller gets a
429 with a sentence, not silence. The client is told apart by address (addresses.py: one no sender can
choose), in memory only: no address is ever written; a record carries a keyed hash of it (`visitor`), with which
training counts how many visitors agree on a text, and whose key never leaves the Space.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import uuid
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..data.feedback import RECORDS_GLOB, redact
from ..data.mixing import normalised
from ..data.reviews import check_review
from ..errors import UserError
from .addresses import TrustedHops, client_address

log = logging.getLogger(__name__)
SIDES = ("finetuned", "baseline")
VISITOR_KEY = "visitor.key"


class TooMany(UserError):
    """A correction refused for now (HTTP 429): too many from one client, or too many waiting to be saved."""


class FeedbackOff(UserError):
    """Feedback cannot be kept on this server (HTTP 503): its folder cannot be written."""


@dataclass
class FeedbackSettings:
    folder: Path
    dataset: str | None = None  # owner/name of the Hub dataset the folder is pushed to
    public: bool = False
    every_min: float = 5.0
    per_minute: int = 10
    per_day: int = 100  # from one address
    per_text_per_day: int = 10  # the same text, from every address together
    max_pending: int = 10_000
    # Whose X-Forwarded-For entries count (addresses.py): the Spaces proxy's on a Space, nobody's elsewhere.
    trusted: TrustedHops = dataclasses.field(default_factory=TrustedHops.default)


class FeedbackStore:
    """The local folder of corrections: appends, counts, limits. `lock` is shared with the Hub push."""

    def __init__(self, settings: FeedbackSettings):
        self.settings = settings
        self.folder = Path(settings.folder) / "data"
        self.folder.mkdir(parents=True, exist_ok=True)
        # Writable? Found now, in one line at start, not at a visitor's first correction.
        with tempfile.NamedTemporaryFile(dir=self.folder, prefix=".probe-"):
            pass
        self.path = self.folder / f"feedback-{uuid.uuid4()}.jsonl"
        self.lock = threading.Lock()
        self.lines = {p: count_lines(p) for p in self.files()}  # every file's whole records, this one's included
        self.pushed: dict[Path, int] = {}  # lines of each file the Hub holds (feedback_hub.py keeps it)
        self.syncing = False  # whether a Hub push is set up (feedback_hub.py sets it)
        self.where = f"kept in {self.folder}"
        self.clients: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self.today, self.daily = None, collections.Counter()  # ("address" | "text", key) -> corrections today
        self.key = visitor_key(Path(settings.folder))
        self.fd: int | None = None

    @classmethod
    def open(cls, settings: FeedbackSettings) -> "FeedbackStore | None":
        """The store, or None with one log line when the folder cannot be written (feedback is then off; the
        predictions are not affected)."""
        try:
            return cls(settings)
        except OSError as exc:
            log.warning("Feedback is off: FEEDBACK_DIR %s cannot be written (%s). Predictions are not affected; "
                        "point FEEDBACK_DIR at a writable folder to collect corrections.", settings.folder,
                        exc.strerror or type(exc).__name__)
            return None

    def files(self) -> list[Path]:
        return sorted(self.folder.glob(RECORDS_GLOB))

    @property
    def count(self) -> int:
        return sum(self.lines.values())

    @property
    def pending(self) -> int:
        """Records not yet on the Hub (all of them when the folder is not pushed)."""
        return sum(n - self.pushed.get(p, 0) for p, n in self.lines.items())

    def status(self) -> dict:
        """What /healthz and the About tab say."""
        with self.lock:  # the two counts as of one moment: a record is counted in both or in neither
            records, waiting = self.count, self.pending
        return {"enabled": True, "where": self.where, "dataset": self.settings.dataset, "syncing": self.syncing,
                "public": self.settings.public, "records": records, "waiting": waiting}

    def client(self, headers, peer) -> str:
        """The address a request's limit counts (addresses.client_address with this store's trusted hops)."""
        return client_address(headers, peer, self.settings.trusted)

    def admit(self, client: str, text: str = "") -> None:
        """Refuse (TooMany) a client past its rate a minute or a day, a text sent too often today, or any client while
        too much waits; otherwise count it."""
        now = time.monotonic()
        today = dt.date.today()
        with self.lock:
            if self.pending >= self.settings.max_pending:
                raise TooMany(f"{self.pending:,} corrections are waiting to be saved, the most this Space keeps "
                              "waiting; please try again in a few minutes.")
            if today != self.today:
                self.today, self.daily = today, collections.Counter()
            sent = self.clients[client]
            while sent and now - sent[0] > 60:
                sent.popleft()
            if len(sent) >= self.settings.per_minute:
                raise TooMany(f"At most {self.settings.per_minute} corrections a minute from one visitor; please "
                              f"wait {60 - (now - sent[0]):.0f} s.")
            if self.daily["address", client] >= self.settings.per_day:
                raise TooMany(f"At most {self.settings.per_day} corrections a day from one visitor; thank you for "
                              "all of them, please come back tomorrow.")
            same = ("text", normalised(text))
            if self.daily[same] >= self.settings.per_text_per_day:
                raise TooMany(f"This review was corrected {self.daily[same]} times today already, the most one text "
                              "is kept a day.")
            sent.append(now)
            self.daily["address", client] += 1
            self.daily[same] += 1

    def visitor(self, client: str) -> str | None:
        """A keyed hash of the address: tells visitors apart in the records (training's agreement rule counts them)
        without keeping the address; the key stays beside the folder, never pushed with it."""
        return hmac.new(self.key, client.encode(), hashlib.sha256).hexdigest()[:16] if client else None

    def append(self, record: dict) -> int:
        """Write one record as one line, durably; returns how many records the folder holds."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        with self.lock:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self.fd, line)
            os.fsync(self.fd)
            self.lines[self.path] = self.lines.get(self.path, 0) + 1
            return self.count

    def correct(self, service, text: str, label: str, *, client: str = "") -> dict:
        """Check a visitor's correction, keep it, and say thank you with the count. `service`: the Space's Service
        (handed in: service.py holds the store, so this module cannot import it)."""
        text, _ = check_review(text)
        slots = {side: s for side, s in zip(SIDES, (service.model, service.baseline)) if s.predictor is not None}
        # The label says which answer is corrected: the models' classes differ (classes against stars); where both
        # have it, it corrects the fine-tuned model, the one re-trained on corrections.
        model = next((side for side, s in slots.items() if label in s.predictor.labels), None)
        if model is None:
            known = "; ".join(f"{side}: {', '.join(s.predictor.labels)}" for side, s in slots.items())
            raise UserError(f"{label!r} is not a class of a served model ({known or 'none is loaded'}).")
        slot, labels = slots[model], list(slots[model].predictor.labels)
        self.admit(client, text)
        answers = service.compare(text)  # what the page showed (from the answer cache when it asked just before)
        record = build_record(text, label, model, slot, labels, answers, slots) | {"visitor": self.visitor(client)}
        count = self.append(record)
        return {"saved": True, "id": record["id"], "count": count, "redacted": record["redacted"],
                "message": f"Thank you! Your correction is saved ({count:,} so far); the next model trains on it."}


def visitor_key(folder: Path) -> bytes:
    """The key visitors' hashes are made with: made once, kept beside the pushed data/ folder (so a restart tells the
    same visitor apart the same way), readable by this user only."""
    path = folder / VISITOR_KEY
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def count_lines(path: Path) -> int:
    """Whole records in a file (a line cut short by a crash has no newline and is not one)."""
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def model_names(slot) -> tuple[str, str | None]:
    """(id, commit) of a served model (a service.Slot): its Hub repo and commit, or a local folder's name (never its
    full path)."""
    source = slot.source
    if source.get("repo"):
        return source["repo"], source.get("revision")
    return Path(slot.spec).name, None


def build_record(text: str, label: str, model: str, slot, labels: list[str], answers: dict,
                 slots: dict) -> dict:
    clean, counts = redact(text)
    model_id, revision = model_names(slot)
    shown = {side: {"label": answers[side]["label"], "probabilities": answers[side]["probabilities"]}
             for side in SIDES if "probabilities" in answers.get(side, {})}
    return {"id": uuid.uuid4().hex, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "text": clean, "label": label, "model": model, "model_id": model_id, "model_revision": revision,
            "labels": labels, "answers": shown,
            "models": {side: dict(zip(("id", "revision"), model_names(s))) for side, s in slots.items()
                       if s.predictor is not None},
            "redacted": counts, "app_version": __version__}
