"""Building models for fine-tuning (full or LoRA) and loading any saved result for inference, the same way."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from .data import REPO_ID
from .errors import UserError

# Where the inference settings travel: inside config.json, so they reach everyone who downloads the model.
SETTINGS_KEY = "review_sentiment"
ADAPTER_CONFIG = "adapter_config.json"
# Only what inference needs, and only safetensors weights (never pickled .bin files).
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "README.md", "*.png"]


def resolve_model_dir(spec: str) -> Path:
    """A local directory as is; a Hub model id downloaded (safetensors, configs, tokenizer, card) to the cache."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists():
        raise UserError(f"Model {spec!r} is a file; give the directory that holds config.json.")
    if not REPO_ID.match(spec):
        raise UserError(f"Model {spec!r} not found: it is neither a local directory nor a Hub id like 'user/name'.")
    from huggingface_hub import snapshot_download

    from .hub import explain_hub_error

    try:
        return Path(snapshot_download(spec, allow_patterns=MODEL_FILES))
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one clear line
        raise UserError(f"Model {spec!r} is no local directory, and the Hub download failed: "
                        f"{explain_hub_error(exc)}") from exc


def head_modules(model) -> list[str]:
    """Names of the task-head modules (everything trainable outside the pretrained encoder).

    BERT: ['classifier']; DistilBERT: ['pre_classifier', 'classifier']. They start random, so LoRA must train and
    save them in full next to the adapter.
    """
    return [name for name, module in model.named_children()
            if name != model.base_model_prefix and any(True for _ in module.parameters())]


def build_model(model_spec: str, label_names: list[str], *, lora: dict | None = None):
    """Pretrained encoder + fresh classification head with real label names; wrapped in LoRA when asked."""
    model_dir = resolve_model_dir(model_spec)
    id2label = dict(enumerate(label_names))
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, num_labels=len(label_names), id2label=id2label, label2id={v: k for k, v in id2label.items()},
            use_safetensors=True)
    except (OSError, ValueError) as exc:
        raise UserError(f"Could not load {model_spec!r} as a sequence classifier: {exc}".splitlines()[0]) from exc
    if lora is None:
        return model, tokenizer
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(task_type=TaskType.SEQ_CLS, r=lora["r"], lora_alpha=lora["alpha"],
                        lora_dropout=lora["dropout"], target_modules=lora["target_modules"] or None,
                        modules_to_save=head_modules(model))
    # The adapter records where its base lives; a relative path would break as soon as the cwd changes.
    model.config._name_or_path = str(model_dir) if Path(model_spec).expanduser().exists() else model_spec
    model.name_or_path = model.config._name_or_path
    try:
        return get_peft_model(model, config), tokenizer
    except ValueError as exc:
        raise UserError(f"LoRA: {exc}".splitlines()[0]) from exc


def save_model(model, tokenizer, out_dir: Path, *, settings: dict, merge_lora: bool = False) -> None:
    """Write safetensors weights (or a LoRA adapter), the tokenizer, and config.json with the inference settings."""
    is_peft = hasattr(model, "peft_config")
    if is_peft and merge_lora:
        model, is_peft = model.merge_and_unload(), False
    config = model.get_base_model().config if is_peft else model.config
    setattr(config, SETTINGS_KEY, settings)
    model.save_pretrained(out_dir, safe_serialization=True)
    if is_peft:
        # The adapter folder also gets the classifier's config (labels, settings) so it loads on its own.
        config.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def set_temperature(model_dir: Path, temperature: float) -> None:
    """Record the calibrated softmax temperature in config.json, where every loader finds it."""
    path = Path(model_dir) / "config.json"
    config = json.loads(path.read_text())
    config.setdefault(SETTINGS_KEY, {})["temperature"] = float(temperature)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def load_model(spec: str, *, device: torch.device | str = "cpu"):
    """(model, tokenizer, directory) ready for inference from a full model or a LoRA adapter (merged for speed)."""
    model_dir = resolve_model_dir(spec)
    if not (model_dir / "config.json").exists() and not (model_dir / ADAPTER_CONFIG).exists():
        raise UserError(f"{spec!r} holds no model (no config.json or {ADAPTER_CONFIG}).")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if (model_dir / ADAPTER_CONFIG).exists():
            from peft import PeftModel

            base_spec = json.loads((model_dir / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
            config = AutoConfig.from_pretrained(model_dir)
            base = AutoModelForSequenceClassification.from_pretrained(
                resolve_model_dir(base_spec), config=config, use_safetensors=True)
            model = PeftModel.from_pretrained(base, model_dir).merge_and_unload()
        else:
            model = AutoModelForSequenceClassification.from_pretrained(model_dir, use_safetensors=True)
    except UserError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"Could not load model {spec!r}: {str(exc).splitlines()[0]}") from exc
    return model.to(device).eval(), tokenizer, model_dir


def inference_settings(model) -> dict:
    """Truncation, window and temperature the model was trained/calibrated with (defaults for foreign models)."""
    saved = getattr(model.config, SETTINGS_KEY, None) or {}
    max_positions = getattr(model.config, "max_position_embeddings", 512)
    return {"max_length": min(int(saved.get("max_length", 512)), max_positions),
            "truncation": saved.get("truncation", "head"),
            "temperature": float(saved.get("temperature", 1.0))}
