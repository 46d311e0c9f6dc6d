"""ONNX files for a model: export, quantisation, and the cached export of a model that ships none.

A model repo gets the layout ONNX Runtime, Optimum and transformers.js users look for:

    onnx/model.onnx            fp32; inputs input_ids and attention_mask (any batch and length), output logits
    onnx/model_quantized.onnx  int8 weights, written by train.py only when it meets the accuracy bar (int8_bar.py)

Why this export and this quantisation (measured with benchmarks/serving.py; the figures are in README
"Performance"):
- Attention is exported in its eager form: torch's SDPA exports with extra masking nodes (IsNaN/Where/Slice) that
  ONNX Runtime's session optimizer cannot fold, and that graph ran slower. The TorchScript exporter is used where
  torch still has it (it exports faster than torch.export, and runs no slower). ONNX Runtime's offline transformer
  optimizer (its fused Attention kernel) gained nothing, so the file stays plain ONNX that every runtime reads.
- Dynamic int8 (weights per output channel, activations quantised at run time) on that graph.
  `reduce_range` keeps weights to 7 bits: CPUs without VNNI multiply u8 x s8 pairs into 16-bit sums that saturate
  at full range, so the file gives the same answers on AVX2-only and AVX-512 VNNI machines alike. The first and
  last encoder layers and the head stay fp32: without that, 7-bit int8 missed the agreement bar on a fine-tuned
  MiniLM-L6; with it, it met the bar at no cost in accuracy.
- Two schemes, tried in order until one meets the bar (int8_bar.py): "edges" (above), then "edges+ffn-out", which
  also keeps every layer's FFN output projection in fp32 (its input has the widest activation range in BERT-style
  encoders). On a fine-tuned MiniLM-L6 (benchmarks/README.md, benchmarks/int8_schemes.py) "edges" agreed with fp32
  on 99.12% of 5,000 IMDb test reviews at 1.33x fp32's speed, and "edges+ffn-out" on 99.32% at 1.22x; a MiniLM-L6
  trained on another sample missed with "edges" (98.85%): the second scheme is its way past the bar.

Models that ship no ONNX files are exported once into the Hugging Face cache, keyed by their weights. ONNX Runtime
runs these files as one of the Predictor's runtimes (runtimes/ort.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path

import torch

log = logging.getLogger(__name__)

FOLDER = "onnx"
FP32_FILE = f"{FOLDER}/model.onnx"
INT8_FILE = f"{FOLDER}/model_quantized.onnx"
OPSET = 17


def cache_dir(model) -> Path:
    """One folder per set of weights: a hash of the state dict, so a retrained model never reuses an old export."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()[:4096])
        digest.update(str(tuple(tensor.shape)).encode())
    root = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "review-sentiment" / "onnx"
    return root / digest.hexdigest()[:32]


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def _atomic(path: Path, write) -> Path:
    """Write through a temporary file in the same folder: a parallel start never reads a half-written model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        staged = Path(tmp) / path.name
        write(staged)
        staged.replace(path)
    return path


def export(model, tokenizer, path: Path) -> Path:
    """fp32 ONNX of the classifier (CPU copy; the caller's model is left as it was)."""
    example = tokenizer(["a fine film", "a dull one, sadly"], padding=True, return_tensors="pt")
    inputs = (example["input_ids"], example["attention_mask"])
    names = ["input_ids", "attention_mask"]
    device, attention, training = model.device, model.config._attn_implementation, model.training
    model.cpu().eval()
    wrapper = _Logits(model).eval()  # eval, or the exporter restores the wrapper's train mode onto the model
    try:
        model.set_attn_implementation("eager")  # SDPA exports masking nodes ONNX Runtime cannot fold (module doc)
    except (AttributeError, ValueError):
        pass

    def legacy(staged: Path) -> None:
        torch.onnx.export(wrapper, inputs, str(staged), dynamo=False, opset_version=OPSET,
                          input_names=names, output_names=["logits"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "length"},
                                        "attention_mask": {0: "batch", 1: "length"}, "logits": {0: "batch"}})

    def dynamo(staged: Path) -> None:  # where torch no longer ships the TorchScript exporter
        batch, length = torch.export.Dim("batch"), torch.export.Dim("length")
        torch.onnx.export(wrapper, inputs, dynamo=True, verbose=False, input_names=names,
                          output_names=["logits"], dynamic_shapes={n: {0: batch, 1: length} for n in names}
                          ).save(str(staged))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            try:
                return _atomic(path, legacy)
            except Exception:  # noqa: BLE001
                log.info("TorchScript ONNX export unavailable; using torch.export", exc_info=True)
                return _atomic(path, dynamo)
    finally:
        try:
            model.set_attn_implementation(attention)
        except (AttributeError, ValueError):
            pass
        model.to(device).train(training)


