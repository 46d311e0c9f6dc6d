"""How a model reads reviews and turns logits into probabilities: one frozen record, written into config.json by
train.py and read back by every loader, so training, serving, explanations and the card cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..data.text import TRUNCATIONS, window
from ..defaults import LONG_TEXT

# Where the settings travel: inside config.json, so they reach everyone who downloads the model.
SETTINGS_KEY = "review_sentiment"
SAVED = ("max_length", "truncation", "temperature")


@dataclass(frozen=True)
class InferenceSettings:
    max_length: int = 512  # tokens per input, special tokens included
    truncation: str = "head"  # which tokens of a long review are read: head or head+tail
    temperature: float = 1.0  # softmax(logits / T), fitted on validation reviews (calibration.py)
    # At inference a long review may instead be read whole ("chunks": overlapping windows, logits averaged);
    # None: as trained (its truncation).
    long_text: str | None = None
    chunk_stride: int | None = None  # content tokens consecutive windows share (default a quarter of the window)
    chunk_aggregation: str = "mean"  # "mean", or "weighted" by each window's length
    # Markup removed as in training; False only for evaluation's "pipeline" reading, which reads a review as a plain
    # transformers.pipeline does (readings.py). Never saved: every model is trained and served on cleaned text.
    clean: bool = True

    def __post_init__(self):
        long_text = self.long_text or self.truncation
        if long_text not in LONG_TEXT:
            raise ValueError(f"long_text must be one of {LONG_TEXT}, not {long_text!r}")
        if self.truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, not {self.truncation!r}")
        object.__setattr__(self, "long_text", long_text)
        if long_text != "chunks":  # reading a long review by head or head+tail is truncating it that way
            object.__setattr__(self, "truncation", long_text)

    def window(self, tokenizer) -> int:
        """Content tokens one input holds (max_length less the tokenizer's special tokens)."""
        return window(tokenizer, self.max_length)

    def replace(self, **changes) -> "InferenceSettings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def to_dict(self) -> dict:
        return asdict(self)

    def saved(self) -> dict:
        """What config.json records: only what training decides (window, truncation, temperature)."""
        return {k: getattr(self, k) for k in SAVED}


def read_settings(config, **overrides) -> InferenceSettings:
    """The settings a model was trained and calibrated with (defaults for models trained elsewhere: head truncation
    at their own window), with `overrides` (None: keep) applied."""
    saved = getattr(config, SETTINGS_KEY, None) or {}
    max_positions = getattr(config, "max_position_embeddings", 512)
    found = InferenceSettings(max_length=min(int(saved.get("max_length", 512)), max_positions),
                              truncation=saved.get("truncation", "head"),
                              temperature=float(saved.get("temperature", 1.0)))
    return found.replace(**overrides)


def write_settings(config_json: Path, settings: InferenceSettings) -> None:
    """Record the settings in a saved model's config.json, where every loader finds them."""
    path = Path(config_json)
    config = json.loads(path.read_text())
    config[SETTINGS_KEY] = settings.saved()
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
