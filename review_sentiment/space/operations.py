"""Every operation the Space offers to programs, declared once: the surfaces are generated from this table.

Each `Operation` names what it does on one review (`answer`: the JSON a gradio_client or MCP caller gets), its REST
route `/api/v1/<name>` with the schemas it takes and answers, its gr.api name (the same), and whether it is an MCP
tool. server.py builds the REST routes from it, ui.py the gr.api endpoints (which Gradio's MCP server lists as
tools), so a new operation is one entry here. The page's own events (Analyze, Batch, explanations) are not
operations: they draw the page.

An operation's answer checks its review once (data/reviews.py: the Service's methods do, for the page as well), and
every surface turns the check's refusals into its own answer: blank, no text or too long refuses the call
(UserError: a 422 on REST, the caller's error on gr.api and MCP); a review the models cannot read (binary data, no
words) is an `Unreadable` answer on REST, the row in its place for predict's many reviews.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

from pydantic import BaseModel

from ..data.reviews import Unreadable as UnreadableReview
from ..errors import UserError
from .schemas import (
    CompareRequest,
    CompareResponse,
    PredictRequest,
    PredictResponse,
    RobustnessRequest,
    RobustnessResponse,
    Unreadable,
)
from .service import Service


@dataclasses.dataclass(frozen=True)
class Operation:
    name: str  # the gr.api name, the MCP tool's name and the REST route /api/v1/<name>
    answer: Callable[[Service, str], dict]  # one review -> its answer, checking it (data/reviews.check_review)
    description: str  # what gr.api and MCP show: a docstring with Args and Returns
    route: str  # what REST's OpenAPI docs say
    request: type[BaseModel]  # REST's body: {"text": ...}, or {"texts": [...]} for an operation on many reviews
    response: Any  # REST's answer schema
    rest: Callable[[Service, BaseModel], Any] | None = None  # REST's answer where it is not `answer` on body.text
    model_needed: bool = True  # REST answers 503 while the fine-tuned model is not loaded
    mcp: bool = True  # listed as an MCP tool when the server runs one (--mcp)

    def api_doc(self) -> str:
        return inspect.cleandoc(self.description)

    def route_doc(self) -> str:
        return inspect.cleandoc(self.route)

    def rest_answer(self, service: Service, body: BaseModel):
        """REST's answer to a body that met the schema: the operation's answer, or an `Unreadable` answer for a
        review the models cannot read; a review refused outright (blank, too long) is a 422 (server.user_error). The
        operation checks the review, once."""
        if self.rest is not None:
            return self.rest(service, body)
        try:
            return self.answer(service, body.text)  # FastAPI validates it against `response`
        except UnreadableReview as exc:
            return Unreadable(error=str(exc))


def predict_one(service: Service, text: str) -> dict:
    answer = service.predict([text])[0]
    if "error" in answer:  # one review, so no other to answer: refused like the page refuses it
        raise UserError(answer["error"])
    return answer


OPERATIONS: list[Operation] = [
    Operation(
        "predict", predict_one,
        description='''Sentiment of one English movie review from the model fine-tuned on IMDb reviews: a JSON object
        with "label" ("positive" or "negative"), "score" (that label's probability) and "probabilities" (each class).

        Args:
            text: the review, plain text (up to 20,000 characters).

        Returns:
            the label, its probability and every class's probability.
        ''',
        route="Per-class probabilities of the fine-tuned model for each review.",
        request=PredictRequest, response=PredictResponse,
        rest=lambda service, body: PredictResponse(model=service.model.spec,
                                                   predictions=service.predict(body.texts))),
    Operation(
        "compare", lambda service, text: service.compare(text),
        description='''One review through both models, side by side: the model fine-tuned on IMDb reviews
        ("finetuned": probabilities, label, confidence, verdict, latency_ms) and the 1-5 star baseline ("baseline":
        per-star probabilities, verdict negative/neutral/positive/undecided, confidence, expected_stars,
        p_positive), "agree" (whether the verdicts match; null when a model is undecided), "scale" (when both models
        have five ordered classes: each one's point 1-5, "exact" and "within_one") and "notes".

        Args:
            text: the review, plain text (up to 20,000 characters).

        Returns:
            both models' answers, whether they agree, and notes on the review.
        ''',
        route='''Both models on one review, side by side (the page's Analyze tab): probabilities, verdicts, agreement by
        polarity and, when both models' classes are the same points (five classes, five stars), class to class.''',
        request=CompareRequest, response=CompareResponse | Unreadable, model_needed=False),
    Operation(
        "robustness", lambda service, text: service.robustness(text),
        description='''How robust the verdict on one movie review is: the review under perturbations that should not
        change a verdict (typos, contractions, punctuation, an irrelevant sentence added, first names, gender words,
        countries and religions swapped) and each model's P(positive) and verdict on every version, with "flipped"
        where a version's verdict differs from the review's.

        Args:
            text: the review, plain text (up to 20,000 characters).

        Returns:
            the versions with both models' P(positive), verdicts and flips, notes, and the time taken.
        ''',
        route='''The review under perturbations that should not change a verdict, and each model's P(positive) on every
        version, flips marked (the page's "How robust is this verdict?").''',
        request=RobustnessRequest, response=RobustnessResponse | Unreadable),
]
