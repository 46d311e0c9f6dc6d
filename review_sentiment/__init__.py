"""review-sentiment: fine-tune, publish and serve a movie-review sentiment classifier."""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy, so `python -m review_sentiment.x --help` and the CLIs start without importing torch first.
    if name == "Predictor":
        from .predictor import Predictor

        return Predictor
    raise AttributeError(name)
