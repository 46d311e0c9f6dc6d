"""Contrast sentences built from visitors' corrections (issue 39): the sentiment word swapped for words of the other
polarity, the class flipped; none for sentences without exactly one polarity of lexicon word, counted."""

import pandas as pd

from review_sentiment.data.contrasts import COMPLAINT, PRAISE, contrast_rows, contrasts
from review_sentiment.evaluation import behaviour


def test_the_sentiment_word_is_swapped_and_the_class_flipped():
    made = contrasts("Nobody could call the pacing sluggish.", "positive")
    assert len(made) == 3 and all(label == "negative" for _, label in made)
    for text, _ in made:
        frame, word = text.removesuffix(".").rsplit(" ", 1)
        assert frame == "Nobody could call the pacing" and word in PRAISE
    # Capitals are kept; every occurrence of a word of that polarity is swapped alike.
    capital = contrasts("Sluggish, sluggish pacing: nobody would call it lazy.", "positive")
    assert all(t.split(",")[0][0].isupper() and not any(w in t.lower() for w in ("sluggish", "lazy"))
               for t, _ in capital)
    assert contrasts("Nobody could call the pacing sluggish.", "positive") == made  # the same every time


def test_no_contrast_without_exactly_one_polarity_of_lexicon_word():
    assert contrasts("The pacing was not bad.", "positive") == []  # "bad" is the audit's word, not the lexicon's
    assert contrasts("Gripping at first, then sluggish.", "negative") == []  # both polarities: which one decides?
    assert contrasts("Nobody could call the pacing sluggish.", "neutral") == []
    rows = pd.DataFrame({"text": ["The editing never feels inspired.", "It was fine.", "Superb and dreadful."],
                         "label": [0, 1, 0]})
    frame, counts = contrast_rows(rows, ["negative", "positive"], "check")
    assert counts == {"corrections": 3, "with_contrasts": 1, "without": 2, "contrasts": 3}
    assert set(frame["label"]) == {1} and all(t.startswith("The editing never feels ") for t in frame["text"])


def test_training_and_checking_swap_in_different_words_none_of_them_the_audits():
    train = {t for t, _ in contrasts("The score is far from memorable.", "negative", 16, "train")}
    check = {t for t, _ in contrasts("The score is far from memorable.", "negative", 16, "check")}
    assert train and check and not train & check
    audit_words = set(behaviour.POSITIVE) | set(behaviour.NEGATIVE)
    assert not audit_words & (set(PRAISE) | set(COMPLAINT)) and not set(PRAISE) & set(COMPLAINT)
