"""The CPU this process runs on: model, cores and the ISA flags that decide kernel speed. The Space reports them
beside its runtime choice (/healthz), and every benchmark records them, since a speed-up measured on one CPU
generation can halve on another."""

from __future__ import annotations

import os
import platform
from pathlib import Path

ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")


def cpu_info() -> dict:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                 platform.processor() or platform.machine())
    family = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("cpu family")), None)
    # The model number tells CPU generations apart where a hypervisor names every CPU "Intel(R) Xeon(R) Processor".
    number = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                   if line.split(":", 1)[0].strip() == "model"), None)
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    return {"cpu": model, "family": family, "model": number, "cores": usable_cores(),
            "isa": [f for f in ISA_FLAGS if f in flags], "hypervisor": "hypervisor" in flags,
            "machine": platform.machine()}


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def describe(info: dict) -> str:
    family = f" (family {info['family']}" + (f", model {info['model']})" if info.get("model") else ")") \
        if info.get("family") else ""
    vm = " under a hypervisor" if info.get("hypervisor") else ""
    return (f"{info['cpu']}{family}{vm}, {info['cores']} cores, ISA: "
            f"{', '.join(info['isa']) or 'none of ' + '/'.join(ISA_FLAGS)}")


def native_bf16(info: dict | None = None) -> bool:
    """Whether matrix products in bf16 run on this CPU's own units (AMX): only there does OpenVINO's bf16 pay. With
    AVX-512 BF16 alone it was slower than fp32 (issue 22: 223 against 118-136 ms on an Intel Xeon without AMX)."""
    return "amx_bf16" in (info or cpu_info())["isa"]
