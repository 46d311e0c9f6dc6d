"""The start-up probe (runtime_choice.probe_ms) times reviews of several lengths, each call a length not seen before,
as a visitor's next review is: a runtime that pays for every new length (a compile per shape) cannot win the choice
by repeating one length, and then lose in service."""

import time

from review_sentiment.inference import runtime_choice, runtimes
from review_sentiment.inference.predictor import Predictor


def toy(per_call_s: float, per_new_length_s: float, seen: list, pad_multiple: int = 1):
    """A runtime on the torch model that sleeps per call, and once more for each (padded) length it has not run
    before."""
    def build(model, tokenizer, *, precision, path, threads):
        def run(batch):
            length = batch["input_ids"].shape[1]
            time.sleep(per_call_s + (per_new_length_s if length not in seen else 0.0))
            seen.append(length)
            return model(**batch).logits.detach().numpy()
        return {"run": run, "description": f"toy {per_call_s}/{per_new_length_s}/{pad_multiple}", "shared_length": 0,
                "pad_multiple": pad_multiple}
    return runtimes.Entry(build, lambda: True)


def test_a_runtime_that_pays_per_length_is_timed_as_it_would_serve(trained_model, monkeypatch):
    steady_seen, compiling_seen = [], []
    monkeypatch.setitem(runtimes.RUNTIMES, "steady", toy(0.010, 0.0, steady_seen))
    monkeypatch.setitem(runtimes.RUNTIMES, "compiling", toy(0.002, 0.030, compiling_seen))
    predictor = Predictor.load(str(trained_model), device="cpu")
    steady, compiling = predictor.on("steady"), predictor.on("compiling")

    steady_ms, compiling_ms = runtime_choice.probe_ms(steady), runtime_choice.probe_ms(compiling)
    assert len(compiling_seen) == len(set(compiling_seen)) >= 3, "every call a length not run before"
    assert set(runtime_choice.probe_lengths(predictor)) <= {64, 192, 320, 512, predictor.settings.max_length}
    # Both run the same model; the sleeps differ by 22 ms a call in service (every review a new length).
    assert compiling_ms > steady_ms + 11, (compiling_ms, steady_ms)
    assert runtime_choice.choose(predictor, "steady").choice["probe_tokens"] == runtime_choice.probe_lengths(predictor)

    # A runtime that pads calls to a multiple of 32 tokens pays for a new padded shape once, as in service, where its
    # few shapes are built once and reused: the probe builds them before it times, so it is not charged for them.
    bucketed_seen = []
    monkeypatch.setitem(runtimes.RUNTIMES, "bucketed", toy(0.002, 0.030, bucketed_seen, pad_multiple=32))
    bucketed = predictor.on("bucketed")
    assert runtime_choice.probe_ms(bucketed) < steady_ms - 4, "its shapes built, it is the fastest of the three"
    assert all(length % 32 == 0 for length in bucketed_seen)

    # The same two runtimes timed the old way, one length repeated after a warm-up, rank the other way round.
    length = runtime_choice.probe_lengths(predictor)[-1] - 1
    batch = {"input_ids": predictor.tokenizer([" ".join(["film"] * length)], return_tensors="pt",
                                              truncation=True, max_length=length)["input_ids"]}
    batch["attention_mask"] = batch["input_ids"].ne(-1).long()
    repeated = {}
    for name, option in (("steady", steady), ("compiling", compiling)):
        option.run_batch(batch)
        calls = []
        for _ in range(5):
            start = time.perf_counter()
            option.run_batch(batch)
            calls.append(time.perf_counter() - start)
        repeated[name] = min(calls)  # the least disturbed call: the sleeps differ by 8 ms
    assert repeated["compiling"] < repeated["steady"] - 0.004, "why one repeated length misled the choice"
