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
from .feedback import FeedbackOff
from .schemas import (
    ERRORS,
    FEEDBACK_ERRORS,
    CompareRequest,
    CompareResponse,
    FeedbackResponse,
    PredictRequest,
    PredictResponse,
    RobustnessRequest,
    RobustnessResponse,
    Unreadable,
    feedback_request,
)
from .service import Service

ONE_REVIEW = {"text": inspect.Parameter.empty}


@dataclasses.dataclass(frozen=True)
class Operation:
    name: str  # the gr.api name, the MCP tool's name and the REST route /api/v1/<name>
    answer: Callable[..., dict]  # (service, *fields) -> its answer, checking the review (data/reviews.check_review)
    description: str  # what gr.api and MCP show: a docstring with Args and Returns
    route: str  # what REST's OpenAPI docs say
    # REST's body: {"text": ...}, or {"texts": [...]} for an operation on many reviews; or, where the schema depends
    # on the models served, a function of the service that builds it.
    request: type[BaseModel] | Callable[[Service], type[BaseModel]]
    response: Any  # REST's answer schema
    rest: Callable[[Service, BaseModel], Any] | None = None  # REST's answer where it is not `answer` on body.text
    model_needed: bool = True  # REST answers 503 while the fine-tuned model is not loaded
    mcp: bool = True  # listed as an MCP tool when the server runs one (--mcp)
    # The answer's arguments after the service, with their defaults: the REST body's fields and gr.api's parameters.
    fields: dict[str, Any] = dataclasses.field(default_factory=lambda: dict(ONE_REVIEW))
    client: bool = False  # the answer also takes client=<the caller's address> (rate limits; never stored)
    errors: dict = dataclasses.field(default_factory=lambda: ERRORS)  # every status REST answers besides 200

    def request_for(self, service: Service) -> type[BaseModel]:
        return self.request if isinstance(self.request, type) else self.request(service)

    def call(self, service: Service, values: list, client: str) -> dict:
        return self.answer(service, *values, **({"client": client} if self.client else {}))

    def api_doc(self) -> str:
        return inspect.cleandoc(self.description)

    def route_doc(self) -> str:
        return inspect.cleandoc(self.route)

    def rest_answer(self, service: Service, body: BaseModel, client: str = ""):
        """REST's answer to a body that met the schema: the operation's answer, or an `Unreadable` answer for a
        review the models cannot read; a review refused outright (blank, too long) is a 422 (server.user_error). The
        operation checks the review, once."""
        if self.rest is not None:
            return self.rest(service, body)
        try:  # FastAPI validates the answer against `response`
            return self.call(service, [getattr(body, name) for name in self.fields], client)
        except UnreadableReview as exc:
            return Unreadable(error=str(exc))


def predict_one(service: Service, text: str) -> dict:
    answer = service.predict([text])[0]
    if "error" in answer:  # one review, so no other to answer: refused like the page refuses it
        raise UserError(answer["error"])
    return answer


def feedback(service: Service, text: str, label: str, *, client: str = "") -> dict:
    if service.feedback is None:
        raise FeedbackOff("Feedback is off on this Space (its folder cannot be written); predictions still work.")
    return service.feedback.correct(service, text, label, client=client)


def served_labels(service: Service) -> list[str]:
    """Every class a correction may name: the fine-tuned model's, then the baseline's."""
    labels = [label for slot in (service.model, service.baseline) if slot.predictor for label in slot.predictor.labels]
    return list(dict.fromkeys(labels))


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
    Operation(
        "feedback", feedback,
        description='''A correction of one model's answer on one movie review ("Was this right?"), kept to train the
        next model: the review (e-mail addresses, URLs, phone numbers and @handles replaced), the class the sender says
        is right, both models' answers, their commits and the time; no address or account. Answers "saved", the
        record's "id", "count" (corrections kept so far), "redacted" (details replaced, by kind) and a thank-you
        "message".

        Args:
            text: the review, plain text (up to 20,000 characters).
            label: the right class: one of the fine-tuned model's classes (e.g. "positive"), which corrects its answer,
                or of the baseline's ("1 star" .. "5 stars"), which corrects the baseline's.

        Returns:
            whether it was saved, its id, the running count and a thank-you.
        ''',
        route='''Keep a correction of one model's answer on a review, for re-training (the page's "Was this right?"). At
        most a few a minute from one client (429 past it).''',
        request=lambda service: feedback_request(served_labels(service)), response=FeedbackResponse | Unreadable,
        model_needed=False,
        # An agent should not label data on a person's behalf: callable by name, not an MCP tool.
        mcp=False, fields={"text": inspect.Parameter.empty, "label": inspect.Parameter.empty}, client=True,
        errors=FEEDBACK_ERRORS),
]
