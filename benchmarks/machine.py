"""Which machine a benchmark ran on: the CPU (review_sentiment.cpu, the same facts the Space reports)
and, where there is one, the GPU and its software stack."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from review_sentiment.cpu import cpu_info, describe  # noqa: E402,F401 - the benchmarks' one import


def gpu_info() -> dict | None:
    """The GPU and the software stack that drives it, or None on a machine without one."""
    import subprocess

    import torch
    import transformers

    if not torch.cuda.is_available():
        return None
    try:
        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        driver = None
    props = torch.cuda.get_device_properties(0)
    return {"gpu": props.name, "memory_gib": round(props.total_memory / 2**30, 1), "count": torch.cuda.device_count(),
            "driver": driver, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "torch": torch.__version__, "transformers": transformers.__version__}


def print_table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> None:
    """A Markdown table, as benchmarks/README.md holds them: columns from `numeric_from` on align right."""
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" if i < numeric_from else "---:" for i in range(len(header))) + " |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def cpu_class(info: dict) -> str:
    """The machine class a result holds for (benchmarks/README.md's "Machine classes"): vendor, family and model, and
    the ISA that moves the ratios (AMX; AVX-512 with or without BF16; AVX2 only)."""
    vendor = "Intel Xeon" if "Intel" in info["cpu"] else "AMD EPYC" if "AMD" in info["cpu"] else info["cpu"]
    isa = set(info["isa"])
    kind = ("AMX" if "amx_tile" in isa else "AVX-512 BF16" if "avx512_bf16" in isa else
            "AVX-512" if "avx512f" in isa else "AVX2" if "avx2" in isa else "no AVX2")
    where = "".join(f" {name} {info[name]}" for name in ("family", "model") if info.get(name))
    return f"{vendor}{where}, {kind}"


def provenance() -> dict:
    """What every results file records beside its figures: the commit it ran, the date, the command line."""
    import datetime as dt
    import shlex
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                                cwd=Path(__file__).resolve().parent.parent).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "review_sentiment", "benchmarks", "app.py",
                                     "train.py"], capture_output=True, text=True, timeout=10,
                                    cwd=Path(__file__).resolve().parent.parent).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"commit": commit, "uncommitted_changes": dirty, "date": dt.date.today().isoformat(),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])}


STAND_IN = "stand_in.json"  # stand_ins.mark_random writes it into a folder of random weights


def describe_model(model: str) -> dict:
    """What a results file says of a model it measured: its name, parameter count (from the safetensors headers, no
    weights read) and whose weights these are: random (a stand-in at a real size), fine-tuned by train.py, or
    pretrained as published. A Hub id or a label that is no folder here is recorded as it was given."""
    import json
    import struct

    folder = Path(model)
    if not folder.is_dir():
        return {"name": str(model)}
    parameters = 0
    for file in sorted(folder.glob("*.safetensors")):
        with file.open("rb") as f:
            header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
        for name, tensor in header.items():
            # Weights are floating point; integer tensors are buffers (BERT's position_ids), not parameters.
            if name != "__metadata__" and tensor["dtype"].startswith(("F", "BF")):
                count = 1
                for size in tensor["shape"]:
                    count *= size
                parameters += count
    weights = ("random (a stand-in at a real size)" if (folder / STAND_IN).exists() else
               "fine-tuned (train.py)" if (folder / "training_config.json").exists() else "pretrained")
    return {"name": folder.name, "path": str(folder.resolve()), "parameters": parameters or None, "weights": weights}


def save(report: dict, path: str, models: dict[str, str] | None = None) -> None:
    """The run's JSON (with its machine, commit, date, command and models) where benchmarks/README.md's tables cite
    it. `models` names each model's role and folder; without it, the report's "model", "baseline", "old" and "new"
    entries are described where they are folders (a stand-in made in a temporary folder is passed while it exists)."""
    import json

    report = {**provenance(), **report}
    report.setdefault("machine", cpu_info())
    if models is None:
        models = {role: report[role] for role in ("model", "baseline", "old", "new")
                  if isinstance(report.get(role), str) and Path(report[role]).is_dir()}
    if models:
        report.setdefault("models", {role: describe_model(str(folder)) for role, folder in models.items()})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")
