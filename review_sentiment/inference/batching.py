"""One inference queue per model: concurrent requests (the page, the `gr.api` endpoints and REST alike) are gathered
into batches and run by one worker thread, so two cores are not fought over by a thread pool per request.

A request that arrives while the model is busy waits for the next batch, together with every other request that
arrived meanwhile (up to `max_batch` reviews); a lone request runs at once, with no added wait.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Callable, Sequence

import numpy as np


class BatchQueue:
    def __init__(self, predict: Callable[[list[str]], np.ndarray], *, max_batch: int = 32, name: str = "model"):
        self.predict = predict
        self.max_batch = max_batch
        self.batches: list[int] = []  # size of every batch run, newest last (bounded): what the queue did
        self._queue: queue.Queue = queue.Queue()
        self._carry: list = []  # a request taken from the queue that did not fit the last batch
        self._worker = threading.Thread(target=self._run, name=f"inference-{name}", daemon=True)
        self._worker.start()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities for `texts`, computed in the worker's next batch (blocks until then)."""
        done: Future = Future()
        self._queue.put((list(texts), done))
        return done.result()

    def _take(self) -> list[tuple[list[str], Future]]:
        """The oldest waiting request, plus every other waiting one while the batch stays within max_batch."""
        items = [self._carry.pop() if self._carry else self._queue.get()]
        size = len(items[0][0])
        while size < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if size + len(item[0]) > self.max_batch:
                self._carry.append(item)
                break
            items.append(item)
            size += len(item[0])
        return items

    def _run(self) -> None:
        while True:
            items = self._take()
            texts = [text for batch, _ in items for text in batch]
            self.batches = (self.batches + [len(texts)])[-1000:]
            try:
                probs = self.predict(texts)
            except BaseException as exc:  # noqa: BLE001 - every waiting request learns what went wrong
                for _, done in items:
                    done.set_exception(exc)
                continue
            start = 0
            for batch, done in items:
                done.set_result(probs[start:start + len(batch)])
                start += len(batch)
