"""Where could a model learn negation beyond "not"? Counts, in real labelled text, of the forms the audit's rows
"negated negative/positive beyond not" read (hardly, few, nobody, at no point, never once, anything but, hard to
call, in no way), scoping over a sentiment word, and whether their labels say what the sentence means.

- SST-5's train phrases (the phrases train.py mixes in): each phrase has its own label, so a negated complaint
  labelled positive ("it 's never boring") is a training example of the right kind; one labelled negative or neutral
  is not.
- IMDb's train reviews, split into sentences: a sentence has only its review's label, which is a usable label for
  these forms only where negated complaints sit mostly in positive reviews and negated praise in negative ones.

Counting only: the words come from the audit's lexicon and the project's own (data/contrasts.py), and nothing here
writes training data, so the audit's sentences stay evaluation data.

    python benchmarks/negation_sources.py --sst ../shared/data/sst5_phrases --imdb ../shared/data/imdb
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_info, print_table, save  # noqa: E402
from review_sentiment.data.contrasts import COMPLAINT, PRAISE  # noqa: E402
from review_sentiment.evaluation.behaviour import NEGATIVE, POSITIVE  # noqa: E402

# The audit's forms (evaluation/behaviour.py's NEGATION_FRAMES), each with the variants a reviewer writes.
FORMS = {"hardly / barely / scarcely": r"hardly|barely|scarcely", "few": r"few", "nobody / no one": r"nobody|no one",
         "never": r"never", "anything but": r"anything but", "at no point / in no way / by no means":
         r"at no point|in no way|by no means", "hard to call / say": r"hard to (?:call|say)", "far from": r"far from"}
# The audit's "negated negative at the end" ("I thought the script would be dull, but it was not."): a sentiment
# word, then the sentence ends on its negation.
AT_THE_END = "not / n't, ending the sentence"
SCOPE = 3  # words allowed between the negation and the sentiment word ("never once did the plot seem dull")
SENTENCE = re.compile(r"(?<=[.!?])\s+|<br\s*/?>")


def scoped(form: str, words: list[str]) -> re.Pattern:
    """The form, then a sentiment word at most SCOPE words later; AT_THE_END: a sentiment word, then the sentence
    ends on "not" or "n't"."""
    if form == AT_THE_END:
        return re.compile(rf"\b(?:{'|'.join(map(re.escape, words))})\b.*(?:\bnot|n't)\W*$", re.I)
    return re.compile(rf"\b(?:{form})\b(?:\W+\w+){{0,{SCOPE}}}?\W+(?:{'|'.join(map(re.escape, words))})\b", re.I)


def polarity(label: int) -> str:
    return "negative" if label < 2 else "neutral" if label == 2 else "positive"


def count(sst: pd.DataFrame, imdb: pd.DataFrame) -> list[dict]:
    """A row per form and direction: SST phrases by their label's polarity, IMDb sentences by their review's label."""
    complaints, praise = sorted(set(NEGATIVE) | set(COMPLAINT)), sorted(set(POSITIVE) | set(PRAISE))
    sentences = pd.DataFrame([(s, label) for text, label in zip(imdb["text"], imdb["label"])
                              for s in SENTENCE.split(text) if 10 < len(s) < 300], columns=["text", "label"])
    rows = []
    for name, form in [*FORMS.items(), (AT_THE_END, AT_THE_END)]:
        for direction, words, meant in (("negated complaint", complaints, "positive"),
                                        ("negated praise", praise, "negative")):
            pattern = scoped(form, words)
            phrases = sst[sst["text"].map(lambda t: bool(pattern.search(t)))]
            found = sentences[sentences["text"].map(lambda t: bool(pattern.search(t)))]
            by = phrases["label"].map(polarity).value_counts()
            rows.append({"form": name, "direction": direction, "means": meant,
                         "sst_phrases": len(phrases), "sst_by_polarity": {k: int(by.get(k, 0)) for k in
                                                                         ("positive", "neutral", "negative")},
                         "sst_right": int(by.get(meant, 0)),
                         "sst_examples": phrases.loc[phrases["label"].map(polarity) == meant, "text"].head(3).tolist(),
                         "imdb_sentences": len(found),
                         "imdb_share_meant": (float((found["label"] == (1 if meant == "positive" else 0)).mean())
                                              if len(found) else None)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sst", required=True, help="the SST-5 phrases folder (train.parquet: text, label 0-4)")
    parser.add_argument("--imdb", required=True, help="the IMDb folder (train.parquet: text, label 0/1)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks/results/negation_sources.json"))
    args = parser.parse_args()
    sst = pd.read_parquet(Path(args.sst) / "train.parquet")
    imdb = pd.read_parquet(Path(args.imdb) / "train.parquet")
    rows = count(sst, imdb)
    print_table(["form", "direction", "SST phrases (pos / neu / neg)", "SST labelled as meant",
                 "IMDb sentences", "in reviews labelled as meant"],
                [[r["form"], r["direction"], f"{r['sst_phrases']} ({r['sst_by_polarity']['positive']} / "
                  f"{r['sst_by_polarity']['neutral']} / {r['sst_by_polarity']['negative']})", str(r["sst_right"]),
                  str(r["imdb_sentences"]), "-" if r["imdb_share_meant"] is None else f"{r['imdb_share_meant']:.0%}"]
                 for r in rows], numeric_from=2)
    save({"benchmark": "negation_sources", "machine": cpu_info(), "sst": args.sst, "imdb": args.imdb,
          "sst_phrases": len(sst), "imdb_reviews": len(imdb), "scope_words": SCOPE, "rows": rows}, args.json)


if __name__ == "__main__":
    main()
