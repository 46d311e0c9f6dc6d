"""The Hugging Face Space: the fine-tuned model next to the nlptown 1-5 star baseline.

    MODEL_ID=outputs/model BASELINE_ID=/path/to/nlptown python app.py    # then open http://localhost:7860
    python app.py --share                                                 # a public link, e.g. from a notebook
    python app.py --mcp                                                   # also an MCP server for agents
    python app.py --help                                                  # every option and its variable

Every option falls back to an environment variable (how a Space passes settings): MODEL_ID, BASELINE_ID,
MODEL_REVISION, BASELINE_REVISION, LONG_TEXT, QUANTIZE, RUNTIME, GRADIO_MCP_SERVER, and for visitors' corrections
FEEDBACK_DIR, FEEDBACK_DATASET (a Hub dataset they are pushed to; HF_TOKEN with write access), FEEDBACK_PUBLIC,
FEEDBACK_EVERY, FEEDBACK_PER_MINUTE; GRADIO_SERVER_NAME and GRADIO_SERVER_PORT choose where to listen (0.0.0.0:7860,
as Spaces expect).
"""

import sys

from review_sentiment.cli import parse, run
from review_sentiment.space.app_config import AppConfig
from review_sentiment.space.server import serve


def main(argv: list[str] | None = None) -> None:
    serve(parse(AppConfig, argv, "Serve the review-sentiment Space: the fine-tuned model beside a 1-5 star baseline, "
                                 "its REST API and, with --mcp, its MCP tools."))


if __name__ == "__main__":
    sys.exit(run(main))
