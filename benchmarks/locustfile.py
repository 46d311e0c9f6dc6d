"""Locust users for benchmarks/load.py: each posts one review at a time to the REST route and checks the answer
against the reference probability computed in-process. Loopback only, bounded in requests and time.

Run by load.py as `python benchmarks/locustfile.py ...`: locust as a library, so the run stops exactly when the last
of `--total` answers is in (or at `--timeout`), in-flight requests included. `locust -f benchmarks/locustfile.py`
with LOAD_CASES set drives it from locust's own CLI or web UI as well.
"""

from __future__ import annotations

import itertools
import json
import os

from locust import HttpUser, constant, task
from locust.exception import StopUser

CASES = json.loads(open(os.environ["LOAD_CASES"]).read()) if os.environ.get("LOAD_CASES") else []
TOTAL = int(os.environ.get("LOAD_TOTAL", "100"))
SENT_BEFORE = int(os.environ.get("LOAD_SENT_BEFORE", "0"))  # requests earlier phases sent to the same app
# How far an answer may be from the reference computed alone: fp32 and ONNX Runtime's int8 (one review per call) move
# by rounding alone; OpenVINO's static int8 by up to runtimes.ov.INT8_SHARED_MOVE in a shared call (load.py sets it).
TOLERANCE = float(os.environ.get("LOAD_TOLERANCE", "1e-3"))
SENT = itertools.count()


class Reviewer(HttpUser):
    wait_time = constant(0)

    @task
    def predict(self):
        n = next(SENT)
        if n >= TOTAL:
            raise StopUser()
        case = CASES[n % len(CASES)]
        # The app answers a review it has seen from its answer cache; this measures the model, so every request's
        # text is new, in this phase and against earlier phases (LOAD_SENT_BEFORE). Trailing spaces make it so
        # without changing a token (text.clean_text strips them).
        text = case["text"] + " " * ((SENT_BEFORE + n) // len(CASES))
        with self.client.post("/api/v1/predict", json={"texts": [text]}, catch_response=True,
                              name="/api/v1/predict") as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return
            got = response.json()["predictions"][0]["probabilities"]["positive"]
            if abs(got - case["positive"]) > TOLERANCE:
                response.failure(f"wrong answer: {got} vs {case['positive']}")


def main() -> None:
    import argparse
    import time

    import gevent
    from locust.env import Environment

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True, help="seconds before the run is stopped anyway")
    parser.add_argument("--out", required=True, help="JSON summary")
    args = parser.parse_args()
    if not args.host.startswith(("http://127.", "http://localhost")):
        raise SystemExit("load tests go to loopback addresses only")
    env = Environment(user_classes=[Reviewer], host=args.host)
    runner = env.create_local_runner()
    started = time.perf_counter()
    runner.start(args.users, spawn_rate=args.users)
    def stats():  # looked up each time: starting a run replaces the stats entries
        return env.stats.get("/api/v1/predict", "POST")

    while stats().num_requests < TOTAL and time.perf_counter() - started < args.timeout:
        gevent.sleep(0.02)
    seconds = time.perf_counter() - started
    runner.quit()
    stats = stats()
    summary = {"users": args.users, "requests": stats.num_requests, "errors": stats.num_failures,
               "seconds": seconds, "timed_out": stats.num_requests < TOTAL,
               "response_times_ms": {str(k): v for k, v in stats.response_times.items()},
               "first_errors": [str(e.error) for e in list(env.stats.errors.values())[:3]]}
    with open(args.out, "w") as f:
        json.dump(summary, f)


if __name__ == "__main__":
    main()
