"""The stand-in models the benchmarks time where the real ones are not here: random weights at the real sizes (speed
does not depend on the values), and a baseline of nlptown's shape with the int8 files publishing makes for it."""

from __future__ import annotations

from pathlib import Path

SIZES = {"distilbert": dict(model_type="distilbert", dim=768, n_layers=6, n_heads=12, hidden_dim=3072),
         "bert-base": dict(model_type="bert", hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072),
         # For the tests that run every benchmark end to end in seconds.
         "tiny": dict(model_type="bert", hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64)}
NLPTOWN_VOCAB = 105_879
STARS = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"]


def mark_random(folder: Path, what: str) -> None:
    """Say in the folder that its weights are random, so every results file that measures it records so."""
    import json

    from machine import STAND_IN

    (Path(folder) / STAND_IN).write_text(json.dumps({"weights": "random", "what": what}) + "\n")


def make_star_baseline(tokenizer_dir: str, folder: Path, vocab_size: int = NLPTOWN_VOCAB, size: str = "bert-base"):
    """nlptown's shape with random weights: an uncased WordPiece vocabulary of `vocab_size` (the given tokenizer's
    pieces, then unused ones, so English reads as it would), BERT-base, five star classes, no settings of ours."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, BertTokenizerFast

    vocab = AutoTokenizer.from_pretrained(tokenizer_dir).get_vocab()
    pieces = sorted(vocab, key=vocab.get)
    pieces += [f"[unused_extra{i}]" for i in range(vocab_size - len(pieces))]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(pieces) + "\n")
    # nlptown's tokenizer says its window (512), so a plain pipeline's truncation=True cuts a long review there.
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True,
                      model_max_length=512).save_pretrained(folder)
    spec = dict(SIZES[size])
    config = AutoConfig.for_model(spec.pop("model_type"), vocab_size=len(pieces), num_labels=5,
                                  id2label=dict(enumerate(STARS)), label2id={s: i for i, s in enumerate(STARS)},
                                  max_position_embeddings=512, **spec)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    mark_random(folder, f"nlptown's shape ({size}, {len(pieces):,} pieces), five star classes")
    return str(folder)


def add_int8_files(folder: str, calibration: list[str]) -> list[str]:
    """The int8 files publishing makes for a baseline that ships none (ONNX Runtime's dynamic int8, first scheme;
    OpenVINO's static int8 calibrated on training reviews), written into the baseline's folder as if they had met the
    bar: random weights cannot meet a meaningful one (their star answers are near-uniform), and speed does not
    depend on the weights. The app serves int8 files it finds there (QUANTIZE=auto), timed against the rest."""
    from review_sentiment.export import onnx, openvino_ir
    from review_sentiment.inference.predictor import Predictor

    predictor = Predictor.load(folder, device="cpu")
    root = Path(folder)
    fp32 = onnx.export(predictor.model, predictor.tokenizer, root / onnx.FP32_FILE)
    onnx.quantize(fp32, root / onnx.INT8_FILE, onnx.SCHEMES[0])
    made = [onnx.INT8_FILE]
    if openvino_ir.available() and openvino_ir.nncf_available():
        openvino_ir.convert(fp32, root / openvino_ir.FP32_FILE)
        openvino_ir.quantize(root / openvino_ir.FP32_FILE, root / openvino_ir.INT8_FILE, predictor, calibration)
        made.append(openvino_ir.INT8_FILE)
    return made
