"""One server for everything, started by Gradio's own `launch()` as Spaces run it (share links, ZeroGPU and the
Spaces health checks all assume it): the page at `/`, each operation of operations.py as a `gr.api` endpoint and a
plain REST route under `/api/v1` (predict, compare, robustness) with its OpenAPI docs, and `/healthz`.

Gradio builds its FastAPI app inside `launch()`; `app_kwargs` is its documented way in, so our routes, exception
handler and body limit are handed over there and live on the same port as the page.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import signal
import sys

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware import Middleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from .. import __version__
from ..data.reviews import MAX_REVIEW_CHARS
from ..errors import UserError
from . import feedback_hub
from .app_config import AppConfig
from .feedback import FeedbackOff, FeedbackStore, TooMany
from .operations import OPERATIONS, Operation
from .schemas import MAX_REQUEST_BYTES, MAX_TEXTS_PER_REQUEST
from .service import MAX_UPLOAD_BYTES, Service
from .ui import CSS, HEAD, THEME, build_ui

log = logging.getLogger(__name__)
MAX_CONCURRENT_EVENTS = 32
REST_PREFIX = "/api/v1"


class BodyLimit:
    """ASGI middleware: REST requests whose body exceeds `limit` bytes get a 413 naming the limit, whether the
    client declared the length or streamed it chunked."""

    def __init__(self, app, limit: int, prefix: str = REST_PREFIX):
        self.app, self.limit, self.prefix = app, limit, prefix

    async def refuse(self, send, size: int | None) -> None:
        what = f"is {size / 1e6:.1f} MB; the limit is" if size else "exceeds the limit of"
        body = JSONResponse({"error": f"The request body {what} {self.limit / 1e6:.0f} MB ({MAX_TEXTS_PER_REQUEST} "
                                      f"reviews of up to {MAX_REVIEW_CHARS:,} characters)."}, status_code=413)
        await send({"type": "http.response.start", "status": 413, "headers": body.raw_headers})
        await send({"type": "http.response.body", "body": body.body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await self.refuse(send, int(declared))
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                return await self.refuse(send, None)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


def rest_route(router: APIRouter, service: Service, operation: Operation) -> None:
    """POST /api/v1/<name>: the operation's body schema in, its answer schema out, every error status documented."""

    def endpoint(request, http: Request):
        if operation.model_needed and service.model.predictor is None:
            return JSONResponse({"error": service.model.notice}, status_code=503)
        client = service.feedback.client(http.headers, http.client) if service.feedback else ""
        return operation.rest_answer(service, request, client)

    # FastAPI reads the body's schema from the signature; the table says which it is.
    endpoint.__signature__ = inspect.Signature(
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           annotation=operation.request_for(service)),
         inspect.Parameter("http", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)],
        return_annotation=operation.response)
    router.add_api_route(f"{REST_PREFIX}/{operation.name}", endpoint, methods=["POST"], name=operation.name,
                         response_model=operation.response, responses=operation.errors,
                         description=operation.route_doc())


