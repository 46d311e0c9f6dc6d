"""Answers already given, kept for identical reviews: many visitors only click the examples.

Keyed by the model's identity (repo, commit, runtime, inference settings) and the exact review text, so a hit is
the answer a fresh run of that model gives; bounded (least recently used out first), and it never holds more than
the probabilities.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

import numpy as np

MAX_ENTRIES = 2_048  # ~100 bytes of probabilities each: well under a megabyte, plus the texts themselves


class AnswerCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self.hits = self.misses = 0
        self._answers: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def identity(predictor) -> str:
        """What makes two answers of a model the same: weights commit, runtime and every inference setting."""
        files = predictor.files.summary if predictor.files else {}
        return json.dumps({"source": predictor.source, "files": files, "runtime": predictor.runtime.description,
                           "settings": predictor.settings.to_dict()}, sort_keys=True, default=str)

    def get(self, model: str, text: str) -> np.ndarray | None:
        with self._lock:
            answer = self._answers.get((model, text))
            if answer is None:
                self.misses += 1
                return None
            self.hits += 1
            self._answers.move_to_end((model, text))
            return answer

    def put(self, model: str, text: str, answer: np.ndarray) -> None:
        with self._lock:
            self._answers[(model, text)] = np.array(answer, copy=True)
            self._answers.move_to_end((model, text))
            while len(self._answers) > self.max_entries:
                self._answers.popitem(last=False)

    @property
    def stats(self) -> dict:
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "entries": len(self._answers),
                    "max_entries": self.max_entries}
