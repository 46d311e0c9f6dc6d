"""Which reviews share one call of a runtime.

On a CPU, sharing a call saves the call's fixed cost, which matters for short reviews; for long ones attention
(length squared) and cache pressure make a shared call cost more per review than single calls. Measured per runtime
(benchmarks/batching.py, benchmarks/README.md), the turn comes at a review length, not at a number of reviews: so
reviews share a call only while the call's longest review is at most the runtime's `shared_length` tokens and
padding adds at most MAX_PADDING to the real tokens; longer reviews run alone. `shared_length` 0 is one review per
call (int8, whose activation scale is per call: alone, an answer never depends on its neighbours). On a GPU
(`shared_length` None) calls are plain length-sorted batches: there, batching is the speed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .padding import padded_length

MAX_PADDING = 0.10


def calls(lengths: Sequence[int], shared_length: int | None, max_reviews: int, multiple: int = 1,
          max_length: int | None = None) -> list[np.ndarray]:
    """Indices into `lengths`, one array per call, shortest reviews first. `multiple` and `max_length` are the
    padding rule (padding.py) the calls will be padded with."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    if shared_length is None:
        return [order[s:s + max_reviews] for s in range(0, len(order), max_reviews)]
    groups: list[list[int]] = []
    current: list[int] = []
    real = 0
    for i in order:
        length = int(lengths[i])
        # Ascending order: the newest review is the call's longest.
        padded = padded_length(length, multiple, max_length) * (len(current) + 1)
        if current and (len(current) >= max_reviews or length > shared_length
                        or padded > (1 + MAX_PADDING) * (real + length)):
            groups.append(current)
            current, real = [], 0
        current.append(int(i))
        real += length
    if current:
        groups.append(current)
    return [np.asarray(g, dtype=np.int64) for g in groups]


def padded_tokens(lengths: Sequence[int], group, multiple: int = 1, max_length: int | None = None) -> int:
    """What a call of `group` computes on: its reviews times its padded length."""
    return len(group) * padded_length(max(int(lengths[i]) for i in group), multiple, max_length)
