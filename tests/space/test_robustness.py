"""The Space's "How robust is this verdict?" and the audits in its About tab: REST, the page in Chromium, and bad
input, against the launched app."""

import httpx
import pytest
from conftest import ARTIFACTS, HAS_CHROMIUM, analyze_on_page, open_app

from review_sentiment.space.views import robustness_html

REVIEW = "My sister Emily said the acting was superb and the story wonderful , and she is not wrong ."


def test_every_version_is_scored_by_both_models_with_its_flips(live_app):
    with httpx.Client(base_url=live_app.url, timeout=120) as http:
        answer = http.post("/api/v1/robustness", json={"text": REVIEW})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        plain = http.post("/api/v1/predict", json={"texts": [REVIEW]}).json()["predictions"][0]
    versions = body["versions"]
    changes = [v["change"] for v in versions]
    assert changes[0] == "the review as written" and versions[0]["text"] == REVIEW
    assert {"two typos", "contractions", "an irrelevant sentence added", "names swapped",
            "gender words swapped"} <= set(changes) and len(versions) <= 9
    assert versions[0]["finetuned"]["p_positive"] == pytest.approx(plain["probabilities"]["positive"], abs=1e-4)
    for version in versions[1:]:
        assert version["text"] != REVIEW
        for model in ("finetuned", "baseline"):
            scored = version[model]
            assert scored["flipped"] == (scored["verdict"] != versions[0][model]["verdict"])
            assert scored["verdict"] == ("positive" if scored["p_positive"] > 0.5 else "negative")
    swapped = dict(zip(changes, (v["text"] for v in versions)))["gender words swapped"]
    assert swapped.startswith("My brother") and " he is not wrong" in swapped
    assert body["notes"] == [] and body["seconds"] <= body["budget_s"] + 5


def test_a_review_without_people_says_so_and_bad_input_gets_a_clear_message(live_app):
    with httpx.Client(base_url=live_app.url, timeout=120) as http:
        plain = http.post("/api/v1/robustness", json={"text": "the acting was superb and the story wonderful"})
        assert plain.status_code == 200
        assert "names no person or group term" in plain.json()["notes"][0]
        assert not {"names swapped", "gender words swapped"} & {v["change"] for v in plain.json()["versions"]}
        for text, status, needle in (("   ", 422, "type or paste"), ("great " * 4000, 422, "limit is 20,000"),
                                     ("!!! ???", 200, "nothing to judge")):
            answer = http.post("/api/v1/robustness", json={"text": text})
            assert answer.status_code == status and needle in answer.json()["error"], answer.text


def test_flips_are_highlighted_in_the_table():
    result = {"versions": [
        {"change": "the review as written", "text": "good <b>film</b>", "finetuned": {"p_positive": 0.8,
                                                                                    "verdict": "positive"}},
        {"change": "two typos", "text": "godo film", "finetuned": {"p_positive": 0.3, "verdict": "negative",
                                                                   "flipped": True}}],
        "notes": [], "seconds": 0.5, "budget_s": 10}
    page = robustness_html(result)
    assert "<b>1 verdict flipped</b> over 1 versions" in page and "class='flip'" in page and "⚠ flipped" in page
    assert "&lt;b&gt;film" in page, "the visitor's text is escaped"


@pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian's chromium is not installed")
def test_the_robustness_view_and_the_audits_in_chromium(page, live_app):
    open_app(page, live_app.url)
    analyze_on_page(page, REVIEW)
    page.locator("#robustness").click()
    view = page.locator("#robustness-view")
    view.locator("table").wait_for(timeout=60_000)
    assert view.locator("tr").count() >= 7 and "flipped" in view.inner_text() and "gender words swapped" in \
        view.inner_text()
    page.screenshot(path=str(ARTIFACTS / "robustness.png"), full_page=True)
    page.get_by_role("tab", name="About").click()
    about = page.get_by_text("Behaviour and fairness audit").first
    about.wait_for()
    text = page.locator("body").inner_text()
    assert "worst behaviour tests" in text and "largest gap in P(positive)" in text, "the fine-tuned model's audit"
    assert "not measured for this model" in text, "the tiny star baseline carries none"
