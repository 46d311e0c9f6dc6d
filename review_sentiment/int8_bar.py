"""The bar an int8 model must meet before anything serves it by default, and the check train.py runs against it.

int8 is faster than fp32 on ONNX Runtime (by how much depends on the CPU: README "Performance"), but it flips the
odd review near the decision boundary, and on small encoders more than on large ones. So a quantised file ships
only when, on labelled test reviews, it agrees with fp32 on at least 99% of them and its accuracy is within 0.3
points of fp32's. McNemar's exact test on the reviews only one of the two gets right says whether the accuracy
difference is more than chance.

Two places run the check: train.py, for the model it trains (the passing file ships in the model's onnx/), and
publishing, for a Hub model that ships no ONNX files (`review_sentiment.publish`): the passing file then ships
with the Space, under checked-onnx/<owner>--<name>/<weights commit>/, with the figures beside it, and the loader
serves it only for exactly that commit (checked_onnx.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from .checked_onnx import CHECK_FILE, checked_folder

MIN_AGREEMENT = 0.99
MAX_ACCURACY_POINTS = 0.3
SAMPLES = 5_000  # enough to tell 99% agreement from 98% (one review is 0.02 points)


def mcnemar_p(labels, reference, candidate) -> float:
    """Exact (binomial) McNemar p-value: do two classifiers' accuracies differ on the same reviews?"""
    labels, reference, candidate = map(np.asarray, (labels, reference, candidate))
    only_reference = int(((reference == labels) & (candidate != labels)).sum())
    only_candidate = int(((candidate == labels) & (reference != labels)).sum())
    discordant = only_reference + only_candidate
    return 1.0 if discordant == 0 else float(binomtest(only_candidate, discordant, 0.5).pvalue)


def compare(labels, fp32_probs, int8_probs) -> dict:
    """Accuracy of each, their agreement, McNemar's p and whether the int8 model meets the bar."""
    labels = np.asarray(labels)
    fp32, int8 = np.asarray(fp32_probs).argmax(axis=1), np.asarray(int8_probs).argmax(axis=1)
    accuracy_fp32, accuracy_int8 = float((fp32 == labels).mean()), float((int8 == labels).mean())
    agreement = float((fp32 == int8).mean())
    points = 100 * (accuracy_int8 - accuracy_fp32)
    return {"reviews": int(len(labels)), "accuracy_fp32": accuracy_fp32, "accuracy_int8": accuracy_int8,
            "accuracy_points": points, "agreement": agreement, "mcnemar_p": mcnemar_p(labels, fp32, int8),
            "max_abs_prob_diff": float(np.abs(np.asarray(fp32_probs) - np.asarray(int8_probs)).max()),
            "passed": agreement >= MIN_AGREEMENT and abs(points) <= MAX_ACCURACY_POINTS}


def reason(check: dict) -> str:
    """One line for logs and the card."""
    verdict = "meets" if check["passed"] else "misses"
    tried = check.get("schemes_tried") or []
    scheme = (f"; scheme {check['scheme']}" + (f" (after {', '.join(t['scheme'] for t in tried[:-1])} missed it)"
                                               if len(tried) > 1 and check["passed"] else "")) if tried else ""
    return (f"int8 {verdict} the bar on {check['reviews']:,} test reviews: agreement {check['agreement']:.2%} "
            f"(>= {MIN_AGREEMENT:.0%}), accuracy {check['accuracy_int8']:.2%} vs fp32 {check['accuracy_fp32']:.2%} "
            f"({check['accuracy_points']:+.2f} points, within {MAX_ACCURACY_POINTS}), McNemar p = "
            f"{check['mcnemar_p']:.2f}{scheme}")


def check_schemes(predictor, fp32_path: Path, int8_path: Path, texts, labels) -> dict:
    """Score fp32 once, then quantise with each scheme in order (onnx.SCHEMES: the faster first) into `int8_path`
    and score it, until one meets the bar. Both on ONNX Runtime (CPU, as the Space serves them). Returns the last
    scheme's `compare`, with the scheme and what each scheme tried scored. Trying a second scheme on the same reviews
    is a second look at the same test: the schemes are two, fixed in advance, and the bar needs 99% agreement."""
    from . import onnx
    from .cpu import usable_cores

    def scores(path: Path, precision: str):
        # One review per call is too small a job to spread over many cores, so every core runs its own call
        # (faster already on 2 cores; the margin grows with the cores, e.g. a GPU machine's 16).
        return predictor.on("onnx", precision, path, threads=1).predict_proba(texts, progress=True,
                                                                              workers=usable_cores())
    fp32, tried = scores(fp32_path, "fp32"), []
    for scheme in onnx.SCHEMES:
        onnx.quantize(fp32_path, int8_path, scheme)
        check = compare(labels, fp32, scores(int8_path, "int8"))
        tried.append({"scheme": scheme, "agreement": check["agreement"], "accuracy_points": check["accuracy_points"],
                      "passed": check["passed"]})
        if check["passed"]:
            break
    return check | {"scheme": scheme, "schemes_tried": tried}


def export_and_check(predictor, folder: Path, texts, labels) -> tuple[dict[str, Path], dict]:
    """onnx/model.onnx exported into `folder`, and onnx/model_quantized.onnx from the first scheme that meets the bar
    (or the last tried): ({"fp32": path, "int8": path}, check_schemes' result)."""
    from . import onnx

    paths = {"fp32": onnx.export(predictor.model, predictor.tokenizer, folder / onnx.FP32_FILE),
             "int8": folder / onnx.INT8_FILE}
    return paths, check_schemes(predictor, paths["fp32"], paths["int8"], texts, labels)


def ship(folder, texts, labels) -> dict:
    """Write onnx/model.onnx and onnx/model_quantized.onnx into the saved model's `folder`, score `texts` with both,
    and keep the int8 file only if it meets the bar. Returns what metrics.json and the card report."""
    from .predictor import Predictor

    folder = Path(folder)
    predictor = Predictor.load(str(folder), device="cpu")
    paths, check = export_and_check(predictor, folder, texts, labels)
    if not check["passed"]:
        paths.pop("int8").unlink()
    return {"files": sorted(p.relative_to(folder).as_posix() for p in paths.values()), "int8": check,
            "summary": reason(check) + ("" if check["passed"] else "; only the fp32 file ships")}


def check_hub_model(predictor, texts, labels, dataset: str, out: Path) -> dict:
    """For a Hub model that ships no ONNX files (publishing): export and quantise it, run the bar on `texts`, and
    when int8 passes, put the file and its figures under `out`/<owner>--<name>/<commit>/ for the Space to ship.
    Returns the check with a one-line summary; fp32 alone (exported at the Space's first start) when it misses."""
    import tempfile

    from . import onnx

    files = predictor.files
    with tempfile.TemporaryDirectory() as tmp:
        paths, check = export_and_check(predictor, Path(tmp), texts, labels)
        check |= {"dataset": dataset, "repo": files.repo_id, "revision": files.revision,
                  "summary": reason(check) + ("; the Space ships it" if check["passed"]
                                              else "; the Space serves fp32, exported at its first start")}
        if check["passed"]:
            folder = checked_folder(files.repo_id, files.revision, out)
            (folder / onnx.FOLDER).mkdir(parents=True, exist_ok=True)
            shutil.copy2(paths["int8"], folder / onnx.INT8_FILE)
            (folder / CHECK_FILE).write_text(json.dumps(check, indent=1))
    return check
