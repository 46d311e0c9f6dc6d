"""The Space: the functions behind the page, gradio_client against the launched app, the REST route, bad input,
and a concurrent load check. Everything real: tiny trained model, real Gradio server, real HTTP."""

import json
import threading

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import LiveApp
from gradio_client import Client

from review_sentiment.data.reviews import review_errors
from review_sentiment.data.stars import star_summary
from review_sentiment.errors import UserError
from review_sentiment.inference.predictor import Predictor
from review_sentiment.inference.runtime_choice import choose
from review_sentiment.space.answer_cache import AnswerCache
from review_sentiment.space.service import (
    DEFAULT_LONG_TEXT,
    DEFAULT_QUANTIZE,
    MAX_BATCH_ROWS,
    Service,
    read_reviews_file,
)
from review_sentiment.space.ui import examples
from review_sentiment.space.views import about_intro, agreement_line

POSITIVE = "the acting was superb and the story wonderful , i loved it"
NEGATIVE = "awful boring plot and the worst acting , a waste"


@pytest.fixture(scope="module")
def service(trained_model, star_baseline):
    return Service(str(trained_model), str(star_baseline))


def test_compare_gives_both_models_verdicts_latency_and_agreement(service):
    result = service.compare(POSITIVE)
    ft, bl = result["finetuned"], result["baseline"]
    assert ft["label"] == "positive" and ft["confidence"] > 0.5
    assert set(ft["probabilities"]) == {"negative", "positive"}
    assert sum(ft["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert set(bl["probabilities"]) == {"1 star", "2 stars", "3 stars", "4 stars", "5 stars"}
    # The tiny baseline's head is random: near-uniform stars, often an even split between 1-2 and 4-5 stars.
    assert 1.0 <= bl["expected_stars"] <= 5.0 and bl["verdict"] in {"negative", "neutral", "positive", "undecided"}
    assert ft["latency_ms"] > 0 and bl["latency_ms"] > 0
    assert result["agree"] == (None if bl["verdict"] == "undecided" else bl["verdict"] == "positive")
    line = agreement_line(result)
    assert ("Both models say positive" in line) == bool(result["agree"])
    assert service.compare(NEGATIVE)["finetuned"]["label"] == "negative"


def test_star_mapping_matches_the_documented_rule():
    labels = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
    s = star_summary(labels, np.array([0.05, 0.05, 0.5, 0.2, 0.2]))
    assert s["verdict"] == "neutral" and s["confidence"] == pytest.approx(0.5)
    assert s["expected_stars"] == pytest.approx(0.05 + 0.1 + 1.5 + 0.8 + 1.0)
    assert s["p_positive"] == pytest.approx(0.4 / 0.5)
    s = star_summary(labels, np.array([0.3, 0.3, 0.1, 0.2, 0.1]))
    assert s["verdict"] == "negative" and s["confidence"] == pytest.approx(0.6)


@pytest.mark.parametrize("text, message", [
    ("", "type or paste a review"), ("   \n\t ", "type or paste a review"),
    ("great " * 200_000, "characters long; the limit is 20,000"),
    ("\x00\x01\x02binary\x00" * 50, "binary data"), (None, "type or paste a review"),
])
def test_bad_reviews_get_a_clear_message(service, text, message):
    with pytest.raises(UserError, match=message):
        service.compare(text)


def test_imdb_reviews_with_windows_1252_dashes_are_reviews_not_binary(service):
    """IMDb's own test split holds reviews with "\x96" (a cp1252 en dash read as Latin-1): they are scored."""
    review = "I did not quite get Barnens O \x96 it is one of the weirdest ones \x96 but the music was great. " * 3
    assert service.compare(review)["finetuned"]["label"] in ("negative", "positive")


@pytest.mark.parametrize("text", ["😍🔥👍", ".", " ?! "])
def test_a_review_without_words_has_nothing_to_judge(service, text):
    """No verdict at ~50% that means nothing: the page, REST and the batch tab say there is nothing to judge."""
    with pytest.raises(UserError, match="nothing to judge"):
        service.compare(text)
    assert "nothing to judge" in review_errors([text, "great film"])[0] and review_errors([text, "great"])[1] == ""


def test_an_even_split_between_one_two_and_four_five_stars_is_undecided_and_flags_no_disagreement():
    stars = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]
    tie = star_summary(stars, np.array([0.2, 0.25, 0.1, 0.25, 0.2]))
    assert tie["verdict"] == "undecided" and tie["confidence"] == pytest.approx(0.45)
    assert star_summary(stars, np.array([0.2, 0.3, 0.1, 0.2, 0.2]))["verdict"] == "negative", "5 points apart"
    assert star_summary(stars, np.array([0.1, 0.1, 0.6, 0.1, 0.1]))["verdict"] == "neutral"
    result = {"finetuned": {"verdict": "negative", "confidence": 0.9}, "baseline": {"verdict": "undecided",
                                                                                   "confidence": 0.45}, "agree": None}
    line = agreement_line(result)
    assert "baseline is undecided" in line.lower() and "disagree" not in line.replace("agree or disagree", "")


def test_the_about_tab_names_the_baseline_actually_loaded(service):
    intro = about_intro(service)
    assert f"`{service.baseline.spec}`" in intro and "nlptown" not in intro
    assert "1 star, 2 stars" in intro, "a baseline other than nlptown is described by its own classes"


def test_a_review_answered_before_comes_from_the_answer_cache_with_the_same_answer(trained_model, star_baseline,
                                                                                   tmp_path):
    service = Service(str(trained_model), str(star_baseline))
    text = examples()[0]["text"]
    first = service.compare(text)
    assert service.answers.stats["hits"] == 0 and service.answers.stats["entries"] == 2  # both models
    again = service.compare(text)
    assert service.answers.stats["hits"] == 2
    for side in ("finetuned", "baseline"):
        assert again[side]["probabilities"] == first[side]["probabilities"]
    # Never another answer than a fresh run of the same model gives.
    fresh = service.model.predictor.predict_proba([text])[0]
    assert list(again["finetuned"]["probabilities"].values()) == pytest.approx(fresh.tolist(), abs=1e-6)
    # The key is the exact text and the model's identity: other settings are another model.
    assert service.compare(text + " ")["finetuned"]["probabilities"] == pytest.approx(
        first["finetuned"]["probabilities"], abs=1e-6) and service.answers.stats["hits"] == 2
    other = Service(str(trained_model), str(star_baseline), long_text="head")
    assert AnswerCache.identity(other.model.predictor) != service.model.identity
    # Uploads do not pass through it, so a big file cannot push out what visitors click.
    upload = tmp_path / "reviews.txt"
    upload.write_text("\n".join([text, "a dull film"]))
    entries = service.answers.stats["entries"]
    service.batch(str(upload), None)
    assert service.answers.stats["entries"] == entries


def test_the_answer_cache_is_bounded_least_recently_used_first():
    cache = AnswerCache(max_entries=2)
    for text in ("a", "b"):
        cache.put("m", text, np.array([0.1, 0.9]))
    assert cache.get("m", "a") is not None  # "a" is now the most recent
    cache.put("m", "c", np.array([0.5, 0.5]))
    assert cache.get("m", "b") is None and cache.get("m", "a") is not None and cache.get("m", "c") is not None
    assert cache.stats == {"hits": 3, "misses": 1, "entries": 2, "max_entries": 2}


def test_html_reviews_are_scored_with_a_note(service):
    html = service.compare("<p>great <b>wonderful</b> film</p><br />")
    assert html["notes"] == ["HTML tags were ignored."]
    plain = service.compare("great wonderful film")
    assert html["finetuned"]["probabilities"] == pytest.approx(plain["finetuned"]["probabilities"], abs=1e-6)


def test_at_least_ten_curated_examples_including_one_over_512_tokens(trained_model):
    items = examples()
    assert len(items) >= 10 and all(e["text"].strip() and e["title"] for e in items)
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(trained_model)
    assert max(len(tokenizer(e["text"])["input_ids"]) for e in items) > 512
    assert any("French" in e["title"] or "German" in e["title"] for e in items)


def test_batch_csv_and_txt(service, tmp_path):
    csv = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1, 2, 3], "review": [POSITIVE, NEGATIVE, "  "]}).to_csv(csv, index=False)
    table, path = service.batch(str(csv), "review")
    assert table["finetuned_label"].tolist()[:2] == ["positive", "negative"]
    assert "type or paste" in table["error"].iloc[2] and table["error"].iloc[0] == ""
    downloaded = pd.read_csv(path)
    assert list(downloaded["review"])[:2] == [POSITIVE, NEGATIVE]
    assert {"finetuned_p_positive", "baseline_p_5 stars", "baseline_verdict", "agree"} <= set(downloaded.columns)
    txt = tmp_path / "reviews.txt"
    txt.write_text(f"{POSITIVE}\n\n{NEGATIVE}\n")
    table, _ = service.batch(str(txt), None)
    assert table["finetuned_label"].tolist() == ["positive", "negative"]


