"""`python -m review_sentiment.predict`: the bulk scoring CLI's earlier name, kept so existing scripts and torchrun
commands keep working. The CLI lives in `review_sentiment.bulk`."""

from .bulk import main, run

if __name__ == "__main__":
    raise SystemExit(run(main))
