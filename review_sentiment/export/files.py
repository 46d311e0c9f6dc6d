"""The files a model folder holds beside its weights for the other runtimes, named once: what one served model is
made of, and which of them the Space downloads (an int8 file where one met the bar, else one fp32 file)."""

from __future__ import annotations

from .onnx import FP32_FILE, INT8_FILE
from .openvino_ir import FP32_FILE as OPENVINO_FP32_FILE
from .openvino_ir import INT8_FILE as OPENVINO_INT8_FILE
from .openvino_ir import files_of

SERVED_INT8 = (INT8_FILE, OPENVINO_INT8_FILE)
SERVED_FP32 = (FP32_FILE, OPENVINO_FP32_FILE)  # ONNX first: ONNX Runtime and OpenVINO both read it


def parts(name: str) -> list[str]:
    """The files one served model is made of: an ONNX file, or an OpenVINO graph and its weights."""
    return files_of(name) if name.endswith(".xml") else [name]
