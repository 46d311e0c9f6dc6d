"""A real browser (Debian's chromium, driven by Playwright) against the launched app, as a Space visitor uses it.

Screenshots land in test-artifacts/ for a person to look at.
"""

import pandas as pd
import pytest
from conftest import ARTIFACTS, HAS_CHROMIUM, LiveApp, analyze_on_page, free_port, open_app

pytestmark = pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian's chromium is not installed")


def test_type_a_review_and_press_enter(page, live_app):
    from playwright.sync_api import expect

    open_app(page, live_app.url)
    # Typed as a visitor types, a key at a time.
    box = page.locator("#review textarea")
    box.click()
    box.press_sequentially("the acting was superb and the story wonderful , i loved it")
    expect(box).to_have_value("the acting was superb and the story wonderful , i loved it")
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


def test_star_distribution_reads_in_star_order_as_bars(page, live_app):
    open_app(page, live_app.url)
    analyze_on_page(page, "awful boring plot and the worst acting , a waste")
    chart = page.locator("#baseline .dist")
    text = chart.inner_text()
    positions = [text.index(label) for label in ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]]
    assert positions == sorted(positions), text
    widths = chart.locator(".dist-bar > span").evaluate_all("els => els.map(e => parseFloat(e.style.width))")
    assert len(widths) == 5 and sum(widths) == pytest.approx(100, abs=1)
    assert chart.locator(".dist-negative").count() == 2 and chart.locator(".dist-positive").count() == 2
    assert "1 star" in chart.get_attribute("aria-label")
    page.locator("#baseline").screenshot(path=str(ARTIFACTS / "star-chart.png"))


def test_examples_sit_under_the_review_box_on_a_phone(browser, live_app):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_app(page, live_app.url)
        button = page.locator("#analyze").bounding_box()
        first = page.get_by_text("Clear negative", exact=True)
        example = first.bounding_box()
        results = page.locator("#finetuned").bounding_box()
        assert 0 <= example["y"] - (button["y"] + button["height"]) < 200, (button, example)
        assert example["y"] < results["y"], "examples come before the result panels"
        page.screenshot(path=str(ARTIFACTS / "phone.png"), full_page=False)
        first.tap()
        page.locator("#agreement").get_by_text("fine-tuned").wait_for()
        page.screenshot(path=str(ARTIFACTS / "phone-result.png"), full_page=True)
    finally:
        context.close()


def test_too_large_upload_is_refused_on_the_page(page, live_app, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"text\n" + b"a fine film\n" * 600_000)  # 7.2 MB, over the 5 MB limit
    open_app(page, live_app.url)
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-file input[type=file]").set_input_files(str(big))
    page.get_by_text("maximum allowed size").wait_for()
    body = page.locator("body").inner_text()
    page.screenshot(path=str(ARTIFACTS / "upload-too-large.png"), full_page=True)
    assert "maximum allowed size of 5.0 Mb" in body, body[-1500:]
    assert "Traceback" not in body


def test_share_link_that_cannot_be_made_is_one_line_and_the_app_keeps_serving(page, trained_model, star_baseline):
    # The tunnel request goes through a proxy on a closed loopback port: refused at once, nothing leaves the machine.
    proxy = f"http://127.0.0.1:{free_port()}"
    app = LiveApp(trained_model, star_baseline, args=["--share"],
                  extra_env={"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": "127.0.0.1,localhost"}).wait()
    try:
        open_app(page, app.url)
        page.screenshot(path=str(ARTIFACTS / "share-refused.png"))
        analyze_on_page(page, "great wonderful film")
        output = app.output()
        refusals = [line for line in output.splitlines() if "share link" in line.lower()]
        assert len(refusals) == 1 and refusals[0].startswith("No public share link"), output[-2000:]
        assert "Traceback" not in output and "Missing file" not in output
    finally:
        app.stop()


def test_click_an_example(page, live_app):
    open_app(page, live_app.url)
    page.get_by_text("Clear negative", exact=True).click()
    page.locator("#agreement").get_by_text("fine-tuned").wait_for()
    assert "waste of two hours" in page.locator("#review textarea").input_value()
    assert "%" in page.locator("#finetuned").inner_text()
    page.screenshot(path=str(ARTIFACTS / "example.png"), full_page=True)


def test_empty_review_shows_a_message_not_an_error(page, live_app):
    open_app(page, live_app.url)
    page.locator("#analyze").click()
    page.locator("#notes").get_by_text("type or paste a review").wait_for()
    assert "Traceback" not in page.content()


def test_batch_tab_upload_csv_and_download(page, live_app, tmp_path):
    csv = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1, 2], "text": ["great wonderful film", "awful boring plot"]}).to_csv(csv, index=False)
    open_app(page, live_app.url)
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


def test_about_tab_shows_metrics_plots_and_where_each_model_comes_from(page, live_app):
    open_app(page, live_app.url)
    page.get_by_role("tab", name="About").click()
    page.get_by_text("Test split").wait_for()
    text = page.locator("body").inner_text()
    assert "accuracy" in text
    assert "Fine-tuned with this project's train.py" in text and text.count("Loaded from the local folder") == 2
    assert page.locator("img").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "about.png"), full_page=True)


def test_missing_baseline_shows_its_notice(page, trained_model, tmp_path):
    app = LiveApp(trained_model, tmp_path / "no-baseline-here").wait()
    try:
        open_app(page, app.url)
        page.get_by_text("Baseline unavailable").wait_for()
        assert "BASELINE_ID" in page.locator(".notice").first.inner_text()
        analyze_on_page(page, "great wonderful film", expect_in_agreement="Only one model")
        assert "positive" in page.locator("#finetuned").inner_text()
        page.screenshot(path=str(ARTIFACTS / "missing-baseline.png"), full_page=True)
    finally:
        app.stop()


def test_explanation_highlights_words_for_an_example(page, live_app):
    open_app(page, live_app.url)
    page.get_by_text("Clear positive", exact=True).click()
    page.locator("#agreement").get_by_text("fine-tuned").wait_for()
    page.locator("#explain").click()
    explanation = page.locator("#explanation")
    explanation.get_by_text("superb").wait_for()
    assert "triumph" in explanation.inner_text()
    page.screenshot(path=str(ARTIFACTS / "explanation.png"), full_page=True)


def test_a_shared_link_opens_the_same_review_analysed(browser, page, live_app):
    """Analyse, copy the result's link, open it in a fresh browser context: the same review, verdicts and
    probabilities appear; the link carries the review and nothing else."""
    review = "the acting was superb , but the plot was dull and boring"
    open_app(page, live_app.url)
    analyze_on_page(page, review)
    page.locator("#share").click()
    box = page.locator("#share-link textarea, #share-link input").first
    box.wait_for()
    page.wait_for_function("() => { const e = document.querySelector('#share-link textarea, #share-link input');"
                           " return e && e.value.includes('review='); }")
    link = box.input_value()
    from urllib.parse import parse_qs, urlsplit
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == live_app.url and parse_qs(parts.query) == {"review": [review]}
    seen = {key: page.locator(key).inner_text() for key in ("#finetuned", "#baseline", "#agreement")}

    context = browser.new_context()
    fresh = context.new_page()
    try:
        open_app(fresh, link)
        fresh.locator("#agreement").get_by_text("fine-tuned").wait_for()
        assert fresh.locator("#review textarea").input_value() == review
        for key, text in seen.items():
            assert fresh.locator(key).inner_text() == text, key
        fresh.screenshot(path=str(ARTIFACTS / "shared-link.png"), full_page=True)
    finally:
        context.close()
