"""The REST API's request and answer schemas (/api/v1, its OpenAPI docs), and the statuses every route documents.

The limits a schema states are the ones data/reviews.py enforces; the table of operations (operations.py) names
which schema each route takes and answers.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, create_model

from ..data.reviews import MAX_REVIEW_CHARS

MAX_TEXTS_PER_REQUEST = 64
# 64 reviews at the 20,000-character limit are 1.28 MB of JSON; a larger body is refused before it is read whole.
MAX_REQUEST_BYTES = 2_000_000


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


class FeedbackRequest(BaseModel):
    text: Review = Field(description=f"The review, not blank, at most {MAX_REVIEW_CHARS:,} characters.",
                         examples=["The plot was not bad at all."])
    label: str = Field(description="The right class: one of the fine-tuned model's classes (its answer is corrected) "
                                   "or of the baseline's (1-5 stars: the baseline's answer is).", examples=["positive"])


def feedback_request(labels: list[str]) -> type[FeedbackRequest]:
    """FeedbackRequest whose schema lists the classes the served models have (an enum), so that every request the
    schema allows is one the route accepts."""
    if not labels:
        return FeedbackRequest
    return create_model("FeedbackRequest", __base__=FeedbackRequest,
                        label=(Literal[tuple(labels)], Field(description=FeedbackRequest.model_fields["label"]
                                                             .description, examples=[labels[-1]])))


class FeedbackResponse(BaseModel):
    saved: bool
    id: str = Field(description="the record's id in the feedback dataset")
    count: int = Field(description="corrections this Space has kept so far")
    redacted: dict[str, int] = Field(description="personal details replaced before saving, by kind (email, url, "
                                                 "phone, handle)")
    message: str


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
FEEDBACK_ERRORS = ERRORS | {
    429: error_answer("Too many corrections from this client in a minute, or too many waiting to be saved."),
    503: error_answer("Feedback is off on this server (its folder cannot be written); `/healthz` says so."),
}
