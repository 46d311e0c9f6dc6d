"""benchmarks/negation_sources.py counts real labelled text of the audit's negation forms beyond "not": a phrase
counts as a training example only when its own label says what the form means."""

import sys

import pandas as pd
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import negation_sources  # noqa: E402


def test_counts_phrases_by_what_their_label_says_and_sentences_by_their_review():
    sst = pd.DataFrame({"text": ["it 's never boring", "is never dull .", "never once was it clever", "never mind",
                                 "hardly a great film"], "label": [3, 2, 1, 2, 1]})
    imdb = pd.DataFrame({"text": ["Great fun. It was never boring at all! The end.",
                                  "I never found it boring, sadly the rest was bad."], "label": [1, 0]})
    rows = {(r["form"], r["direction"]): r for r in negation_sources.count(sst, imdb)}
    never = rows[("never", "negated complaint")]
    assert never["sst_phrases"] == 2 and never["sst_right"] == 1, "'is never dull .' is labelled neutral: not counted"
    assert never["sst_by_polarity"] == {"positive": 1, "neutral": 1, "negative": 0}
    assert never["imdb_sentences"] == 2 and never["imdb_share_meant"] == 0.5
    assert rows[("never", "negated praise")]["sst_right"] == 1, "'never once was it clever', negative"
    assert rows[("hardly / barely / scarcely", "negated praise")]["sst_right"] == 1
    assert rows[("nobody / no one", "negated complaint")]["imdb_share_meant"] is None, "no sentence: no share"


def test_a_negation_ending_the_sentence_is_its_own_form():
    sst = pd.DataFrame({"text": ["I thought it would be dull , but it was not .", "it was not dull",
                                 "dull , it is n't"], "label": [3, 3, 1]})
    imdb = pd.DataFrame({"text": ["I feared it would be boring. It was not boring."], "label": [1]})
    row = next(r for r in negation_sources.count(sst, imdb)
               if r["form"] == negation_sources.AT_THE_END and r["direction"] == "negated complaint")
    assert row["sst_phrases"] == 2 and row["sst_right"] == 1, "'it was not dull' does not end on its negation"
    assert row["imdb_sentences"] == 0
