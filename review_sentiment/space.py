"""`python -m review_sentiment.space`: publishing's earlier name, kept so existing commands keep working. Publishing
lives in `review_sentiment.publish`."""

from .publish import main, run

if __name__ == "__main__":
    raise SystemExit(run(main))
