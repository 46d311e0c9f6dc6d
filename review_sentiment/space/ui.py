"""The Gradio page: review box, both models side by side, examples, Batch and About tabs, named API endpoints."""

from __future__ import annotations

import html
import json
import logging

import gradio as gr

from ..data.scale import agreement_table, points
from ..data.stars import label_polarity, star_values
from ..defaults import BASELINE_ID, PROJECT_DIR
from ..errors import UserError
from ..evaluation.audit import summary as audit_summary
from ..inference.int8_bar import reason
from .service import MAX_BATCH_ROWS, MAX_UPLOAD_MB, Service, Slot, csv_columns

log = logging.getLogger(__name__)
ASSETS = PROJECT_DIR / "assets"
THEME = gr.themes.Soft(primary_hue="indigo")
CSS = """#agreement {font-size: 1.1em} .notice {border-left: 4px solid #d97706; padding-left: 0.8em}
.dist {display: grid; grid-template-columns: max-content 1fr 3.2em; gap: 0.35em 0.6em; align-items: center}
.dist-bar {height: 0.9em; background: #e5e7eb; border-radius: 3px; overflow: hidden}
.dist-bar > span {display: block; height: 100%} .dist-pct {text-align: right; font-variant-numeric: tabular-nums}
.dist-negative > span {background: #dc2626} .dist-neutral > span {background: #9ca3af}
.dist-positive > span {background: #16a34a}
.dist-negative.dist-strong > span {background: #7f1d1d} .dist-positive.dist-strong > span {background: #14532d}
.robust td, .robust th {padding: 0.25em 0.6em; vertical-align: top}
.robust .flip {background: #fee2e2; font-weight: 600}
.robust .text {max-width: 36em; font-size: 0.9em}"""
# Reviews need a multi-line box, where Gradio's Enter inserts a newline. People expect Enter to submit (as in
# chat boxes): Enter analyses, Shift+Enter starts a new line.
HEAD = """<script>
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.target.closest && e.target.closest("#review")) {
    e.preventDefault(); e.stopPropagation(); document.querySelector("#analyze").click();
  }
}, true);
</script>"""
BATCH_COLUMNS = ["review", "finetuned_label", "finetuned_confidence", "finetuned_expected_class", "baseline_label",
                 "baseline_expected_stars", "baseline_verdict", "agree", "same_class", "within_one", "error"]
STAR_RANGES = {"negative": "1-2", "neutral": "3", "positive": "4-5", "undecided": "1-2 and on 4-5"}


def examples() -> list[dict]:
    return json.loads((ASSETS / "examples.json").read_text())


# A shared result is a link to the page with the review in `?review=`: the link carries the review and nothing else,
# and the page fills it in and analyses it on load. Built in the browser from the page's own address, so it points
# wherever the visitor is: localhost, a --share link, or the Space.
SHARE_LINK_JS = """(text) => {
  if (!text || !text.trim()) return "";
  const url = new URL(window.location.href);
  url.search = ""; url.hash = "";
  url.searchParams.set("review", text);
  const link = url.toString();
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(link).catch(() => {});
  return link;
}"""


def review_from_link(request: gr.Request) -> str | None:
    """The review a shared link carries, if the page was opened from one."""
    params = getattr(request, "query_params", None) or {}
    return params.get("review") or None


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
        where = sorted(where)

    def tone(i: int, label: str) -> str:
        strong = where and len(where) == 5 and where[i] in (where[0], where[-1])
        return f"dist-{label_polarity(label)}" + (" dist-strong" if strong else "")
    rows = "".join(
        f'<span class="dist-name">{html.escape(label)}</span>'
        f'<span class="dist-bar {tone(i, label)}"><span style="width:{probabilities[label]:.1%}"></span>'
        f'</span><span class="dist-pct">{probabilities[label]:.0%}</span>' for i, label in enumerate(labels))
    summary = ", ".join(f"{label} {probabilities[label]:.0%}" for label in labels)
    return f'<div class="dist" role="img" aria-label="{html.escape(summary)}">{rows}</div>'


