"""Load on the launched app: concurrent clients through gradio_client (/predict) and the REST route.

Starts `python app.py` on a free loopback port with the given models, sends `--clients` x `--requests` requests
per route, checks every answer against a local Predictor, and reports requests/s, p50/p95 latency and the
server's resident memory before and after.

    python benchmarks/load.py --model runs/minilm-full --baseline runs/minilm-lora --clients 16 --requests 50
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_app(model: str, baseline: str) -> tuple[subprocess.Popen, str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MODEL_ID": model, "BASELINE_ID": baseline, "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("the app did not start")


def hammer(route: str, url: str, texts: list[str], expected: np.ndarray, clients: int, requests: int) -> dict:
    import httpx
    from gradio_client import Client

    latencies, errors, lock = [], [], threading.Lock()

    def client(k: int):
        gradio = Client(url, verbose=False) if route == "gradio" else None
        with httpx.Client(base_url=url, timeout=120) as http:
            for i in range(requests):
                j = (k * requests + i) % len(texts)
                start = time.perf_counter()
                try:
                    if gradio:
                        p = gradio.predict(texts[j], api_name="/predict")["probabilities"]["positive"]
                    else:
                        answer = http.post("/api/v1/predict", json={"texts": [texts[j]]})
                        answer.raise_for_status()
                        p = answer.json()["predictions"][0]["probabilities"]["positive"]
                    if abs(p - expected[j]) > 1e-3:
                        raise AssertionError(f"wrong answer for text {j}: {p} vs {expected[j]}")
                except Exception as exc:  # noqa: BLE001 - counted, reported
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    return {"requests": clients * requests, "errors": len(errors), "first_errors": errors[:3],
            "requests_per_s": len(latencies) / seconds, "p50_ms": 1000 * float(np.percentile(latencies, 50)),
            "p95_ms": 1000 * float(np.percentile(latencies, 95))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"))
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=50, help="requests per client per route")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/load.json"))
    args = parser.parse_args()

    from review_sentiment.data import read_split, stratified_subset
    from review_sentiment.predictor import Predictor

    texts = stratified_subset(read_split(Path(args.dataset), "test"), 200, seed=1)["text"].tolist()
    from review_sentiment.service import DEFAULT_LONG_TEXT, DEFAULT_QUANTIZE

    # Built as the app builds it, one review at a time as the app serves them.
    reference = Predictor.load(args.model, device="cpu", quantize=os.environ.get("QUANTIZE") or DEFAULT_QUANTIZE,
                               long_text=os.environ.get("LONG_TEXT") or DEFAULT_LONG_TEXT)
    positive = reference.labels.index("positive")
    expected = np.array([reference.predict_proba([t])[0, positive] for t in texts])
    process, url = start_app(args.model, args.baseline)
    try:
        report = {"clients": args.clients, "requests_per_client": args.requests, "rss_before_mb": rss_mb(process.pid)}
        for route in ("rest", "gradio"):
            report[route] = hammer(route, url, texts, expected, args.clients, args.requests)
        report["rss_after_mb"] = rss_mb(process.pid)
    finally:
        process.terminate()
    print(f"\nLoad: {args.clients} clients x {args.requests} requests per route, {args.model}")
    print(f"{'route':<8}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for route in ("rest", "gradio"):
        r = report[route]
        print(f"{route:<8}{r['requests']:>9}{r['errors']:>8}{r['requests_per_s']:>8.1f}{r['p50_ms']:>9.0f}"
              f"{r['p95_ms']:>9.0f}")
    print(f"server RSS: {report['rss_before_mb']:.0f} MB before, {report['rss_after_mb']:.0f} MB after")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
