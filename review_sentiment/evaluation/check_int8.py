"""The int8 bar for a model train.py did not make: a Hub model (publishing runs this for the fine-tuned model and
the baseline) or a local folder, such as a copy of the baseline the Space is given as BASELINE_ID=./folder.

Export and quantise it (ONNX Runtime's dynamic int8; OpenVINO's static int8, calibrated on the dataset's train
reviews, tried again with NNCF's accuracy control on other train reviews where it misses), score its test reviews with
fp32 and each int8 file (int8_bar.py: a star model on its stars and its polarity verdict), and keep each file that met
the bar with its figures: for a Hub model under checked-onnx/<owner>--<name>/<commit>/ (the Space ships it), for a
local folder in the folder itself, beside int8_check.json, where the app finds it
at its next start. A model's first start does not run this: on a Space's 2 cores a BERT-base baseline scores a
~230-word review in about 270 ms in fp32, 100 with ONNX Runtime's int8 and 55 with OpenVINO's (Intel Xeon AMX class,
benchmarks/README.md), so 5,000 reviews through each take about 35 minutes, which visitors would wait through.

    python -m review_sentiment.evaluation.check_int8 --model ./nlptown-copy --dataset stanfordnlp/imdb
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from ..cli import option, parse, run
from ..data.domains import align, load_eval_set
from ..data.language import detect_language
from ..data.splits import labelled_split, resolve_dataset, stratified_subset
from ..errors import UserError
from ..export.checked_onnx import checked_root
from ..export.files import SERVED_INT8
from ..export.int8_bar import SAMPLES, check_hub_model
from ..export.openvino_ir import CALIBRATION_SAMPLES, VALIDATION_SAMPLES
from ..inference.predictor import Predictor


def check_model(model: str, dataset: str, samples: int = SAMPLES, revision: str | None = None,
                out: Path | None = None) -> dict[str, dict]:
    """{"onnx" | "openvino": the check, with a one-line summary} for `model` (a Hub id at `revision`, or a local
    folder) on `dataset`'s test reviews; the passing files go under `out` (checked-onnx/) for a Hub model and into
    the folder for a local one. The check records the languages of the reviews it read: the baseline reads six,
    and IMDb holds English only."""

    test, names = load_eval_set(dataset, "text", "label")
    predictor = Predictor.load(model, revision=revision, device="cpu")
    # The dataset's classes in the model's ids (IMDb's negative/positive onto NEGATIVE/POSITIVE, or onto a star
    # model's 2 and 5 stars, whose polarity the bar reads), as other domains.
    test, _, _ = align(test, names, predictor.labels)
    sample = stratified_subset(test, samples, seed=42)
    languages = pd.Series([detect_language(text)["code"] for text in sample["text"]]).value_counts().to_dict()
    root = resolve_dataset(dataset)
    train, _ = labelled_split(root, "train", names=names) if root.is_dir() else (None, None)
    calibration = validation = None
    if train is not None:
        # OpenVINO's static int8 is calibrated on train reviews; where it misses, accuracy control reads the bar on
        # other train reviews, labelled in the model's ids as the test reviews are.
        train, _, _ = align(train, names, predictor.labels)
        calibration = stratified_subset(train, CALIBRATION_SAMPLES, seed=42)
        rest = stratified_subset(train[~train["text"].isin(calibration["text"])], VALIDATION_SAMPLES, seed=43)
        calibration, validation = calibration["text"].tolist(), (rest["text"].tolist(), rest["label"].to_numpy())
    return check_hub_model(predictor, sample["text"].tolist(), sample["label"].to_numpy(), dataset,
                           out or checked_root(), calibration, languages, validation)


@dataclass
class CheckConfig:
    model: str = option("The model to check: a Hub id, or a local folder (the passing files are written into it).")
    dataset: str = option("Labelled reviews: a Hub dataset id or a local directory holding test.* (columns text, "
                          "label), and train.* to calibrate OpenVINO's int8 on.", "stanfordnlp/imdb")
    samples: int = option("Test reviews the check scores (stratified).", SAMPLES)
    revision: Optional[str] = option("Revision of a Hub --model (default: main, or its safetensors conversion PR).")

    def __post_init__(self):
        if not self.model:
            raise UserError("--model is required: a Hub id or a local folder")
        if self.samples < 1:
            raise UserError("--samples must be at least 1")
        folder = Path(self.model)
        if folder.is_dir() and any((folder / name).is_file() for name in SERVED_INT8):
            raise UserError(f"{folder} already holds int8 files; remove them to check it again.")


def main(argv: list[str] | None = None) -> None:
    cfg = parse(CheckConfig, argv, "Run the int8 accuracy bar on a model train.py did not make, and keep the files "
                                   "that pass.")
    for name, check in check_model(cfg.model, cfg.dataset, cfg.samples, cfg.revision).items():
        print(f"{cfg.model}, {name}: {check['summary']}")


if __name__ == "__main__":
    raise SystemExit(run(main))