def model_line(slot: Slot, result: dict) -> str:
    if "error" in result:
        return f"⚠️ {slot.role} unavailable: {result['error']}"
    line = f"**{result['label']}** ({pct(result['confidence'])}) · {result['latency_ms']:.0f} ms"
    if "expected_class" in result:
        k = len(result["probabilities"])
        top = result["probabilities"][result["label"]]
        line = (f"**{result['label']}** ({pct(top)}; {result['verdict']} {pct(result['confidence'])}) · expected "
                f"class **{result['expected_class']:.1f}** of 1-{k} · {result['latency_ms']:.0f} ms")
    if result.get("language_notice"):
        line += f"  \n🌐 {result['language_notice']}"
    if "expected_stars" in result:
        line = (f"**{result['verdict']}** ({pct(result['confidence'])} on {STAR_RANGES[result['verdict']]} ★) · "
                f"expected **{result['expected_stars']:.1f} ★** · {result['latency_ms']:.0f} ms")
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


def build_ui(service: Service) -> gr.Blocks:
    """The page: a header, the Analyze, Batch and About tabs, and the named API endpoints."""
    with gr.Blocks(title="Movie review sentiment") as demo:
        baseline = ("nlptown's multilingual 1-5 star model" if service.baseline.spec == BASELINE_ID
                    else f"the baseline `{service.baseline.spec}`")
        data = f"`{service.model.trained_on}`" if service.model.trained_on else "IMDb reviews"
        gr.Markdown(f"# 🎬 Movie review sentiment\nA model fine-tuned on {data} next to {baseline}. Type a "
                    "review, or click an example.")
        for notice in service.notices:
            gr.Markdown(notice, elem_classes="notice")
        with gr.Tab("Analyze"):
            analyze_tab(service, demo)
        with gr.Tab("Batch"):
            batch_tab(service)
        with gr.Tab("About"):
            about_tab(service)
        api_endpoints(service)
    return demo


def analyzer(service: Service):
    """The Analyze tab's handler: review -> the six result panels."""
    def analyze(text: str):
        """UI handler: every failure becomes a message on the page, never a traceback."""
        try:
            result = service.compare(text)
        except UserError as exc:
            return f"⚠️ {exc}", "", "", "", "", ""
        except Exception:  # noqa: BLE001
            log.exception("analyze failed")
            return "⚠️ Something went wrong while analysing this review. Please try again.", "", "", "", "", ""
        ft, bl = result["finetuned"], result["baseline"]
        notes = " ".join(f"ℹ️ {n}" for n in result["notes"])
        return (notes, distribution_html(ft.get("probabilities")), model_line(service.model, ft),
                distribution_html(bl.get("probabilities")), model_line(service.baseline, bl), agreement_line(result))
    return analyze


