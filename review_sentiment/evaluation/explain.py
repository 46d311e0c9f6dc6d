"""Word-level explanations: integrated gradients over the input embeddings, summed back onto whole words.

Why integrated gradients: it is the attribution with the completeness property (the word scores add up to the
change of the logit from an all-[PAD] input to the review), so a word's score is its share of the decision, in
the model's own units. It costs `steps` forward+backward passes, run as one batch; plain gradient x input costs
one pass but is known to be noisy for transformers. The app computes it on demand only, so predictions stay fast.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.stars import label_polarity
from ..data.text import clean_text, special_tokens, truncate
from ..inference.predictor import Predictor


def _tokens_and_words(predictor: Predictor, text: str):
    """The model input as `encode` builds it, with each kept token's word span in the cleaned text."""
    cleaned = clean_text(text)
    enc = predictor.tokenizer(cleaned, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids, offsets, words = enc["input_ids"], enc["offset_mapping"], enc.word_ids()
    prefix, suffix = special_tokens(predictor.tokenizer)
    keep = truncate(range(len(ids)), predictor.settings.window(predictor.tokenizer), predictor.settings.truncation)
    return cleaned, prefix + [ids[i] for i in keep] + suffix, len(prefix), [words[i] for i in keep], offsets


def target_class(predictor: Predictor, probs: np.ndarray) -> int:
    """Explain 'positive' when the model has one (so green always means positive), else the predicted class."""
    polarities = [label_polarity(n) for n in predictor.labels]
    return polarities.index("positive") if "positive" in polarities else int(probs.argmax())


def integrated_gradients(predictor: Predictor, input_ids: list[int], target: int, steps: int = 24) -> np.ndarray:
    """Attribution of each input token to the target logit (Sundararajan et al. 2017), all-[PAD] baseline."""
    model = predictor.model
    embeddings = model.get_input_embeddings()
    ids = torch.tensor([input_ids], device=predictor.device)
    pad = predictor.tokenizer.pad_token_id or 0
    with torch.no_grad():
        actual = embeddings(ids)
        baseline = embeddings(torch.full_like(ids, pad))
    alphas = torch.linspace(1 / steps, 1.0, steps, device=predictor.device).view(-1, 1, 1)
    path = (baseline + alphas * (actual - baseline)).detach().requires_grad_(True)
    mask = torch.ones(path.shape[:2], dtype=torch.long, device=predictor.device)
    with torch.enable_grad():
        logits = model(inputs_embeds=path, attention_mask=mask).logits[:, target]
        (grads,) = torch.autograd.grad(logits.sum(), path)
    return ((actual - baseline) * grads.mean(dim=0, keepdim=True)).sum(-1)[0].detach().cpu().numpy()


def explain(predictor: Predictor, text: str, steps: int = 24) -> dict:
    """Words of the (cleaned) review with scores in [-1, 1]: + pushes towards the explained class, - away.

    Returns {"label", "segments": [(text, score or None)], "words": [(word, raw score)]}, segments covering
    the whole cleaned text so it can be shown with gr.HighlightedText.
    """
    cleaned, input_ids, shift, word_ids, offsets = _tokens_and_words(predictor, text)
    probs = predictor.predict_proba([text])[0]
    target = target_class(predictor, probs)
    token_scores = integrated_gradients(predictor, input_ids, target, steps)[shift:shift + len(word_ids)]
    per_word: dict[int, float] = {}
    for word, value in zip(word_ids, token_scores):
        if word is not None:
            per_word[word] = per_word.get(word, 0.0) + float(value)
    spans: dict[int, list[int]] = {}
    for token, word in enumerate(predictor.tokenizer(cleaned, add_special_tokens=False,
                                                     verbose=False).word_ids()):
        if word is not None:
            start, end = offsets[token]
            spans.setdefault(word, [start, end])[1] = end
    scale = max((abs(v) for v in per_word.values()), default=0.0) or 1.0
    segments, cursor = [], 0
    for word, (start, end) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        if start > cursor:
            segments.append((cleaned[cursor:start], None))
        score = per_word.get(word)
        segments.append((cleaned[start:end], None if score is None else round(score / scale, 3)))
        cursor = end
    if cursor < len(cleaned):
        segments.append((cleaned[cursor:], None))
    words = sorted(((cleaned[spans[w][0]:spans[w][1]], v) for w, v in per_word.items()), key=lambda x: -abs(x[1]))
    return {"label": predictor.labels[target], "segments": segments, "words": words}
