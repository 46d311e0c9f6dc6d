"""Every train.py option, typed, documented and validated in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Optional

from ..cli import option
from ..data.domains import parse_eval_datasets
from ..data.feedback import parse_feedback
from ..data.mixing import SELECTIONS, parse_mix, parse_size
from ..data.splits import merge_map
from ..data.text import TRUNCATIONS
from ..defaults import BASELINE_ID
from ..errors import UserError
from .hp_search import default_space, load_space
from .tracking import check_backend, default_backend

DEFAULT_BASE_MODELS = {"full": "distilbert-base-uncased", "lora": "bert-base-uncased"}
# The proven recipes: full fine-tuning of DistilBERT/BERT at 2e-5; LoRA adapters need a ~10x larger step.
DEFAULT_LEARNING_RATES = {"full": 2e-5, "lora": 2e-4}


@dataclass
class TrainConfig:
    # What to train
    method: Literal["full", "lora"] = option("full: fine-tune every weight; lora: train LoRA adapters + the head.",
                                             "full")
    model: Optional[str] = option("Base model: Hub id or local directory "
                                  f"(default {DEFAULT_BASE_MODELS['full']} for full, {DEFAULT_BASE_MODELS['lora']} "
                                  "for lora).")
    revision: Optional[str] = option("Hub revision (branch, tag or commit sha) of --model; default: main, or its "
                                     "safetensors conversion PR when main has only pickled weights.")
    # Data
    dataset: str = option("Hub dataset id, or a local directory holding train.* and test.* (parquet, csv, jsonl), "
                          "or a single file (test split carved from it).", "stanfordnlp/imdb")
    dataset_name: Optional[str] = option("Dataset name written in the model card (default: --dataset; set the Hub "
                                         "id here when --dataset is a local copy).")
    text_column: str = option("Column holding the review text.", "text")
    label_column: str = option("Column holding the label (integers 0..K-1 or strings).", "label")
    label_names: Optional[list] = option("Class names for integer labels, in id order (default: negative,positive "
                                         "for 2 classes; the SST-5 names for 5).")
    merge_labels: Optional[list] = option("Merge integer classes before training: the new class of each label id, "
                                          "in id order (0,0,1,2,2 makes SST-5's five classes negative, neutral, "
                                          "positive; --label-names then names the merged classes).")
    mix_dataset: Optional[str] = option(
        "Mix another labelled set's train split into training, NAME=PATH (a local directory/file or a Hub dataset "
        "id; same column options as --dataset): e.g. SST's labelled phrases, which teach negation. Classes are "
        "mapped by polarity (neutral dropped); texts equal to a validation, test or --eval-dataset review are "
        "dropped and counted. Recorded in training_config.json, metrics.json and the card.")
    mix_select: str = option("Which texts of --mix-dataset: all, multi-word (two words or more), negation (with a "
                             "negation word: not, n't, no, never, ...), or negation+multi-word (every negation text "
                             "first, --mix-size filled with other multi-word texts).", "all", choices=SELECTIONS)
    mix_size: Optional[str] = option("How many --mix-dataset texts: a count above 1, or a share in (0, 1] of "
                                     "those --mix-select keeps (default: all of them).")
    feedback_dataset: Optional[str] = option(
        "Add visitors' corrections from the Space (its FEEDBACK_DATASET) to the training split only: a Hub dataset id "
        "with an optional @revision (pin it: the card records the commit read) or a local folder of its JSONL files. "
        "Corrections equal to a validation, test or --eval-dataset review are dropped and counted, those for other "
        "classes refused and counted, and a text corrected twice keeps its latest label.")
    feedback_weight: int = option("How many times each correction is repeated in the training split.", 1)
    feedback_contrasts: bool = option(
        "Train each correction beside its contrasts: the same sentence with its sentiment word swapped for words of "
        "the other polarity (data/contrasts.py's lexicon), read the other way, so that a correction teaches what its "
        "frame does to a word rather than that the frame means its class.", False)
    feedback_min_visitors: int = option(
        "A corrected text trains only when this many distinct visitors sent it with one class and none with another "
        "(the Space records a keyed hash of each sender's address, never the address).", 1)
    feedback_decisions: Optional[str] = option(
        "The owner's review of the corrections (python -m review_sentiment.data.review_corrections): only the texts "
        "accepted there, with the class accepted, train.")
    val_size: float = option("Share of train held out for model selection when the dataset has no validation "
                             "split (stratified).", 0.1)
    test_size: float = option("Share held out as test when the dataset has no test split (stratified).", 0.2)
    max_train_samples: Optional[int] = option("Use a stratified subset of this many training reviews (quick runs).")
    max_eval_samples: Optional[int] = option("Use stratified subsets of this many validation and test reviews.")
    # Tokenization
    max_length: int = option("Tokens per review, special tokens included.", 512)
    truncation: Literal["head", "head+tail"] = option(
        "Which tokens of a long review to keep: head, or head+tail (first 25%% + last 75%% of the window; "
        "Sun et al. 2019's best for IMDb).", "head+tail")
    # Optimisation
    epochs: float = option("Training epochs.", 2.0)
    batch_size: int = option("Reviews per device per step.", 16)
    gradient_accumulation_steps: int = option("Steps to accumulate before an optimiser update.", 1)
    learning_rate: Optional[float] = option("Peak learning rate (default 2e-5 full, 2e-4 lora).")
    weight_decay: float = option("AdamW weight decay.", 0.01)
    class_weights: Literal["none", "balanced"] = option(
        "none: plain cross-entropy; balanced: each class weighted inversely to its share of the training labels "
        "(for skewed sets such as SST-5's phrases, half of them neutral).", "none")
    warmup_ratio: float = option("Share of steps with linear warm-up.", 0.1)
    eval_steps: float = option("Evaluate on validation (and checkpoint) every N steps; below 1, a share of all steps.",
                               0.1)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = option(
        "auto: bf16 on GPUs that support it, fp16 on other GPUs; on a CPU with AMX or AVX-512 BF16, bf16 autocast "
        "when a few timed training steps show it at least 1.1x faster than fp32, fp32 otherwise.", "auto")
    seed: int = option("Random seed for splits, subsets, head initialisation and data order.", 42)
    # LoRA
    lora_r: int = option("LoRA rank.", 8)
    lora_alpha: int = option("LoRA scaling alpha.", 16)
    lora_dropout: float = option("Dropout on the LoRA path.", 0.1)
    lora_target_modules: Optional[list] = option("Modules that get adapters (default: peft's choice for the "
                                                 "architecture, e.g. query,value for BERT).")
    merge_lora: bool = option("Save merged full weights instead of the adapter (loads without peft).", False)
    # Evaluation
    compare_baseline: bool = option("Also score the baseline on the same test reviews and put both in the card.",
                                    False)
    baseline_model: str = option("The baseline for --compare-baseline: Hub id or local directory.", BASELINE_ID)
    calibrate: bool = option("Fit a softmax temperature on the whole validation split and store it in config.json, "
                             "if it lowers held-out NLL in 2-fold cross-validation (--no-calibrate to skip).", True)
    onnx: bool = option("Also write onnx/model.onnx and, where OpenVINO is installed, openvino/openvino_model.xml, "
                        "each with its int8 file (ONNX Runtime's dynamic int8; OpenVINO's static int8, calibrated "
                        "with NNCF on 300 training reviews) when it agrees with fp32 on >= 99%% of up to 5,000 test "
                        "reviews with accuracy within 0.3 points: what ONNX Runtime, OpenVINO, transformers.js and "
                        "the Space load (--no-onnx to skip).", True)
    audit: bool = option("After test scoring, run the behaviour and fairness audit (CheckList-style capability "
                         "tests, counterfactual group gaps; python -m review_sentiment.evaluation.audit) on the "
                         "model and 200 test reviews, into metrics.json and the card (--no-audit to skip).", True)
    counterfactual_augmentation: bool = option("Also train on each training review that names a person or group term "
                                               "(gender words, first names, countries, religions) with those terms "
                                               "swapped, its label unchanged.", False)
    eval_dataset: Optional[list] = option("Also score the final model on another labelled set, NAME=PATH (a local "
                                          "directory/file or a Hub dataset id; same column options as --dataset; "
                                          "classes mapped by polarity). Repeatable; each becomes a model-index entry "
                                          "and a row of the card's 'Other domains' table.", repeat=True)
    # Search, tracking, stopping
    hp_search: Optional[int] = option("Search hyper-parameters first: N Optuna trials on the validation split, weak "
                                      "ones pruned; the best trial's settings train the final model.")
    hp_space: Optional[str] = option("JSON file replacing the default search space (learning_rate, epochs, "
                                     "weight_decay, warmup_ratio; lora_r, lora_alpha for LoRA).")
    report_to: Optional[str] = option("Experiment tracking: tensorboard (default when installed; event files in "
                                      "<output-dir>/runs, pushed with the model), trackio, wandb, mlflow or none.")
    early_stopping_patience: Optional[int] = option("Stop after this many evaluations without a better validation "
                                                    "accuracy (the best checkpoint is kept).")
    # Output
    output_dir: str = option("Where the model, metrics, plots and card go.", "outputs/model")
    overwrite_output_dir: bool = option("Replace an earlier run in --output-dir.", False)
    resume_from_checkpoint: Optional[str] = option("Continue an interrupted run: a checkpoint directory, or 'last' "
                                                   "for the newest one in --output-dir.")
    resume_after_training: bool = option(
        "Run only the steps after training (test scoring, other domains, audit, ONNX/OpenVINO and int8 bar, "
        "baseline, card) on the model a finished training saved in --output-dir: after one of them failed, or to "
        "redo them. Pass the run's other options unchanged.", False)
    keep_checkpoints: bool = option("Keep the intermediate checkpoints after training (default: delete them).",
                                    False)
    license: str = option("License declared in the model card.", "apache-2.0")
    # Hub
    gate_against: Optional[str] = option(
        "Score this model (Hub id or local directory: e.g. the one the Space serves now) on the same test reviews, "
        "other domains, audit and contrasts of the corrections, put the comparison in the card, and let "
        "--push-to-hub publish only if test accuracy is shown within 0.5 points (exact paired 95%% interval) and no "
        "other figure is shown worse beyond its margin (evaluation/gate.py).")
    push_to_hub: bool = option("Upload model, tokenizer, card and plots to the Hub in one commit.", False)
    hub_model_id: Optional[str] = option("Target repo, 'user/name' (required with --push-to-hub).")
    private: bool = option("Create the Hub repo as private.", False)

    def __post_init__(self):
        self.model = self.model or DEFAULT_BASE_MODELS[self.method]
        self.learning_rate = self.learning_rate or DEFAULT_LEARNING_RATES[self.method]
        self.dataset_name = self.dataset_name or self.dataset
        checks = [
            (self.method in DEFAULT_BASE_MODELS, f"--method must be full or lora, not {self.method!r}"),
            (self.truncation in TRUNCATIONS, f"--truncation must be one of {TRUNCATIONS}"),
            (self.max_length >= 8, "--max-length must be at least 8"),
            (self.epochs > 0, "--epochs must be positive"),
            (self.batch_size >= 1 and self.gradient_accumulation_steps >= 1, "batch sizes must be at least 1"),
            (self.learning_rate > 0, "--learning-rate must be positive"),
            (0 < self.val_size < 1 and 0 < self.test_size < 1, "--val-size and --test-size must be in (0, 1)"),
            (0 <= self.warmup_ratio < 1, "--warmup-ratio must be in [0, 1)"),
            (self.eval_steps > 0 and (self.eval_steps < 1 or self.eval_steps == int(self.eval_steps)),
             "--eval-steps must be a whole number of steps or a share in (0, 1)"),
            (self.max_train_samples is None or self.max_train_samples >= 4, "--max-train-samples must be >= 4"),
            (self.max_eval_samples is None or self.max_eval_samples >= 2, "--max-eval-samples must be >= 2"),
            (self.lora_r >= 1 and self.lora_alpha >= 1 and 0 <= self.lora_dropout < 1, "bad LoRA r/alpha/dropout"),
            (not self.merge_lora or self.method == "lora", "--merge-lora needs --method lora"),
            (not self.push_to_hub or bool(self.hub_model_id), "--push-to-hub needs --hub-model-id user/name"),
            (not self.hub_model_id or self.hub_model_id.count("/") == 1, "--hub-model-id must look like user/name"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)
        if self.merge_labels is not None:
            self.merge_labels = merge_map(self.merge_labels, self.label_names)
        if self.label_names is not None and len(set(self.label_names)) != len(self.label_names):
            raise UserError("--label-names must be distinct")
        for ok, message in [
            (self.hp_search is None or self.hp_search >= 1, "--hp-search needs at least 1 trial"),
            (self.hp_space is None or self.hp_search, "--hp-space needs --hp-search N"),
            (self.early_stopping_patience is None or self.early_stopping_patience >= 1,
             "--early-stopping-patience must be at least 1"),
        ]:
            if not ok:
                raise UserError(message)
        self.report_to = self.report_to or default_backend()
        check_backend(self.report_to)
        self.eval_sets = parse_eval_datasets(self.eval_dataset)
        self.mix = parse_mix(self.mix_dataset)
        self.mix_size = parse_size(self.mix_size)
        self.feedback = parse_feedback(self.feedback_dataset)
        if (self.feedback_contrasts or self.feedback_decisions or self.feedback_min_visitors != 1) \
                and self.feedback is None:
            raise UserError("--feedback-contrasts, --feedback-min-visitors and --feedback-decisions need "
                            "--feedback-dataset")
        if self.feedback_min_visitors < 1:
            raise UserError("--feedback-min-visitors must be at least 1")
        if self.feedback_decisions and not Path(self.feedback_decisions).is_file():
            raise UserError(f"--feedback-decisions {self.feedback_decisions}: no such file")
        if self.feedback_weight < 1:
            raise UserError("--feedback-weight must be at least 1")
        if self.gate_against and not self.audit:
            raise UserError("--gate-against compares the audits of both models: drop --no-audit")
        if self.mix is None and (self.mix_size is not None or self.mix_select != "all"):
            raise UserError("--mix-size and --mix-select need --mix-dataset NAME=PATH")
        if self.resume_after_training and (self.resume_from_checkpoint or self.overwrite_output_dir):
            raise UserError("--resume-after-training uses the model already in --output-dir: it takes neither "
                            "--resume-from-checkpoint nor --overwrite-output-dir")
        self.search_space = (load_space(self.hp_space, self.method) if self.hp_space else
                             default_space(self.method, self.learning_rate, self.epochs)) if self.hp_search else None

    @property
    def lora(self) -> dict | None:
        if self.method != "lora":
            return None
        return {"r": self.lora_r, "alpha": self.lora_alpha, "dropout": self.lora_dropout,
                "target_modules": self.lora_target_modules}

    @property
    def feedback_selection(self) -> dict:
        """Which corrections may train (data/feedback.feedback_rows): the same for training and the gate."""
        return {"min_visitors": self.feedback_min_visitors,
                "decisions": Path(self.feedback_decisions) if self.feedback_decisions else None}

    def to_dict(self) -> dict:
        return asdict(self)
