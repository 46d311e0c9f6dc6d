"""One server for everything: the Gradio page at `/`, a plain REST API at `/api/v1`, and `/healthz`."""

from __future__ import annotations

import logging
import os

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from . import __version__
from .errors import UserError
from .service import Service
from .ui import CSS, HEAD, THEME, build_ui

MAX_TEXTS_PER_REQUEST = 64


class PredictRequest(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS_PER_REQUEST,
                             description=f"1 to {MAX_TEXTS_PER_REQUEST} reviews.",
                             examples=[["A moving, beautifully acted film.", "Two hours I will never get back."]])


class Prediction(BaseModel):
    label: str
    score: float
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    model: str
    predictions: list[Prediction]


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="review-sentiment", version=__version__, docs_url="/api/v1/docs",
                  openapi_url="/api/v1/openapi.json", redoc_url=None,
                  description="Sentiment of movie reviews from the fine-tuned model. The page is at `/`.")

    @app.exception_handler(UserError)
    async def user_error(_: Request, exc: UserError):
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.post("/api/v1/predict", response_model=PredictResponse)
    def predict(request: PredictRequest) -> PredictResponse:
        """Per-class probabilities of the fine-tuned model for each review."""
        if service.model.predictor is None:
            return JSONResponse({"error": service.model.notice}, status_code=503)
        return PredictResponse(model=service.model.spec, predictions=service.predict(request.texts))

    @app.get("/healthz")
    def healthz() -> dict:
        slots = {"finetuned": service.model, "baseline": service.baseline}
        return {"status": "ok", "models": {k: {"id": s.spec, "loaded": s.predictor is not None, "error": s.error}
                                           for k, s in slots.items()}}

    return gr.mount_gradio_app(app, build_ui(service), path="/", theme=THEME, css=CSS, head=HEAD,
                                footer_links=["api"])


def serve(model: str | None = None, baseline: str | None = None, **options) -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(Service(model, baseline, **options))
    host = os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0")
    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    uvicorn.run(app, host=host, port=port, log_level="warning")
