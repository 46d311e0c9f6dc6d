"""The CPU this process runs on: model, cores and the ISA flags that decide kernel speed. The Space reports them
beside its runtime choice (/healthz), and every benchmark records them, since a speed-up measured on one CPU
generation can halve on another."""

from __future__ import annotations

import functools
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


BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def native_bf16(info: dict | None = None) -> bool:
    """Whether this CPU computes bf16 itself: AMX, or AVX-512 BF16, as its flags say and, where OpenVINO is here, as
    OpenVINO's own OPTIMIZATION_CAPABILITIES say (its bf16 hint runs bf16 only then). Whether bf16 *pays* is not a
    rule of the flags: with AVX-512 BF16 alone it was slower than fp32 on an Intel Xeon (issue 22: 223 against 118-136
    ms) and 1.72x faster on AMD Zen 4 (issue 32: 19.7 against 33.9 ms), so the Space times it like every option."""
    info = info or cpu_info()
    if not any(flag in info["isa"] for flag in BF16_FLAGS):
        return False
    return openvino_bf16()


@functools.cache
def openvino_bf16() -> bool:
    """OpenVINO's word on its CPU plugin running bf16 (True where OpenVINO is not installed: the flags decide)."""
    try:
        import openvino as ov
    except ImportError:
        return True
    try:
        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - a plugin that cannot say: the flags decide
        return True
