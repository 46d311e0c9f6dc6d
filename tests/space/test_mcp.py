"""`python app.py --mcp`: the predict and compare tools over MCP (Gradio's server, the `mcp` client library), on
loopback, answering what the REST route answers."""

import ast
import asyncio

import httpx
import pytest
from conftest import LiveApp

mcp = pytest.importorskip("mcp", reason="the mcp package (gradio[mcp]) is not installed")
REVIEW = "great wonderful film , the cast was brilliant and i loved it"


async def use_tools(url: str) -> tuple[dict, dict]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(f"{url}/gradio_api/mcp/") as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            answers = {name: await session.call_tool(name, {"text": REVIEW}) for name in ("predict", "compare")}
            blank = await session.call_tool("predict", {"text": "   "})
    return tools, {**answers, "blank": blank}


@pytest.fixture(scope="module")
def mcp_app(trained_model, star_baseline):
    app = LiveApp(trained_model, star_baseline, args=("--mcp",)).wait()
    yield app
    app.stop()


def test_predict_and_compare_are_mcp_tools_that_answer_as_rest_does(mcp_app):
    tools, answers = asyncio.run(use_tools(mcp_app.url))
    assert {"predict", "compare", "robustness"} <= set(tools)
    assert "flipped" in tools["robustness"].description, "the robustness view is a tool too"
    for name in ("predict", "compare"):
        schema = tools[name].inputSchema
        assert schema["required"] == ["text"] and "20,000 characters" in schema["properties"]["text"]["description"]
    assert "fine-tuned on IMDb" in tools["predict"].description and "baseline" in tools["compare"].description
    rest = httpx.post(f"{mcp_app.url}/api/v1/predict", json={"texts": [REVIEW]}, timeout=60).json()["predictions"][0]
    # Gradio's MCP server sends a tool's dict as its Python literal text.
    predicted = ast.literal_eval(answers["predict"].content[0].text)
    assert not answers["predict"].isError and predicted["label"] == rest["label"] == "positive"
    assert predicted["probabilities"] == pytest.approx(rest["probabilities"], abs=1e-6)
    compared = ast.literal_eval(answers["compare"].content[0].text)
    assert compared["finetuned"]["probabilities"] == pytest.approx(rest["probabilities"], abs=1e-6)
    assert set(compared["baseline"]["probabilities"]) == {"1 star", "2 stars", "3 stars", "4 stars", "5 stars"}
    # Bad input is the tool's error, in words, not a traceback.
    assert answers["blank"].isError and "type or paste" in answers["blank"].content[0].text.lower()
    # and in the server's log one line saying so, not Gradio's traceback
    log = mcp_app.output()
    assert "predict refused a review: Please type or paste" in log and "Traceback" not in log


def test_without_the_flag_there_is_no_mcp_server(live_app):
    assert httpx.post(f"{live_app.url}/gradio_api/mcp/", json={}, timeout=30).status_code == 404
