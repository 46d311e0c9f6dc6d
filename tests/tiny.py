"""Tiny, real models and data built in-process: nothing is downloaded.

The vocabulary is written by the test; sentiment words carry the signal, filler words are noise, so a 2-layer
model learns the task in a few dozen steps and accuracy assertions are meaningful.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = {
    "negative": ["awful", "terrible", "boring", "dull", "worst", "bad", "waste", "horrible"],
    "neutral": ["okay", "average", "fine", "mediocre", "ordinary", "plain", "middling", "so-so"],
    "positive": ["great", "wonderful", "brilliant", "superb", "best", "good", "loved", "excellent"],
}
# SST-5's ends, each with words of its own, so a tiny five-class model can tell "very" from plain.
STRONG = {
    "very negative": ["atrocious", "unwatchable", "dreadful", "abysmal"],
    "very positive": ["masterpiece", "magnificent", "stunning", "sublime"],
}
SST5 = ["very negative", "negative", "neutral", "positive", "very positive"]
FILLER = ["the", "movie", "film", "was", "a", "and", "plot", "acting", "i", "it", "story", "this", "of", "cast",
          "scene", "ending", "really", "quite", "director", "music", "!", ".", ",", "not"]
STARS = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]


def write_vocab(directory: Path, extra_words: list[str] = ()) -> Path:
    words = sorted({w for ws in [*WORDS.values(), *STRONG.values()] for w in ws} | set(FILLER) | {"so", "-"}
                   | set(extra_words))
    path = directory / "vocab.txt"
    path.write_text("\n".join(SPECIAL + words) + "\n")
    return path


def review(label: str, rng: random.Random, length: int) -> str:
    """Filler plus a few words of the label's sentiment (other class names take a word list by position)."""
    signal = WORDS.get(label) or STRONG.get(label) or list(WORDS.values())[sum(map(ord, label)) % len(WORDS)]
    words = [rng.choice(FILLER) for _ in range(length)]
    for _ in range(max(2, length // 6)):
        words.insert(rng.randrange(len(words) + 1), rng.choice(signal))
    return " ".join(words)


def reviews(n: int, classes: list[str], seed: int = 0, min_len: int = 6, max_len: int = 30) -> pd.DataFrame:
    rng = random.Random(seed)
    labels = [classes[i % len(classes)] for i in range(n)]
    rng.shuffle(labels)
    return pd.DataFrame({"text": [review(c, rng, rng.randint(min_len, max_len)) for c in labels], "label": labels})


def write_dataset(directory: Path, classes: list[str], n_train: int = 240, n_test: int = 60, *,
                  int_labels: bool = True, fmt: str = "parquet") -> Path:
    """A dataset directory like ../shared/data/imdb: train.<fmt>, test.<fmt> with text/label columns."""
    directory.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        df = reviews(n, classes, seed)
        if int_labels:
            df["label"] = df["label"].map({c: i for i, c in enumerate(classes)})
        if fmt == "parquet":
            df.to_parquet(directory / f"{split}.parquet")
        elif fmt == "csv":
            df.to_csv(directory / f"{split}.csv", index=False)
        else:
            df.to_json(directory / f"{split}.jsonl", orient="records", lines=True)
    return directory


def make_base_model(directory: Path, kind: str = "bert", max_positions: int = 128,
                    extra_words: list[str] = (), seed: int = 0) -> Path:
    """A randomly initialised tiny encoder + fast tokenizer saved like a Hub base model (safetensors); the same
    weights for the same seed, whatever ran before."""
    import torch
    from transformers import (
        BertConfig,
        BertModel,
        BertTokenizerFast,
        DistilBertConfig,
        DistilBertModel,
        DistilBertTokenizerFast,
    )

    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(directory, extra_words)
    size = len(vocab.read_text().split())
    torch.manual_seed(seed)
    if kind == "bert":
        config = BertConfig(vocab_size=size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=max_positions)
        model, tokenizer = BertModel(config), BertTokenizerFast(vocab=str(vocab), do_lower_case=True)
    else:
        config = DistilBertConfig(vocab_size=size, dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                                  max_position_embeddings=max_positions)
        model, tokenizer = DistilBertModel(config), DistilBertTokenizerFast(vocab=str(vocab),
                                                                           do_lower_case=True)
    model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save_pretrained(directory)
    return directory


def make_classifier(directory: Path, labels: list[str], kind: str = "bert", seed: int = 0) -> Path:
    """A tiny sequence classifier with the given label names (e.g. the 5 star labels of the nlptown baseline)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    base = make_base_model(directory / "_base", kind)
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={n: i for i, n in enumerate(labels)})
    model.save_pretrained(directory, safe_serialization=True)
    from transformers import AutoTokenizer
    AutoTokenizer.from_pretrained(base).save_pretrained(directory)
    return directory


def outlier_in_attention(model_folder, out):
    """A copy of a trained DistilBERT whose first layer answers exactly as before in fp32 but defeats per-tensor int8:
    one channel of its queries 1,000x larger and the same channel of its keys 1,000x smaller leaves every attention
    score unchanged, while the quantisers of that layer's inputs and outputs now have to span a range 1,000x wider.
    SmoothQuant cannot move this outlier into weights (the product of two activations has none), so plain static int8
    flips a test review."""
    import shutil

    import torch

    from review_sentiment.inference.predictor import Predictor

    shutil.copytree(model_folder, out, ignore=shutil.ignore_patterns("onnx", "openvino"))
    predictor = Predictor.load(str(out), device="cpu")
    attention, channel = predictor.model.distilbert.transformer.layer[0].attention, 5
    with torch.no_grad():
        for linear, factor in ((attention.q_lin, 1e3), (attention.k_lin, 1e-3)):
            linear.weight[channel] *= factor
            linear.bias[channel] *= factor
    predictor.model.save_pretrained(out)
    return Predictor.load(str(out), device="cpu")