@pytest.mark.parametrize("case, message", [
    ("missing-column", "no column 'text'; its columns are ['review']"),
    ("latin-1", "not UTF-8"),
    ("too-many-rows", f"the limit is {MAX_BATCH_ROWS:,}"),
    ("too-big", "the limit is 5 MB"),
    ("binary", "not UTF-8"),
    ("wrong-type", "Upload a .csv file"),
])
def test_bad_batch_files_get_a_clear_message(service, tmp_path, case, message):
    path = tmp_path / "upload.csv"
    if case == "missing-column":
        pd.DataFrame({"review": ["a"]}).to_csv(path, index=False)
    elif case == "latin-1":
        path.write_bytes("text\nun film très réussi\n".encode("latin-1"))
    elif case == "too-many-rows":
        pd.DataFrame({"text": ["good film"] * 10_000}).to_csv(path, index=False)
    elif case == "too-big":
        path.write_text("text\n" + ("x" * 1000 + "\n") * 6000)
    elif case == "binary":
        path.write_bytes(bytes(range(256)) * 10)
    elif case == "wrong-type":
        path = tmp_path / "upload.xlsx"
        path.write_text("text\nx\n")
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace("[", r"\[")):
        read_reviews_file(str(path), "text")


def test_missing_baseline_leaves_the_fine_tuned_model_working(trained_model, tmp_path):
    service = Service(str(trained_model), str(tmp_path / "no-such-baseline"))
    assert service.baseline.predictor is None and len(service.notices) == 1
    assert "BASELINE_ID" in service.notices[0] and "no-such-baseline" in service.notices[0]
    result = service.compare(POSITIVE)
    assert result["finetuned"]["label"] == "positive" and "error" in result["baseline"] and "agree" not in result
    offline_hub = Service("someone/not-downloadable", str(trained_model))
    assert offline_hub.model.predictor is None and "MODEL_ID" in offline_hub.notices[0]
    assert offline_hub.compare(POSITIVE)["baseline"]["label"] == "positive"


