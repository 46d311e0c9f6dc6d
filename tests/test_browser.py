"""A real browser (Debian's chromium, driven by Playwright) against the launched app, as a Space visitor uses it.

Screenshots land in test-artifacts/ for a person to look at.
"""

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, LiveApp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        # Flags: no sandbox as root in CI; no background networking, since only loopback is reachable.
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_type_a_review_and_press_enter(page, live_app):
    page.goto(live_app.url)
    box = page.locator("#review textarea")
    box.fill("the acting was superb and the story wonderful , i loved it")
    box.press("Enter")
    agreement = page.locator("#agreement")
    agreement.get_by_text("fine-tuned").wait_for()
    assert "baseline" in agreement.inner_text()
    finetuned = page.locator("#finetuned").inner_text()
    assert "positive" in finetuned and "negative" in finetuned and "%" in finetuned
    baseline = page.locator("#baseline").inner_text()
    assert all(label in baseline for label in ["1 star", "3 stars", "5 stars"])
    assert "ms" in page.locator("#finetuned-line").inner_text()
    assert "★" in page.locator("#baseline-line").inner_text()
    page.screenshot(path=str(ARTIFACTS / "analyze.png"), full_page=True)


def test_click_an_example(page, live_app):
    page.goto(live_app.url)
    page.get_by_text("Clear negative", exact=True).click()
    page.locator("#agreement").get_by_text("fine-tuned").wait_for()
    assert "waste of two hours" in page.locator("#review textarea").input_value()
    assert "%" in page.locator("#finetuned").inner_text()
    page.screenshot(path=str(ARTIFACTS / "example.png"), full_page=True)


def test_empty_review_shows_a_message_not_an_error(page, live_app):
    page.goto(live_app.url)
    page.locator("#analyze").click()
    page.locator("#notes").get_by_text("type or paste a review").wait_for()
    assert "Traceback" not in page.content()


def test_batch_tab_upload_csv_and_download(page, live_app, tmp_path):
    csv = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1, 2], "text": ["great wonderful film", "awful boring plot"]}).to_csv(csv, index=False)
    page.goto(live_app.url)
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-file input[type=file]").set_input_files(str(csv))
    page.get_by_label("Text column").wait_for()
    page.locator("#run-batch").click()
    page.locator("#batch-status").get_by_text("2 reviews scored").wait_for()
    with page.expect_download() as download:
        page.locator("#batch-download a").first.click()
    saved = tmp_path / "downloaded.csv"
    download.value.save_as(saved)
    table = pd.read_csv(saved)
    assert table["review"].tolist() == ["great wonderful film", "awful boring plot"]
    assert "finetuned_label" in table.columns and "baseline_verdict" in table.columns
    page.screenshot(path=str(ARTIFACTS / "batch.png"), full_page=True)


def test_about_tab_shows_metrics_and_plots(page, live_app):
    page.goto(live_app.url)
    page.get_by_role("tab", name="About").click()
    page.get_by_text("Test split").wait_for()
    assert "accuracy" in page.locator("body").inner_text()
    assert page.locator("img").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "about.png"), full_page=True)


def test_missing_baseline_shows_its_notice(page, trained_model, tmp_path):
    app = LiveApp(trained_model, tmp_path / "no-baseline-here").wait()
    try:
        page.goto(app.url)
        page.get_by_text("Baseline unavailable").wait_for()
        assert "BASELINE_ID" in page.locator(".notice").first.inner_text()
        box = page.locator("#review textarea")
        box.fill("great wonderful film")
        box.press("Enter")
        page.locator("#agreement").get_by_text("Only one model").wait_for()
        assert "positive" in page.locator("#finetuned").inner_text()
        page.screenshot(path=str(ARTIFACTS / "missing-baseline.png"), full_page=True)
    finally:
        app.stop()


def test_explanation_highlights_words_for_an_example(page, live_app):
    page.goto(live_app.url)
    page.get_by_text("Clear positive", exact=True).click()
    page.locator("#agreement").get_by_text("fine-tuned").wait_for()
    page.locator("#explain").click()
    explanation = page.locator("#explanation")
    explanation.get_by_text("superb").wait_for()
    assert "triumph" in explanation.inner_text()
    page.screenshot(path=str(ARTIFACTS / "explanation.png"), full_page=True)
