"""--mix-dataset: which texts are mixed into training, how their labels are mapped, and what is never mixed."""

import pandas as pd
import pytest

from review_sentiment.data.mixing import MixSpec, has_negation, mix, normalised, parse_mix, parse_size
from review_sentiment.errors import UserError

SST5 = ["very negative", "negative", "neutral", "positive", "very positive"]


def write_phrases(folder, rows, validation=(), test=()):
    """An SST-like folder: train phrases with labels 0-4, validation and test sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["text", "label"]).to_parquet(folder / "train.parquet")
    for split, texts in (("validation", validation), ("test", test)):
        pd.DataFrame({"text": list(texts) or ["a plain sentence ."], "label": [2] * max(1, len(texts))}) \
            .to_parquet(folder / f"{split}.parquet")
    return folder


PHRASES = [("not bad", 3), ("is n't boring at all", 3), ("never dull", 4), ("not good", 1), ("no fun", 0),
           ("great", 4), ("a waste of time", 0), ("the film", 2), ("it", 2), ("a lovely film", 3),
           ("The Film", 2), ("A lovely  film", 3), ("an utterly dull script", 0), ("without any charm", 1)]


def test_mixed_texts_are_mapped_by_polarity_and_neutral_dropped(tmp_path):
    folder = write_phrases(tmp_path / "phrases", PHRASES)
    rows, report = mix(MixSpec("sst", str(folder)), ["negative", "positive"], select="all", size=None,
                       held_out=[], text_column="text", label_column="label", seed=0)
    expected = {normalised(t): int(y > 2) for t, y in PHRASES if y != 2}
    assert {normalised(t): y for t, y in zip(rows["text"], rows["label"])} == expected
    # "A lovely  film" repeats "a lovely film" once case and spaces are ignored: kept once.
    assert len(rows) == len(expected) and report["dropped_duplicates"] == 1
    assert report["dropped_classes"] == 3 and "neutral dropped" in report["mapping"]
    assert report["per_class"] == {"negative": 5, "positive": 5} and report["added"] == 10


def test_texts_the_run_evaluates_on_are_never_mixed(tmp_path):
    """A phrase equal to one of the set's own validation or test sentences, or to a review the run scores, is dropped
    and counted, however it is spaced or cased."""
    folder = write_phrases(tmp_path / "phrases", PHRASES, validation=["Not  bad"], test=["never dull"])
    rows, report = mix(MixSpec("sst", str(folder)), ["negative", "positive"], select="all", size=None,
                       held_out=[pd.Series(["NO FUN"])], text_column="text", label_column="label", seed=0)
    assert report["dropped_evaluation_overlap"] == 3
    assert not {"not bad", "never dull", "no fun"} & {normalised(t) for t in rows["text"]}


@pytest.mark.parametrize("select, size, expected", [
    ("negation", None, 6), ("negation", 2, 2), ("negation", 0.5, 3), ("multi-word", None, 9),
    ("all", 0.2, 2), ("all", 1, 10), ("negation+multi-word", 8, 8), ("negation+multi-word", 4, 4),
    ("negation+multi-word", None, 9)])
def test_select_and_size_give_exactly_the_texts_asked_for(tmp_path, select, size, expected):
    folder = write_phrases(tmp_path / "phrases", PHRASES)
    rows, report = mix(MixSpec("sst", str(folder)), ["negative", "positive"], select=select, size=size,
                       held_out=[], text_column="text", label_column="label", seed=3)
    assert len(rows) == expected == report["added"] and not rows["text"].duplicated().any()
    negation = rows["text"].map(has_negation)
    if select == "negation":
        assert negation.all()
    if select == "multi-word":
        assert (rows["text"].str.split().str.len() >= 2).all()
    if select == "negation+multi-word":
        # Every negation text first: with room for all six, all six are in.
        assert negation.sum() == min(expected, 6)


def test_negation_words_as_sst_and_reviews_write_them():
    assert all(map(has_negation, ["is n't funny", "isn't funny", "not good", "Never again", "no fun", "without wit"]))
    assert not any(map(has_negation, ["nothingness aside", "a notable film", "knotty", "snowy"]))


def test_bad_mixes_fail_in_one_line(tmp_path):
    with pytest.raises(UserError, match="NAME=PATH"):
        parse_mix("../data/phrases")
    with pytest.raises(UserError, match="neither a local file"):
        parse_mix(f"sst={tmp_path / 'nowhere'}")
    for bad in ("0", "-1", "1.5", "many"):
        with pytest.raises(UserError, match="--mix-size"):
            parse_size(bad)
    assert parse_size("1") == 1.0 and parse_size("0.25") == 0.25 and parse_size("8000") == 8000
    columns = write_phrases(tmp_path / "columns", PHRASES)
    with pytest.raises(UserError, match="no column 'sentence'"):
        mix(MixSpec("sst", str(columns)), ["negative", "positive"], select="all", size=None, held_out=[],
            text_column="sentence", label_column="label", seed=0)
    animals = tmp_path / "animals"
    animals.mkdir()
    pd.DataFrame({"text": ["a cat", "a dog"], "label": ["cat", "dog"]}).to_parquet(animals / "train.parquet")
    with pytest.raises(UserError, match="None of the classes"):
        mix(MixSpec("pets", str(animals)), ["negative", "positive"], select="all", size=None, held_out=[],
            text_column="text", label_column="label", seed=0)