# -- against the launched app -------------------------------------------------------------------------------

def test_gradio_client_named_endpoints(live_app):
    client = Client(live_app.url, verbose=False)
    predicted = client.predict(POSITIVE, api_name="/predict")
    assert predicted["label"] == "positive" and set(predicted["probabilities"]) == {"negative", "positive"}
    compared = client.predict(NEGATIVE, api_name="/compare")
    assert compared["finetuned"]["label"] == "negative" and "expected_stars" in compared["baseline"]
    with pytest.raises(Exception, match="type or paste"):
        client.predict("   ", api_name="/predict")


def test_rest_route_healthz_and_openapi(live_app):
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        response = http.post("/api/v1/predict", json={"texts": [POSITIVE, NEGATIVE]})
        assert response.status_code == 200
        body = response.json()
        assert [p["label"] for p in body["predictions"]] == ["positive", "negative"]
        assert body["predictions"][0]["probabilities"]["positive"] == pytest.approx(body["predictions"][0]["score"])
        health = http.get("/healthz").json()
        assert health["status"] == "ok" and health["models"]["baseline"]["loaded"]
        hits = health["answer_cache"]["hits"]
        assert http.post("/api/v1/predict", json={"texts": [POSITIVE]}).json()["predictions"][0] == \
            body["predictions"][0]
        assert http.get("/healthz").json()["answer_cache"]["hits"] == hits + 1, "the repeat came from the cache"
        spec = http.get("/api/v1/openapi.json").json()
        assert "/api/v1/predict" in spec["paths"]
        assert http.get("/api/v1/docs").status_code == 200


