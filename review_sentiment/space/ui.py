"""The Gradio page: review box, both models side by side, examples, Batch and About tabs, named API endpoints.

Layout and events only; what each panel shows is built in views.py."""

from __future__ import annotations

import html
import inspect
import json
import logging

import gradio as gr

from ..defaults import BASELINE_ID, PROJECT_DIR
from ..errors import UserError
from ..evaluation.audit import summary as audit_summary
from .operations import OPERATIONS, Operation
from .service import MAX_BATCH_ROWS, MAX_UPLOAD_MB, Service, csv_columns
from .views import (
    SHADES,
    about_intro,
    agreement_line,
    audit_table,
    distribution_html,
    feedback_status,
    feedback_terms,
    model_line,
    origin_line,
    robustness_html,
    scale_agreement_md,
    shade,
    training_line,
)

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


def build_ui(service: Service, operations: list[Operation] = OPERATIONS) -> gr.Blocks:
    """The page: a header, the Analyze, Batch and About tabs, and the operations' named API endpoints."""
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
        api_endpoints(service, operations)
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
    if service.feedback is not None:
        feedback_box(service, review, button)
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


def feedback_box(service: Service, review: gr.Textbox, analyze: gr.Button) -> None:
    """"Was this right?" under the verdicts: the right class for either model, sent only on Send."""
    store = service.feedback
    with gr.Group(elem_id="feedback"):
        gr.Markdown(f"**Was this right?** Choose the right class and send it.  \n<small>{feedback_terms(store)}"
                    "</small>")
        with gr.Row():
            choices = [gr.Radio(list(slot.predictor.labels) if slot.predictor else [], label=label,
                                visible=slot.predictor is not None, elem_id=f"feedback-{side}")
                       for side, slot, label in (("finetuned", service.model, "Fine-tuned: the review is"),
                                                 ("baseline", service.baseline, "Baseline: the review deserves"))]
        send = gr.Button("Send", size="sm", elem_id="feedback-send")
    thanks = gr.Markdown(elem_id="feedback-thanks")

    def send_feedback(text: str, finetuned: str | None, baseline: str | None, request: gr.Request):
        chosen = [label for label in (finetuned, baseline) if label]  # a class names its model (FeedbackStore.correct)
        if not chosen:
            return "⚠️ Choose the right class first.", finetuned, baseline
        try:
            for label in chosen:
                answer = store.correct(service, text, label, client=store.client(request.headers, request.client))
        except UserError as exc:
            return f"⚠️ {exc}", finetuned, baseline
        except Exception:  # noqa: BLE001
            log.exception("feedback failed")
            return "⚠️ Something went wrong while saving your correction; it was not kept.", finetuned, baseline
        return f"✅ {answer['message']}", None, None

    send.click(send_feedback, [review, *choices], [thanks, *choices], api_visibility="private",
               show_progress_on=thanks)
    # A new analysis clears the choices, without a spinner over them. On the analysis, not on every change of the
    # box: a third change listener that updates the radios made Chromium's page re-send the box's change events
    # in a loop, with old and new text in turn.
    for event in (analyze.click, review.submit):
        event(lambda: ("", None, None), None, [thanks, *choices], api_visibility="private", show_progress="hidden")


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


def api_endpoint(service: Service, operation: Operation) -> None:
    """The operation as a gr.api endpoint of its name: clean JSON for gradio_client users and, with --mcp and the
    operation's flag, an MCP tool. gr.Error is what Gradio passes on to clients (other exceptions stay private:
    show_error is off)."""

    def call(*values) -> dict:
        *values, request = values  # Gradio hands the request in where the signature names it: last
        try:
            return operation.call(service, values, service.feedback.client(request.headers, request.client)
                                  if request is not None and service.feedback else "")
        except UserError as exc:
            # A refused review is the caller's to fix: one line in the server log, not Gradio's 28-line traceback.
            log.info("%s refused a review: %s", operation.name, exc)
            raise gr.Error(str(exc), print_exception=False) from None

    # Gradio reads the endpoint's parameters from the signature and their descriptions from the docstring, and MCP
    # names the tool by the function's name.
    params = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str, default=default)
              for name, default in operation.fields.items()]
    params.append(inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=gr.Request,
                                    default=None))
    call.__signature__ = inspect.Signature(params, return_annotation=dict)
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": dict}
    call.__name__ = call.__qualname__ = operation.name
    call.__doc__ = operation.api_doc()
    # "undocumented": still callable by name, left out of the API page, which is what Gradio's MCP server lists.
    gr.api(call, api_name=operation.name, api_visibility="public" if operation.mcp else "undocumented")


def api_endpoints(service: Service, operations: list[Operation] = OPERATIONS) -> None:
    for operation in operations:
        api_endpoint(service, operation)


def about_tab(service: Service) -> None:
    gr.Markdown(about_intro(service))
    gr.Markdown(lambda: feedback_status(service.feedback), elem_id="feedback-status")
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
