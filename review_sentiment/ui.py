"""The Gradio page: review box, both models side by side, examples, Batch and About tabs, named API endpoints."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import gradio as gr

from .errors import UserError
from .service import MAX_BATCH_ROWS, MAX_UPLOAD_MB, Service, Slot, csv_columns

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent.parent / "assets"
THEME = gr.themes.Soft(primary_hue="indigo")
CSS = "#agreement {font-size: 1.1em} .notice {border-left: 4px solid #d97706; padding-left: 0.8em}"
# Reviews need a multi-line box, where Gradio's Enter inserts a newline. People expect Enter to submit (as in
# chat boxes): Enter analyses, Shift+Enter starts a new line.
HEAD = """<script>
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.target.closest && e.target.closest("#review")) {
    e.preventDefault(); e.stopPropagation(); document.querySelector("#analyze").click();
  }
}, true);
</script>"""
BATCH_COLUMNS = ["review", "finetuned_label", "finetuned_confidence", "baseline_label", "baseline_expected_stars",
                 "baseline_verdict", "agree", "error"]
STAR_RANGES = {"negative": "1-2", "neutral": "3", "positive": "4-5"}


def examples() -> list[dict]:
    return json.loads((ASSETS / "examples.json").read_text())


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


def model_line(slot: Slot, result: dict) -> str:
    if "error" in result:
        return f"⚠️ {slot.role} unavailable: {result['error']}"
    line = f"**{result['label']}** ({pct(result['confidence'])}) · {result['latency_ms']:.0f} ms"
    if "expected_stars" in result:
        line = (f"**{result['verdict']}** ({pct(result['confidence'])} on {STAR_RANGES[result['verdict']]} ★) · "
                f"expected **{result['expected_stars']:.1f} ★** · {result['latency_ms']:.0f} ms")
    return line


def agreement_line(result: dict) -> str:
    ft, bl = result["finetuned"], result["baseline"]
    if "agree" not in result:
        return "Only one model is available, so there is nothing to compare."
    if result["agree"]:
        return (f"✅ **Both models say {ft['verdict']}**: fine-tuned {pct(ft['confidence'])}, baseline "
                f"{pct(bl['confidence'])}.")
    return (f"⚠️ **The models disagree**: fine-tuned says {ft['verdict']} ({pct(ft['confidence'])}), baseline says "
            f"{bl['verdict']} ({pct(bl['confidence'])}).")


def build_ui(service: Service) -> gr.Blocks:
    def analyze(text: str):
        """UI handler: every failure becomes a message on the page, never a traceback."""
        try:
            result = service.compare(text)
        except UserError as exc:
            return f"⚠️ {exc}", None, "", None, "", ""
        except Exception:  # noqa: BLE001
            log.exception("analyze failed")
            return "⚠️ Something went wrong while analysing this review. Please try again.", None, "", None, "", ""
        ft, bl = result["finetuned"], result["baseline"]
        notes = " ".join(f"ℹ️ {n}" for n in result["notes"])
        return (notes, ft.get("probabilities"), model_line(service.model, ft), bl.get("probabilities"),
                model_line(service.baseline, bl), agreement_line(result))

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
        table = table[[c for c in BATCH_COLUMNS if c in table.columns]]  # the CSV download has every column
        status = f"✅ {len(table) - bad} reviews scored" + (f"; {bad} skipped (see the error column)" if bad else "")
        return status, table, path

    def pick_column(file):
        columns = csv_columns(file) if file and str(file).lower().endswith(".csv") else []
        default = "text" if "text" in columns else (columns[0] if columns else None)
        return gr.Dropdown(choices=columns, value=default, visible=bool(columns))

    with gr.Blocks(title="Movie review sentiment") as demo:
        gr.Markdown("# 🎬 Movie review sentiment\nA model fine-tuned on IMDb reviews next to nlptown's multilingual "
                    "1-5 star model. Type a review, or click an example.")
        for notice in service.notices:
            gr.Markdown(notice, elem_classes="notice")
        with gr.Tab("Analyze"):
            review = gr.Textbox(label="Review", info="Enter to analyze · Shift+Enter for a new line", lines=5,
                                max_lines=20, elem_id="review",
                                placeholder="The acting was superb, but the plot dragged in the middle...")
            button = gr.Button("Analyze", variant="primary", elem_id="analyze")
            notes = gr.Markdown(elem_id="notes")
            with gr.Row():
                with gr.Column():
                    gr.Markdown(f"### Fine-tuned\n`{service.model.spec}`")
                    ft_label = gr.Label(label="Class probabilities", elem_id="finetuned")
                    ft_line = gr.Markdown(elem_id="finetuned-line")
                    explain_button = gr.Button("Explain: which words decided?", size="sm", elem_id="explain")
                    explanation = gr.HighlightedText(label="Which words pushed the fine-tuned model", show_legend=True,
                                                     color_map=SHADES, combine_adjacent=False, visible=False,
                                                     elem_id="explanation")
                with gr.Column():
                    gr.Markdown(f"### Baseline\n`{service.baseline.spec}`")
                    bl_label = gr.Label(label="Star distribution", num_top_classes=5, elem_id="baseline")
                    bl_line = gr.Markdown(elem_id="baseline-line")
            agreement = gr.Markdown(elem_id="agreement")
            outputs = [notes, ft_label, ft_line, bl_label, bl_line, agreement]
            for event in (button.click, review.submit):
                event(analyze, review, outputs, api_visibility="private")
            explain_button.click(explain, review, explanation, api_visibility="private")
            review.change(lambda: gr.HighlightedText(visible=False), None, explanation, api_visibility="private")
            gr.Examples([[e["text"]] for e in examples()], inputs=review, outputs=outputs, fn=analyze,
                        run_on_click=True, cache_examples=False, example_labels=[e["title"] for e in examples()],
                        examples_per_page=12)
        with gr.Tab("Batch"):
            gr.Markdown(f"Upload a **CSV** (choose the text column) or a **TXT** file (one review per line), up to "
                        f"{MAX_BATCH_ROWS:,} reviews and {MAX_UPLOAD_MB} MB.")
            upload = gr.File(label="Reviews file", file_types=[".csv", ".txt"], elem_id="batch-file")
            column = gr.Dropdown(label="Text column", choices=[], visible=False, allow_custom_value=True)
            run = gr.Button("Run batch", variant="primary", elem_id="run-batch")
            status = gr.Markdown(elem_id="batch-status")
            table = gr.Dataframe(label="Predictions", wrap=True, max_height=500)
            download = gr.File(label="Download predictions (CSV)", elem_id="batch-download")
            upload.change(pick_column, upload, column, api_visibility="private")
            run.click(run_batch, [upload, column], [status, table, download], api_visibility="private")
        with gr.Tab("About"):
            about_tab(service)

        # Clean JSON endpoints for gradio_client users.
        def predict(text: str) -> dict:
            """The fine-tuned model: {label, score, probabilities}."""
            return service.predict([text])[0]

        def compare(text: str) -> dict:
            """Both models: probabilities, verdicts, latencies and agreement."""
            return service.compare(text)

        gr.api(predict, api_name="predict")
        gr.api(compare, api_name="compare")
    return demo


LONG_TEXT_WORDS = {"chunks": "are read whole, in overlapping windows whose predictions are averaged",
                   "head+tail": "keep their first quarter and last three quarters", "head": "keep their beginning"}


def about_tab(service: Service) -> None:
    settings = service.model.predictor.settings if service.model.predictor else {}
    reading = (f"; reviews longer than its {settings['max_length']}-token window "
               f"{LONG_TEXT_WORDS[settings['long_text']]}, and its probabilities are temperature-calibrated "
               f"(T = {settings['temperature']:.2f})" if settings else "")
    gr.Markdown(
        "**Fine-tuned model**: a transformer fine-tuned on IMDb reviews (positive/negative) with this project's "
        f"`train.py`{reading}.  \n**Baseline**: `nlptown/bert-base-multilingual-uncased-sentiment`, trained on "
        "product reviews in six languages to predict 1-5 stars. Its verdict maps 1-2 stars to negative, 3 to "
        "neutral, 4-5 to positive.")
    for slot in (service.model, service.baseline):
        link = f" · [model repo]({slot.hub_url})" if slot.hub_url else ""
        if slot.error:
            gr.Markdown(f"### {slot.role}\n`{slot.spec}`{link}: not loaded ({slot.error})")
            continue
        facts = service.model_facts(slot)
        text = f"### {slot.role}\n`{slot.spec}`{link} · classes: {', '.join(slot.predictor.labels)}"
        metrics = facts.get("metrics")
        if metrics:
            rows = "\n".join(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
                             for name, m in metrics["per_class"].items())
            text += (f"\n\nTest split ({metrics['num_samples']:,} reviews): accuracy **{metrics['accuracy']:.2%}**, "
                     f"macro F1 **{metrics['f1_macro']:.4f}**\n\n| class | precision | recall | F1 | support |\n"
                     f"| --- | ---: | ---: | ---: | ---: |\n{rows}")
        gr.Markdown(text)
        if facts.get("plots"):
            with gr.Row():
                for plot in facts["plots"]:
                    gr.Image(plot, show_label=False, interactive=False)
