"""REST's contract is what the route does: its OpenAPI schema states the limits the route enforces and every status it
answers, and schemathesis (every check, bounded examples, loopback only) finds no gap between them."""

import subprocess
import sys

import httpx
from conftest import subprocess_env
from fastapi import FastAPI
from fastapi.testclient import TestClient

from review_sentiment.data.reviews import MAX_REVIEW_CHARS
from review_sentiment.space.server import MAX_TEXTS_PER_REQUEST, app_kwargs
from review_sentiment.space.service import Service

POSITIVE = "the acting was superb and the story wonderful , i loved it"


def test_the_schema_states_the_limits_and_every_status_the_route_answers(live_app):
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        spec = http.get("/api/v1/openapi.json").json()
        operation = spec["paths"]["/api/v1/predict"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        texts = spec["components"]["schemas"][body["$ref"].split("/")[-1]]["properties"]["texts"]
        assert (texts["minItems"], texts["maxItems"]) == (1, MAX_TEXTS_PER_REQUEST)
        assert texts["items"] == {"type": "string", "minLength": 1, "maxLength": MAX_REVIEW_CHARS, "pattern": r"\S"}
        assert set(operation["responses"]) == {"200", "400", "413", "422", "503"}
        # Each documented status, as the route answers it: an {"error": ...} body a person can act on.
        answers = {
            400: http.post("/api/v1/predict", content=b"\xff\xfe{", headers={"content-type": "application/json"}),
            413: http.post("/api/v1/predict", content=b" " * 2_100_000, headers={"content-type": "application/json"}),
            422: http.post("/api/v1/predict", json={"texts": [" \n "]}),
        }
        for status, answer in answers.items():
            assert answer.status_code == status and answer.json()["error"], (status, answer.text)
        assert "type or paste" in answers[422].json()["error"]
        not_json = http.post("/api/v1/predict", content=b"{texts", headers={"content-type": "application/json"})
        assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]
        wrong = http.post("/api/v1/predict", json={"texts": ["x"] * (MAX_TEXTS_PER_REQUEST + 1)})
        assert wrong.status_code == 422 and "texts" in wrong.json()["error"] and wrong.json()["detail"]


def test_a_review_the_model_cannot_read_is_answered_in_its_place_and_the_others_are_scored(live_app):
    """Within the schema every review gets a row, as the Batch tab and the bulk CLI keep them: binary data and a
    review without words say why; the call is not refused for them."""
    with httpx.Client(base_url=live_app.url, timeout=30) as http:
        answer = http.post("/api/v1/predict", json={"texts": ["!!! ???", POSITIVE, "ok\x00\x01\x02\x03\x04bin"]})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["predictions"]
    assert "nothing to judge" in rows[0]["error"] and "binary" in rows[2]["error"]
    assert rows[1]["label"] == "positive" and "error" not in rows[1]


def test_an_unloaded_model_is_a_503_in_the_documented_shape(star_baseline, tmp_path):
    """The server's own routes on FastAPI (in-process; the model directory does not exist)."""
    service = Service(str(tmp_path / "no-model"), str(star_baseline))
    with TestClient(FastAPI(**app_kwargs(service))) as client:
        answer = client.post("/api/v1/predict", json={"texts": [POSITIVE]})
    assert answer.status_code == 503 and "no-model" in answer.json()["error"]


def test_schemathesis_finds_no_gap_between_the_schema_and_the_route(live_app, tmp_path):
    """`schemathesis run --checks all`, as a user would run it, bounded: a fixed seed and 60 examples an operation
    (about 100 requests, seconds on this CPU), against the app on loopback."""
    run = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()", "run",
           f"{live_app.url}/api/v1/openapi.json", "--checks", "all", "--max-examples", "60", "--seed", "1",
           "--workers", "1", "--generation-database", "none", "--request-timeout", "30"]
    result = subprocess.run(run, capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=300)
    assert result.returncode == 0 and "No issues found" in result.stdout, result.stdout[-4000:]
