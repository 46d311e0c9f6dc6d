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


def save(report: dict, path: str) -> None:
    """The run's JSON (with its machine) where benchmarks/README.md's tables cite it."""
    import json

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")
