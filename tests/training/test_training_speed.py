"""What decides training and scoring speed on a GPU, checked on the CPU: how many distinct padded shapes an epoch
makes (each costs a kernel plan on a GPU), how much padding that costs, the per-device flags, and that neither
padding nor parallel ONNX Runtime calls change a single answer."""


import numpy as np
import pytest
import torch
from conftest import SHARED, minilm_dir, skip_unless
from transformers import AutoTokenizer
from transformers.trainer_pt_utils import LengthGroupedSampler

from review_sentiment.data.text import encode
from review_sentiment.inference.padding import GPU_MULTIPLE, Collator, pad, padded_length
from review_sentiment.inference.predictor import Predictor
from review_sentiment.training.run import speed_arguments


@pytest.fixture(scope="module")
def imdb_train_encodings():
    """Every IMDb train review as train.py encodes it (head+tail, 512), with a real uncased WordPiece vocabulary."""
    skip_unless(imdb=True, minilm=True)  # a real BERT-uncased vocabulary
    import pandas as pd

    texts = pd.read_parquet(SHARED / "imdb" / "train.parquet")["text"].tolist()
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    return tokenizer, encode(tokenizer, texts, max_length=512, truncation="head+tail")


def epoch_shapes(tokenizer, ids, device_type: str, batch_size: int = 16) -> tuple[set, int]:
    """The shapes of one epoch's batches as the Trainer draws them (group_by_length), and the tokens they hold."""
    assert speed_arguments(device_type)["train_sampling_strategy"] == "group_by_length"
    torch.manual_seed(0)
    order = list(LengthGroupedSampler(batch_size, lengths=[len(x) for x in ids]))
    collate = Collator(tokenizer, device_type, 512)
    shapes, tokens = set(), 0
    for start in range(0, len(order), batch_size):
        batch = collate([{"input_ids": ids[i], "attention_mask": [1] * len(ids[i]), "labels": 0}
                         for i in order[start:start + batch_size]])
        shapes.add(tuple(batch["input_ids"].shape))
        tokens += batch["input_ids"].numel()
    return shapes, tokens


def test_a_gpu_epoch_on_real_imdb_lengths_has_a_handful_of_shapes_and_little_padding(imdb_train_encodings):
    tokenizer, ids = imdb_train_encodings
    real = sum(len(x) for x in ids)
    gpu_shapes, gpu_tokens = epoch_shapes(tokenizer, ids, "cuda")
    lengths = {length for _, length in gpu_shapes}
    # 64, 128, ... 512: at most 8 lengths, times the full batch and the one short last batch.
    assert lengths <= set(range(GPU_MULTIPLE, 513, GPU_MULTIPLE)) and len(gpu_shapes) <= 2 * 8, gpu_shapes
    assert gpu_tokens / real <= 1.15, "padding to 64 costs at most 15% over the real tokens"
    seed_tokens = 512 * len(ids)
    assert seed_tokens / real > 1.9, "the seed recipe pads every review to 512"
    # The cause, as measured: padded to their longest, length-grouped batches make a new shape almost every step.
    cpu_shapes, cpu_tokens = epoch_shapes(tokenizer, ids, "cpu")
    assert len(cpu_shapes) > 300 and cpu_tokens / real < 1.03, (len(cpu_shapes), cpu_tokens / real)


def test_padded_length_rounds_up_but_never_past_the_window():
    assert [padded_length(n, 64, 512) for n in (1, 64, 65, 300, 511, 512)] == [64, 64, 128, 320, 512, 512]
    assert padded_length(99, 64, 100) == 100, "position embeddings end at max_length: never pad past it"
    assert padded_length(37, 1, 512) == 37


def test_padding_to_the_gpu_rule_changes_no_logit(trained_model, binary_data):
    """Scoring on a GPU pads to multiples of 64; the attention mask must make that invisible (run here on CPU)."""
    import pandas as pd

    predictor = Predictor.load(str(trained_model), device="cpu")
    texts = pd.read_parquet(binary_data / "test.parquet")["text"].tolist()[:12]
    ids = predictor.encode(texts)
    bare = pad(predictor.tokenizer, [{"input_ids": x} for x in ids], "cpu")
    wide = pad(predictor.tokenizer, [{"input_ids": x} for x in ids], "cuda", 512)
    assert bare["input_ids"].shape[1] == max(map(len, ids)) and wide["input_ids"].shape[1] % GPU_MULTIPLE == 0
    assert wide["input_ids"].shape[1] > bare["input_ids"].shape[1]
    with torch.inference_mode():
        a, b = predictor.model(**bare).logits, predictor.model(**wide).logits
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_parallel_onnx_runtime_calls_give_the_same_answers(trained_model, binary_data):
    """The int8 bar scores on every core at once (one call per core); the answers must not change."""
    import pandas as pd

    from review_sentiment.export import onnx

    predictor = Predictor.load(str(trained_model), device="cpu")
    texts = pd.read_parquet(binary_data / "test.parquet")["text"].tolist()[:40]
    path = onnx.cached(predictor.model, predictor.tokenizer, "int8")
    alone = predictor.on("onnx", "int8", path).predict_proba(texts)
    parallel = predictor.on("onnx", "int8", path, threads=1).predict_proba(texts, workers=4)
    np.testing.assert_allclose(alone, parallel, atol=1e-6)


def test_flags_per_device():
    cpu, gpu = speed_arguments("cpu"), speed_arguments("cuda")
    assert cpu["dataloader_num_workers"] == 0 and not cpu["dataloader_pin_memory"], "CPU cores compute"
    assert gpu["dataloader_num_workers"] >= 1 and gpu["dataloader_pin_memory"]
    assert not cpu["logging_nan_inf_filter"] and not gpu["logging_nan_inf_filter"], "no host sync per step"
