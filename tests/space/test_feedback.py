"""Visitors' corrections ("Was this right?", POST /api/v1/feedback): kept without loss under load and crashes, pushed
to a Hub dataset, personal details taken out, bad input refused with a message that changes nothing.

The Hub is tests/fake_hub.py's loopback server (only the Hub's HTTP API is faked): huggingface_hub's CommitScheduler,
the app and its REST routes are the real thing, in their own process (`python app.py`, as a Space starts it).
"""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import tiny
from conftest import ARTIFACTS, HAS_CHROMIUM, LiveApp, analyze_on_page, free_port, open_app
from fake_hub import TOKEN, USER, FakeHub

from review_sentiment.data.feedback import read_records, redact
from review_sentiment.space.addresses import TrustedHops
from review_sentiment.space.feedback import FeedbackSettings, FeedbackStore
from review_sentiment.space.server import app_kwargs
from review_sentiment.space.service import Service
from review_sentiment.space.ui import build_ui

DATASET = f"{USER}/review-feedback"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("feedback-models")
    return (tiny.make_classifier(root / "model", ["negative", "positive"]),
            tiny.make_classifier(root / "stars", tiny.STARS, kind="bert"))


@pytest.fixture()
def hub():
    with FakeHub() as server:
        yield server


def hub_app(models, hub, folder: Path, token: str | None = TOKEN, dataset: str = DATASET, **env) -> LiveApp:
    # HF_HOME of its own: a token saved on this machine must not stand in for "no token".
    return LiveApp(*models, extra_env={**hub.env(token), "HF_HUB_OFFLINE": "0", "HF_HOME": str(folder.parent / "hf"),
                                       "FEEDBACK_DIR": str(folder), "FEEDBACK_DATASET": dataset,
                                       "FEEDBACK_EVERY": "0.05", **env}).wait()


def pushed(hub, dataset: str = DATASET) -> list[dict]:
    """Every record in the dataset repo's data/ files; each line must parse."""
    files = hub.repo(dataset, "dataset").files
    return [json.loads(line) for path, data in sorted(files.items()) if path.startswith("data/")
            for line in data.decode().splitlines()]


