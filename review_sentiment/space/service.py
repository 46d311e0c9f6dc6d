"""The Space's logic without the UI: both models loaded once, single and batch comparison, the About facts.

A model that fails to load does not stop the app: its slot keeps the reason, the page shows it, the other
model keeps working.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.answers import answer, columns
from ..data.language import detect_language, notice
from ..data.perturb import perturbations
from ..data.reviews import check_review, review_errors
from ..data.scale import agreement, same_scale
from ..data.stars import positive_probability
from ..defaults import DEFAULT_LONG_TEXT, DEFAULT_QUANTIZE
from ..errors import UserError
from ..evaluation.audit import AUDIT_FILE
from ..export.checked_onnx import checked_folder
from ..hub import is_hub_id
from ..inference import runtime_choice
from ..inference.batching import BatchQueue
from ..inference.predictor import Predictor
from ..inference.settings import SETTINGS_KEY
from ..model_report import PLOTS, ModelReport, read_report, read_run
from .answer_cache import AnswerCache
from .feedback import FeedbackStore

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 1_000
MAX_UPLOAD_MB = 5
# In MiB, as Gradio counts and shows its max_file_size, so the page and this check name the same number.
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 2**20
# "How robust is this verdict?": the review and at most 8 versions of it, scored while 10 s last (a 230-word review
# takes well under a second per model here; a 20,000-character one, several windows a version).
ROBUSTNESS_VERSIONS = 8
ROBUSTNESS_BUDGET_S = 10.0
# Reviews whose two models are scored at once: as many as the page's events that may run together (server.py).
MAX_AT_ONCE = 32
SWAPS = {"names swapped", "gender words swapped", "countries swapped", "religions swapped"}


@dataclass
class Slot:
    """One model of the comparison: loaded, or the reason it is not."""

    role: str
    env_var: str
    spec: str
    predictor: Predictor | None = None
    error: str | None = None
    queue: BatchQueue | None = None  # every prediction of this model goes through it (see batching.py)
    identity: str = ""  # the answer cache's key for this model (AnswerCache.identity)

    @classmethod
    def load(cls, role: str, env_var: str, spec: str, **options) -> "Slot":
        try:
            return cls(role, env_var, spec, predictor=Predictor.load(spec, **options))
        except UserError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a broken model must not take the app down
            log.exception("loading %s failed", spec)
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        log.warning("%s unavailable: %s", role, error)
        return cls(role, env_var, spec, error=error)

    @property
    def hub_url(self) -> str | None:
        return f"https://huggingface.co/{self.spec}" if is_hub_id(self.spec) else None

    @property
    def source(self) -> dict:
        """Where the served files came from: Hub repo, commit sha, and main or a conversion PR."""
        files = self.predictor.files if self.predictor else None
        return files.summary if files else {}

    @property
    def trained_here(self) -> bool:
        """Whether train.py made this model (it leaves its settings in config.json), or it was trained elsewhere."""
        return bool(self.predictor and getattr(self.predictor.model.config, SETTINGS_KEY, None))

    @property
    def trained_on(self) -> str | None:
        """The dataset train.py names in the model's training_config.json (a Hub id, or a local folder's name)."""
        run = read_run(self.predictor.source) if self.predictor else None
        name = run and run.dataset_name
        return (name if is_hub_id(name) else Path(name).name) if name else None

    @property
    def notice(self) -> str:
        return (f"**{self.role} unavailable.** {self.error}  \nTo use a local copy, point `{self.env_var}` at a "
                f"directory holding the model (e.g. `{self.env_var}=/path/to/model python app.py`).")


class Service:
    """Both models, loaded with resolved settings (app_config.AppConfig reads the command line and environment)."""

    def __init__(self, model_spec: str, baseline_spec: str, *, long_text: str = DEFAULT_LONG_TEXT,
                 quantize: str = DEFAULT_QUANTIZE, runtime: str | None = None, model_revision: str | None = None,
                 baseline_revision: str | None = None, feedback: FeedbackStore | None = None):
        self.model = Slot.load("Fine-tuned model", "MODEL_ID", model_spec, long_text=long_text,
                               revision=model_revision)
        self.baseline = Slot.load("Baseline", "BASELINE_ID", baseline_spec, revision=baseline_revision)
        self.explainer = self.model.predictor  # torch fp32: integrated gradients need gradients
        self.answers = AnswerCache()
        self.feedback = feedback  # visitors' corrections (feedback.py); None: off
        self.pool = ThreadPoolExecutor(MAX_AT_ONCE, thread_name_prefix="compare")  # the second model of a review
        for slot in (self.model, self.baseline):
            if slot.predictor is not None:
                # The baseline's int8 accuracy is unknown unless its repo ships a checked file: auto, not int8.
                slot.predictor = runtime_choice.choose(slot.predictor, runtime,
                                                      quantize if slot is self.model else "auto")
                slot.queue = BatchQueue(slot.predictor.predict_proba, name=slot.env_var)
                slot.identity = AnswerCache.identity(slot.predictor)

    @property
    def notices(self) -> list[str]:
        return [slot.notice for slot in (self.model, self.baseline) if slot.error]

    # -- one review ---------------------------------------------------------------------------------------
    def score(self, slot: Slot, texts: list[str], *, cached: bool = True) -> np.ndarray:
        """Probabilities per text. Reviews answered before (same model, same settings, same text) come from the answer
        cache without queueing; the rest go through the model's batch queue. Uploads pass cached=False, so a
        thousand-row file does not push out what visitors click."""
        if slot.predictor is None:
            raise UserError(f"{slot.role} is unavailable: {slot.error}")
        if not cached:
            return slot.queue(texts)
        found = [self.answers.get(slot.identity, t) for t in texts]
        missing = [i for i, answer in enumerate(found) if answer is None]
        if missing:
            for i, answer in zip(missing, slot.queue([texts[i] for i in missing])):
                self.answers.put(slot.identity, texts[i], answer)
                found[i] = answer
        return np.stack(found)

    def predict(self, texts: list[str]) -> list[dict]:
        """The fine-tuned model alone: {label, score, probabilities, language} per text (API /predict and REST).

        A text that is no text, blank or too long refuses the whole call (UserError: what REST's schema states); a
        review the model cannot read (binary data, no words) gets {"error": why} in its place and the others are
        scored, as the Batch tab and the bulk CLI keep such rows."""
        errors = review_errors(texts, refuse_blank=True)
        readable = [t for t, error in zip(texts, errors) if not error]
        probs = iter(self.score(self.model, readable)) if readable else iter(())
        labels = self.model.predictor.labels if readable else []
        rows = []
        for text, error in zip(texts, errors):
            if error:
                rows.append({"error": error})
                continue
            row = next(probs)
            rows.append({"label": labels[int(row.argmax())], "score": float(row.max()),
                         "probabilities": dict(zip(labels, map(float, row))), "language": detect_language(text)})
        return rows

    def describe(self, slot: Slot, probs: np.ndarray, seconds: float) -> dict:
        return answer(slot.predictor.labels, probs) | {"latency_ms": round(seconds * 1000, 1)}

    def explain(self, text: str) -> dict:
        """Word attributions of the fine-tuned model for one review (integrated gradients; on demand)."""
        from ..evaluation.explain import explain

        text, _ = check_review(text)
        if self.model.predictor is None:
            raise UserError(f"{self.model.role} is unavailable: {self.model.error}")
        return explain(self.explainer, text)

    def compare(self, text: str) -> dict:
        """Both models on one review: probabilities, verdicts, latencies, and whether they agree."""
        text, notes = check_review(text)
        result = {"notes": notes, "language": detect_language(text)}

        def timed(slot: Slot) -> tuple[np.ndarray, float]:
            started = time.perf_counter()
            return self.score(slot, [text])[0], time.perf_counter() - started

        # Both models at once, each on its own batch queue with every core: the page answered 1.10x sooner than
        # with one after the other (benchmarks/two_models.py, Intel Xeon AMX class; a core each was 0.68x).
        slots = [slot for slot in (self.model, self.baseline) if slot.predictor is not None]
        others = {id(slot): self.pool.submit(timed, slot) for slot in slots[1:]}
        scored = {id(slots[0]): timed(slots[0])} if slots else {}
        scored |= {key: future.result() for key, future in others.items()}
        for key, slot in (("finetuned", self.model), ("baseline", self.baseline)):
            if slot.predictor is None:
                result[key] = {"error": slot.error}
                continue
            result[key] = self.describe(slot, *scored[id(slot)])
            if key == "finetuned":
                line = notice(result["language"])
                if line:
                    result[key]["language_notice"] = line
                tokens, settings = slot.predictor.token_count(text), slot.predictor.settings
                window = settings.window(slot.predictor.tokenizer)
                if tokens > window:
                    how = {"chunks": "in overlapping windows, averaged", "head": "the beginning only",
                           "head+tail": "its first quarter and last three quarters"}[settings.long_text]
                    notes.append(f"This review is {tokens:,} tokens long, more than the fine-tuned model's "
                                 f"{window}-token window; it read {how}.")
        if "verdict" in result["finetuned"] and "verdict" in result["baseline"]:
            verdicts = result["finetuned"]["verdict"], result["baseline"]["verdict"]
            # None: a model is undecided, so there is nothing to agree or disagree with.
            result["agree"] = None if "undecided" in verdicts else verdicts[0] == verdicts[1]
            if self.on_one_scale:
                ft, bl = result["finetuned"]["point"], result["baseline"]["point"]
                result["scale"] = {"points": len(self.model.predictor.labels), "finetuned": ft, "baseline": bl,
                                   **agreement(ft, bl)}
        return result

    @property
    def on_one_scale(self) -> bool:
        """Whether both models are loaded and their classes are the same points (five classes, five stars)."""
        return bool(self.model.predictor and self.baseline.predictor
                    and same_scale(self.model.predictor.labels, self.baseline.predictor.labels))

    # -- many reviews ---------------------------------------------------------------------------------------
    def batch(self, path: str, column: str | None) -> tuple[pd.DataFrame, str]:
        """Both models over an uploaded CSV/TXT; returns the table and the path of a CSV to download."""
        texts = read_reviews_file(path, column)
        table = pd.DataFrame({"review": texts})
        errors = review_errors(texts)
        ok = [i for i, e in enumerate(errors) if not e]
        valid = [texts[i] for i in ok]
        for prefix, slot in (("finetuned", self.model), ("baseline", self.baseline)):
            if slot.predictor is None or not valid:
                continue
            probs = self.score(slot, valid, cached=False)
            for name, values in columns(slot.predictor.labels, probs, f"{prefix}_").items():
                # Shown on the page: probabilities to 4 places, expected stars or class to 2.
                table.loc[ok, name] = values.round(2 if "expected" in name else 4).tolist() \
                    if values.dtype == float else values.tolist()
        if "finetuned_verdict" in table and "baseline_verdict" in table:
            ft, bl = table.loc[ok, "finetuned_verdict"], table.loc[ok, "baseline_verdict"]
            table.loc[ok, "agree"] = (ft == bl).where((ft != "undecided") & (bl != "undecided"))
        for column in ("finetuned_class", "baseline_class"):
            if column in table:
                table[column] = table[column].astype("Int64")  # points, blank where a row was not scored
        if self.on_one_scale and "finetuned_class" in table and "baseline_class" in table:
            ft, bl = table.loc[ok, "finetuned_class"], table.loc[ok, "baseline_class"]
            table.loc[ok, "same_class"] = ft == bl
            table.loc[ok, "within_one"] = (ft - bl).abs() <= 1
        table["error"] = errors
        out = Path(tempfile.mkdtemp(prefix="review-sentiment-")) / "predictions.csv"
        table.to_csv(out, index=False)
        return table, str(out)

    # -- About -------------------------------------------------------------------------------------------------
    def model_facts(self, slot: Slot) -> dict:
        """Test metrics and plots shipped with the model (train.py writes them), where present."""
        if slot.predictor is None:
            return {}
        folder = Path(slot.predictor.source)
        facts: dict = {"plots": [str(folder / p) for p in PLOTS if (folder / p).exists()]}
        report = read_report(folder) or ModelReport()
        facts["metrics"] = report.test
        facts["audit"], facts["audit_origin"] = report.audit, "by train.py"
        files = slot.predictor.files
        if facts["audit"] is None and files and files.repo_id and files.revision:
            checked = checked_folder(files.repo_id, files.revision) / AUDIT_FILE
            if checked.is_file():  # measured once when the Space was published, for exactly this commit
                facts["audit"], facts["audit_origin"] = json.loads(checked.read_text()), "when the Space was published"
        return facts

    def robustness(self, text: str) -> dict:
        """The review under the perturbations that should not change a verdict (typos, contractions,
        punctuation, an irrelevant sentence, names, gender words, countries and religions swapped) and how each
        model's P(positive) moves; a flip is a version whose verdict differs from the review's. Bounded: at most
        ROBUSTNESS_VERSIONS versions, scored a few at a time while ROBUSTNESS_BUDGET_S lasts."""
        text, _ = check_review(text)
        started = time.perf_counter()
        rows = [{"change": "the review as written", "text": text}]
        rows += [{"change": kind, "text": version} for kind, version in perturbations(text)[:ROBUSTNESS_VERSIONS]]
        for key, slot in (("finetuned", self.model), ("baseline", self.baseline)):
            if slot.predictor is None:
                continue
            for start in range(0, len(rows), 3):
                if start and time.perf_counter() - started > ROBUSTNESS_BUDGET_S:
                    break
                chunk = rows[start:start + 3]
                p = positive_probability(slot.predictor.labels, self.score(slot, [r["text"] for r in chunk]))
                for row, value in zip(chunk, p):
                    row[key] = {"p_positive": round(float(value), 4),
                                "verdict": "positive" if value > 0.5 else "negative"}
            for row in rows[1:]:
                if key in row:
                    row[key]["flipped"] = row[key]["verdict"] != rows[0][key]["verdict"]
        notes = []
        if not {r["change"] for r in rows} & SWAPS:
            notes.append("This review names no person or group term of the audit's lists (gender words, first "
                         "names, countries, religions), so none was swapped: the other versions are shown.")
        loaded = [key for key, slot in (("finetuned", self.model), ("baseline", self.baseline)) if slot.predictor]
        unscored = [r for r in rows if any(key not in r for key in loaded)]
        if unscored:
            notes.append(f"{len(rows) - len(unscored)} of {len(rows)} versions were scored within the "
                         f"{ROBUSTNESS_BUDGET_S:.0f} s budget.")
        return {"review": text, "versions": rows, "notes": notes, "budget_s": ROBUSTNESS_BUDGET_S,
                "seconds": round(time.perf_counter() - started, 2)}


def read_reviews_file(path: str, column: str | None) -> list[str]:
    """Texts from a CSV (the chosen column) or TXT (one review per line), within the stated limits."""
    file = Path(path)
    size = file.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UserError(f"The file is {size / 2**20:.1f} MB; the limit is {MAX_UPLOAD_MB} MB.")
    raw = file.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError("The file is not UTF-8 text. Save it as UTF-8 (CSV UTF-8 in Excel) and upload again.") from None
    if "\x00" in content:
        raise UserError("The file looks binary, not text. Upload a .csv or .txt file.")
    if file.suffix.lower() == ".txt":
        texts = [line for line in content.splitlines() if line.strip()]
    elif file.suffix.lower() == ".csv":
        import io

        try:
            frame = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise UserError(f"The CSV could not be read: {str(exc).splitlines()[0]}") from None
        if column not in frame.columns:
            raise UserError(f"The CSV has no column {column!r}; its columns are {list(frame.columns)}.")
        texts = frame[column].tolist()
    else:
        raise UserError("Upload a .csv file (choose the text column) or a .txt file (one review per line).")
    if not texts:
        raise UserError("The file holds no reviews.")
    if len(texts) > MAX_BATCH_ROWS:
        raise UserError(f"The file has {len(texts):,} reviews; the limit is {MAX_BATCH_ROWS:,} per upload.")
    return texts


def csv_columns(path: str) -> list[str]:
    """Header of an uploaded CSV, for the column picker ([] when it cannot be read)."""
    try:
        return list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
    except Exception:  # noqa: BLE001 - the batch run itself reports what is wrong with the file
        return []
