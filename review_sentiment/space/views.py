"""What the page shows, as Markdown and HTML built from the service's answers: the class bars, each model's line,
the agreement (by polarity and, on one scale, class to class), the robustness table, the batch agreement table and
the About tab's facts. No Gradio here: ui.py lays these out and wires them to events."""

from __future__ import annotations

import html

from ..data.scale import agreement_table, points
from ..data.stars import label_polarity, star_values
from ..defaults import BASELINE_ID
from ..export.int8_bar import reason
from .feedback import FeedbackStore
from .service import Service, Slot

STAR_RANGES = {"negative": "1-2", "neutral": "3", "positive": "4-5", "undecided": "1-2 and on 4-5"}


SHADES = {"strongly positive": "#15803d", "positive": "#86efac", "negative": "#fca5a5",
          "strongly negative": "#b91c1c"}


def shade(score: float | None) -> str | None:
    """Attribution in [-1, 1] (share of the largest) -> a colour class; small ones stay plain text."""
    if score is None or abs(score) < 0.15:
        return None
    side = "positive" if score > 0 else "negative"
    return f"strongly {side}" if abs(score) >= 0.5 else side


def pct(p: float) -> str:
    return f"{p:.0%}"


def distribution_html(probabilities: dict[str, float] | None) -> str:
    """Every class as a bar, in scale order (1 to 5 stars, very negative to very positive), coloured by polarity, the
    ends of a five-point scale darker: both models are drawn this way, and a distribution reads better in order than
    sorted by probability."""
    if not probabilities:
        return ""
    labels = list(probabilities)
    where = points(labels)
    if where:
        labels = [label for _, label in sorted(zip(where, labels))]
    five = bool(where) and len(labels) == 5

    def tone(i: int, label: str) -> str:
        return f"dist-{label_polarity(label)}" + (" dist-strong" if five and i in (0, 4) else "")
    rows = "".join(
        f'<span class="dist-name">{html.escape(label)}</span>'
        f'<span class="dist-bar {tone(i, label)}"><span style="width:{probabilities[label]:.1%}"></span>'
        f'</span><span class="dist-pct">{probabilities[label]:.0%}</span>' for i, label in enumerate(labels))
    summary = ", ".join(f"{label} {probabilities[label]:.0%}" for label in labels)
    return f'<div class="dist" role="img" aria-label="{html.escape(summary)}">{rows}</div>'


def model_line(slot: Slot, result: dict) -> str:
    if "error" in result:
        return f"⚠️ {slot.role} unavailable: {result['error']}"
    ms = f"{result['latency_ms']:.0f} ms"
    if "expected_stars" in result:
        return (f"**{result['verdict']}** ({pct(result['confidence'])} on {STAR_RANGES[result['verdict']]} ★) · "
                f"expected **{result['expected_stars']:.1f} ★** · {ms}")
    line = f"**{result['label']}** ({pct(result['confidence'])}) · {ms}"
    if "expected_class" in result:
        top = result["probabilities"][result["label"]]
        line = (f"**{result['label']}** ({pct(top)}; {result['verdict']} {pct(result['confidence'])}) · expected "
                f"class **{result['expected_class']:.1f}** of 1-{len(result['probabilities'])} · {ms}")
    if result.get("language_notice"):
        line += f"  \n🌐 {result['language_notice']}"
    return line


def agreement_line(result: dict) -> str:
    """Polarity agreement, and on a shared scale (five classes, five stars) the same class and within one."""
    line = polarity_line(result)
    scale = result.get("scale")
    if scale:
        same = "✅ the same class" if scale["exact"] else "✅ within one class" if scale["within_one"] else \
            "⚠️ more than one class apart"
        line += (f"  \nOn the 1-{scale['points']} scale: fine-tuned **{scale['finetuned']}**, baseline "
                 f"**{scale['baseline']} ★**: {same}.")
    return line