def rest_routes(service: Service, operations: list[Operation] = OPERATIONS) -> APIRouter:
    router = APIRouter()
    for operation in operations:
        rest_route(router, service, operation)

    @router.get("/healthz")
    def healthz() -> dict:
        """Liveness, which model (repo, commit sha, origin) each side serves on which runtime, how that runtime was
        chosen on this CPU (options timed, ISA), the int8 check it passed, and the answer cache's hits and misses."""
        slots = {"finetuned": service.model, "baseline": service.baseline}
        return {"status": "ok", "models": {k: {"id": s.spec, "loaded": s.predictor is not None, "error": s.error,
                                               "runtime": s.predictor and s.predictor.runtime.description,
                                               "runtime_choice": s.predictor and s.predictor.choice,
                                               "int8_check": s.predictor and s.predictor.int8_check, **s.source}
                                           for k, s in slots.items()}, "answer_cache": service.answers.stats,
                "feedback": service.feedback.status() if service.feedback else {"enabled": False}}

    # Docs for the REST API alone (Gradio's own routes are described at /gradio_api/info and the page's footer).
    api_routes = list(router.routes)

    @router.get(f"{REST_PREFIX}/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return get_openapi(title="review-sentiment", version=__version__, routes=api_routes,
                           description="Sentiment of movie reviews from the fine-tuned model. The page is at `/`.")

    @router.get(f"{REST_PREFIX}/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=f"{REST_PREFIX}/openapi.json", title="review-sentiment API")

    return router


async def user_error(_: Request, exc: UserError):
    status = 429 if isinstance(exc, TooMany) else 503 if isinstance(exc, FeedbackOff) else 422
    return JSONResponse({"error": str(exc)}, status_code=status)


async def invalid_request(request: Request, exc: RequestValidationError):
    """REST's 422 for a body that breaks the schema: one sentence, with FastAPI's detail beside it. Gradio's own
    routes keep FastAPI's answer."""
    if not request.url.path.startswith(REST_PREFIX):
        return await request_validation_exception_handler(request, exc)
    first = exc.errors()[0] if exc.errors() else {}
    path = request.url.path
    shape = (f'The body is {{"texts": [...]}} with 1 to {MAX_TEXTS_PER_REQUEST} reviews.' if path.endswith("/predict")
             else 'The body is {"text": "...", "label": "..."}: one review and its right class.'
             if path.endswith("/feedback") else 'The body is {"text": "..."} with one review.')
    if first.get("type") == "json_invalid":
        message = f"The body is not valid JSON ({first.get('ctx', {}).get('error', 'decode error')}). {shape}"
    else:
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "the body"
        message = f"The request does not match the schema at {where}: {first.get('msg', 'invalid')}. {shape}"
    return JSONResponse({"error": message, "detail": jsonable_encoder(exc.errors())}, status_code=422)


async def unreadable_body(request: Request, exc: HTTPException):
    """REST's 400, a body FastAPI cannot parse (not UTF-8), in the same shape as every other REST error."""
    if exc.status_code != 400 or not request.url.path.startswith(REST_PREFIX):
        return await http_exception_handler(request, exc)  # 404, 405 with its Allow header, Gradio's own errors
    return JSONResponse({"error": f"{exc.detail}: send the reviews as UTF-8 JSON."}, status_code=400)


def app_kwargs(service: Service, operations: list[Operation] = OPERATIONS) -> dict:
    """What Gradio's `launch(app_kwargs=...)` passes to its FastAPI app: our routes first, then Gradio's."""
    handlers = {UserError: user_error, RequestValidationError: invalid_request, HTTPException: unreadable_body}
    return {"routes": rest_routes(service, operations).routes, "exception_handlers": handlers,
            "middleware": [Middleware(BodyLimit, limit=MAX_REQUEST_BYTES)]}


def serve(cfg: AppConfig) -> None:
    """Load both models and serve the page, the REST routes and, with `cfg.mcp`, the MCP tools."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = FeedbackStore.open(cfg.feedback)
    if store is not None:
        feedback_hub.start(store)
    service = Service(cfg.model, cfg.baseline, long_text=cfg.long_text, quantize=cfg.quantize, runtime=cfg.runtime,
                      model_revision=cfg.model_revision, baseline_revision=cfg.baseline_revision, feedback=store)
    share = cfg.share
    # Gradio runs one event at a time by default; predictions may all come in at once, since each model's batch
    # queue (batching.py) is what bounds the inference work.
    demo = build_ui(service).queue(default_concurrency_limit=MAX_CONCURRENT_EVENTS)
    if share and cfg.space_id:  # on a Space its own URL is the public link
        print("--share is not needed on Spaces: the Space's URL is already public.", flush=True)
        share = False
    printed = io.StringIO()
    # Gradio prints a paragraph (and download instructions) when a share tunnel cannot be made; we say it in one line.
    with contextlib.redirect_stdout(printed):
        demo.launch(server_name=cfg.server_name, server_port=cfg.server_port, share=share,
                    prevent_thread_lock=True, quiet=True, theme=THEME, css=CSS, head=HEAD, footer_links=["api"],
                    max_file_size=MAX_UPLOAD_BYTES, app_kwargs=app_kwargs(service), mcp_server=cfg.mcp)
    log.debug("gradio: %s", printed.getvalue())
    print(f"Running on {demo.local_url}", flush=True)
    if share and demo.share_url:
        print(f"Public share link (valid up to a week): {demo.share_url}", flush=True)
    elif share:
        print("No public share link: the Gradio share server cannot be reached from this machine; the app keeps "
              "serving locally.", flush=True)
    # Spaces stop a container with SIGTERM: leaving through SystemExit runs the atexit handlers, among them the
    # feedback scheduler's last push (feedback_hub.py).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    demo.block_thread()
