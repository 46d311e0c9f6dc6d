"""What counts as a review the models can read, checked once per request for the page, the batch tab, the bulk CLI,
gr.api, MCP and the REST routes.

Two kinds of refusal: a text that is no text, blank or too long refuses the call (UserError; REST's schema states the
same limits, so a REST client meets it as a 422), while a text the models cannot read (binary data, no words) is
`Unreadable`: where many reviews come at once it is answered in its own row and the others are scored."""

from __future__ import annotations

import re
import unicodedata

from ..errors import UserError
from .text import TAG

# IMDb's longest review is ~14k characters; this leaves room while keeping one request's work bounded.
MAX_REVIEW_CHARS = 20_000


class Unreadable(UserError):
    """A text the models cannot read (binary data, no words): its row says why, the call goes on."""


def check_text(text) -> str:
    """The text itself, else UserError: it must be text, not blank, at most MAX_REVIEW_CHARS. This is the part of
    the check a schema can state (REST's does); check_review adds what only reading the text can tell."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise UserError("Please type or paste a review first.")
    if isinstance(text, bytes):
        raise UserError("The review must be text, not bytes.")
    if not isinstance(text, str):
        raise UserError(f"The review must be text, not {type(text).__name__}.")
    if len(text) > MAX_REVIEW_CHARS:
        raise UserError(f"The review is {len(text):,} characters long; the limit is {MAX_REVIEW_CHARS:,} "
                        "(about eight pages). Paste a shorter excerpt.")
    return text


def check_review(text) -> tuple[str, list[str]]:
    """(text, notes) for a usable review, else UserError with a message for the person who typed it.

    Notes are warnings worth showing next to the prediction (markup ignored).
    """
    text = check_text(text)
    # C1 controls (\x80-\x9f) are not counted: IMDb's own reviews carry Windows-1252 dashes read as Latin-1 ("\x96").
    control = sum(1 for c in text if (unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\n\r\t"
                                      and not "\x80" <= c <= "\x9f"))
    if "\x00" in text or control > max(3, len(text) // 100):
        raise Unreadable("This looks like binary data, not a review. Paste plain text.")
    if not re.search(r"\w", TAG.sub(" ", text)):
        # Scored anyway, it would get a verdict at ~50% that means nothing.
        raise Unreadable("There is nothing to judge: the review has no words, only emoji, punctuation or symbols. "
                        "Write a few words about the film.")
    notes = []
    if TAG.search(text):
        notes.append("HTML tags were ignored.")
    return text, notes


def review_errors(texts, *, refuse_blank: bool = False) -> list[str]:
    """For many texts at once: "" where a text is a usable review, else why it is not (batch tab, bulk CLI). With
    `refuse_blank` (REST's predict) a text that is no text, blank or too long refuses the whole call instead, as
    REST's schema states, and only unreadable ones get a row."""
    errors = []
    for text in texts:
        try:
            check_review(text)
            errors.append("")
        except Unreadable as exc:
            errors.append(str(exc))
        except UserError as exc:
            if refuse_blank:
                raise
            errors.append(str(exc))
    return errors
