"""The "not English" notice: offline language identification (py3langid's model ships in its wheel), beside the
fine-tuned verdict on the page, a `language` field in REST, /predict and the bulk CLI."""

import json

import httpx
import pandas as pd
import pytest
from conftest import ROOT

from review_sentiment.data.language import detect_language, notice
from review_sentiment.space.service import Service
from review_sentiment.space.views import model_line

SHORT = json.loads((ROOT / "benchmarks/data/short_reviews.json").read_text())
FRENCH = "Un film magnifique, les acteurs sont excellents et la fin m'a beaucoup ému."


@pytest.mark.parametrize("text, code", [
    (FRENCH, "fr"), ("Ein wunderbarer Film, die Schauspieler sind großartig.", "de"),
    ("Una película aburrida y demasiado larga, no la recomiendo.", "es"),
    ("Het acteerwerk is fantastisch en het verhaal is spannend.", "nl"),
    ("The acting was superb and the story kept me gripped until the end.", "en"),
])
def test_the_language_of_a_review(text, code):
    found = detect_language(text)
    assert found["code"] == code and 0 < found["confidence"] <= 1
    assert (notice(found) is None) == (code == "en")


def test_no_english_review_of_the_benchmark_set_gets_the_notice_and_most_others_do():
    """The rule errs on the side of silence: a wrong notice on English is worse than a missed one."""
    assert all(notice(detect_language(t)) is None for t in SHORT["en"])
    others = [t for lang, texts in SHORT.items() if lang not in ("en", "_about") for t in texts]
    flagged = sum(notice(detect_language(t)) is not None for t in others)
    assert flagged / len(others) > 0.9, flagged


def test_the_notice_sits_beside_the_fine_tuned_verdict_and_in_the_answers(trained_model, star_baseline):
    service = Service(str(trained_model), str(star_baseline))
    french = service.compare(FRENCH)
    assert french["language"]["code"] == "fr" and "looks French" in french["finetuned"]["language_notice"]
    assert "looks French" in model_line(service.model, french["finetuned"])
    assert "language_notice" not in french["baseline"], "the baseline reads French"
    english = service.compare("great wonderful film , i loved it")
    assert "language_notice" not in english["finetuned"] and "🌐" not in model_line(service.model,
                                                                                  english["finetuned"])
    assert [p["language"]["code"] for p in service.predict([FRENCH, "a great film"])][0] == "fr"


def test_rest_and_the_bulk_cli_carry_the_language(live_app, trained_model, tmp_path):
    body = httpx.post(f"{live_app.url}/api/v1/predict", json={"texts": [FRENCH]}, timeout=60).json()
    assert body["predictions"][0]["language"]["code"] == "fr"
    import subprocess
    import sys

    from conftest import subprocess_env
    source = tmp_path / "in.csv"
    texts = [FRENCH, "the acting was superb and the story wonderful", "😍🔥"]
    pd.DataFrame({"text": texts}).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    result = subprocess.run([sys.executable, "-m", "review_sentiment.bulk", "--model", str(trained_model), "--input",
                             str(source), "--output", str(out)], capture_output=True, text=True, cwd=ROOT,
                            env=subprocess_env(HF_HUB_OFFLINE="1"), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    scored = pd.read_csv(out, keep_default_na=False)
    assert scored["language"].tolist() == ["fr", "en", ""], "no language for a row that is no review"