def wait_until(predicate, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_every_acknowledged_correction_reaches_the_dataset_once_under_load(models, hub, tmp_path):
    """16 clients send 50 corrections each while the scheduler pushes every 3 s."""
    app = hub_app(models, hub, tmp_path / "feedback", FEEDBACK_PER_MINUTE="1000", FEEDBACK_PER_DAY="1000")
    try:
        def client(k: int) -> list[str]:
            ids = []
            with httpx.Client(base_url=app.url, timeout=60) as http:
                for i in range(50):
                    answer = http.post("/api/v1/feedback", json={"text": f"visitor {k} says review {i} was great",
                                                                 "label": ["negative", "positive"][(k + i) % 2]})
                    assert answer.status_code == 200, answer.text
                    ids.append(answer.json()["id"])
            return ids

        with ThreadPoolExecutor(16) as pool:
            acknowledged = [i for ids in pool.map(client, range(16)) for i in ids]
        assert len(set(acknowledged)) == 800
        assert wait_until(lambda: httpx.get(f"{app.url}/healthz").json()["feedback"]["waiting"] == 0)
        records = pushed(hub)
        assert sorted(r["id"] for r in records) == sorted(acknowledged), "each acknowledged record exactly once"
        status = httpx.get(f"{app.url}/healthz").json()["feedback"]
        assert status["records"] == 800 and status["syncing"] and status["dataset"] == DATASET
        repo = hub.repo(DATASET, "dataset")
        assert repo.private, "private unless FEEDBACK_PUBLIC=1"
        card = repo.files["README.md"].decode()
        assert "load_dataset" in card and "`label`" in card and "No IP address" in card
        assert len(repo.commits) >= 3, "pushed while the corrections came in, not once at the end"
    finally:
        app.stop()


def test_a_killed_process_loses_no_acknowledged_correction_and_the_next_start_pushes_them(models, hub, tmp_path):
    folder = tmp_path / "feedback"
    app = LiveApp(*models, extra_env={"FEEDBACK_DIR": str(folder)}).wait()
    acknowledged = []
    with httpx.Client(base_url=app.url, timeout=60) as http:
        for i in range(8):
            answer = http.post("/api/v1/feedback", json={"text": f"the ending was not bad, take {i}",
                                                         "label": "positive"})
            acknowledged.append(answer.json()["id"])
    os.kill(app.process.pid, signal.SIGKILL)  # between two corrections: no goodbye, no final push
    app.process.wait(timeout=30)
    app.log.close()
    content = b"".join(p.read_bytes() for p in (folder / "data").glob("*.jsonl"))
    assert content.endswith(b"\n") and content.count(b"\n") == 8, "no partial line"
    records, unreadable = read_records(folder)
    assert unreadable == 0 and sorted(records["id"]) == sorted(acknowledged)

    # The next start pushes what was waiting at once; the next push is 10 minutes away, so what is sent now reaches
    # the dataset only through the push at shutdown (SIGTERM, as Spaces stop a container).
    restarted = hub_app(models, hub, folder, FEEDBACK_EVERY="10")
    try:
        assert wait_until(lambda: sorted(r["id"] for r in pushed(hub)) == sorted(acknowledged)
                          if (("dataset", DATASET) in hub.repos) else False)
        assert httpx.get(f"{restarted.url}/healthz").json()["feedback"]["records"] == 8
        late = httpx.post(f"{restarted.url}/api/v1/feedback", json={"text": "sent just before a restart",
                                                                    "label": "negative"}, timeout=60).json()["id"]
        assert late not in {r["id"] for r in pushed(hub)}
    finally:
        restarted.stop()
    assert sorted(r["id"] for r in pushed(hub)) == sorted([*acknowledged, late])


def test_without_a_token_or_write_access_feedback_stays_local_and_says_so(models, hub, tmp_path):
    for token, dataset, said in ((None, DATASET, "no Hub token"),
                                 (TOKEN, "someone-else/feedback", "cannot write to namespace 'someone-else'")):
        folder = tmp_path / f"feedback-{bool(token)}"
        app = hub_app(models, hub, folder, token=token, dataset=dataset)
        try:
            with httpx.Client(base_url=app.url, timeout=60) as http:
                answer = http.post("/api/v1/feedback", json={"text": "not bad at all", "label": "positive"})
                assert answer.status_code == 200 and answer.json()["saved"]
                assert wait_until(lambda: said in app.output(), 20), app.output()[-2000:]
                assert http.get("/healthz").json()["feedback"]["records"] == 1
            lines = [line for line in app.output().splitlines() if said in line]
            assert len(lines) == 1 and "Feedback is kept in" in lines[0] and TOKEN not in app.output()
        finally:
            app.stop()
        assert ("dataset", dataset) not in hub.repos
        assert len(read_records(folder)[0]) == 1


@pytest.fixture(scope="module")
def store_app(models, tmp_path_factory):
    """The app in-process with a feedback folder: 3 corrections a minute per visitor. The tests play the Spaces proxy
    on loopback (trusted), so the X-Forwarded-For address they write is the visitor's."""
    folder = tmp_path_factory.mktemp("feedback-local")
    store = FeedbackStore(FeedbackSettings(folder=folder, per_minute=3, trusted=TrustedHops("127.0.0.1")))
    service = Service(*map(str, models), runtime="torch", feedback=store)
    demo = build_ui(service)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                app_kwargs=app_kwargs(service))
    yield demo.local_url.rstrip("/"), folder
    demo.close()