def analyze_tab(service: Service, demo: gr.Blocks) -> None:
    """The review box, examples, both models' results, explanations and the shareable link."""
    analyze = analyzer(service)

    def explain(text: str):
        try:
            segments = [(word, shade(score)) for word, score in service.explain(text)["segments"]]
            return gr.HighlightedText(value=segments, visible=True)
        except UserError as exc:
            gr.Warning(str(exc))
        except Exception:  # noqa: BLE001
            log.exception("explain failed")
            gr.Warning("Something went wrong while explaining this review.")
        return gr.HighlightedText(visible=False)

    review = gr.Textbox(label="Review", info="Enter to analyze · Shift+Enter for a new line", lines=5,
                        max_lines=20, elem_id="review",
                        placeholder="The acting was superb, but the plot dragged in the middle...")
    button = gr.Button("Analyze", variant="primary", elem_id="analyze")
    # Results are created first and placed below the examples, so that on a phone the examples sit right
    # under the review box instead of after both result panels.
    notes = gr.Markdown(elem_id="notes", render=False)
    ft_chart = gr.HTML(elem_id="finetuned", render=False)
    ft_line = gr.Markdown(elem_id="finetuned-line", render=False)
    bl_chart = gr.HTML(elem_id="baseline", render=False)
    bl_line = gr.Markdown(elem_id="baseline-line", render=False)
    agreement = gr.Markdown(elem_id="agreement", render=False)
    outputs = [notes, ft_chart, ft_line, bl_chart, bl_line, agreement]
    gr.Examples([[e["text"]] for e in examples()], inputs=review, outputs=outputs, fn=analyze,
                run_on_click=True, cache_examples=False, example_labels=[e["title"] for e in examples()],
                examples_per_page=12, elem_id="examples")
    notes.render()
    with gr.Row():
        with gr.Column():
            gr.Markdown(f"### Fine-tuned\n`{service.model.spec}`  \nClass probabilities")
            ft_chart.render()
            ft_line.render()
            explain_button = gr.Button("Explain: which words decided?", size="sm", elem_id="explain")
            explanation = gr.HighlightedText(label="Which words pushed the fine-tuned model", show_legend=True,
                                             color_map=SHADES, combine_adjacent=False, visible=False,
                                             elem_id="explanation")
        with gr.Column():
            gr.Markdown(f"### Baseline\n`{service.baseline.spec}`  \nStar distribution")
            bl_chart.render()
            bl_line.render()
    agreement.render()
    robust_button = gr.Button("How robust is this verdict?", size="sm", elem_id="robustness")
    robust_view = gr.HTML(elem_id="robustness-view")
    with gr.Row():
        share = gr.Button("🔗 Copy a link to this result", size="sm", elem_id="share", scale=0)
        link = gr.Textbox(show_label=False, container=False, buttons=["copy"], visible=False,
                          elem_id="share-link", interactive=False)
    for event in (button.click, review.submit):
        event(analyze, review, outputs, api_visibility="private")
    # The browser builds the link (js), which then reaches the function as its input.
    share.click(lambda url: gr.Textbox(value=url, visible=bool(url)), review, link, js=SHARE_LINK_JS,
                api_visibility="private", queue=False)

    def open_shared(request: gr.Request):
        text = review_from_link(request)
        if text is None:
            return gr.skip(), *[gr.skip()] * len(outputs)
        return text, *analyze(text)
    demo.load(open_shared, None, [review, *outputs], api_visibility="private")
    # Explanations (integrated gradients, seconds each) and batches run one at a time: they would otherwise
    # take the cores from the quick predictions, which the models' batch queues serve together.
    explain_button.click(explain, review, explanation, api_visibility="private", concurrency_limit=1)
    review.change(lambda: gr.HighlightedText(visible=False), None, explanation, api_visibility="private")

    def robustness(text: str) -> str:
        try:
            return robustness_html(service.robustness(text))
        except UserError as exc:
            return f"<p class='notice'>⚠️ {html.escape(str(exc))}</p>"
        except Exception:  # noqa: BLE001
            log.exception("robustness failed")
            return "<p class='notice'>⚠️ Something went wrong while perturbing this review.</p>"
    # From the queue like any prediction; one at a time, since each is up to nine reviews per model.
    robust_button.click(robustness, review, robust_view, api_visibility="private", concurrency_limit=1)
    review.change(lambda: "", None, robust_view, api_visibility="private")


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


def batch_tab(service: Service) -> None:
    """Upload a CSV or TXT of reviews, score them with both models, download the table."""
    def run_batch(file, column):
        if file is None:
            return "⚠️ Upload a .csv or .txt file first.", None, None
        try:
            table, path = service.batch(file, column)
        except UserError as exc:
            return f"⚠️ {exc}", None, None
        except Exception:  # noqa: BLE001
            log.exception("batch failed")
            return "⚠️ Something went wrong while reading this file.", None, None
        bad = int((table["error"] != "").sum())
        status = f"✅ {len(table) - bad} reviews scored" + (f"; {bad} skipped (see the error column)" if bad else "")
        agreement = scale_agreement_md(service, table)
        table = table[[c for c in BATCH_COLUMNS if c in table.columns]]  # the CSV download has every column
        return status + agreement, table, path

    def pick_column(file):
        columns = csv_columns(file) if file and str(file).lower().endswith(".csv") else []
        default = "text" if "text" in columns else (columns[0] if columns else None)
        return gr.Dropdown(choices=columns, value=default, visible=bool(columns))

    gr.Markdown(f"Upload a **CSV** (choose the text column) or a **TXT** file (one review per line), up to "
                f"{MAX_BATCH_ROWS:,} reviews and {MAX_UPLOAD_MB} MB.")
    upload = gr.File(label="Reviews file", file_types=[".csv", ".txt"], elem_id="batch-file")
    column = gr.Dropdown(label="Text column", choices=[], visible=False, allow_custom_value=True)
    run = gr.Button("Run batch", variant="primary", elem_id="run-batch")
    status = gr.Markdown(elem_id="batch-status")
    table = gr.Dataframe(label="Predictions", wrap=True, max_height=500)
    download = gr.File(label="Download predictions (CSV)", elem_id="batch-download")
    upload.change(pick_column, upload, column, api_visibility="private")
    run.click(run_batch, [upload, column], [status, table, download], api_visibility="private",
              concurrency_limit=1)


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


