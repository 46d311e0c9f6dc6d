"""Contrast sentences (Gardner et al. 2020, "contrast sets"; Kaushik et al. 2020, counterfactually augmented data):
each of a correction's versions with its sentiment word swapped for words of the other polarity, read the other way.

A visitor who corrects "Nobody could call the pacing sluggish." to positive teaches what "Nobody could call ..."
does to a complaint; the same frame with a praise word ("Nobody could call the pacing elegant.") must then read
negative. A model that learned "the frame means positive" instead reads the corrections right and their contrasts
wrong: the gate scores both models on the contrasts (evaluation/gate.py), and `--feedback-contrasts` trains each
correction beside them.

The lexicon is the project's own and shares no word with the audit (evaluation/behaviour.py): a contrast can never
write an audit sentence into training. Its words are split in two halves: training contrasts swap in words of one
("train"), the gate's contrasts words of the other ("check"), so a model trained on contrasts is still checked on
sentences it never saw. A sentence gets contrasts only when exactly one lexicon word carries its
sentiment; the others (none, or words of both polarities) get none and are counted.
"""

from __future__ import annotations

import hashlib
import re

import pandas as pd

# Adjectives a reviewer praises or complains with (none of behaviour.py's POSITIVE/NEGATIVE).
PRAISE = ["superb", "gripping", "touching", "memorable", "stunning", "delightful", "impressive", "engaging",
          "powerful", "hilarious", "entertaining", "compelling", "lovely", "smart", "fresh", "witty", "elegant",
          "thrilling", "masterful", "inspired", "heartfelt", "riveting", "sharp", "satisfying", "rich", "vivid",
          "graceful", "inventive", "triumphant", "haunting", "absorbing", "polished"]
COMPLAINT = ["dreadful", "mediocre", "forgettable", "clumsy", "predictable", "lifeless", "bland", "painful",
             "pointless", "messy", "shallow", "silly", "sluggish", "lazy", "cheap", "unwatchable", "flat", "tiresome",
             "overlong", "incoherent", "cliched", "wooden", "hollow", "dire", "laughable", "plodding", "muddled",
             "insipid", "grating", "limp", "stale", "tepid"]
POLARITY = {**{w: "positive" for w in PRAISE}, **{w: "negative" for w in COMPLAINT}}
OTHER = {"positive": COMPLAINT, "negative": PRAISE}
WORD = re.compile(r"[A-Za-z]+")
PER_SENTENCE = 3  # contrast versions of one correction


def sentiment_words(text: str) -> list[re.Match]:
    return [m for m in WORD.finditer(text) if m.group(0).lower() in POLARITY]


HALVES = ("train", "check")


def contrasts(text: str, label: str, per_sentence: int = PER_SENTENCE, half: str = "check") -> list[tuple[str, str]]:
    """(version, its class) with the one sentiment word swapped for `per_sentence` words of the other polarity; the
    class flips between "positive" and "negative" (a correction's class says which way the swapped word now reads).
    [] when the text holds no lexicon word, words of both polarities, or a class that is neither."""
    found = sentiment_words(text)
    flipped = {"positive": "negative", "negative": "positive"}.get(label)
    if flipped is None or not found or len({POLARITY[m.group(0).lower()] for m in found}) > 1:
        return []
    # The same sentence always gets the same swaps (a stable draw from its own text), whoever generates them.
    seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
    pool = OTHER[POLARITY[found[0].group(0).lower()]][HALVES.index(half)::2]
    chosen = [pool[(seed + k * 7) % len(pool)] for k in range(per_sentence)]
    versions = []
    for word in chosen:
        out, last = [], 0
        for m in found:
            swap = word.capitalize() if m.group(0)[0].isupper() else word
            out += [text[last:m.start()], swap]
            last = m.end()
        versions.append(("".join(out) + text[last:], flipped))
    return versions


def contrast_rows(rows: pd.DataFrame, label_names: list[str], half: str,
                  per_sentence: int = PER_SENTENCE) -> tuple[pd.DataFrame, dict]:
    """Every correction's contrasts from one half of the lexicon as rows (text, label id), and the counts: how many
    corrections had any."""
    out, without = [], 0
    for text, label in zip(rows["text"], rows["label"]):
        made = contrasts(text, label_names[int(label)], per_sentence, half)
        without += not made
        out += [(t, label_names.index(y)) for t, y in made if y in label_names]
    frame = pd.DataFrame(out, columns=["text", "label"]).drop_duplicates("text")
    frame = frame[~frame["text"].isin(set(rows["text"]))]  # a contrast equal to a correction: the correction stands
    return frame.reset_index(drop=True), {"corrections": int(len(rows)), "with_contrasts": int(len(rows) - without),
                                          "without": int(without), "contrasts": int(len(frame))}
