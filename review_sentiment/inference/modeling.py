"""Building models for fine-tuning (full or LoRA) and loading any saved result for inference, the same way."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

from ..errors import UserError
from .model_files import locate
from .settings import SETTINGS_KEY, InferenceSettings

ADAPTER_CONFIG = "adapter_config.json"


def head_modules(model) -> list[str]:
    """Names of the task-head modules (everything trainable outside the pretrained encoder).

    BERT: ['classifier']; DistilBERT: ['pre_classifier', 'classifier']. They start random, so LoRA must train and
    save them in full next to the adapter.
    """
    return [name for name, module in model.named_children()
            if name != model.base_model_prefix and any(True for _ in module.parameters())]


def build_model(model_spec: str, label_names: list[str], *, lora: dict | None = None,
                revision: str | None = None):
    """Pretrained encoder + fresh classification head with real label names; wrapped in LoRA when asked."""
    files = locate(model_spec, revision)
    model_dir = files.config_dir
    id2label = dict(enumerate(label_names))
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        config = AutoConfig.from_pretrained(model_dir, num_labels=len(label_names), id2label=id2label,
                                            label2id={v: k for k, v in id2label.items()})
        model = AutoModelForSequenceClassification.from_pretrained(files.weights_dir, config=config,
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


def save_model(model, tokenizer, out_dir: Path, *, settings: InferenceSettings, merge_lora: bool = False) -> None:
    """Write safetensors weights (or a LoRA adapter), the tokenizer, and config.json with the inference settings."""
    is_peft = hasattr(model, "peft_config")
    if is_peft and merge_lora:
        model, is_peft = model.merge_and_unload(), False
    config = model.get_base_model().config if is_peft else model.config
    setattr(config, SETTINGS_KEY, settings.saved())
    model.save_pretrained(out_dir, safe_serialization=True)
    # A Hub user's pipeline(truncation=True) and the Hub widget cut a review at the tokenizer's model_max_length;
    # a tokenizer that states none (or more than the position table) makes them fail on a long review instead.
    positions = getattr(config, "max_position_embeddings", None)
    if positions and tokenizer.model_max_length > positions:
        tokenizer.model_max_length = positions
    if is_peft:
        # The adapter folder also gets the classifier's config (labels, settings) so it loads on its own.
        config.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def load_model(spec: str, *, device: torch.device | str = "cpu", revision: str | None = None):
    """(model, tokenizer, ModelFiles) ready for inference from a full model or a LoRA adapter (merged for speed)."""
    files = locate(spec, revision)
    model_dir = files.config_dir
    if not (model_dir / "config.json").exists() and not (model_dir / ADAPTER_CONFIG).exists():
        raise UserError(f"{spec!r} holds no model (no config.json or {ADAPTER_CONFIG}).")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if (model_dir / ADAPTER_CONFIG).exists():
            from peft import PeftModel

            base_spec = json.loads((model_dir / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
            config = AutoConfig.from_pretrained(model_dir)
            base = AutoModelForSequenceClassification.from_pretrained(
                locate(base_spec).weights_dir, config=config, use_safetensors=True)
            model = PeftModel.from_pretrained(base, files.weights_dir).merge_and_unload()
        else:
            config = AutoConfig.from_pretrained(model_dir)
            model = AutoModelForSequenceClassification.from_pretrained(files.weights_dir, config=config,
                                                                       use_safetensors=True)
    except UserError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"Could not load model {spec!r}: {str(exc).splitlines()[0]}") from exc
    return model.to(device).eval(), tokenizer, files