def polarity_line(result: dict) -> str:
    ft, bl = result["finetuned"], result["baseline"]
    if "agree" not in result:
        return "Only one model is available, so there is nothing to compare."
    if result["agree"] is None:
        if bl["verdict"] == "undecided":
            return (f"The baseline is undecided: it gives 1-2 ★ and 4-5 ★ the same probability, so there is nothing to "
                    f"agree or disagree with; the fine-tuned model says {ft['verdict']} ({pct(ft['confidence'])}).")
        return (f"The fine-tuned model is undecided, so there is nothing to agree or disagree with; the baseline says "
                f"{bl['verdict']} ({pct(bl['confidence'])}).")
    if result["agree"]:
        return (f"✅ **Both models say {ft['verdict']}**: fine-tuned {pct(ft['confidence'])}, baseline "
                f"{pct(bl['confidence'])}.")
    return (f"⚠️ **The models disagree**: fine-tuned says {ft['verdict']} ({pct(ft['confidence'])}), baseline says "
            f"{bl['verdict']} ({pct(bl['confidence'])}).")


def robustness_html(result: dict) -> str:
    """The versions of a review as a table: each model's P(positive) and verdict, flips highlighted."""
    def cell(row, key):
        scored = row.get(key)
        if scored is None:
            return "<td>-</td>"
        flip = scored.get("flipped")
        mark = " ⚠ flipped" if flip else ""
        return (f"<td class='{'flip' if flip else ''}'>{scored['verdict']} ({scored['p_positive']:.2f}){mark}</td>")
    rows = "".join(f"<tr><td>{html.escape(r['change'])}</td><td class='text'>{html.escape(r['text'][:300])}"
                   f"{'…' if len(r['text']) > 300 else ''}</td>{cell(r, 'finetuned')}{cell(r, 'baseline')}</tr>"
                   for r in result["versions"])
    flips = sum(bool((r.get(k) or {}).get("flipped")) for r in result["versions"] for k in ("finetuned", "baseline"))
    head = (f"<p><b>{flips} verdict{'s' if flips != 1 else ''} flipped</b> over {len(result['versions']) - 1} "
            f"versions that should not change it ({result['seconds']:.1f} s; budget {result['budget_s']:.0f} s). "
            "P(positive) in brackets.</p>")
    notes = "".join(f"<p class='notice'>ℹ️ {html.escape(n)}</p>" for n in result["notes"])
    return (f"<div class='robust'>{head}{notes}<table><tr><th>version</th><th>review</th><th>fine-tuned</th>"
            f"<th>baseline</th></tr>{rows}</table></div>")


def scale_agreement_md(service: Service, table) -> str:
    """Below a batch on one scale: how often the models give the same class and within one, and the table of
    fine-tuned classes (rows) against baseline stars (columns)."""
    if "same_class" not in table:
        return ""
    scored = table.dropna(subset=["same_class"])
    if scored.empty:
        return ""
    counts = agreement_table(scored["finetuned_class"], scored["baseline_class"], service.model.predictor.labels,
                             service.baseline.predictor.labels)
    polar = scored["agree"].dropna().astype(bool) if "agree" in scored else None
    head = "| fine-tuned \\ baseline | " + " | ".join(counts.columns) + " |\n|---|" + "---:|" * len(counts.columns)
    rows = "\n".join(f"| {name} | " + " | ".join(str(int(v)) for v in row) + " |" for name, row in counts.iterrows())
    same, near = scored["same_class"].astype(bool).mean(), scored["within_one"].astype(bool).mean()
    return (f"\n\n**Agreement on the 1-{len(counts.columns)} scale** ({len(scored):,} reviews): the same class "
            f"**{same:.0%}**, within one **{near:.0%}**"
            + (f", the same polarity **{polar.mean():.0%}** (of {len(polar):,} where neither is undecided)"
               if polar is not None and len(polar) else "")
            + f".\n\n{head}\n{rows}")


LONG_TEXT_WORDS = {"chunks": "are read whole, in overlapping windows whose predictions are averaged",
                   "head+tail": "keep their first quarter and last three quarters", "head": "keep their beginning"}


