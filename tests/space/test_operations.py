"""The Space's operations are one table (review_sentiment/space/operations.py): an operation added to it is a REST
route with its schema, a gr.api endpoint and, when flagged, an MCP tool, with no other code. Served in-process by
Gradio's own launch() on loopback, called with httpx, gradio_client and the mcp client library."""

import asyncio

import httpx
import pytest
import tiny
from conftest import free_port
from gradio_client import Client
from pydantic import BaseModel

from review_sentiment.data.reviews import check_review
from review_sentiment.space.operations import OPERATIONS, Operation
from review_sentiment.space.schemas import Unreadable
from review_sentiment.space.server import app_kwargs
from review_sentiment.space.service import Service
from review_sentiment.space.ui import build_ui

mcp = pytest.importorskip("mcp", reason="the mcp package (gradio[mcp]) is not installed")


class ShoutRequest(BaseModel):
    text: str


class Shouted(BaseModel):
    upper: str
    words: int


def shout(service: Service, text: str) -> dict:
    text, _ = check_review(text)  # every operation checks its review, once
    return {"upper": text.upper(), "words": len(text.split())}


TOYS = [Operation("shout", shout, description="The review in capitals.\n\nArgs:\n    text: the review.",
                  route="The review in capitals.", request=ShoutRequest, response=Shouted | Unreadable,
                  model_needed=False),
        Operation("whisper", lambda service, text: {"upper": text.lower(), "words": 0},
                  description="The review in small letters.\n\nArgs:\n    text: the review.",
                  route="The review in small letters.", request=ShoutRequest, response=Shouted | Unreadable,
                  model_needed=False, mcp=False)]


async def tool_names(url: str) -> set[str]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(f"{url}/gradio_api/mcp/") as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return {tool.name for tool in (await session.list_tools()).tools}


@pytest.fixture(scope="module")
def toy_app(tmp_path_factory, star_baseline):
    model = tiny.make_classifier(tmp_path_factory.mktemp("toy"), ["negative", "positive"])
    service = Service(str(model), str(star_baseline), runtime="torch")
    table = [*OPERATIONS, *TOYS]
    demo = build_ui(service, table)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                app_kwargs=app_kwargs(service, table), mcp_server=True)
    yield demo.local_url.rstrip("/")
    demo.close()


def test_a_new_operation_is_one_entry_found_on_rest_gr_api_and_mcp(toy_app):
    with httpx.Client(base_url=toy_app, timeout=30) as http:
        assert http.post("/api/v1/shout", json={"text": "great film"}).json() == {"upper": "GREAT FILM", "words": 2}
        blank = http.post("/api/v1/shout", json={"text": "  "})
        assert blank.status_code == 422 and "type or paste" in blank.json()["error"].lower(), "checked as every review"
        unreadable = http.post("/api/v1/shout", json={"text": "!!! ???"}).json()
        assert "nothing to judge" in unreadable["error"]
        paths = http.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/predict", "/api/v1/compare", "/api/v1/robustness", "/api/v1/shout", "/api/v1/whisper"} <= set(
        paths)
    assert paths["/api/v1/shout"]["post"]["description"] == "The review in capitals."
    client = Client(toy_app, verbose=False)
    assert client.predict("great film", api_name="/shout") == {"upper": "GREAT FILM", "words": 2}
    assert client.predict("GREAT film", api_name="/whisper")["upper"] == "great film", "callable, undocumented"
    tools = asyncio.run(tool_names(toy_app))
    assert {"predict", "compare", "robustness", "shout"} <= tools and "whisper" not in tools
    # Visitors' corrections: not an MCP tool (an agent should not label data for a person), and without a feedback
    # folder the route says feedback is off.
    assert "feedback" not in tools and "/api/v1/feedback" in paths
    off = httpx.post(f"{toy_app}/api/v1/feedback", json={"text": "not bad", "label": "positive"}, timeout=30)
    assert off.status_code == 503 and "Feedback is off" in off.json()["error"]


def test_a_review_is_checked_once_per_request_on_every_surface(tmp_path, star_baseline, monkeypatch):
    """The check (data/reviews.check_review, counted by a wrapper around the real function) runs once per review,
    whichever surface the request came by; its refusals are each surface's own answer."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from review_sentiment.data import reviews
    from review_sentiment.space import service as service_module

    service = Service(str(tiny.make_classifier(tmp_path / "m", ["negative", "positive"])), str(star_baseline),
                      runtime="torch")
    checked: list[str] = []
    real = reviews.check_review

    def counted(text):
        checked.append(text)
        return real(text)

    monkeypatch.setattr(reviews, "check_review", counted)
    monkeypatch.setattr(service_module, "check_review", counted)
    operations = {op.name: op for op in OPERATIONS}
    with TestClient(FastAPI(**app_kwargs(service))) as client:
        for path, body, reviews_sent in (("compare", {"text": "a great film"}, 1),
                                         ("predict", {"texts": ["a great film", "dull", "!!!"]}, 3),
                                         ("robustness", {"text": "a dull film"}, 1)):
            checked.clear()
            assert client.post(f"/api/v1/{path}", json=body).status_code == 200
            assert len(checked) == reviews_sent, (path, checked)
        checked.clear()
        assert client.post("/api/v1/compare", json={"text": "!!! ???"}).json()["error"].startswith("There is nothing")
        assert len(checked) == 1
    for name in ("predict", "compare"):
        checked.clear()
        operations[name].answer(service, "a great film")  # gr.api and MCP call exactly this
        assert len(checked) == 1, name
