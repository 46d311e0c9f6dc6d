"""Load on the launched app, what Space visitors feel when many come at once.

Starts `python app.py` on a free loopback port with the given models. The REST route is driven by locust
(benchmarks/locustfile.py, locust as a library in its own process; loopback only, each phase stopped when its last
answer is in or at --timeout): first one user alone (the single-client baseline), then `--clients` users, 100
requests and then the rest of `--total`, with the server's resident memory read after each phase and the share of
the CPU cores it kept busy during each (on 2 cores, one client may already keep them busy: then more clients can
only queue). The gradio_client route (/predict) gets `--gradio-requests` per client from threads. Every answer is
checked against a local Predictor built as the app builds it. Prints a table, writes JSON with the CPU it ran on.

    python benchmarks/load.py --model runs/minilm-full --baseline runs/minilm-full --clients 16 --total 2000
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
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, save  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_app(model: str, baseline: str, **env: str) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free loopback port with the two models (and `env`'s variables); (process, URL)."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MODEL_ID": model, "BASELINE_ID": baseline, "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **env}
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


def at_once(visitor, shares) -> float:
    """`visitor(share)` for every share on a thread of its own, all started together; the wall seconds until the
    last is done."""
    threads = [threading.Thread(target=visitor, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def hammer(route: str, url: str, texts: list[str], expected: np.ndarray, clients: int, requests: int,
           tolerance: float = 1e-3) -> dict:
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
                    if abs(p - expected[j]) > tolerance:
                        raise AssertionError(f"wrong answer for text {j}: {p} vs {expected[j]}")
                except Exception as exc:  # noqa: BLE001 - counted, reported
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - start)

    seconds = at_once(client, range(clients))
    return {"requests": clients * requests, "errors": len(errors), "first_errors": errors[:3],
            "requests_per_s": len(latencies) / seconds, "p50_ms": 1000 * float(np.percentile(latencies, 50)),
            "p95_ms": 1000 * float(np.percentile(latencies, 95))}


def locust_run(url: str, cases: Path, users: int, total: int, timeout: int, folder: Path, sent_before: int = 0,
               tolerance: float = 1e-3) -> dict:
    """`users` locust users sending `total` requests in all (benchmarks/locustfile.py, locust as a library in its
    own process): requests, failures, throughput and response-time percentiles."""
    report = folder / f"locust-{users}-{total}.json"
    env = {**os.environ, "LOAD_CASES": str(cases), "LOAD_TOTAL": str(total), "LOAD_SENT_BEFORE": str(sent_before),
           "LOAD_TOLERANCE": str(tolerance)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks/locustfile.py"), "--host", url, "--users",
                           str(users), "--timeout", str(timeout), "--out", str(report)], env=env,
                          capture_output=True, text=True, timeout=timeout + 120)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    stats = json.loads(report.read_text())
    times = np.repeat([float(ms) for ms in stats["response_times_ms"]], list(stats["response_times_ms"].values()))
    return {"users": users, "requests": stats["requests"], "errors": stats["errors"],
            "first_errors": stats["first_errors"], "timed_out": stats["timed_out"],
            "requests_per_s": stats["requests"] / stats["seconds"],
            "p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"))
    parser.add_argument("--clients", type=int, default=16, help="concurrent users")
    parser.add_argument("--single", type=int, default=100, help="requests of the single-user baseline")
    parser.add_argument("--total", type=int, default=2000, help="REST requests of the concurrent phases, in all")
    parser.add_argument("--gradio-requests", type=int, default=25, help="gradio_client requests per client")
    parser.add_argument("--timeout", type=int, default=900, help="seconds one locust phase may run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/load.json"))
    args = parser.parse_args()

    from review_sentiment.data.splits import read_split, stratified_subset
    from review_sentiment.inference.predictor import Predictor

    # The same reviews, in the same order, for every phase: each phase sends whole rounds of them (--single reviews;
    # --total - 100 is a multiple of it by default), so one client and many see the same mix of lengths.
    texts = stratified_subset(read_split(Path(args.dataset), "test"), args.single, seed=1)["text"].tolist()
    import httpx

    from review_sentiment.defaults import DEFAULT_LONG_TEXT
    from review_sentiment.inference.runtimes import ov

    process, url = start_app(args.model, args.baseline)
    # Built as the app built it: the runtime and file it chose on this CPU (/healthz), one review at a time.
    choice = httpx.get(f"{url}/healthz").json()["models"]["finetuned"]["runtime_choice"]
    reference = Predictor.load(args.model, device="cpu", long_text=os.environ.get("LONG_TEXT") or DEFAULT_LONG_TEXT
                               ).on(choice["runtime"], choice["precision"], choice["file"])
    positive = reference.labels.index("positive")
    expected = np.array([reference.predict_proba([t])[0, positive] for t in texts])
    # OpenVINO's static int8 answers a review in a shared call to within INT8_SHARED_MOVE of its answer alone.
    tolerance = ov.INT8_SHARED_MOVE if (choice["runtime"], choice["precision"]) == ("openvino", "int8") else 1e-3
    import tempfile

    report = {"machine": cpu_info(), "model": args.model, "clients": args.clients, "runtime_choice": choice,
              "reviews": len(texts), "answer_tolerance": tolerance}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cases = Path(tmp) / "cases.json"
            cases.write_text(json.dumps([{"text": t, "positive": float(p)} for t, p in zip(texts, expected)]))
            report["rss_start_mb"] = rss_mb(process.pid)
            sent = [0]

            def phase(users: int, total: int) -> dict:
                """One locust run, with the share of the 2 cores the server kept busy meanwhile. Its texts are new to
                the app (none answered from the answer cache), continuing after the earlier phases' rounds."""
                cpu, started = cpu_seconds(process.pid), time.perf_counter()
                sent_before = -(-sent[0] // len(texts)) * len(texts)  # a fresh round: the same mix in every phase
                result = locust_run(url, cases, users, total, args.timeout, Path(tmp), sent_before, tolerance)
                sent[0] = sent_before + total
                busy = (cpu_seconds(process.pid) - cpu) / (time.perf_counter() - started) / os.cpu_count()
                return {**result, "server_cpu_busy": busy}

            report["single"] = phase(1, args.single)
            report["first_100"] = phase(args.clients, 100)
            report["rss_after_100_mb"] = rss_mb(process.pid)
            report["concurrent"] = phase(args.clients, args.total - 100)
            report["rss_after_total_mb"] = rss_mb(process.pid)
            # Every phase measured the model: not one answer came from the answer cache.
            report["answer_cache_hits"] = httpx.get(f"{url}/healthz").json()["answer_cache"]["hits"]
        fresh = " " * (-(-sent[0] // len(texts)))  # new to the app after the REST phases' rounds
        report["gradio"] = hammer("gradio", url, [t + fresh for t in texts], expected, args.clients,
                                  args.gradio_requests, tolerance)
    finally:
        process.terminate()
    single, many = report["single"], report["concurrent"]
    report["summary"] = {"throughput_vs_single": many["requests_per_s"] / single["requests_per_s"],
                         "p95_over_p50": many["p95_ms"] / many["p50_ms"],
                         "rss_growth_100_to_total": report["rss_after_total_mb"] / report["rss_after_100_mb"] - 1}
    print(f"\nMachine: {describe(report['machine'])}; model {args.model}, served on {choice['chosen']} "
          f"(timed at start: {choice['probe_ms']}); {len(texts)} IMDb test reviews, the same in every phase")
    print("| phase | users | requests | errors | req/s | p50 ms | p95 ms | server CPU busy |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, key in (("REST, one user", "single"), ("REST, first 100", "first_100"),
                      (f"REST, next {args.total - 100}", "concurrent"), ("gradio_client /predict", "gradio")):
        r = report[key]
        busy = f"{r['server_cpu_busy']:.0%}" if "server_cpu_busy" in r else "-"
        print(f"| {name} | {r.get('users', args.clients)} | {r['requests']} | {r['errors']} | "
              f"{r['requests_per_s']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {busy} |")
    s = report["summary"]
    print(f"\n{args.clients} users vs one: {s['throughput_vs_single']:.2f}x the throughput; p95/p50 "
          f"{s['p95_over_p50']:.2f}; server RSS {report['rss_start_mb']:.0f} MB at start, "
          f"{report['rss_after_100_mb']:.0f} MB after 100 requests, {report['rss_after_total_mb']:.0f} MB after "
          f"{args.total} ({s['rss_growth_100_to_total']:+.1%})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save(report, args.out)


if __name__ == "__main__":
    main()
