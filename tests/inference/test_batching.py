"""The per-model batch queue: concurrent requests are answered with their own rows, gathered into batches within
the limit, and a failure reaches every request of its batch. (The app's load tests exercise it with real models.)"""

import threading
import time

import numpy as np
import pytest

from review_sentiment.inference.batching import BatchQueue


def slow_model(calls):
    def predict(texts):
        calls.append(list(texts))
        time.sleep(0.05)  # long enough for the other requests to queue up behind the first
        if "boom" in texts:
            raise RuntimeError("model failed")
        return np.array([[float(len(t)), float(i)] for i, t in enumerate(texts)])
    return predict


def test_concurrent_requests_are_batched_and_get_their_own_rows():
    calls = []
    batcher = BatchQueue(slow_model(calls), max_batch=8)
    answers, texts = {}, {k: ["x" * (k + 1)] * (1 + k % 3) for k in range(12)}

    def ask(k):
        answers[k] = batcher(texts[k])

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for k, rows in answers.items():
        assert rows[:, 0].tolist() == [float(k + 1)] * len(texts[k]), k
    assert len(answers) == 12 and sum(map(len, calls)) == sum(map(len, texts.values()))
    assert max(map(len, calls)) <= 8 and len(calls) < 12, "requests that waited were run together"
    assert batcher.batches == [len(c) for c in calls]


def test_a_lone_request_runs_at_once_and_a_big_one_alone():
    calls = []
    batcher = BatchQueue(slow_model(calls), max_batch=4)
    started = time.perf_counter()
    assert batcher(["abc"])[0, 0] == 3.0
    assert time.perf_counter() - started < 0.5
    assert len(batcher(["a"] * 10)) == 10 and calls[-1] == ["a"] * 10


def test_a_failure_reaches_every_request_in_its_batch_and_the_queue_keeps_serving():
    batcher = BatchQueue(slow_model([]), max_batch=8)
    errors = []

    def ask(text):
        try:
            batcher([text])
        except RuntimeError as exc:
            errors.append(str(exc))

    blocker = threading.Thread(target=ask, args=("first",))
    blocker.start()
    time.sleep(0.01)
    threads = [threading.Thread(target=ask, args=(t,)) for t in ("boom", "ok")]
    for t in threads:
        t.start()
    for t in [blocker, *threads]:
        t.join(timeout=30)
    assert errors == ["model failed", "model failed"]
    with pytest.raises(RuntimeError):
        batcher(["boom"])
    assert batcher(["fine"])[0, 0] == 4.0
