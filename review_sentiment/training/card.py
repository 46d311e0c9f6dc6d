"""The model card: rendered from the top-level `model_card.md` template with huggingface_hub's ModelCard."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..data.feedback import describe as describe_feedback
from ..data.text import head_tail_sizes
from ..defaults import PROJECT_DIR
from ..evaluation import readings as ways
from ..evaluation.audit import markdown as audit_markdown
from ..evaluation.gate import table as gate_table
from ..hub import is_hub_id
from ..model_report import ModelReport, RunRecord

TEMPLATE = PROJECT_DIR / "model_card.md"
CARD_METRICS = [("accuracy", "accuracy", "Accuracy"), ("f1", "f1_macro", "F1 (macro)"),
                ("precision", "precision_macro", "Precision (macro)"), ("recall", "recall_macro", "Recall (macro)")]


def hub_id_or_none(spec: str) -> str | None:
    """Card metadata may only name Hub repos, never a local path."""
    return spec if is_hub_id(spec) else None


def short_name(spec: str) -> str:
    """A Hub id as is; a local path by its last two parts (never a machine's absolute path in a public card)."""
    return hub_id_or_none(spec) or "/".join(Path(spec).expanduser().resolve().parts[-2:])


def usage_snippet(repo: str, is_adapter: bool) -> str:
    if is_adapter:
        return (f'from peft import AutoPeftModelForSequenceClassification\nfrom transformers import AutoTokenizer\n\n'
                f'model = AutoPeftModelForSequenceClassification.from_pretrained("{repo}").merge_and_unload()\n'
                f'tokenizer = AutoTokenizer.from_pretrained("{repo}")\n\n'
                f'# or, with the project\'s Predictor (same truncation as in training):\n'
                f'from review_sentiment import Predictor\n'
                f'print(Predictor.load("{repo}").predict(["A moving, beautifully acted film."]))')
    return (f'from transformers import pipeline\n\n'
            f'classifier = pipeline("text-classification", model="{repo}", top_k=None, truncation=True)\n'
            f'print(classifier("A moving, beautifully acted film. I loved every minute."))\n\n'
            f'# or, with the project\'s Predictor, reading long reviews whole as the Space does:\n'
            f'from review_sentiment import Predictor\n'
            f'print(Predictor.load("{repo}", long_text="chunks").predict(["A moving, beautifully acted film."]))')


def datasets_metadata(dataset_id: str | None, mix: dict | None, feedback: dict | None = None) -> list[str]:
    """The card's `datasets:`: the training set, a mixed-in set and the visitors' corrections, where each is a Hub
    id (its name, or its path when the path is one)."""
    mixed = mix and (hub_id_or_none(mix["name"]) or hub_id_or_none(mix["dataset"]))
    corrections = feedback and hub_id_or_none(feedback["dataset"])
    return [d for d in (dataset_id, mixed, corrections) if d]


def corpus_of(dataset: str) -> str | None:
    """Which corpus the card's limitations describe: IMDb reviews, SST sentences, or (None) one it knows nothing of."""
    name = dataset.lower()
    return "imdb" if "imdb" in name else "sst" if "sst" in name else None


def render_card(cfg, report: ModelReport, run: RunRecord, *, window: int, val_origin: str,
                baseline: str | None = None, domains_md: str | None = None, trials: str | None = None,
                tracked: bool = False) -> ModelCard:
    """The card from what the model folder says about itself (`report`: metrics.json, `run`: training_config.json)
    and the run's options; the other arguments are that run's tables, already laid out (window: the content tokens
    of max_length, InferenceSettings.window)."""
    metrics, domains, onnx, mix = report.test, report.domains, report.onnx, report.data.get("train_mix")
    feedback = report.data.get("train_feedback")
    label_names, sizes = run.label_names, run.sizes
    is_adapter = cfg.lora is not None and not cfg.merge_lora
    repo = cfg.hub_model_id or cfg.output_dir
    dataset_id = hub_id_or_none(cfg.dataset_name)
    dataset_label = dataset_id or Path(cfg.dataset_name).name
    eval_results = [EvalResult(task_type="text-classification", task_name="Sentiment analysis",
                               dataset_type=dataset_id or dataset_label, dataset_name=dataset_label,
                               dataset_split="test", metric_type=kind, metric_name=name,
                               metric_value=round(metrics[key], 4))
                    for kind, key, name in CARD_METRICS]
    for name, result in (domains or {}).items():  # every other domain is its own model-index entry
        set_id = hub_id_or_none(result["dataset"])
        eval_results += [EvalResult(task_type="text-classification", task_name="Sentiment analysis",
                                    dataset_type=set_id or name, dataset_name=name, dataset_split="test",
                                    metric_type=kind, metric_name=label, metric_value=round(result[key], 4))
                         for kind, key, label in CARD_METRICS[:2]]
    data = ModelCardData(
        model_name=repo.split("/")[-1] if cfg.hub_model_id else Path(cfg.output_dir).name,
        base_model=hub_id_or_none(cfg.model), datasets=datasets_metadata(dataset_id, mix, feedback) or None,
        language="en", license=cfg.license, library_name="peft" if is_adapter else "transformers",
        pipeline_tag="text-classification", metrics=["accuracy", "f1"], eval_results=eval_results,
        tags=["sentiment-analysis", "text-classification", "review-sentiment"] + (["lora"] if cfg.lora else []))
    method = (f"LoRA adapters (r={cfg.lora_r}, alpha={cfg.lora_alpha}, dropout={cfg.lora_dropout}) plus a fully "
              f"trained classification head{', merged into the weights' if cfg.merge_lora else ''}"
              if cfg.lora else "full fine-tuning of every weight")
    head, tail = head_tail_sizes(window)
    hyper = {"learning rate": cfg.learning_rate, "epochs": cfg.epochs,
             "batch size": cfg.batch_size * cfg.gradient_accumulation_steps, "max length": cfg.max_length,
             "truncation": cfg.truncation, "warm-up ratio": cfg.warmup_ratio, "weight decay": cfg.weight_decay,
             "precision": sizes.get("precision", cfg.precision), "seed": cfg.seed,
             **({"class weights": "balanced"} if cfg.class_weights == "balanced" else {}),
             **({"classes merged": ",".join(map(str, cfg.merge_labels))} if cfg.merge_labels else {})}
    return ModelCard.from_template(
        data, template_path=str(TEMPLATE), model_name=data.model_name,
        summary=(f"A {len(label_names)}-class sentiment classifier ({', '.join(label_names)}) fine-tuned from "
                 f"`{short_name(cfg.model)}` on `{dataset_label}`: **{metrics['accuracy']:.2%} test accuracy** as the "
                 "Space serves it" + (f" ({metrics['readings']['pipeline']['accuracy']:.2%} read by a plain "
                                      "`pipeline`)" if metrics.get("readings") else "") + "."),
        method_description=method, metrics=metrics, baseline=baseline,
        readings=metrics.get("readings") and ways.table(metrics["readings"], metrics["pairs"]),
        usage=usage_snippet(repo, is_adapter),
        max_length=cfg.max_length, truncation=cfg.truncation, head_tokens=head, tail_tokens=tail,
        base_model=f"`{short_name(cfg.model)}`", dataset=f"`{dataset_label}`", labels=label_names,
        hyperparameters=hyper,
        train_size=sizes["train"], val_size=sizes["validation"], test_size=sizes["test"], val_origin=val_origin,
        train_time=f"{report.train['runtime_s'] / 60:.1f} min", hardware=run.hardware, domains=domains_md,
        trials=trials, tracked=tracked, stopped_early=report.train["stopped_early"], search_trials=cfg.hp_search,
        onnx=onnx, openvino=report.openvino, repo=repo,
        audit=report.audit and audit_markdown(report.audit,
                                              f"python -m review_sentiment.evaluation.audit --model {repo}"),
        augmentation=report.train_augmentation, mix=mix, shared=report.data.get("shared_texts"),
        feedback=feedback and describe_feedback(feedback), gate=report.gate and gate_table(report.gate),
        precision_report=report.train.get("precision"), failed=report.failed_step,
        corpus=corpus_of(cfg.dataset_name),
        phrases="phrase" in f"{cfg.dataset} {cfg.dataset_name}".lower(),
        onnx_file=onnx and (f'hf_hub_download("{repo}", "{onnx["files"][-1]}")' if hub_id_or_none(repo)
                            else f'"{Path(repo) / onnx["files"][-1]}"'),
        versions=", ".join(f"{k} {v}" for k, v in run.versions.items()))
