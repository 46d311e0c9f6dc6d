"""Every option of app.py, typed and documented in one place. Spaces pass settings as environment variables, so
each option falls back to its variable, read here once; the Space's code receives resolved values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..cli import option
from ..defaults import (
    APP_DATA_DIR,
    BASELINE_ID,
    DEFAULT_LONG_TEXT,
    DEFAULT_QUANTIZE,
    LOCAL_MODEL_DIR,
    LONG_TEXT,
    PUBLIC_MODEL_ID,
    QUANTIZE,
)
from ..errors import UserError
from ..hub import REPO_ID
from ..inference.runtime_choice import AUTO, RUNTIME_CHOICES
from .addresses import TrustedHops
from .feedback import FeedbackSettings


def number(name: str, value: str, kind: type):
    try:
        return kind(value)
    except ValueError:
        raise UserError(f"{name}={value!r} is not a number.") from None


def trusted_hops(spec: str | None) -> TrustedHops:
    try:
        return TrustedHops(spec) if spec else TrustedHops.default()
    except ValueError as exc:
        raise UserError(str(exc)) from None


def trained_here() -> bool:
    return any(Path(LOCAL_MODEL_DIR, name).exists() for name in ("config.json", "adapter_config.json"))


@dataclass
class AppConfig:
    model: Optional[str] = option("Fine-tuned model: Hub id or local directory, full model or LoRA adapter "
                                  f"(default: $MODEL_ID, else {LOCAL_MODEL_DIR} if train.py wrote it, else "
                                  f"{PUBLIC_MODEL_ID}).")
    baseline: Optional[str] = option("Baseline: Hub id or local directory (default: $BASELINE_ID, else "
                                     f"{BASELINE_ID}).")
    model_revision: Optional[str] = option("Hub revision (branch, tag or commit sha) of --model (default: "
                                           "$MODEL_REVISION, else main or its safetensors conversion PR).")
    baseline_revision: Optional[str] = option("Hub revision of --baseline (default: $BASELINE_REVISION, else main or "
                                              "its safetensors conversion PR).")
    long_text: Optional[str] = option("How the fine-tuned model reads reviews longer than its window (default: "
                                      f"$LONG_TEXT, else {DEFAULT_LONG_TEXT}, the measured best).", choices=LONG_TEXT)
    quantize: Optional[str] = option("auto: int8 where the model ships a checked int8 file; none: fp32; int8: int8 "
                                     f"even unchecked (default: $QUANTIZE, else {DEFAULT_QUANTIZE}).",
                                     choices=QUANTIZE)
    runtime: Optional[str] = option("What runs the models on CPU: auto times every allowed runtime and file once at "
                                    "start and serves the fastest on this CPU; onnx, openvino or torch narrow it to "
                                    "one "
                                    f"(default: $RUNTIME, else {AUTO}).", choices=RUNTIME_CHOICES)
    share: bool = option("Also serve on a temporary public gradio.live link.", False)
    mcp: bool = option("Also serve the predict and compare tools over MCP at /gradio_api/mcp/ (default: "
                       "$GRADIO_MCP_SERVER).", False)
    feedback_dir: Optional[str] = option("Where visitors' corrections are kept, one JSONL file per process (default: "
                                         f"$FEEDBACK_DIR, else {APP_DATA_DIR}/feedback).")
    feedback_dataset: Optional[str] = option("Hub dataset (owner/name) the corrections are pushed to, created if "
                                             "missing; needs a token with write access (default: $FEEDBACK_DATASET; "
                                             "unset: kept locally only).")
    feedback_public: bool = option("Create the feedback dataset public (default: $FEEDBACK_PUBLIC=1; else private).",
                                   False)
    feedback_every: Optional[float] = option("Minutes between pushes of the corrections (default: $FEEDBACK_EVERY, "
                                             "else 5).")
    feedback_per_minute: Optional[int] = option("Corrections one visitor may send a minute (default: "
                                                "$FEEDBACK_PER_MINUTE, else 10).")
    feedback_per_day: Optional[int] = option("Corrections one visitor may send a day (default: $FEEDBACK_PER_DAY, "
                                             "else 100).")
    feedback_per_text_per_day: Optional[int] = option("Times one text may be corrected a day, by every visitor "
                                                      "together (default: $FEEDBACK_PER_TEXT_PER_DAY, else 10).")

    trusted_proxies: Optional[str] = option(
        "Proxies whose X-Forwarded-For entries are believed, addresses or networks, comma-separated, or none: a "
        "visitor's limit counts the right-most address none of them wrote (default: $TRUSTED_PROXIES, else the "
        "private ranges on a Space, whose proxy connects from them, and none elsewhere: the socket's address).")

    def __post_init__(self):
        env = os.environ.get
        self.model = self.model or env("MODEL_ID") or (LOCAL_MODEL_DIR if trained_here() else PUBLIC_MODEL_ID)
        self.baseline = self.baseline or env("BASELINE_ID") or BASELINE_ID
        self.model_revision = self.model_revision or env("MODEL_REVISION") or None
        self.baseline_revision = self.baseline_revision or env("BASELINE_REVISION") or None
        self.long_text = self.long_text or env("LONG_TEXT") or DEFAULT_LONG_TEXT
        self.quantize = self.quantize or env("QUANTIZE") or DEFAULT_QUANTIZE
        self.runtime = self.runtime or env("RUNTIME") or AUTO
        self.mcp = self.mcp or env("GRADIO_MCP_SERVER", "").lower() == "true"
        self.server_name = env("GRADIO_SERVER_NAME") or "0.0.0.0"
        port = env("GRADIO_SERVER_PORT") or "7860"
        if not port.isdigit():
            raise UserError(f"GRADIO_SERVER_PORT={port!r} is not a port number.")
        self.server_port = int(port)
        self.space_id = env("SPACE_ID")  # set by Spaces
        self.feedback = FeedbackSettings(
            folder=Path(self.feedback_dir or env("FEEDBACK_DIR") or APP_DATA_DIR / "feedback"),
            dataset=self.feedback_dataset or env("FEEDBACK_DATASET") or None,
            public=self.feedback_public or env("FEEDBACK_PUBLIC", "") in ("1", "true", "True"),
            every_min=self.feedback_every or number("FEEDBACK_EVERY", env("FEEDBACK_EVERY") or "5", float),
            per_minute=self.feedback_per_minute or number("FEEDBACK_PER_MINUTE", env("FEEDBACK_PER_MINUTE") or "10",
                                                          int),
            per_day=self.feedback_per_day or number("FEEDBACK_PER_DAY", env("FEEDBACK_PER_DAY") or "100", int),
            per_text_per_day=self.feedback_per_text_per_day or number(
                "FEEDBACK_PER_TEXT_PER_DAY", env("FEEDBACK_PER_TEXT_PER_DAY") or "10", int),
            trusted=trusted_hops(self.trusted_proxies))
        if self.feedback.dataset and not REPO_ID.match(self.feedback.dataset):
            raise UserError(f"FEEDBACK_DATASET={self.feedback.dataset!r} is not a Hub dataset id (owner/name).")
        if min(self.feedback.every_min, self.feedback.per_minute, self.feedback.per_day,
               self.feedback.per_text_per_day) <= 0:
            raise UserError("FEEDBACK_EVERY, FEEDBACK_PER_MINUTE, FEEDBACK_PER_DAY and FEEDBACK_PER_TEXT_PER_DAY must "
                            "be above 0.")
        for name, value, allowed in (("LONG_TEXT", self.long_text, LONG_TEXT), ("QUANTIZE", self.quantize, QUANTIZE),
                                     ("RUNTIME", self.runtime, RUNTIME_CHOICES)):
            if value not in allowed:
                raise UserError(f"{name}={value!r} is not one of {', '.join(allowed)}.")
