"""Head+tail truncation and dataset loading: the preprocessing every other part relies on."""

import pandas as pd
import pytest
import tiny
from conftest import SHARED
from transformers import AutoTokenizer

from review_sentiment.data.splits import load_splits, stratified_subset
from review_sentiment.data.text import clip_chars, encode, head_tail_sizes
from review_sentiment.errors import UserError


@pytest.fixture(scope="module")
def tokenizer(bert_base):
    return AutoTokenizer.from_pretrained(bert_base)


def test_head_tail_keeps_first_quarter_and_last_three_quarters(tokenizer):
    tiny_vocab = ["great", "awful", "movie", "the"]
    text = " ".join(tiny_vocab[i % 4] for i in range(600))
    ids = encode(tokenizer, [text], max_length=512, truncation="head+tail")[0]
    assert len(ids) == 512 and head_tail_sizes(510) == (128, 382)
    content = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert ids[1:129] == content[:128] and ids[129:-1] == content[-382:]


def test_head_tail_same_proportion_at_other_lengths_and_short_texts_untouched(tokenizer):
    text = " ".join(["great", "awful", "movie"] * 200)
    content = tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = encode(tokenizer, [text], max_length=256, truncation="head+tail")[0]
    head, tail = head_tail_sizes(254)
    assert (head, tail) == (64, 190) and len(ids) == 256
    assert ids[1:1 + head] == content[:head] and ids[1 + head:-1] == content[-tail:]
    short = encode(tokenizer, ["great movie"], max_length=256, truncation="head+tail")[0]
    assert short == encode(tokenizer, ["great movie"], max_length=256, truncation="head")[0]
    head_only = encode(tokenizer, [text], max_length=256, truncation="head")[0]
    assert head_only[1:-1] == content[:254]


def test_megabyte_text_is_clipped_before_tokenizing_without_changing_the_result(tokenizer):
    text = "great movie " * 100_000  # 1.2 MB
    assert len(clip_chars(text, 64)) < 20_000
    assert encode(tokenizer, [text], max_length=64, truncation="head+tail")[0][1:10] == \
        tokenizer("great movie " * 10, add_special_tokens=False)["input_ids"][:9]


def test_string_labels_csv_and_jsonl_and_label_names(tmp_path):
    csv = tiny.write_dataset(tmp_path / "csv", ["neg", "pos"], int_labels=False, fmt="csv")
    splits = load_splits(str(csv))
    assert splits.label_names == ["neg", "pos"] and set(splits.test["label"]) == {0, 1}
    jsonl = tiny.write_dataset(tmp_path / "jsonl", ["a", "b", "c"], fmt="jsonl")
    splits = load_splits(str(jsonl), label_names=["bad", "meh", "good"])
    assert splits.label_names == ["bad", "meh", "good"]
    five = tiny.write_dataset(tmp_path / "five", [str(i) for i in range(5)], n_train=100, n_test=20)
    assert load_splits(str(five)).label_names[0] == "very negative"
    with pytest.raises(UserError, match="--label-names"):
        load_splits(str(tiny.write_dataset(tmp_path / "four", list("abcd"), n_train=40, n_test=8)))


def test_validation_is_carved_stratified_from_train_and_test_is_untouched(tmp_path):
    data = tiny.write_dataset(tmp_path / "d", ["negative", "positive"], n_train=200, n_test=50)
    splits = load_splits(str(data), val_size=0.2, max_train_samples=100)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (80, 20, 50)
    assert splits.validation["label"].value_counts().tolist() == [10, 10]
    assert not set(splits.validation["text"]) & set(splits.train["text"])
    assert splits.validation_carved


def test_single_file_dataset_carves_a_test_split(tmp_path):
    df = tiny.reviews(100, ["negative", "positive"])
    df.to_csv(tmp_path / "all.csv", index=False)
    splits = load_splits(str(tmp_path / "all.csv"), test_size=0.2)
    assert len(splits.test) == 20 and len(splits.train) + len(splits.validation) == 80


def test_stratified_subset_of_label_sorted_data_keeps_both_classes():
    df = pd.DataFrame({"text": [f"t{i}" for i in range(1000)], "label": [0] * 500 + [1] * 500})
    part = stratified_subset(df, 100, seed=0)
    assert part["label"].value_counts().to_dict() == {0: 50, 1: 50}


def test_test_labels_outside_train_classes_are_refused(tmp_path):
    data = tiny.write_dataset(tmp_path / "d", ["negative", "positive"], int_labels=False, fmt="csv")
    test = pd.read_csv(data / "test.csv")
    test.loc[0, "label"] = "neutral"
    test.to_csv(data / "test.csv", index=False)
    with pytest.raises(UserError, match="'neutral' is not one of"):
        load_splits(str(data))


IMDB = SHARED / "imdb"


@pytest.mark.skipif(not (IMDB / "train.parquet").exists(), reason="../shared/data/imdb is not here (a user's clone)")
def test_real_imdb_split_loads_balanced_with_real_names():
    """The official split as the README describes it: 25k/25k, sorted by label, so subsets must be stratified."""
    splits = load_splits(str(IMDB), max_train_samples=2000, max_eval_samples=2000)
    assert splits.label_names == ["negative", "positive"]
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (1800, 200, 2000)
    for frame in (splits.train, splits.validation, splits.test):
        assert frame["label"].value_counts().min() / len(frame) == pytest.approx(0.5, abs=0.01)
    assert not set(splits.validation["text"]) & set(splits.train["text"])
    assert splits.test["text"].str.contains("<br />").mean() > 0.3, "raw IMDb text, markup included"