SCHEMES = ("edges", "edges+ffn-out")  # in the order int8_bar tries them (module doc)
# The FFN's output projection: BERT's layer.N/output/dense (not attention/output/dense), DistilBERT's ffn/lin2.
FFN_OUT = re.compile(r"(?<!attention)/output/dense/|ffn/lin2/")


def sensitive_nodes(model_path: Path, scheme: str = "edges") -> list[str]:
    """Matrix products kept in fp32: the first and last encoder layers and everything outside the layers (pooler,
    classifier), and with "edges+ffn-out" every layer's FFN output projection too. Quantising those costs the most
    accuracy for the least time (module doc)."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    products = [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm")]
    layers = {n: int(m.group(1)) for n in products if (m := re.search(r"layers?[./_](\d+)[./_]", n))}
    edges = {min(layers.values()), max(layers.values())} if layers else set()
    keep = [n for n in products if layers.get(n, -1) in edges or n not in layers
            or (scheme == "edges+ffn-out" and FFN_OUT.search(n))]
    # The quantizer first splits each Gemm into MatMul + Add, named "<gemm>_MatMul": exclude that name too.
    gemms = {n.name for n in graph.node if n.op_type == "Gemm"}
    return keep + [f"{n}_MatMul" for n in keep if n in gemms]


def quantize(fp32: Path, path: Path, scheme: str = "edges") -> Path:
    """int8 weights per output channel in 7-bit range, the scheme's sensitive layers kept in fp32 (see the module
    doc); activations quantised at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, not {scheme!r}")
    keep = sensitive_nodes(fp32, scheme)

    def write(staged: Path) -> None:
        root = logging.getLogger()
        was, root.disabled = root.disabled, True  # quantize_dynamic's "run pre-processing first" advice
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(str(fp32), str(staged), weight_type=QuantType.QInt8, per_channel=True,
                                 reduce_range=True, nodes_to_exclude=keep,
                                 extra_options={"MatMulConstBOnly": True, "DefaultTensorType": 1})  # 1: float
        finally:
            root.disabled = was
    return _atomic(path, write)


def write_files(model, tokenizer, folder: Path) -> dict[str, Path]:
    """onnx/model.onnx and onnx/model_quantized.onnx under `folder`: {"fp32": path, "int8": path}."""
    folder = Path(folder)
    fp32 = export(model, tokenizer, folder / FP32_FILE)
    return {"fp32": fp32, "int8": quantize(fp32, folder / INT8_FILE)}


def cached(model, tokenizer, precision: str) -> Path:
    """This model's ONNX file in the cache ("fp32" or "int8"), exported (and quantised) on first use."""
    folder = cache_dir(model)
    path = folder / (INT8_FILE if precision == "int8" else FP32_FILE)
    if not path.exists():
        log.info("exporting the model to ONNX (once): %s", path)
        if not (folder / FP32_FILE).exists():
            export(model, tokenizer, folder / FP32_FILE)
        if precision == "int8":
            quantize(folder / FP32_FILE, path)
    return path
