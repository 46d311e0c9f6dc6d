"""The bar an int8 model must meet before anything serves it by default, and the check train.py runs against it.

int8 is faster than fp32 on ONNX Runtime and OpenVINO (by how much depends on the CPU: benchmarks/README.md), but it
flips the odd review near the decision boundary, and on small encoders more than on large ones. So a quantised file
ships only when, on labelled test reviews, it agrees with fp32 on at least 99% of them and its accuracy is within 0.3
points of fp32's. McNemar's exact test on the reviews only one of the two gets right says whether the accuracy
difference is more than chance. Every int8 file is held to it on its own: ONNX Runtime's dynamic int8
(onnx/model_quantized.onnx) and OpenVINO's static int8 (openvino/openvino_model_qint8_quantized.xml, calibrated on
training reviews; calibration reviews that are among the scored ones are left out and counted).

Two places run the check: train.py, for the model it trains (the passing files ship in the model's onnx/ and
openvino/), and publishing, for a Hub model that ships no ONNX files (`review_sentiment.space.publish`): the passing
files then ship with the Space, under checked-onnx/<owner>--<name>/<weights commit>/, with the figures beside them,
and the loader serves them only for exactly that commit (checked_onnx.py).

A star-rating model (the baseline: "1 star" .. "5 stars") is held to the bar on what it answers: its stars must agree
with fp32's on 99% of reviews, and so must its polarity verdict (1-2 stars negative, 4-5 positive: data/stars.py),
whose accuracy on the labelled reviews is the one held within 0.3 points.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from ..data.stars import polarities, positive_probability, star_values
from .checked_onnx import BF16_KEY, CHECK_FILE, checked_folder
from .files import parts

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


def compare(labels, fp32_probs, int8_probs, class_names: list[str] | None = None) -> dict:
    """Accuracy of each, their agreement, McNemar's p and whether the int8 model meets the bar. For a star model
    (`class_names` "1 star" .. "5 stars", `labels` in its ids as domains.align maps polarity onto them) the stars'
    agreement is `agreement`, and accuracy and `polarity_agreement` are read on the polarity verdicts."""
    labels, fp32_probs, int8_probs = np.asarray(labels), np.asarray(fp32_probs), np.asarray(int8_probs)
    fp32, int8 = fp32_probs.argmax(axis=1), int8_probs.argmax(axis=1)
    agreement = float((fp32 == int8).mean())
    extra, judged = {}, (fp32, int8)
    if class_names and star_values(class_names):
        kinds = np.array(polarities(class_names))
        labels = kinds[labels] == "positive"
        judged = tuple(positive_probability(class_names, probs) > 0.5 for probs in (fp32_probs, int8_probs))
        extra = {"stars": True, "polarity_agreement": float((judged[0] == judged[1]).mean())}
    accuracy_fp32, accuracy_int8 = (float((verdicts == labels).mean()) for verdicts in judged)
    points = 100 * (accuracy_int8 - accuracy_fp32)
    return {"reviews": int(len(labels)), "accuracy_fp32": accuracy_fp32, "accuracy_int8": accuracy_int8,
            "accuracy_points": points, "agreement": agreement, "mcnemar_p": mcnemar_p(labels, *judged),
            "max_abs_prob_diff": float(np.abs(fp32_probs - int8_probs).max()), **extra,
            "passed": min(agreement, extra.get("polarity_agreement", 1.0)) >= MIN_AGREEMENT
            and abs(points) <= MAX_ACCURACY_POINTS}


def reason(check: dict) -> str:
    """One line for logs and the card."""
    verdict = "meets" if check["passed"] else "misses"
    precision = check.get("precision", "int8")
    tried = check.get("schemes_tried") or []
    scheme = (f"; scheme {check['scheme']}" + (f" (after {', '.join(t['scheme'] for t in tried[:-1])} missed it)"
                                               if len(tried) > 1 and check["passed"] else "")) if tried else ""
    if "calibration" in check:
        scheme = f"; static, calibrated on {check['calibration']['reviews']:,} training reviews"
        if check.get("scheme") == "accuracy control":  # after plain static int8 missed
            kept, static = check["calibration"]["kept_fp32"] or [], check["schemes_tried"][0]
            scheme += (f", with NNCF's accuracy control keeping {len(kept)} matrix products in fp32 (plain static "
                       f"agreed on {static['agreement']:.2%}, {static['accuracy_points']:+.2f} points)")
    if precision == "bf16":
        scheme = f"; the fp32 file run in bf16 on {check['cpu']}"
    if check.get("languages"):  # the baseline reads six languages; the check covers those its reviews are in
        from ..data.language import NAMES

        scheme += "; reviews checked: " + ", ".join(f"{NAMES.get(code, code)} {count:,}"
                                                    for code, count in check["languages"].items())
    agreement = f"agreement {check['agreement']:.2%}" if not check.get("stars") else \
        f"stars agree on {check['agreement']:.2%}, the polarity verdict on {check['polarity_agreement']:.2%}"
    polarity = "polarity " if check.get("stars") else ""
    return (f"{precision} {verdict} the bar on {check['reviews']:,} test reviews: {agreement} "
            f"(>= {MIN_AGREEMENT:.0%}), {polarity}accuracy {check['accuracy_int8']:.2%} vs fp32 "
            f"{check['accuracy_fp32']:.2%} "
            f"({check['accuracy_points']:+.2f} points, within {MAX_ACCURACY_POINTS}), McNemar p = "
            f"{check['mcnemar_p']:.2f}{scheme}")


def scores(predictor, runtime: str, precision: str, path: Path, texts) -> np.ndarray:
    """Probabilities from the file at `path` on `runtime` (CPU, as the Space serves it). One review per call is too
    small a job to spread over many cores, so every core runs its own call (faster already on 2 cores; the margin
    grows with the cores, e.g. a GPU machine's 16)."""
    from ..cpu import usable_cores

    return predictor.on(runtime, precision, path, threads=1).predict_proba(texts, progress=True,
                                                                          workers=usable_cores())


def check_schemes(predictor, fp32_path: Path, int8_path: Path, texts, labels, fp32=None) -> dict:
    """Quantise with each ONNX Runtime scheme in order (onnx.SCHEMES: the faster first) into `int8_path` and score it
    against fp32's probabilities (`fp32`, scored here if not given), until one meets the bar. Returns the last
    scheme's `compare`, with the scheme and what each scheme tried scored. Trying a second scheme on the same reviews
    is a second look at the same test: the schemes are two, fixed in advance, and the bar needs 99% agreement."""
    from . import onnx

    fp32, tried = scores(predictor, "onnx", "fp32", fp32_path, texts) if fp32 is None else fp32, []
    for scheme in onnx.SCHEMES:
        onnx.quantize(fp32_path, int8_path, scheme)
        check = compare(labels, fp32, scores(predictor, "onnx", "int8", int8_path, texts), predictor.labels)
        tried.append({"scheme": scheme, "agreement": check["agreement"], "accuracy_points": check["accuracy_points"],
                      "passed": check["passed"]})
        if check["passed"]:
            break
    return check | {"scheme": scheme, "schemes_tried": tried}


def disjoint(calibration, texts) -> tuple[list[str], int]:
    """The calibration reviews that are not among the scored `texts` (the same text may sit in two splits: IMDb's
    train and test share 123), and how many were left out: a file calibrated on what scores it would flatter it."""
    from .openvino_ir import fingerprint

    scored = {fingerprint(t) for t in texts}
    kept = [t for t in calibration if fingerprint(t) not in scored]
    return kept, len(calibration) - len(kept)


def bar_score(labels, fp32_probs, probs, class_names: list[str] | None = None) -> float:
    """The bar as one number, for NNCF's accuracy control: 1.0 for fp32 itself, and at least MIN_AGREEMENT exactly
    when `compare` passes (each agreement at least MIN_AGREEMENT, and accuracy within MAX_ACCURACY_POINTS, read as a
    share of the same 1 - MIN_AGREEMENT). So the bar holds where the drop from fp32 is at most 1 - MIN_AGREEMENT."""
    check = compare(labels, fp32_probs, probs, class_names)
    return min(check["agreement"], check.get("polarity_agreement", 1.0),
               1 - (1 - MIN_AGREEMENT) * abs(check["accuracy_points"]) / MAX_ACCURACY_POINTS)


def check_openvino(predictor, fp32_path: Path, folder: Path, texts, labels, fp32, calibration,
                   validation=None) -> dict | None:
    """openvino/openvino_model.xml from the fp32 ONNX file, and the static int8 file calibrated on `calibration`
    (training reviews, never `texts`) scored against fp32's probabilities. Where it misses the bar and `validation`
    holds labelled reviews (texts, labels) the bar does not score, NNCF's accuracy control tries again, keeping in
    fp32 the operations that cost the bar on them (openvino_ir.quantize_with_accuracy_control); its file is then
    scored on `texts` like the first, so nothing ships that the bar did not pass on reviews it never saw. Returns the
    check with what calibrated it, {"skipped": why} where it cannot be made here, or None where OpenVINO is not
    installed."""
    from . import openvino_ir

    if not openvino_ir.available():
        return None
    openvino_ir.convert(fp32_path, folder / openvino_ir.FP32_FILE)
    if not openvino_ir.nncf_available():
        return {"skipped": openvino_ir.NNCF_MISSING}
    if not calibration:
        return {"skipped": "no training reviews to calibrate on; only fp32 is written"}
    calibration, dropped = disjoint(calibration, texts)
    if not calibration:
        return {"skipped": "every calibration review is among the reviews the bar scores; only fp32 is written"}
    int8_path = folder / openvino_ir.INT8_FILE
    calibrated = openvino_ir.quantize(folder / openvino_ir.FP32_FILE, int8_path, predictor, calibration) | \
        {"dropped_scored": dropped}
    check = compare(labels, fp32, scores(predictor, "openvino", "int8", int8_path, texts), predictor.labels) | \
        {"scheme": "static", "calibration": calibrated}
    if check["passed"] or not validation or not len(validation[0]):
        return check
    return check_accuracy_control(predictor, folder, texts, labels, fp32, calibration, validation, check)


def check_accuracy_control(predictor, folder: Path, texts, labels, fp32, calibration, validation, static) -> dict:
    """The second OpenVINO scheme, after plain static int8 (`static`, its check) missed: NNCF's accuracy control
    with the bar (`bar_score`) read on `validation`'s reviews, then the bar on `texts`. A file left with no int8
    operation is fp32 under another name: the static check stands, the attempt recorded beside it."""
    from . import openvino_ir

    scored = set(texts)  # as calibration: a review the bar scores never steers what is kept in fp32
    keep = [i for i, text in enumerate(validation[0]) if text not in scored]
    validation_texts, validation_labels = [validation[0][i] for i in keep], np.asarray(validation[1])[keep]
    if not validation_texts:
        return static
    int8_path = folder / openvino_ir.INT8_FILE

    def score(rows, reference, probs):
        return bar_score(validation_labels[rows], reference, probs, predictor.labels)

    controlled = openvino_ir.quantize_with_accuracy_control(
        folder / openvino_ir.FP32_FILE, int8_path, predictor, calibration, validation_texts, score,
        1 - MIN_AGREEMENT)
    tried = [{"scheme": "static", "agreement": static["agreement"], "accuracy_points": static["accuracy_points"],
              "passed": False}]
    if not controlled["int8_operations"]:
        return static | {"schemes_tried": tried + [{"scheme": "accuracy control", "passed": False,
                                                    "kept_fp32": controlled["kept_fp32"], "int8_operations": 0}]}
    check = compare(labels, fp32, scores(predictor, "openvino", "int8", int8_path, texts), predictor.labels)
    tried.append({"scheme": "accuracy control", "agreement": check["agreement"],
                  "accuracy_points": check["accuracy_points"], "passed": check["passed"]})
    return check | {"scheme": "accuracy control", "calibration": static["calibration"] | controlled,
                    "schemes_tried": tried}


def check_bf16(predictor, xml: Path, texts, labels, fp32) -> dict | None:
    """OpenVINO's fp32 file run in bf16, scored against fp32 like an int8 file, where this CPU computes bf16 itself
    (AMX or AVX-512 BF16; cpu.native_bf16); None elsewhere, since there the hint would run fp32, not what a Space
    with bf16 runs."""
    from ..cpu import cpu_info, describe, native_bf16

    if not native_bf16():
        return None
    return compare(labels, fp32, scores(predictor, "openvino", "bf16", xml, texts), predictor.labels) | \
        {"precision": "bf16", "cpu": describe(cpu_info())}


def export_and_check(predictor, folder: Path, texts, labels, calibration=None, validation=None) -> dict[str, dict]:
    """onnx/model.onnx exported into `folder` with onnx/model_quantized.onnx from the first scheme that meets the bar
    (or the last tried), and where OpenVINO is installed openvino/openvino_model.xml with its static int8 file
    calibrated on `calibration`, tried again with accuracy control on `validation` (labelled reviews, as a pair of
    texts and labels) where it misses (and, on a CPU that computes bf16, the fp32 file's bf16 check).
    {"onnx" | "openvino": {"paths": {"fp32": path, "int8": path}, "check": ..., "bf16": ...}}; fp32 is scored once on
    ONNX Runtime and is every check's reference."""
    from . import onnx, openvino_ir

    fp32_path = onnx.export(predictor.model, predictor.tokenizer, folder / onnx.FP32_FILE)
    fp32 = scores(predictor, "onnx", "fp32", fp32_path, texts)
    out = {"onnx": {"paths": {"fp32": fp32_path, "int8": folder / onnx.INT8_FILE},
                    "check": check_schemes(predictor, fp32_path, folder / onnx.INT8_FILE, texts, labels, fp32)}}
    found = check_openvino(predictor, fp32_path, folder, texts, labels, fp32, calibration, validation)
    if found is not None:
        out["openvino"] = {"paths": {"fp32": folder / openvino_ir.FP32_FILE, "int8": folder / openvino_ir.INT8_FILE},
                           "check": found,
                           "bf16": check_bf16(predictor, folder / openvino_ir.FP32_FILE, texts, labels, fp32)}
    return out


def summary(check: dict) -> str:
    return check["skipped"] if "skipped" in check else reason(check)


def ship(predictor, folder, texts, labels, calibration=None, validation=None) -> dict:
    """Write onnx/ (and openvino/, where OpenVINO is installed) into the saved model's `folder`, exported from
    `predictor` (that model on CPU, as any user loads it), score `texts` with every file, and keep each int8 file
    only if it meets the bar. Returns what metrics.json and the card report, per folder: {"onnx": {"files", "int8",
    "summary"}, "openvino": {...}}."""
    folder = Path(folder)
    report = {}
    for name, made in export_and_check(predictor, folder, texts, labels, calibration, validation).items():
        check, paths = made["check"], made["paths"]
        skipped = "skipped" in check
        if not check.get("passed"):
            for part in parts(paths.pop("int8").relative_to(folder).as_posix()):
                (folder / part).unlink(missing_ok=True)
        report[name] = {"files": sorted(f for p in paths.values() for f in parts(p.relative_to(folder).as_posix())),
                        "int8": None if skipped else check,
                        "summary": summary(check) + ("" if skipped or check["passed"]
                                                     else "; only the fp32 file ships")}
        if made.get("bf16"):  # OpenVINO on a CPU that computes bf16: the fp32 file in bf16, checked the same way
            report[name] |= {"bf16": made["bf16"], "summary": report[name]["summary"] + "; " + reason(made["bf16"])}
    return report


def check_hub_model(predictor, texts, labels, dataset: str, out: Path, calibration=None,
                    languages: dict[str, int] | None = None, validation=None) -> dict:
    """For a Hub model that ships no ONNX files (publishing): export and quantise it, run the bar on `texts`, and
    put each int8 file that passes under `out`/<owner>--<name>/<commit>/ with its figures (int8_check.json, keyed by
    file) for the Space to ship. Returns {"onnx" | "openvino": check with a one-line summary}; a runtime whose file
    misses serves fp32 (exported at the Space's first start). On a CPU that computes bf16 OpenVINO's fp32 graph is
    checked in bf16 too ("openvino bf16"), and recorded under BF16_KEY where it passes: a Space whose CPU computes
    bf16 then offers it."""
    import tempfile

    files = predictor.files
    results: dict[str, dict] = {}
    passed: dict[str, dict] = {}  # {file: its check}, written once as int8_check.json
    # A Hub commit's files go under checked-onnx/ (the Space ships them); a local folder's into the folder itself,
    # where shipped_files and check_of find them as they find train.py's.
    folder = checked_folder(files.repo_id, files.revision, out) if files.repo_id else Path(files.weights_dir)
    kept = "the Space ships it" if files.repo_id else f"kept in {folder}"
    with tempfile.TemporaryDirectory() as tmp:
        for name, made in export_and_check(predictor, Path(tmp), texts, labels, calibration, validation).items():
            check = made["check"] | {"dataset": dataset, "repo": files.repo_id, "revision": files.revision,
                                     **({"languages": languages} if languages else {})}
            check["summary"] = summary(check) + ("" if "skipped" in check else f"; {kept}" if check["passed"] else
                                                 "; fp32 serves, exported at the first start")
            results[name] = check
            if check.get("passed"):
                rel = made["paths"]["int8"].relative_to(tmp).as_posix()
                for part in parts(rel):
                    (folder / part).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(Path(tmp) / part, folder / part)
                passed[rel] = check
            if made.get("bf16"):  # this CPU computes bf16: the fp32 graph in bf16, checked the same way (no file)
                bf16 = made["bf16"] | {key: check[key] for key in ("dataset", "repo", "revision", "languages")
                                       if key in check}
                bf16["summary"] = reason(bf16) + (f"; recorded, {kept}" if bf16["passed"] else "")
                results[f"{name} {BF16_KEY}"] = bf16
                if bf16["passed"]:
                    passed[BF16_KEY] = bf16
    if passed:
        (folder / CHECK_FILE).write_text(json.dumps(passed, indent=1))
    return results
