"""Locust users for benchmarks/load.py: each posts one review at a time to the REST route and checks the answer
against the reference probability computed in-process. Loopback only; bounded by LOAD_TOTAL requests (the run quits
when they are sent) and by locust's own --run-time."""

from __future__ import annotations

import itertools
import json
import os

from locust import HttpUser, constant, task

CASES = json.loads(open(os.environ["LOAD_CASES"]).read())  # [{"text": ..., "positive": p}, ...]
TOTAL = int(os.environ.get("LOAD_TOTAL", "100"))
SENT = itertools.count()


class Reviewer(HttpUser):
    wait_time = constant(0)

    @task
    def predict(self):
        n = next(SENT)
        if n >= TOTAL:
            self.environment.runner.quit()
            return
        case = CASES[n % len(CASES)]
        with self.client.post("/api/v1/predict", json={"texts": [case["text"]]}, catch_response=True,
                              name="/api/v1/predict") as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            got = response.json()["predictions"][0]["probabilities"]["positive"]
            if abs(got - case["positive"]) > 1e-3:
                response.failure(f"wrong answer: {got} vs {case['positive']}")
