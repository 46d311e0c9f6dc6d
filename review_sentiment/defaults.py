"""The project's defaults in one place: which models, how long reviews are read, when int8 serves, class names.

Nothing here imports another module of the project, so every part (training options, the loader, the Space, the
bulk CLI) reads the same values without pulling in the others.
"""

from pathlib import Path

# The folder that holds app.py, train.py, assets/ and model_card.md: a clone, or the Space's files.
PROJECT_DIR = Path(__file__).resolve().parent.parent

# The fine-tuned model: the locally trained one when train.py has written it, else a public IMDb DistilBERT.
LOCAL_MODEL_DIR = "outputs/model"
PUBLIC_MODEL_ID = "lvwerra/distilbert-imdb"
# Where the app keeps what it writes (visitors' corrections): a Space's persistent storage when it has one, which
# survives restarts, else a folder beside the app (lost with the Space's disk; FEEDBACK_DATASET pushes it to the Hub).
SPACE_STORAGE = Path("/data")
APP_DATA_DIR = SPACE_STORAGE if SPACE_STORAGE.is_dir() else PROJECT_DIR / "app_data"
# The baseline: nlptown's 1-5 star multilingual BERT.
BASELINE_ID = "nlptown/bert-base-multilingual-uncased-sentiment"

# How the fine-tuned model reads reviews longer than its window: overlapping windows, logits averaged, won the
# long-review measurement (benchmarks/long_reviews.py, benchmarks/README.md) and costs nothing on reviews that fit.
LONG_TEXT = ("head", "head+tail", "chunks")
DEFAULT_LONG_TEXT = "chunks"

# auto: int8 on ONNX Runtime where the model ships onnx/model_quantized.onnx, which train.py writes only when it met
# the accuracy bar (int8_bar.py); fp32 otherwise. int8 forces it, none refuses it.
QUANTIZE = ("auto", "none", "int8")
DEFAULT_QUANTIZE = "auto"

# Integer labels carry no names; these are the conventional names for sentiment datasets with that many classes
# (IMDb/SST-2: 0 neg, 1 pos; SST-5: 0 very negative .. 4 very positive). Anything else needs --label-names.
DEFAULT_LABEL_NAMES = {
    2: ["negative", "positive"],
    3: ["negative", "neutral", "positive"],
    5: ["very negative", "negative", "neutral", "positive", "very positive"],
}
