"""The address a visitor's limit counts (issue 39): forged X-Forwarded-For entries change nothing, through REST and
gr.api; behind a trusted hop, the address that hop saw counts. The app runs in-process on loopback, for real.

Requests come from 127.0.0.2, not 127.0.0.1: uvicorn (under Gradio) itself believes X-Forwarded-For from 127.0.0.1,
its default FORWARDED_ALLOW_IPS for a reverse proxy on the same host, and rewrites request.client before the app sees
it; from any other address it does not, as for a visitor reaching a server directly or a Space's proxy (10.x)."""

import httpx
import pytest
import tiny
from conftest import free_port
from starlette.datastructures import Address, Headers

from review_sentiment.space.addresses import PRIVATE_NETWORKS, TrustedHops, client_address
from review_sentiment.space.feedback import FeedbackSettings, FeedbackStore
from review_sentiment.space.server import app_kwargs
from review_sentiment.space.service import Service
from review_sentiment.space.ui import build_ui

VISITOR = "127.0.0.2"


def headers(*values: str) -> Headers:
    return Headers(raw=[(b"x-forwarded-for", v.encode()) for v in values])


def test_with_no_trusted_hop_the_socket_counts_whatever_the_header_says():
    nobody = TrustedHops("none")
    assert client_address(headers("203.0.113.1"), Address("127.0.0.1", 5000), nobody) == "127.0.0.1"
    assert client_address(headers(), None, nobody) == ""


def test_behind_a_trusted_hop_the_rightmost_untrusted_entry_counts():
    proxy = TrustedHops("127.0.0.1,10.0.0.0/8")
    peer = Address("127.0.0.1", 5000)
    # The sender wrote the first two; the trusted hop appended what it saw.
    assert client_address(headers("1.2.3.4, 5.6.7.8, 198.51.100.9"), peer, proxy) == "198.51.100.9"
    # A second trusted hop inside the network appended its own address: skipped.
    assert client_address(headers("1.2.3.4, 198.51.100.9, 10.1.2.3"), peer, proxy) == "198.51.100.9"
    assert client_address(headers("1.2.3.4", "198.51.100.9"), peer, proxy) == "198.51.100.9"  # repeated headers
    # Garbage is never a trusted hop; an all-trusted chain counts its left-most entry; no header, the hop itself.
    assert client_address(headers("not-an-ip"), peer, proxy) == "not-an-ip"
    assert client_address(headers("10.9.9.9, 10.1.1.1"), peer, proxy) == "10.9.9.9"
    assert client_address(headers(), peer, proxy) == "127.0.0.1"
    # A socket that is not a trusted hop is believed over any header.
    assert client_address(headers("198.51.100.9"), Address("203.0.113.5", 1), proxy) == "203.0.113.5"


def test_the_default_trusts_the_private_ranges_on_a_space_and_nobody_elsewhere():
    assert TrustedHops.default({}).spec == "none"
    on_space = TrustedHops.default({"SPACE_ID": "you/review-sentiment"})
    assert on_space.trusts("10.16.3.80") and on_space.trusts("127.0.0.1") and not on_space.trusts("203.0.113.5")
    assert on_space.spec == ",".join(PRIVATE_NETWORKS)
    assert TrustedHops.default({"SPACE_ID": "x/y", "TRUSTED_PROXIES": "none"}).spec == "none"
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        TrustedHops("10.0.0.0/33")


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """Two apps on loopback, 3 corrections a minute per visitor: one reached directly (no trusted hop, as locally),
    one behind a trusted hop (VISITOR plays it, as the Spaces proxy on a Space)."""
    root = tmp_path_factory.mktemp("addresses")
    models = (tiny.make_classifier(root / "model", ["negative", "positive"]),
              tiny.make_classifier(root / "stars", tiny.STARS, kind="bert"))
    running = {}
    for name, trusted in (("direct", "none"), ("proxied", VISITOR)):
        store = FeedbackStore(FeedbackSettings(folder=root / name, per_minute=3, trusted=TrustedHops(trusted)))
        service = Service(*map(str, models), runtime="torch", feedback=store)
        demo = build_ui(service)
        demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                    app_kwargs=app_kwargs(service))
        running[name] = demo
    yield {name: demo.local_url.rstrip("/") for name, demo in running.items()}
    for demo in running.values():
        demo.close()


def from_visitor(url: str, address: str = VISITOR) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, transport=httpx.HTTPTransport(local_address=address))


def test_forged_headers_through_rest_get_one_clients_limit(apps):
    with from_visitor(apps["direct"]) as http:
        codes = [http.post("/api/v1/feedback", json={"text": f"forged {i}", "label": "negative"},
                           headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_forged_headers_through_gr_api_get_one_clients_limit(apps):
    """gr.api's /feedback as a program calls it over HTTP (POST /gradio_api/call/feedback, then its event stream)."""
    answers = []
    with from_visitor(apps["direct"], "127.0.0.3") as http:  # a visitor of its own: the REST test's used its limit
        for i in range(5):
            forged = {"X-Forwarded-For": f"198.18.0.{i}"}
            event = http.post("/gradio_api/call/feedback", json={"data": [f"forged api {i}", "negative"]},
                              headers=forged).json()["event_id"]
            stream = http.get(f"/gradio_api/call/feedback/{event}", headers=forged).text
            answers.append("saved" if '"saved": true' in stream else
                           "refused" if "At most 3 corrections a minute" in stream else stream)
    assert answers == ["saved"] * 3 + ["refused"] * 2


def test_behind_a_trusted_hop_the_address_it_saw_counts(apps):
    with from_visitor(apps["proxied"]) as http:
        def send(forged: str, seen: str) -> int:
            return http.post("/api/v1/feedback", json={"text": f"{forged} via {seen}", "label": "negative"},
                             headers={"X-Forwarded-For": f"{forged}, {seen}"}).status_code

        # One visitor forging a new left-most entry each time: its own limit.
        assert [send(f"203.0.113.{i}", "198.51.100.20") for i in range(5)] == [200, 200, 200, 429, 429]
        # Another visitor behind the same hop is not held up.
        assert send("203.0.113.99", "198.51.100.21") == 200