def api_endpoints(service: Service) -> None:
    """Clean JSON endpoints for gradio_client users (and, with --mcp, MCP tools).
    gr.Error is what Gradio passes on to clients (other exceptions stay private: show_error is off)."""
    def predict(text: str) -> dict:
        """Sentiment of one English movie review from the model fine-tuned on IMDb reviews: a JSON object with
        "label" ("positive" or "negative"), "score" (that label's probability) and "probabilities" (each class).

        Args:
            text: the review, plain text (up to 20,000 characters).

        Returns:
            the label, its probability and every class's probability.
        """
        try:
            answer = service.predict([text])[0]
        except UserError as exc:
            raise gr.Error(str(exc)) from None
        if "error" in answer:  # one review, so no other to answer: refused like the page refuses it
            raise gr.Error(answer["error"])
        return answer

    def compare(text: str) -> dict:
        """One review through both models, side by side: the model fine-tuned on IMDb reviews ("finetuned":
        probabilities, label, confidence, verdict, latency_ms) and the 1-5 star baseline ("baseline": per-star
        probabilities, verdict negative/neutral/positive/undecided, confidence, expected_stars, p_positive),
        "agree" (whether the verdicts match; null when a model is undecided) and "notes".

        Args:
            text: the review, plain text (up to 20,000 characters).

        Returns:
            both models' answers, whether they agree, and notes on the review.
        """
        try:
            return service.compare(text)
        except UserError as exc:
            raise gr.Error(str(exc)) from None

    def robustness(text: str) -> dict:
        """How robust the verdict on one movie review is: the review under perturbations that should not change a
        verdict (typos, contractions, punctuation, an irrelevant sentence added, first names, gender words,
        countries and religions swapped) and each model's P(positive) and verdict on every version, with
        "flipped" where a version's verdict differs from the review's.

        Args:
            text: the review, plain text (up to 20,000 characters).

        Returns:
            the versions with both models' P(positive), verdicts and flips, notes, and the time taken.
        """
        try:
            return service.robustness(text)
        except UserError as exc:
            raise gr.Error(str(exc)) from None

    gr.api(predict, api_name="predict")
    gr.api(compare, api_name="compare")
    gr.api(robustness, api_name="robustness")


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


def about_tab(service: Service) -> None:
    gr.Markdown(about_intro(service))
    for slot in (service.model, service.baseline):
        link = f" · [model repo]({slot.hub_url})" if slot.hub_url else ""
        if slot.error:
            gr.Markdown(f"### {slot.role}\n`{slot.spec}`{link}: not loaded ({slot.error})")
            continue
        facts = service.model_facts(slot)
        text = (f"### {slot.role}\n`{slot.spec}`{link} · classes: {', '.join(slot.predictor.labels)}\n\n"
                f"{origin_line(slot)}" + (f"  \n{training_line(slot)}" if slot is service.model else ""))
        metrics = facts.get("metrics")
        if metrics:
            rows = "\n".join(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
                             for name, m in metrics["per_class"].items())
            fine = (f", within one class **{metrics['within_one_accuracy']:.1%}**, mean error "
                    f"**{metrics['mae_classes']:.2f}** classes" if "within_one_accuracy" in metrics else "")
            text += (f"\n\nTest split ({metrics['num_samples']:,} reviews): accuracy **{metrics['accuracy']:.2%}**, "
                     f"macro F1 **{metrics['f1_macro']:.4f}**{fine}\n\n| class | precision | recall | F1 | support |\n"
                     f"| --- | ---: | ---: | ---: | ---: |\n{rows}")
        audited = facts.get("audit")
        text += (f"\n\n**Behaviour and fairness audit** (measured {facts['audit_origin']}): {audit_summary(audited)}."
                 if audited else "\n\n**Behaviour and fairness audit**: not measured for this model (`python -m "
                 "review_sentiment.evaluation.audit --model ...` measures it; publishing the Space does).")
        if audited:
            text += "\n\n" + audit_table(audited)
        gr.Markdown(text)
        if facts.get("plots"):
            with gr.Row():
                for plot in facts["plots"]:
                    gr.Image(plot, show_label=False, interactive=False)
