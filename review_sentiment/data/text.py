"""Text -> token ids, the one function both training and serving call, so preprocessing cannot drift."""

from __future__ import annotations

import html
import re
from typing import Literal, Sequence

Truncation = Literal["head", "head+tail"]
TRUNCATIONS: tuple[str, ...] = ("head", "head+tail")

# Sun et al. 2019 ("How to Fine-Tune BERT for Text Classification?") found that keeping the first 128 and the last
# 382 tokens of a 512 window beats every other truncation on IMDb: reviews state their verdict at the end.
HEAD_SHARE = 128 / 510

# Tokenizing a megabyte of text costs real time and nothing past the window is read, so very long inputs are
# clipped to their two ends first. A WordPiece/BPE token covers far fewer than 100 characters, so this never
# changes which tokens survive.
CHARS_PER_TOKEN_BOUND = 100


TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
SPACES = re.compile(r"\s+")
# Penn Treebank escapes, as SST's sentences keep them: read as the characters they stand for, in training and serving
# alike, so that a model trained on "-LRB- and -RRB-" reads a visitor's "(" and ")" the way it learnt them.
PTB_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}", "\\/": "/",
               "\\*": "*", "``": '"', "''": '"'}
PTB = re.compile("|".join(re.escape(escape) for escape in PTB_ESCAPES))


def clean_text(text: str) -> str:
    """Markup out, entities decoded, PTB escapes read, whitespace collapsed. IMDb reviews carry `<br />` tags (58% of
    them), which would otherwise spend ~4 tokens each of the window on nothing."""
    text = PTB.sub(lambda m: PTB_ESCAPES[m.group(0)], text)
    return SPACES.sub(" ", html.unescape(TAG.sub(" ", text))).strip()


def head_tail_sizes(budget: int) -> tuple[int, int]:
    """How many content tokens to keep from the start and from the end of a review."""
    head = round(budget * HEAD_SHARE)
    return head, budget - head


def clip_chars(text: str, max_length: int) -> str:
    limit = max_length * CHARS_PER_TOKEN_BOUND
    return text if len(text) <= 2 * limit else text[:limit] + " " + text[-limit:]


def window(tokenizer, max_length: int) -> int:
    """Content tokens a `max_length` input holds once the tokenizer's special tokens are in ([CLS] .. [SEP]: 2)."""
    prefix, suffix = special_tokens(tokenizer)
    return max_length - len(prefix) - len(suffix)


def truncate(sequence: list, budget: int, truncation: Truncation) -> list:
    """The items of `sequence` a `budget`-long window keeps: the first ones (`head`), or the first ~25% and the last
    ~75% (`head+tail`)."""
    if len(sequence) <= budget:
        return list(sequence)
    head, tail = head_tail_sizes(budget) if truncation == "head+tail" else (budget, 0)
    return list(sequence[:head]) + (list(sequence[-tail:]) if tail else [])


def encode(tokenizer, texts: Sequence[str], *, max_length: int, truncation: Truncation,
           clean: bool = True) -> list[list[int]]:
    """Token ids (with special tokens) for each text, at most `max_length` long, unpadded.

    `head` keeps the first tokens; `head+tail` keeps the first ~25% and the last ~75% of the window. `clean=False`
    reads the text as a plain `transformers.pipeline` does, markup and all (evaluation's "pipeline" reading).
    """
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}")
    texts = [clip_chars(t, max_length) for t in texts]
    texts = [clean_text(t) for t in texts] if clean else texts
    if truncation == "head":
        return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    prefix, suffix = special_tokens(tokenizer)
    budget = window(tokenizer, max_length)
    # verbose=False: the untruncated ids are longer than the model's window on purpose.
    ids = tokenizer(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    return [prefix + truncate(x, budget, "head+tail") + suffix for x in ids]


def special_tokens(tokenizer) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single text ([CLS] / [SEP] for BERT, <s> / </s> for RoBERTa).

    Read off the tokenizer itself, so head+tail works for any architecture.
    """
    bare = tokenizer("movie", add_special_tokens=False)["input_ids"]
    full = tokenizer("movie")["input_ids"]
    for i in range(len(full) - len(bare) + 1):
        if full[i:i + len(bare)] == bare:
            return full[:i], full[i + len(bare):]
    raise ValueError("cannot locate the text between the tokenizer's special tokens")


def encode_windows(tokenizer, texts: Sequence[str], *, max_length: int,
                   stride: int | None = None) -> list[list[list[int]]]:
    """Every text as overlapping windows of at most `max_length` tokens (special tokens included).

    Consecutive windows share `stride` content tokens (default a quarter of the window), so no sentence is seen
    only cut in half. A text that fits is a single window, identical to `encode`'s.
    """
    prefix, suffix = special_tokens(tokenizer)
    budget = window(tokenizer, max_length)
    stride = budget // 4 if stride is None else stride
    if not 0 <= stride < budget:
        raise ValueError(f"stride must be in [0, {budget}), got {stride}")
    step = budget - stride
    ids = tokenizer([clean_text(t) for t in texts], add_special_tokens=False, truncation=False,
                    verbose=False)["input_ids"]
    windows = []
    for x in ids:
        starts = range(0, max(len(x) - stride, 1), step)
        windows.append([prefix + x[s:s + budget] + suffix for s in starts])
    return windows