def test_bad_corrections_get_a_message_and_leave_nothing_on_disk(store_app):
    url, folder = store_app
    with httpx.Client(base_url=url, timeout=60) as http:
        refused = {
            "a label no model has": http.post("/api/v1/feedback", json={"text": "fine", "label": "great"}),
            "blank": http.post("/api/v1/feedback", json={"text": " \n ", "label": "positive"}),
            "1 MB": http.post("/api/v1/feedback", json={"text": "word " * 200_000, "label": "positive"}),
            "no label": http.post("/api/v1/feedback", json={"text": "fine"}),
        }
        for what, answer in refused.items():
            assert answer.status_code in (413, 422) and answer.json()["error"], (what, answer.text)
        binary = http.post("/api/v1/feedback", json={"text": "\x00\x01\x02\x03 \x04\x05", "label": "positive"})
        assert binary.status_code == 200 and "saved" not in binary.json() and binary.json()["error"]
        assert read_records(folder)[0].empty, "nothing refused reaches the disk"
        # A flood from one visitor: three a minute, then 429 with a sentence; other visitors are not held up.
        statuses = [http.post("/api/v1/feedback", json={"text": f"flood {i}", "label": "negative"}).status_code
                    for i in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        flood = http.post("/api/v1/feedback", json={"text": "flood 6", "label": "negative"})
        assert "At most 3 corrections a minute" in flood.json()["error"]
        other = http.post("/api/v1/feedback", json={"text": "a second visitor", "label": "negative"},
                          headers={"X-Forwarded-For": "198.51.100.7"})
        assert other.status_code == 200
        assert len(read_records(folder)[0]) == 4
        # Predictions are untouched by all of it.
        assert http.post("/api/v1/predict", json={"texts": ["great"]}).status_code == 200


def test_personal_details_are_replaced_before_anything_is_written(store_app):
    cases = {"email": "write to jane.doe+films@example.co.uk today",
             "url": "see https://example.com/review?id=3 and www.example.org",
             "phone": "call +44 20 7946 0958 or (555) 123-4567 or 555 123 4567",
             "handle": "thanks @movie_fan99 for the tip"}
    for kind, text in cases.items():
        clean, counts = redact(text)
        assert f"<{kind}>" in clean and set(counts) == {kind}, (kind, clean)
    assert redact("I saw it in 1999, 2003 and 2010; 10/10, 7 out of 10")[1] == {}, "years and scores are not phones"
    url, folder = store_app
    answer = httpx.post(f"{url}/api/v1/feedback", json={"text": "mail a@b.io or @critic, it was not bad",
                                                        "label": "positive"},
                        headers={"X-Forwarded-For": "198.51.100.8"}, timeout=60).json()
    assert answer["redacted"] == {"email": 1, "handle": 1}
    kept = read_records(folder)[0].set_index("id").loc[answer["id"]]
    assert kept["text"] == "mail <email> or <handle>, it was not bad"
    assert not any("a@b.io" in p.read_text() for p in (folder / "data").glob("*.jsonl"))
    assert kept["model"] == "finetuned" and kept["labels"] == ["negative", "positive"]
    assert set(kept["answers"]) == {"finetuned", "baseline"} and "ip" not in json.dumps(kept.to_dict()).lower()
    # The sender is told apart by a keyed hash of its address, never the address (training's agreement rule).
    assert len(kept["visitor"]) == 16 and "198.51.100.8" not in json.dumps(kept.to_dict())


def test_an_unwritable_folder_turns_feedback_off_in_one_line_and_predictions_work(models, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    app = LiveApp(*models, extra_env={"FEEDBACK_DIR": str(blocked / "feedback")}).wait()
    try:
        with httpx.Client(base_url=app.url, timeout=60) as http:
            answer = http.post("/api/v1/feedback", json={"text": "not bad", "label": "positive"})
            assert answer.status_code == 503 and "Feedback is off" in answer.json()["error"]
            assert http.get("/healthz").json()["feedback"] == {"enabled": False}
            assert http.post("/api/v1/predict", json={"texts": ["great"]}).status_code == 200
        lines = [line for line in app.output().splitlines() if "Feedback is off" in line]
        assert len(lines) == 1 and str(blocked / "feedback") in lines[0] and "Traceback" not in app.output()
    finally:
        app.stop()


@pytest.mark.skipif(not HAS_CHROMIUM, reason="Debian's chromium is not installed")
def test_a_visitor_sends_a_correction_from_the_page(page, live_app):
    from playwright.sync_api import expect

    folder = live_app.feedback_dir
    before = len(read_records(folder)[0])
    open_app(page, live_app.url)
    page.locator("#review textarea").fill("a review typed but never sent , awful")
    analyze_on_page(page, "the acting was not awful , i loved it")
    assert len(read_records(folder)[0]) == before, "nothing is kept until Send"
    page.locator("#feedback-finetuned").get_by_text("positive", exact=True).click()
    page.locator("#feedback-send").click()
    thanks = page.locator("#feedback-thanks")
    expect(thanks).to_contain_text("Thank you", timeout=30_000)
    count = int(thanks.inner_text().split("(")[1].split()[0].replace(",", ""))
    records = read_records(folder)[0]
    assert count == len(records) == before + 1
    last = records.iloc[-1]
    assert last["text"] == "the acting was not awful , i loved it" and last["label"] == "positive"
    assert last["model"] == "finetuned"
    shown = page.locator("#finetuned").inner_text()
    assert f"{last['answers']['finetuned']['probabilities']['positive']:.0%}" in shown, "what the page showed"
    assert "review typed but never sent" not in "".join(records["text"])
    page.screenshot(path=str(ARTIFACTS / "feedback.png"), full_page=True)