@pytest.mark.parametrize("payload, status, needle", [
    ({"texts": ["   "]}, 422, "type or paste"),
    ({"texts": ["great " * 200_000]}, 422, "limit is 20,000"),
    ({"texts": []}, 422, ""),
    ({"texts": "not a list"}, 422, ""),
    ({"review": "wrong field"}, 422, ""),
    ({"texts": ["x"] * 65}, 422, ""),
])
def test_rest_bad_input_is_a_4xx_json_error_and_the_server_keeps_serving(live_app, payload, status, needle):
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        response = http.post("/api/v1/predict", json=payload)
        assert response.status_code == status
        assert needle in json.dumps(response.json())
        assert "Traceback" not in response.text
        garbage = http.post("/api/v1/predict", content=b"\xff\xfe not json",
                            headers={"content-type": "application/json"})
        assert 400 <= garbage.status_code < 500
        assert http.post("/api/v1/predict", json={"texts": [POSITIVE]}).status_code == 200


def uploaded_bytes(folder) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_oversized_uploads_and_bodies_are_refused_with_the_limit_named_and_nothing_written(live_app):
    from review_sentiment.space.server import MAX_REQUEST_BYTES
    from review_sentiment.space.service import MAX_UPLOAD_BYTES

    before = uploaded_bytes(live_app.uploads)
    big = b"text\n" + b"a fine film\n" * 600_000  # 7.2 MB
    with httpx.Client(base_url=live_app.url, timeout=60) as http:
        response = http.post("/gradio_api/upload", files={"files": ("reviews.csv", big, "text/csv")})
        assert response.status_code == 413 and str(MAX_UPLOAD_BYTES) in response.text
        assert uploaded_bytes(live_app.uploads) == before, "the partial upload is not kept"
        small = http.post("/gradio_api/upload", files={"files": ("ok.csv", b"text\ngood\n", "text/csv")})
        assert small.status_code == 200 and uploaded_bytes(live_app.uploads) > before
        body = json.dumps({"texts": [POSITIVE]}).encode() + b" " * MAX_REQUEST_BYTES  # valid JSON, 2 MB of padding
        response = http.post("/api/v1/predict", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 413 and "the limit is 2 MB" in response.json()["error"]

        def chunks():  # no Content-Length: the limit is counted as the body streams in
            for _ in range(25):
                yield b" " * 100_000
        response = http.post("/api/v1/predict", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413 and "exceeds the limit of 2 MB" in response.json()["error"]
        assert http.post("/api/v1/predict", json={"texts": [POSITIVE]}).status_code == 200


def test_concurrent_clients_get_correct_answers(live_app, trained_model):
    """8 clients x 25 requests, half through gradio_client and half through REST: no errors, right answers."""
    # The reference is built as the app builds its model, and fed one review at a time as the app is (dynamic
    # int8 quantisation, when it is the default, depends on what else is in the batch).
    reference = choose(Predictor.load(str(trained_model), long_text=DEFAULT_LONG_TEXT), None, DEFAULT_QUANTIZE)
    texts = [f"{POSITIVE} {i}" if i % 2 else f"{NEGATIVE} {i}" for i in range(25)]
    expected = np.concatenate([reference.predict_proba([t]) for t in texts])
    failures, done = [], []

    def worker(k: int):
        try:
            if k % 2:
                client = Client(live_app.url, verbose=False)
                for text, probs in zip(texts, expected):
                    got = client.predict(text, api_name="/predict")["probabilities"]
                    assert got["positive"] == pytest.approx(probs[1], abs=1e-4)
            else:
                with httpx.Client(base_url=live_app.url, timeout=60) as http:
                    for text, probs in zip(texts, expected):
                        got = http.post("/api/v1/predict", json={"texts": [text]}).json()
                        assert got["predictions"][0]["probabilities"]["positive"] == pytest.approx(probs[1], abs=1e-4)
            done.append(k)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            failures.append(f"client {k}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures
    assert sorted(done) == list(range(8))


def test_app_starts_and_says_what_failed_when_the_baseline_is_missing(trained_model, tmp_path):
    app = LiveApp(trained_model, tmp_path / "absent").wait()
    try:
        health = httpx.get(f"{app.url}/healthz").json()
        assert health["models"]["finetuned"]["loaded"] and not health["models"]["baseline"]["loaded"]
        assert "absent" in health["models"]["baseline"]["error"]
        got = httpx.post(f"{app.url}/api/v1/predict", json={"texts": [POSITIVE]}).json()
        assert got["predictions"][0]["label"] == "positive"
    finally:
        app.stop()


def test_onnxruntime_predictor_matches_torch_and_caches_its_export(trained_model):
    from review_sentiment.export import onnx

    torch_predictor = Predictor.load(str(trained_model), long_text="chunks")
    path = onnx.cache_dir(torch_predictor.model) / onnx.FP32_FILE
    ort_predictor = torch_predictor.on("onnx")
    assert path.exists() and ort_predictor.model is torch_predictor.model
    texts = [POSITIVE, NEGATIVE, " ".join([NEGATIVE] * 12)]  # the last one spans several windows
    assert np.allclose(ort_predictor.predict_proba(texts), torch_predictor.predict_proba(texts), atol=1e-5)
    stamp = path.stat().st_mtime_ns
    torch_predictor.on("onnx")
    assert path.stat().st_mtime_ns == stamp, "the second start reuses the export"


def test_service_serves_the_fastest_allowed_option_timed_on_this_cpu_and_explains_with_torch(service):
    """auto (the default): every allowed runtime and file is timed on reviews of typical lengths at start; the fastest
    serves, and /healthz's choice says what was timed, on which CPU."""
    from review_sentiment.cpu import cpu_info
    from review_sentiment.inference.runtime_choice import CHOICE_MARGIN

    served, choice = service.model.predictor, service.model.predictor.choice
    assert choice["chosen"] == served.runtime.description and "faster by more than 10%" in choice["rule"]
    timed = list(choice["probe_ms"].items())  # in order of preference
    assert timed[-1][0] == "torch, fp32" and timed[0][0].startswith("OpenVINO") and len(timed) >= 3
    expected = timed[0]
    for option in timed[1:]:
        if option[1] < expected[1] / (1 + CHOICE_MARGIN):
            expected = option
    assert served.runtime.description == expected[0]
    assert choice["cpu"]["isa"] == cpu_info()["isa"]
    assert service.explainer.runtime.name == "torch", "explanations run the torch model"
    assert service.explain(POSITIVE)["label"] == "positive"


def test_a_runtime_registered_in_the_table_is_served_without_touching_predictor(trained_model, monkeypatch):
    """A new runtime is an entry in runtimes.RUNTIMES (model, tokenizer, precision, file -> run function): the app
    serves it by name, and padding, ordering, long-review reading and calibration stay the Predictor's own."""
    from review_sentiment.inference import runtimes

    torch_side = Predictor.load(str(trained_model), device="cpu")
    calls = []

    def toy(model, tokenizer, *, precision, path, threads):  # the torch model behind the interface, counting calls
        def run(batch):
            calls.append(tuple(batch["input_ids"].shape))
            return model(**batch).logits.detach().numpy()
        return {"run": run, "description": "toy runtime", "shared_length": 10_000}

    monkeypatch.setitem(runtimes.RUNTIMES, "toy", runtimes.Entry(toy, lambda: True))
    served = choose(torch_side, "toy")
    texts = ["great wonderful film", "awful boring plot"]
    assert len(set(map(len, served.encode(texts)))) == 1, "the same length: no padding to refuse"
    assert served.runtime.description == "toy runtime" and calls and all(c[0] == 1 for c in calls), "timed alone"
    assert served.choice["rule"] == "the only allowed option" and list(served.choice["probe_ms"]) == ["toy runtime"]
    calls.clear()
    np.testing.assert_allclose(served.predict_proba(texts), torch_side.predict_proba(texts), atol=1e-6)
    assert len(calls) == 1 and calls[0][0] == 2, "within its token budget: one call for both reviews"
