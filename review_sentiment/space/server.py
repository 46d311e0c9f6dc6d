"""One server for everything, started by Gradio's own `launch()` as Spaces run it (share links, ZeroGPU and the
Spaces health checks all assume it): the page at `/`, the `gr.api` endpoints `/predict` and `/compare`, a plain REST
API at `/api/v1` (predict, compare, robustness) with its OpenAPI docs, and `/healthz`.

Gradio builds its FastAPI app inside `launch()`; `app_kwargs` is its documented way in, so our routes, exception
handler and body limit are handed over there and live on the same port as the page.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware import Middleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from .. import __version__
from ..data.reviews import MAX_REVIEW_CHARS, check_text, review_errors
from ..errors import UserError
from .app_config import AppConfig
from .service import MAX_UPLOAD_BYTES, Service
from .ui import CSS, HEAD, THEME, build_ui

log = logging.getLogger(__name__)
MAX_TEXTS_PER_REQUEST = 64
MAX_CONCURRENT_EVENTS = 32
# 64 reviews at the 20,000-character limit are 1.28 MB of JSON; a larger body is refused before it is read whole.
MAX_REQUEST_BYTES = 2_000_000
REST_PREFIX = "/api/v1"


# The limits the route enforces, stated in the schema. check_text (data/reviews.py) enforces them, with the
# message a person can act on; the schema only says them (pydantic's own pattern engine reads `\s` otherwise than
# Python's str.strip, which decides what a blank review is).
Review = Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": MAX_REVIEW_CHARS, "pattern": r"\S"})]


class PredictRequest(BaseModel):
    texts: list[Review] = Field(min_length=1, max_length=MAX_TEXTS_PER_REQUEST,
                                description=f"1 to {MAX_TEXTS_PER_REQUEST} reviews, each with a character that is "
                                            f"not white space and at most {MAX_REVIEW_CHARS:,} characters.",
                                examples=[["A moving, beautifully acted film.", "Two hours I will never get back."]])


class Language(BaseModel):
    code: str = Field(description='ISO 639-1 code, or "und" when the identifier is unsure (short reviews)')
    name: str
    confidence: float


class Prediction(BaseModel):
    label: str
    score: float
    probabilities: dict[str, float]
    language: Language = Field(description="the review's language; the model reads English")


class Unreadable(BaseModel):
    error: str = Field(description="Why this review was not scored (binary data, no words); the others were.")


class PredictResponse(BaseModel):
    model: str
    predictions: list[Prediction | Unreadable] = Field(description="One per review, in order.")


class RobustnessRequest(BaseModel):
    text: Review = Field(description=f"One review, not blank, at most {MAX_REVIEW_CHARS:,} characters.",
                         examples=["My sister loved it, but I didn't think the plot was clever."])


class Scored(BaseModel):
    p_positive: float
    verdict: str = Field(description="positive or negative, by P(positive) > 0.5")
    flipped: bool | None = Field(None, description="whether this version's verdict differs from the review's")


class Version(BaseModel):
    change: str = Field(description='what was changed ("the review as written" for the review itself)')
    text: str
    finetuned: Scored | None = None
    baseline: Scored | None = None


class RobustnessResponse(BaseModel):
    review: str
    versions: list[Version]
    notes: list[str]
    budget_s: float = Field(description="the time the versions may take; versions past it are not scored")
    seconds: float


class CompareRequest(BaseModel):
    text: Review = Field(description=f"One review, not blank, at most {MAX_REVIEW_CHARS:,} characters.",
                         examples=["Not the masterpiece I was promised, but the cast is lovely."])


class ModelAnswer(BaseModel):
    probabilities: dict[str, float] = Field(description="every class's probability, in the model's order")
    label: str
    confidence: float = Field(description="the verdict's probability; for stars or ordered classes, the mass of the "
                                          "verdict's classes (very negative and negative together)")
    verdict: str = Field(description="negative, neutral, positive, or undecided (a star model with 1-2 and 4-5 "
                                     "stars equally likely)")
    latency_ms: float
    point: int | None = Field(None, description="the top class's point on the model's scale: its stars (1-5), or "
                                                "1..K for ordered classes (very negative = 1); absent off a scale")
    expected_class: float | None = Field(None, description="ordered classes: the probability-weighted point, 1..K")
    expected_stars: float | None = Field(None, description="a star model: the probability-weighted stars")
    p_positive: float | None = Field(None, description="stars or ordered classes: P(positive classes) without the "
                                                       "neutral mass")
    language_notice: str | None = None


class Unavailable(BaseModel):
    error: str = Field(description="Why this model is not loaded.")


class ScaleAgreement(BaseModel):
    points: int = Field(description="the scale both models share (5: five classes against five stars)")
    finetuned: int
    baseline: int
    exact: bool = Field(description="the same point")
    within_one: bool = Field(description="at most one point apart")


class CompareResponse(BaseModel):
    notes: list[str]
    language: Language
    finetuned: ModelAnswer | Unavailable
    baseline: ModelAnswer | Unavailable
    agree: bool | None = Field(None, description="whether the verdicts' polarity matches; null when a model is "
                                                 "undecided or unavailable")
    scale: ScaleAgreement | None = Field(None, description="only when both models' classes are the same points")


class ErrorResponse(BaseModel):
    error: str = Field(description="What was wrong, in one sentence a person can act on.")
    detail: list[dict] | None = Field(None, description="Which part of the body broke the schema (422 only).")


def error_answer(description: str) -> dict:
    return {"model": ErrorResponse, "description": description}


# Every status the route answers besides 200; each body is an ErrorResponse.
ERRORS = {
    400: error_answer("The body could not be parsed (not UTF-8)."),
    413: error_answer(f"The body is over {MAX_REQUEST_BYTES / 1e6:.0f} MB."),
    422: error_answer("The body breaks the schema: not JSON, no `texts` (or `text`), none or too many reviews, a "
                      f"review blank or over {MAX_REVIEW_CHARS:,} characters."),
    503: error_answer("The fine-tuned model is not loaded; `/healthz` says why."),
}


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


def one_review(text: str, answer):
    """A route's answer for one review: refused as /predict refuses it (blank, too long), an `Unreadable` row for
    one the models cannot read, else `answer(text)`."""
    check_text(text)
    unreadable = review_errors([text])[0]
    return Unreadable(error=unreadable) if unreadable else answer(text)


def rest_routes(service: Service) -> APIRouter:
    router = APIRouter()

    @router.post(f"{REST_PREFIX}/predict", response_model=PredictResponse, responses=ERRORS)
    def predict(request: PredictRequest) -> PredictResponse:
        """Per-class probabilities of the fine-tuned model for each review."""
        if service.model.predictor is None:
            return JSONResponse({"error": service.model.notice}, status_code=503)
        return PredictResponse(model=service.model.spec, predictions=service.predict(request.texts))

    @router.post(f"{REST_PREFIX}/robustness", response_model=RobustnessResponse | Unreadable, responses=ERRORS)
    def robustness(request: RobustnessRequest) -> RobustnessResponse | Unreadable:
        """The review under perturbations that should not change a verdict, and each model's P(positive) on every
        version, flips marked (the page's "How robust is this verdict?")."""
        if service.model.predictor is None:
            return JSONResponse({"error": service.model.notice}, status_code=503)
        return one_review(request.text, lambda text: RobustnessResponse(**service.robustness(text)))

    @router.post(f"{REST_PREFIX}/compare", response_model=CompareResponse | Unreadable, responses=ERRORS)
    def compare(request: CompareRequest) -> CompareResponse | Unreadable:
        """Both models on one review, side by side (the page's Analyze tab): probabilities, verdicts, agreement by
        polarity and, when both models' classes are the same points (five classes, five stars), class to class."""
        return one_review(request.text, lambda text: CompareResponse(**service.compare(text)))

    @router.get("/healthz")
    def healthz() -> dict:
        """Liveness, which model (repo, commit sha, origin) each side serves on which runtime, how that runtime was
        chosen on this CPU (options timed, ISA), the int8 check it passed, and the answer cache's hits and misses."""
        slots = {"finetuned": service.model, "baseline": service.baseline}
        return {"status": "ok", "models": {k: {"id": s.spec, "loaded": s.predictor is not None, "error": s.error,
                                               "runtime": s.predictor and s.predictor.runtime.description,
                                               "runtime_choice": s.predictor and s.predictor.choice,
                                               "int8_check": s.predictor and s.predictor.int8_check, **s.source}
                                           for k, s in slots.items()}, "answer_cache": service.answers.stats}

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
    return JSONResponse({"error": str(exc)}, status_code=422)


async def invalid_request(request: Request, exc: RequestValidationError):
    """REST's 422 for a body that breaks the schema: one sentence, with FastAPI's detail beside it. Gradio's own
    routes keep FastAPI's answer."""
    if not request.url.path.startswith(REST_PREFIX):
        return await request_validation_exception_handler(request, exc)
    first = exc.errors()[0] if exc.errors() else {}
    shape = (f'The body is {{"texts": [...]}} with 1 to {MAX_TEXTS_PER_REQUEST} reviews.'
             if request.url.path.endswith("/predict") else 'The body is {"text": "..."} with one review.')
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


def app_kwargs(service: Service) -> dict:
    """What Gradio's `launch(app_kwargs=...)` passes to its FastAPI app: our routes first, then Gradio's."""
    handlers = {UserError: user_error, RequestValidationError: invalid_request, HTTPException: unreadable_body}
    return {"routes": rest_routes(service).routes, "exception_handlers": handlers,
            "middleware": [Middleware(BodyLimit, limit=MAX_REQUEST_BYTES)]}


def serve(cfg: AppConfig) -> None:
    """Load both models and serve the page, the REST routes and, with `cfg.mcp`, the MCP tools."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    service = Service(cfg.model, cfg.baseline, long_text=cfg.long_text, quantize=cfg.quantize, runtime=cfg.runtime,
                      model_revision=cfg.model_revision, baseline_revision=cfg.baseline_revision)
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
    demo.block_thread()
