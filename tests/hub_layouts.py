"""Loopback-Hub repos laid out like the public repos the Space serves by default (as their Hub pages show them),
with tiny real models inside. Only the Hub's HTTP API is faked (fake_hub.py); the weights are real safetensors.

- `lvwerra/distilbert-imdb`: `main` holds only pickled weights (`pytorch_model.bin`, plus `training_args.bin`);
  `model.safetensors` lives only in the open conversion pull request opened by the Hub's bot `SFconvertbot`
  (PR #5 on the real repo). Beside it, pull requests that must NOT be used: one by another user with the same title
  and other weights, a stale bot PR whose parent is an older `main`, and a closed bot PR.
- `nlptown/bert-base-multilingual-uncased-sentiment`: `main` holds the weights four times (`model.safetensors`,
  `pytorch_model.bin`, `flax_model.msgpack`, `tf_model.h5`) and a tokenizer as `vocab.txt` +
  `tokenizer_config.json` + `special_tokens_map.json`, without `tokenizer.json`.
- `someone/pickled-only`: `main` with `pytorch_model.bin` and no conversion PR.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import tiny
from fake_hub import FakeHub, Repo

LVWERRA = "lvwerra/distilbert-imdb"
NLPTOWN = "nlptown/bert-base-multilingual-uncased-sentiment"
PICKLED_ONLY = "someone/pickled-only"
BOT = "SFconvertbot"
PR_TITLE = "Adding `safetensors` variant of this model"
GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"


def pickled(model) -> bytes:
    """A real torch.save of the weights, as the Hub holds it (the code under test must never download it)."""
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


SPECIAL_TOKENS_MAP = (b'{"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]", '
                      b'"unk_token": "[UNK]"}')


def tokenizer_files(folder: Path, fast: bool = True) -> dict[str, bytes]:
    """The tokenizer as repos of that age hold it: vocab.txt and special_tokens_map.json, plus tokenizer.json
    where the repo has one."""
    files = {"tokenizer_config.json": (folder / "tokenizer_config.json").read_bytes(),
             "vocab.txt": (folder / "_base" / "vocab.txt").read_bytes(), "special_tokens_map.json": SPECIAL_TOKENS_MAP}
    if fast:
        files["tokenizer.json"] = (folder / "tokenizer.json").read_bytes()
    return files


def build(hub: FakeHub, root: Path) -> dict:
    """Fill the hub; returns the local copies (true weights) and the commit shas a test checks against."""
    from transformers import AutoModelForSequenceClassification

    facts: dict = {}

    # lvwerra/distilbert-imdb
    true = tiny.make_classifier(root / "lvwerra-true", ["NEGATIVE", "POSITIVE"], kind="distilbert", seed=1)
    other = tiny.make_classifier(root / "lvwerra-other", ["NEGATIVE", "POSITIVE"], kind="distilbert", seed=2)
    model = AutoModelForSequenceClassification.from_pretrained(true)
    repo = hub.repos[("model", LVWERRA)] = Repo("model", LVWERRA)
    first = repo.commit_main("initial commit", {
        ".gitattributes": GITATTRIBUTES, "README.md": b"---\nlicense: apache-2.0\n---\n# distilbert-imdb\n",
        "config.json": (true / "config.json").read_bytes(), "pytorch_model.bin": pickled(model),
        "training_args.bin": os.urandom(2048), **tokenizer_files(true)})
    head = repo.commit_main("Update README.md", {"README.md": b"---\nlicense: apache-2.0\ndatasets:\n- imdb\n---\n"
                                                              b"# distilbert-imdb\nFine-tuned on IMDb.\n"})
    other_weights = {"model.safetensors": (other / "model.safetensors").read_bytes()}
    repo.open_pr("someone-else", PR_TITLE, other_weights)  # right title, wrong author
    repo.open_pr(BOT, PR_TITLE, other_weights, parent=first)  # stale: made against the older main
    repo.open_pr(BOT, PR_TITLE, other_weights, status="closed")
    repo.open_pr("reviewer", "Question about the training data", {})
    num, pr_sha = repo.open_pr(BOT, PR_TITLE, {"model.safetensors": (true / "model.safetensors").read_bytes()})
    facts[LVWERRA] = {"local": true, "main": head, "pr": pr_sha, "pr_num": num}

    # nlptown/bert-base-multilingual-uncased-sentiment
    stars = tiny.make_classifier(root / "nlptown-true", tiny.STARS, kind="bert", seed=3)
    model = AutoModelForSequenceClassification.from_pretrained(stars)
    repo = hub.repos[("model", NLPTOWN)] = Repo("model", NLPTOWN)
    sha = repo.commit_main("Upload", {
        ".gitattributes": GITATTRIBUTES, "README.md": b"---\nlanguage: multilingual\nlicense: mit\n---\n",
        "config.json": (stars / "config.json").read_bytes(), "model.safetensors": (stars / "model.safetensors")
        .read_bytes(), "pytorch_model.bin": pickled(model), "flax_model.msgpack": os.urandom(4096),
        "tf_model.h5": os.urandom(4096), **tokenizer_files(stars, fast=False)})
    facts[NLPTOWN] = {"local": stars, "main": sha}

    # someone/pickled-only
    repo = hub.repos[("model", PICKLED_ONLY)] = Repo("model", PICKLED_ONLY)
    repo.commit_main("initial commit", {"config.json": (other / "config.json").read_bytes(),
                                        "pytorch_model.bin": pickled(AutoModelForSequenceClassification
                                                                     .from_pretrained(other)),
                                        **tokenizer_files(other)})
    return facts