def origin_line(slot: Slot) -> str:
    """Where the served weights come from: a local folder, or a Hub repo at a commit (main, a pinned revision, or
    the safetensors conversion PR), linked to that exact tree."""
    source, runs = slot.source, f" Runs on {slot.predictor.runtime.description}."
    check = slot.predictor.int8_check
    if check:
        when = "when the Space was published" if check.get("repo") else "by train.py"
        runs += f" {check.get('precision', 'int8')} checked {when}: {reason(check)}."
    if not source.get("repo"):
        return f"Loaded from the local folder `{slot.spec}`.{runs}"
    sha = source["revision"]
    line = (f"Weights from [`{source['repo']}` at `{sha[:10]}`](https://huggingface.co/{source['repo']}/tree/{sha}) "
            f"({source['origin']}).")
    if source.get("config_revision") and source["config_revision"] != sha:
        line += f" Config and tokenizer from `main` at `{source['config_revision'][:10]}`."
    return line + runs


def training_line(slot: Slot) -> str:
    """Whether this project's train.py made the model (its card and metrics are ours) or it was trained elsewhere."""
    settings = slot.predictor.settings
    calibration = (f"temperature-calibrated (T = {settings.temperature:.2f})" if settings.temperature != 1
                   else "the raw softmax (no calibration)")
    reading = (f"Reviews longer than its {settings.max_length}-token window {LONG_TEXT_WORDS[settings.long_text]}"
               f"; its probabilities are {calibration}.")
    if slot.trained_here:
        return f"Fine-tuned with this project's `train.py`, which wrote its model card and test metrics. {reading}"
    where = f"its [model card]({slot.hub_url})" if slot.hub_url else "the folder's own files"
    return (f"Trained elsewhere, not with this project's `train.py`: see {where} for how and on what. This app reads "
            f"it with its own tokenizer. {reading}")


def audit_table(audited: dict) -> str:
    """The About tab's view of an audit: the four worst behaviour tests and each axis's largest gap."""
    tests = "\n".join(f"| {t['capability']}: {t['test']} | {t['failure_rate']:.0%} of {t['n']} |"
                      for t in audited["tests"][:4])
    gaps = "\n".join(f"| {a['axis']}: {a['largest_gap']['high']} over {a['largest_gap']['low']} | "
                     f"{a['largest_gap']['gap']:.3f}{' (significant)' if a['significant'] else ''} |"
                     for a in audited["fairness"])
    return (f"| worst behaviour tests | failed |\n| --- | ---: |\n{tests}\n\n| largest gap in P(positive) | gap |\n"
            f"| --- | ---: |\n{gaps}")


def about_intro(service: Service) -> str:
    """What the two models are, naming the baseline actually loaded (BASELINE_ID may point anywhere)."""
    spec = service.baseline.spec
    labels = service.baseline.predictor.labels if service.baseline.predictor else None
    what = ("was trained on product reviews in six languages to predict 1-5 stars" if spec == BASELINE_ID
            else f"predicts {', '.join(labels)}" if labels else "is not loaded")
    mapping = ("; its verdict maps 1-2 stars to negative, 3 to neutral, 4-5 to positive, and is undecided when "
               "1-2 and 4-5 stars are equally likely") if labels is None or star_values(labels) else ""
    classes = service.model.predictor.labels if service.model.predictor else ["negative", "positive"]
    scale = (" Both models' classes are the same five points, so the page also compares them class to class (the "
             "same class, within one)." if service.on_one_scale else "")
    return (f"The **fine-tuned model** predicts {' / '.join(classes)} from a movie review. The **baseline**, "
            f"`{spec}`, {what}{mapping}.{scale}")


def feedback_terms(store: FeedbackStore) -> str:
    """The one line under "Was this right?": what sending keeps, and where."""
    dataset = store.settings.dataset
    where = ("in this Space's storage" if not dataset else
             f"in the public dataset [{dataset}](https://huggingface.co/datasets/{dataset})" if store.settings.public
             else "in a private dataset of this Space's owner")
    return (f"Sending keeps the review (e-mail addresses, URLs, phone numbers and @handles removed), the class you "
            f"chose, both models' answers and versions, and the time, {where}, to train the next model. No IP "
            "address, account or cookie. Nothing is kept unless you press Send.")


def feedback_status(store: FeedbackStore | None) -> str:
    """The About tab's line on corrections (read at each page load)."""
    if store is None:
        return "**Visitors' corrections**: off (the feedback folder cannot be written)."
    status = store.status()
    waiting = f"; {status['waiting']:,} waiting to be pushed" if status["syncing"] else ""
    return f"**Visitors' corrections**: {status['records']:,} kept, {status['where']}{waiting}."
