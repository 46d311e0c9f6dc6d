"""Tables rendered from results files, never typed: README's headline table and the tables of benchmarks/README.md
that have a renderer here, each between markers, so the prose around them stays hand-written.

    <!-- rendered: headline -->
    ...the table, rewritten by this script...
    <!-- /rendered: headline -->

`python benchmarks/render.py` rewrites every marked table from `benchmarks/results/`; `--check` changes nothing and
exits 1 naming each table that disagrees with its files (tests/benchmarks/test_render.py runs it on the repo).

The headline table has a column per CPU class (machine.cpu_class), each from that class's newest `headline-*.json`
(benchmarks/headline.py), headed with the date and commit it was measured at. Columns measured before headline.py
existed are files too, marked "transcribed": their cells are the text README carried, with the date it gave.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_class  # noqa: E402
DOCUMENTS = (ROOT / "README.md", ROOT / "benchmarks" / "README.md")
MARKED = re.compile(r"(<!-- rendered: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /rendered: (?P=name) -->)", re.S)

HEADLINE_ROWS = [
    ("compare", "**the page, `/compare`** (both models; nlptown's size with its int8 files): p50, vs two plain "
                "pipelines, vs two seed"),
    ("predict", "`/predict` (the model with train.py's files): p50, vs a plain pipeline, vs seed"),
    ("fp32", "model without files (fp32) vs plain pipeline"),
    ("crowd", "16 visitors vs 1 on `/compare` (throughput, p95/p50, RSS)"),
    ("cold_start", "cold start, first / later"),
]


def headline_cells(figures: dict) -> dict[str, str]:
    """A measured column's cells, from headline.py's figures (a row it did not measure stays "-")."""
    f = figures
    cells = {"compare": f"{f['compare_p50_ms']:.0f} ms, {f['compare_vs_plain']:.2f}x, {f['compare_vs_seed']:.2f}x",
             "predict": f"{f['predict_p50_ms']:.0f} ms, {f['predict_vs_plain']:.2f}x, {f['predict_vs_seed']:.2f}x"}
    if f.get("crowd_vs_one") is not None:
        cells["crowd"] = (f"{f['crowd_vs_one']:.2f}x, {f['crowd_p95_over_p50']:.2f}, RSS "
                          f"{f['crowd_rss_growth']:+.0%}")
    if f.get("cold_start_first_s") is not None:
        cells["cold_start"] = f"{f['cold_start_first_s']:.1f} s / {f['cold_start_later_s']:.1f} s"
    return cells


def headline(results: Path) -> str:
    """README's headline table from every headline file: a column per class, its newest run per model."""
    newest: dict[tuple[str, str], dict] = {}
    for run in runs_of(results, "headline-*.json"):
        key = (run["class"], run["models"]["fine-tuned"]["name"])
        if key not in newest or (run.get("date") or "") > (newest[key].get("date") or ""):
            newest[key] = run
    classes: dict[str, list[dict]] = {}
    for (name, _), run in sorted(newest.items(), key=lambda item: (item[1].get("transcribed", False),
                                                                   -int((item[1].get("date") or "0").replace("-", "")),
                                                                   item[0])):
        classes.setdefault(name, []).append(run)
    header = ["| |"]
    columns = []
    for name, runs in classes.items():
        dates = "; ".join(sorted({when(r) for r in runs}))
        header.append(f" {name} ({dates}) |")
        cells: dict[str, list[str]] = {}
        for run in runs:
            own = run["cells"] if run.get("transcribed") else headline_cells(run["figures"])
            model = run["models"]["fine-tuned"]
            for row, text in own.items():
                prefix = f"{model['name']}: " if len(runs) > 1 else ""
                cells.setdefault(row, []).append(prefix + text)
        columns.append(cells)
    lines = ["".join(header), "| --- |" + " ---: |" * len(columns)]
    for row, label in HEADLINE_ROWS:
        lines.append(f"| {label} | " + " | ".join("; ".join(c.get(row, ["-"])) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def compile_cpu(results: Path) -> str:
    """benchmarks/README.md's torch.compile table: every compile_cpu file, a row per way a step ran."""
    lines = ["| CPU (date, commit) | batches | precision | torch.compile | first steps (s, compiling) | "
             "step (s, median) | vs eager bf16 |", "| --- | --- | --- | --- | ---: | ---: | ---: |"]
    for run in runs_of(results, "compile_cpu-*.json"):
        lengths = run["lengths"]
        shape = (f"one shape, {run['batch']} x {lengths[0]}" if len(lengths) == 1 else
                 f"{run['batch']} x {', '.join(map(str, lengths))} in turn")
        where = f"{cpu_class(run['machine'])} ({run.get('date', '-')}" + (f", {run['commit'][:7]})" if run.get("commit")
                                                                        else ")")
        for row in run["rows"]:
            compiled = ("yes (dynamic)" if len(lengths) > 1 else "yes") if row["compiled"] else "no"
            lines.append(f"| {where} | {shape} | {row['precision']} | {compiled} | {row['warmup_s']} | "
                         f"{row['median_step_s']:.2f} | {row['vs_reference']:.2f}x |")
    return "\n".join(lines) + "\n"


def runs_of(results: Path, pattern: str) -> list[dict]:
    """Every results file matching `pattern`, read, in name order (each with its file's name as "_file")."""
    return [{**json.loads(path.read_text()), "_file": path.stem} for path in sorted(results.glob(pattern))]


def when(run: dict) -> str:
    """A results file's date and commit, as a cell says them."""
    return (run.get("date") or "an earlier version") + (f", {run['commit'][:7]}" if run.get("commit") else "")


def machine_of(run: dict) -> str:
    """The class a results file was measured on, or that it did not record one (files written before they did)."""
    return cpu_class(run["machine"]) if run.get("machine") else "CPU not recorded"


def pct(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def training(run: dict) -> str:
    """A run's training time, unless it was paused or shared the CPU (then its wall-clock time is no figure)."""
    return "not timed alone" if run.get("training_paused") else f"{run['training_min']:.0f} min"


def against_served(test: dict) -> str:
    """How the pipeline's and the window's readings differ from the served one, on the same reviews."""
    pairs = {pair["b"]: pair for pair in test.get("pairs") or [] if pair["a"] == "served"}
    return "; ".join(f"{pair['points']:+.2f} ({pair['disagree']:,}, {pair['mcnemar_p']:.2g})"
                     for pair in (pairs.get("pipeline"), pairs.get("window")) if pair) or "-"


def reference_p(file: dict, name: str) -> str:
    """McNemar's p against the run the file compares every other with (imdb.py --reference), on the same reviews."""
    p = file["runs"][name].get("mcnemar_p_vs_reference")
    return f"{p:.2g} (vs {file['reference']})" if p is not None else "-"


def imdb_runs(results: Path) -> str:
    """benchmarks/README.md's IMDb run table: every run of every imdb-*.json (benchmarks/imdb.py), newest first. A run
    scored before train.py read the test three ways has its one figure under the training window, where it was read."""
    lines = ["| run | CPU (date, commit) | train reviews + phrases | window | epochs | test reviews | as served | "
             "plain pipeline | training window | pipeline, window vs served: points (reviews read differently, "
             "McNemar p) | McNemar p vs the file's reference run | ECE (as served) | validation | negated negative / "
             "at the end / beyond not, negated negative / negated positive | training |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    files = runs_of(results, "imdb-*.json")
    for file in sorted(files, key=lambda f: f.get("date") or "", reverse=True):
        where = f"{cpu_class(file['machine'])} ({when(file)})"
        for name, run in file["runs"].items():
            recipe, test = run["recipe"], run["test"]
            read = test.get("readings") or {}
            phrases = (f"{run['train_rows'] - run['train_reviews']:,} ({recipe['mix_select']})"
                       if recipe.get("mix_dataset") else "none")
            served = read.get("served", {})
            ece = served.get("ece") if read else None
            window = read["window"]["accuracy"] if read else test["accuracy"]
            negation = run["negation"]
            audit = " / ".join(pct(negation.get(k), 1) for k in ("negated negative", "negated negative at the end",
                                                             "negated negative beyond not",
                                                             "negated positive beyond not"))
            precision = run["precision"].get("precision") or "-"
            lines.append(f"| {name} | {where} | {run['train_reviews']:,} + {phrases} | {recipe['max_length']} | "
                         f"{recipe['epochs']:g} | {test['num_samples']:,} | {pct(served.get('accuracy'))} | "
                         f"{pct(read.get('pipeline', {}).get('accuracy'))} | {pct(window)} | {against_served(test)} | "
                         f"{reference_p(file, name)} | {pct(ece)} | {pct(run['validation_accuracy'])} | {audit} | "
                         f"{training(run)}, {precision} |")
    return "\n".join(lines) + "\n"


def our_model(results: Path) -> str:
    """README's "Our model" table: every run scored on all 25,000 IMDb test reviews (imdb-*.json), newest first, a
    column per reading, then the published figures the files compare with."""
    lines = ["| run (window, epochs; CPU, date) | IMDb test (25,000): as served / plain `pipeline` / training window | "
             "ECE as served | negated negative / at the end / beyond not (negated negative, positive) | "
             "SST-5 test (polarity) | training |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    anchors: dict[str, float] = {}
    files = runs_of(results, "imdb-*.json")
    for file in sorted(files, key=lambda f: f.get("date") or "", reverse=True):
        anchors.update(file.get("anchors", {}))
        for name, run in file["runs"].items():
            test = run["test"]
            if (test.get("num_samples") or 0) < 25_000:
                continue
            read = test.get("readings") or {}
            figures = (" / ".join(pct(read[k]["accuracy"]) for k in ("served", "pipeline", "window")) if read
                       else f"- / - / {pct(test['accuracy'])}")
            negation = run["negation"]
            audit = " / ".join(pct(negation.get(k), 1) for k in ("negated negative", "negated negative at the end",
                                                                "negated negative beyond not",
                                                                "negated positive beyond not"))
            sst = run["domains"].get("sst5-test", {}).get("accuracy")
            recipe = run["recipe"]
            lines.append(f"| {name} ({recipe['max_length']} tokens, {recipe['epochs']:g} epoch"
                         f"{'s' if recipe['epochs'] != 1 else ''}; {cpu_class(file['machine'])}, "
                         f"{when(file)}) | {figures} | {pct(read['served']['ece']) if read else '-'}"
                         f" | {audit} | {pct(sst)} | {training(run)} |")
    for anchor, published in anchors.items():
        lines.append(f"| {anchor} | {published:.2%} (its card) | - | - | - | - |")
    return "\n".join(lines) + "\n"


def before_after(name: str, row: dict) -> str:
    """'before -> after': probabilities as they are, rates and accuracies in percent."""
    def one(value):
        return ("-" if value is None else f"{value:.3f}" if name.startswith("P(positive)") else
                pct(value, 1 if name.startswith("audit") else 2))
    return f"{one(row['before'])} -> {one(row['after'])}"


NOT_YET = "*Not measured yet: run the command above, then `python benchmarks/render.py`.*\n"


def side_by_side(runs: list[tuple[str, dict]], extra: dict[str, callable]) -> str:
    """A row per figure (the union over runs, in the order met), a column per run, each cell 'before -> after';
    `extra`: more rows, each computed from a run."""
    if not runs:
        return NOT_YET
    names: list[str] = []
    for _, run in runs:
        names += [n for n in run["rows"] if n not in names]
    lines = ["| | " + " | ".join(head for head, _ in runs) + " |", "| --- |" + " ---: |" * len(runs)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(before_after(name, run["rows"][name]) if name in run["rows"] else "-"
                                                  for _, run in runs) + " |")
    for name, cell in extra.items():
        lines.append(f"| {name} | " + " | ".join(cell(run) for _, run in runs) + " |")
    return "\n".join(lines) + "\n"


def verdict(run: dict) -> str:
    gate = run["gate"]
    return ("passed" if gate["passed"] else "refused: " + "; ".join(gate["failures"])) + (
        f" (accuracy {gate['verdict']})" if gate.get("verdict") else "")


def feedback_loop(results: Path) -> str:
    """benchmarks/README.md's loop table: every feedback_loop-*.json, a column per run, each figure before -> after."""
    runs = []
    for run in runs_of(results, "feedback_loop-*.json"):
        how = "with contrasts" if run.get("contrasts_trained") else "corrections only"
        how += ", from the served model" if run.get("from_served") else ""
        runs.append((f"{Path(run['model']).name}, {run['corrections']} corrections, {how} "
                     f"({cpu_class(run['machine'])}, {when(run)})", run))
    return side_by_side(runs, {"the gate": verdict,
                               "test reviews the gate read": lambda r: f"{r['gate'].get('test_reviews', 0):,}",
                               "re-training": retraining})


def campaign(results: Path) -> str:
    """benchmarks/README.md's campaign table: every campaign-*.json, a column per defence."""
    runs = []
    for run in runs_of(results, "campaign-*.json"):
        again = f"; read again at {run['rescored']['commit'][:7]}" if run.get("rescored") else ""
        served = ", re-trained from the served model" if run.get("from_served") else ""
        runs.append((f"defence: {run['defence']}{served} ({Path(run['model']).name}; {cpu_class(run['machine'])}, "
                     f"{when(run)}{again})", run))
    return side_by_side(runs, {
        "corrections taken (honest + attacker's, from addresses)": lambda r: f"{r['taken']} of {r['honest']} + "
                                                                            f"{r['attack']} ({r['addresses']})",
        "texts that trained (negative, positive)": trained,
        "the target moved beyond the names nobody targeted (P(positive))": lambda r: f"**{r['target_moved']:+.3f}**",
        "the most a name nobody targeted moved beyond the others": control_moved,
        "the gate's names check on the target (its own shift, t-test p)": names_check,
        "the gate": verdict, "re-training": retraining})


def trained(run: dict) -> str:
    """How many corrected texts the defence let train, by class."""
    kept, per_class = run["feedback"]["kept"], run["feedback"]["per_class"]
    return f"{kept} ({per_class['negative']}, {per_class['positive']})"


def control_moved(run: dict) -> str:
    """The campaign's yardstick: how far a name moves when nobody aimed at it (one control name in older files)."""
    most = run.get("control_most_moved")
    if most is None:
        return f"one control name ({run['control']}) in that version"
    return f"{most['moved']:+.3f} ({most['name']}, of {len(run['controls'])})"


def names_check(run: dict) -> str:
    """What the gate's names check (evaluation/names.py) said of the campaign's target."""
    names = run["gate"].get("names")
    if names is None:
        return "not in that version's gate"
    row = names.get(run["target"])
    if row is None:
        return "not probed (fewer than three corrections name it)"
    return f"{row['shift']:+.3f}, p = {row['p']:.2g}: " + ("refused" if row["harmed"] else "passed")


def retraining(run: dict) -> str:
    """How long the re-training took, or, for a run cut after it and resumed, how long the steps after it took."""
    minutes = f"{run['train_s'] / 60:.0f} min"
    return f"cut after training; the steps after it: {minutes}" if run.get("resumed_after_training") else minutes


def compare(results: Path) -> str:
    """benchmarks/README.md's /compare table: every compare-*.json (benchmarks/compare.py), a row per run."""
    lines = ["| run (results file) | CPU (date) | served: fine-tuned; baseline | `/compare` p50 / p90 ms | two plain "
             "pipelines p50 ms, the app's speed against them | two seed pipelines, the same | 16 visitors: reviews/s "
             "against one, p95 ms, RSS |", "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for run in runs_of(results, "compare-*.json"):
        page, crowd = run["compare"], run["compare"].get("crowd")
        served = {k: v.split(" (")[0] for k, v in page.get("served", {}).items()}  # the runtime, not its file
        lines.append(
            f"| `{run['_file']}` | {cpu_class(run['machine'])} ({when(run)}) | {served.get('finetuned', '-')}; "
            f"{served.get('baseline', '-')} | {page['p50_ms']:.0f} / {page['p90_ms']:.0f} | "
            f"{run['plain']['p50_ms']:.0f}, **{run['summary']['vs_plain']:.2f}x** | {run['seed']['p50_ms']:.0f}, "
            f"**{run['summary']['vs_seed']:.2f}x** | " + (
                f"{crowd['per_second']:.1f}/s, {crowd['vs_one']:.2f}x, {crowd['p95_ms']:.0f}, "
                f"{crowd['rss_growth']:+.1%}" if crowd else "-") + " |")
    return "\n".join(lines) + "\n"


def two_models(results: Path) -> str:
    """benchmarks/README.md's table of both models on one review, one after the other or at once (two_models.py)."""
    lines = ["| CPU (date) | served: fine-tuned; baseline | both models on one review | p50 ms | mean ms | "
             "speed vs one after the other |", "| --- | --- | --- | ---: | ---: | ---: |"]
    for run in runs_of(results, "two_models-*.json"):
        served = "; ".join(s.split(" (")[0] for s in run["served"])
        for way, row in run["ways"].items():
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {served} | {way} | {row['p50_ms']:.0f} | "
                         f"{row['mean_ms']:.0f} | {row['vs_one_after_the_other']:.2f}x |")
    return "\n".join(lines) + "\n"


def padding(results: Path) -> str:
    """benchmarks/README.md's OpenVINO padding table (padding.py): each setting in its own process."""
    lines = ["| CPU (date) | model, int8 file | pad calls to | oneDNN primitives kept | 200-400 tokens p50 ms | "
             "again | 8-512 p50 ms | RSS MB |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in runs_of(results, "padding-*.json"):
        for row in run["runs"]:
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {row['model']} | {row['multiple']} | "
                         f"{row['primitives']} | {row['first_p50_ms']:.0f} | {row['second_p50_ms']:.0f} | "
                         f"{row['wide_p50_ms']:.0f} | {row['rss_before_mb']:,.0f} -> {row['rss_after_mb']:,.0f} |")
    return "\n".join(lines) + "\n"


def serving(results: Path) -> str:
    """benchmarks/README.md's serving table: every serving*.json with timings (serving.py), a row per size and way of
    serving, measured classes first; files marked "transcribed" hold the cells README carried for older classes."""
    lines = ["| CPU (date, commit) | size | variant | p50 ms | p95 ms | batch-32 reviews/s | peak RSS MB | vs seed | "
             "vs plain pipeline |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    files = runs_of(results, "serving*.json")
    for run in sorted(files, key=lambda f: (bool(f.get("transcribed")), f.get("date") or ""), reverse=False):
        where = f"{cpu_class(run['machine'])} ({when(run)})"
        if run.get("transcribed"):
            for row in run.get("rows", []):
                lines.append(f"| {where} | {row['size']} | `{row['variant']}` | {row['p50']} | - | - | - | "
                             f"{row['vs_seed']} | {row['vs_plain']} |")
            continue
        for size, variants in run.get("speed", {}).items():
            for name, row in variants.items():
                served = f" ({row['runtime'].split(' (')[0]})" if row.get("runtime") else ""
                ratio = {k: "-" if row.get(k) is None else f"{row[k]:.2f}x" for k in ("vs_seed", "vs_plain_pipeline")}
                lines.append(f"| {where} | {size} | `{name}`{served} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} | "
                             f"{row['batch32_reviews_per_s']:.1f} | {row.get('peak_rss_mb', 0):,.0f} | "
                             f"{ratio['vs_seed']} | {ratio['vs_plain_pipeline']} |")
    return "\n".join(lines) + "\n"


def serving_accuracy(results: Path) -> str:
    """Each runtime's answers against torch fp32 on the same test reviews (serving.py's accuracy runs)."""
    lines = ["| CPU (date) | model | runtime | reviews | accuracy | vs fp32 | agreement with fp32 | McNemar p | "
             "meets the bar |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run in runs_of(results, "serving*.json"):
        where = f"{cpu_class(run['machine'])} ({when(run)})"
        for name, row in (run.get("accuracy") or {}).items():
            lines.append(f"| {where} | {Path(run.get('accuracy_model', '-')).name} | `{name}` | {row['reviews']:,} | "
                         f"{pct(row['accuracy'])} | "
                         f"{row['accuracy_points_vs_fp32']:+.2f} pts | {pct(row['agreement_with_fp32'])} | "
                         f"{row['mcnemar_p']:.3f} | {'yes' if row['meets_bar'] else 'no'} |")
    return "\n".join(lines) + "\n"


def int8_schemes(results: Path) -> str:
    """benchmarks/README.md's int8 scheme table: every int8_schemes*.json (int8_schemes.py), a row per scheme."""
    lines = ["| CPU (date) | model, test reviews | scheme | accuracy | agreement with fp32 | ms / review | vs fp32 | "
             "MB | meets the bar |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run in runs_of(results, "int8_schemes*.json"):
        for row in run["rows"]:
            bar = "-" if row["scheme"] == "fp32" else "yes" if row["passed"] else "no"
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {run['model']}, {run['reviews']:,} | "
                         f"{row['scheme']} | {pct(row['accuracy'])} | {pct(row['agreement'])} | "
                         f"{row['ms_per_review']:.1f} | {row.get('speedup', 1.0):.2f}x | {row['size_mb']:.0f} | "
                         f"{bar} |")
    return "\n".join(lines) + "\n"


def accuracy_control(results: Path) -> str:
    """benchmarks/README.md's accuracy-control table: every accuracy_control*.json, a row per file made."""
    lines = ["| CPU (date) | validation target | file | agreement | accuracy points | McNemar p | bar | int8 / fp32 "
             "products | ms per review | vs fp32 | seconds to make |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for run in runs_of(results, "accuracy_control*.json"):
        target = (f"{run['agreement_for_validation']:.1%} agreement" if run.get("agreement_for_validation")
                  else "the bar")
        fp32 = next(f["ms"] for f in run["files"] if f["file"] == "fp32")
        for made in run["files"]:
            check = made.get("check")
            figures = (f"{pct(check['agreement'])} | {check['accuracy_points']:+.2f} | {check['mcnemar_p']:.2f} | "
                       f"{'yes' if check['passed'] else 'no'} | {made['int8_operations']} / {len(made['kept_fp32'])}"
                       if check else " | | | |")
            made_s = f"{made['seconds']:.0f}" if check else ""
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {target} | {made['file']} | {figures} | "
                         f"{made['ms']:.1f} | {fp32 / made['ms']:.2f}x | {made_s} |")
    return "\n".join(lines) + "\n"


def batching(results: Path) -> str:
    """benchmarks/README.md's table of what sharing a call costs (batching.py): per model and runtime, at each
    length, the per-review cost of calls of 2-16 reviews over singles', lowest-highest (below 1.00x sharing pays)."""
    lines = []
    for run in runs_of(results, "batching*.json"):
        lengths = sorted({row["length"] for row in run["rows"]})
        if not lines:
            lines += ["| CPU (date) | model | runtime | " + " | ".join(f"{n} tokens" for n in lengths) + " |",
                      "| --- | --- | --- |" + " ---: |" * len(lengths)]
        pairs = list(dict.fromkeys((row["model"], row["runtime"]) for row in run["rows"]))
        for model, runtime in pairs:
            cells = []
            for length in lengths:
                shared = [row["vs_single"] for row in run["rows"] if (row["model"], row["runtime"], row["length"]) ==
                          (model, runtime, length) and row["reviews"] > 1]
                cells.append(f"{min(shared):.2f}-{max(shared):.2f}x" if shared else "-")
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {model} | {runtime.split(' (')[0]} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def memory(results: Path) -> str:
    """benchmarks/README.md's memory table (batching.py's memory runs: 300 single calls of random lengths)."""
    lines = ["| CPU (date) | model | precision | ONNX Runtime's arena | ms / call | RSS after 100 calls | after 300 | "
             "growth |", "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for run in runs_of(results, "batching*.json"):
        for row in run.get("memory") or []:
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {row['model']} | {row['precision']} | "
                         f"{'on' if row['arena'] else 'off'} | {row['ms_per_call']:.1f} | {row['rss_100_mb']:,} MB | "
                         f"{row['rss_end_mb']:,} MB | {row['growth']:+.1%} |")
    return "\n".join(lines) + "\n"


def training_speed(results: Path) -> str:
    """benchmarks/README.md's training throughput table: every training*.json (training.py), a row per recipe."""
    lines = ["| device (date) | size, reviews | recipe | precision | distinct shapes | s / 100 steps | real tokens/s | "
             "vs seed |", "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for run in runs_of(results, "training*.json"):
        seed = next(r for r in run["results"] if r["recipe"] == "seed")["real_tokens_per_s"]
        device = run["gpu"]["gpu"] if run.get("gpu") else cpu_class(run["machine"])
        for row in run["results"]:
            name = "train.py" if row["recipe"] == "ours" else row["recipe"]
            lines.append(f"| {device} ({when(run)}) | {run['size']}, {run['reviews']} | {name} | {row['precision']} | "
                         f"{row['distinct_shapes']} | {row['seconds_per_100_steps']:,.0f} | "
                         f"{row['real_tokens_per_s']:,.0f} | {row['real_tokens_per_s'] / seed:.2f}x |")
    return "\n".join(lines) + "\n"


def load(results: Path) -> str:
    """benchmarks/README.md's load table: every load*.json (load.py), a row per phase, then what 16 users got."""
    lines = ["| CPU (date) | served | phase | users | requests | errors | requests/s | p50 ms | p95 ms | server CPU "
             "busy | 16 users vs 1, p95/p50, RSS from 100 requests on |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run in runs_of(results, "load*.json"):
        served, summary = run["runtime_choice"]["chosen"].split(" (")[0], run["summary"]
        phases = [("REST, one user", run["single"]), ("REST, first 100", run["first_100"]),
                  (f"REST, next {run['concurrent']['requests']:,}", run["concurrent"]),
                  ("gradio_client `/predict`", {"users": run["clients"], **run["gradio"]})]
        for k, (name, phase) in enumerate(phases):
            busy = f"{phase['server_cpu_busy']:.0%}" if phase.get("server_cpu_busy") is not None else "-"
            total = (f"**{summary['throughput_vs_single']:.2f}x**, {summary['p95_over_p50']:.2f}, "
                     f"{summary['rss_growth_100_to_total']:+.1%}") if k == 0 else ""
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {served} | {name} | {phase['users']} | "
                         f"{phase['requests']:,} | {phase['errors']} | {phase['requests_per_s']:.1f} | "
                         f"{phase['p50_ms']:,.0f} | {phase['p95_ms']:,.0f} | {busy} | {total} |")
    return "\n".join(lines) + "\n"


def language(results: Path) -> str:
    """benchmarks/README.md's language-identifier table (language.py)."""
    run = json.loads((results / "language.json").read_text())
    lines = [f"| identifier ({cpu_class(run['machine'])}, {when(run)}) | installed MB | top language right | notice "
             "right (English or not) | IMDb reviews wrongly flagged | p50 ms | p95 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, row in run["results"].items():
        size = f"{row['installed_mb']:.1f}" if row.get("installed_mb") is not None else "-"
        lines.append(f"| {row.get('package', name)} | {size} | {pct(row['accuracy'], 1)} | "
                     f"{pct(row['notice_accuracy'], 1)} | {pct(row['imdb_false_notice_rate'], 1)} | "
                     f"{row['p50_ms']:.2f} | {row['p95_ms']:.2f} |")
    return "\n".join(lines) + "\n"


def cold_start(results: Path) -> str:
    """benchmarks/README.md's cold-start table: every cold_start*.json (cold_start.py), a row per start."""
    lines = ["| CPU (date) | start | served (chosen at start): fine-tuned; baseline | process start to first REST "
             "answer |", "| --- | --- | --- | ---: |"]
    for run in runs_of(results, "cold_start*.json"):
        for row in run["results"]:
            served = "; ".join(v.split(" (")[0] for v in row["served"].values())
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {row['start']} | {served} | "
                         f"**{row['seconds']:.1f} s** |")
    return "\n".join(lines) + "\n"


def bulk(results: Path) -> str:
    """benchmarks/README.md's bulk-scoring table (bulk.py)."""
    lines = ["| CPU (date) | variant | reviews | reviews/s | wall | peak RSS | accuracy |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for run in runs_of(results, "bulk*.json"):
        for row in run["results"]:
            lines.append(f"| {cpu_class(run['machine'])} ({when(run)}) | {row['variant']} | {row['reviews']:,} | "
                         f"{row['reviews_per_s']:.1f} | {row['seconds']:,.0f} s | {row['peak_rss_mb']:,.0f} MB | "
                         f"{pct(row['accuracy'])} |")
    return "\n".join(lines) + "\n"


def long_reviews(results: Path) -> str:
    """benchmarks/README.md's long-review table (long_reviews.py): each way of reading, on long reviews and all."""
    lines = []
    for run in runs_of(results, "long_reviews*.json"):
        if not lines:
            lines = [f"| strategy ({machine_of(run)}, {when(run)}; {run['model']}, {run['window']}-token "
                     f"window) | accuracy > {run['threshold']} tokens | ms/review | accuracy, all | ms/review |",
                     "| --- | ---: | ---: | ---: | ---: |"]
        for name, row in run["results"].items():
            lines.append(f"| {name} | {pct(row['long']['accuracy'])} ({row['long']['reviews']}) | "
                         f"{row['long']['ms_per_review']:.0f} | {pct(row['all reviews']['accuracy'])} "
                         f"({row['all reviews']['reviews']}) | {row['all reviews']['ms_per_review']:.0f} |")
    return "\n".join(lines) + "\n"


def explanations(results: Path) -> str:
    """benchmarks/README.md's explanation table (explanations.py)."""
    run = json.loads((results / "explanations.json").read_text())
    return "\n".join([
        f"| method ({machine_of(run)}, {when(run)}; {run['model']}, {run['reviews']} reviews) | p50 | p95 | "
        "agreement with integrated gradients |", "| --- | ---: | ---: | --- |",
        f"| integrated gradients, 24 steps | {run['ig24_ms']['p50'] / 1000:.1f} s | "
        f"{run['ig24_ms']['p95'] / 1000:.1f} s | - |",
        f"| gradient x input | {run['grad_x_input_ms']['p50']:.0f} ms | {run['grad_x_input_ms']['p95']:.0f} ms | "
        f"Spearman {run['spearman_mean']:.2f}, top-5 words overlap {run['top5_overlap_mean']:.0%} |"]) + "\n"


def audit(results: Path) -> str:
    """benchmarks/README.md's audit table: every audit*.json (audit.py), a column per run, a row per audit test and
    group axis (failure rates; the largest gap in mean P(positive) with its 95% interval and corrected p)."""
    lines = []
    for run in runs_of(results, "audit*.json"):
        runs = run["runs"]
        lines += [f"| ({cpu_class(run['machine'])}, {when(run)}) | " + " | ".join(runs) + " |",
                  "| --- |" + " ---: |" * len(runs),
                  "| test accuracy | " + " | ".join(f"{pct(r['test_accuracy'])} ({r['test_reviews']:,})"
                                                   for r in runs.values()) + " |",
                  "| training | " + " | ".join(f"{r['training_s'] / 60:.1f} min" for r in runs.values()) + " |"]
        tests = list(dict.fromkeys((t["capability"], t["test"], t["n"]) for r in runs.values()
                                   for t in r["audit"]["tests"]))
        for capability, test, n in tests:
            cells = [next((pct(t["failure_rate"], 1) for t in r["audit"]["tests"] if t["test"] == test), "-")
                     for r in runs.values()]
            lines.append(f"| {capability}: {test} (n={n}) | " + " | ".join(cells) + " |")
        axes = list(dict.fromkeys(a["axis"] for r in runs.values() for a in r["audit"].get("fairness", [])))
        for axis in axes:
            cells = []
            for r in runs.values():
                found = next((a for a in r["audit"].get("fairness", []) if a["axis"] == axis), None)
                gap = found and found["largest_gap"]
                cells.append("-" if not gap else f"{gap['gap']:.3f} ({gap['ci95'][0]:.3f} to {gap['ci95'][1]:.3f}), "
                                                  f"p {gap['p_value']:.3g}")
            lines.append(f"| {axis}: largest gap | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def sst5(results: Path) -> str:
    """benchmarks/README.md's SST-5 tables (sst5.py): the runs, then the published anchors against the run chosen by
    validation."""
    lines = []
    for run in runs_of(results, "sst5*.json"):
        lines += [f"| run ({cpu_class(run['machine'])}, {when(run)}) | classes | train rows | lr, epochs, class "
                  "weights | validation | test | macro F1 | within one | MAE (classes) | SST-2 mapping | training |",
                  "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, r in run["runs"].items():
            t, recipe = r.get("test") or {}, r["recipe"]
            binary = f"{pct(t['binary_accuracy'])} ({t['binary_samples']:,})" if t.get("binary_accuracy") else "-"
            lines.append(f"| {name} | {len(r['classes'])} | {r['train_size']:,} | {recipe['learning_rate']:g}, "
                         f"{recipe['epochs']:g}, {recipe['class_weights'] or 'none'} | "
                         f"{pct(r['validation_accuracy'])} | {pct(t.get('accuracy'))} | "
                         + (f"{t['f1_macro']:.3f} | {pct(t['within_one_accuracy'])} | {t['mae_classes']:.3f}"
                            if t else "- | - | -") + f" | {binary} | {r['training_min']:.1f} min |")
        chosen = run["runs"][run["chosen"]]["test"]["accuracy"]
        lines += ["", f"| published (SST-5 root test accuracy) | accuracy | {run['chosen']}, chosen by validation: "
                      f"{pct(chosen)} |", "| --- | ---: | ---: |"]
        lines += [f"| {name} | {value:.1%} | {100 * (chosen - value):+.1f} points |"
                  for name, value in run["anchors"].items()]
    return "\n".join(lines) + "\n"


def transcribed(results: Path, stem: str) -> str:
    """A table whose run wrote no results file, kept as the file `<stem>.json` holding the cells README carried
    (marked transcribed), headed with its class and date: `<!-- rendered: file-<stem> -->`."""
    run = json.loads((results / f"{stem}.json").read_text())
    header, rows = run["table"]["header"], run["table"]["rows"]
    lines = [f"| {header[0]} ({machine_of(run)}, {when(run)}, transcribed) | " + " | ".join(header[1:]) + " |",
             "| --- |" + " ---: |" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def machine_classes(results: Path) -> str:
    """benchmarks/README.md's table of machine classes: every class a results file names, what was measured on it
    (the files' benchmarks) and when."""
    seen: dict[str, dict] = {}
    for run in runs_of(results, "*.json"):
        machine = run.get("machine")
        if not isinstance(machine, dict) or not machine.get("isa"):
            continue
        entry = seen.setdefault(cpu_class(machine), {"cpu": machine.get("cpu"), "isa": machine["isa"],
                                                      "what": set(), "dates": set()})
        entry["what"].add(run["_file"].split("-")[0])
        entry["dates"].add(run.get("date") or "an earlier version")
    lines = ["| class | CPU | ISA flags | measured (results files) | dates |", "| --- | --- | --- | --- | --- |"]
    for name, entry in sorted(seen.items()):
        lines.append(f"| {name} | {entry['cpu']} | {', '.join(entry['isa'])} | {', '.join(sorted(entry['what']))} | "
                     f"{', '.join(sorted(entry['dates']))} |")
    return "\n".join(lines) + "\n"


def gate_agreement(results: Path) -> str:
    """benchmarks/README.md's table of the gate's verdict on disjoint folds of the test split (gate_agreement.py)."""
    lines = ["| CPU (date) | models: re-trained against served | fold | reviews | before | after | points | 95% "
             "interval | McNemar p | verdict |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    if not runs_of(results, "gate_agreement*.json"):
        return NOT_YET
    for run in runs_of(results, "gate_agreement*.json"):
        for each in run["pairs"]:
            pair = f"{Path(each['new']).name} against {Path(run['old']).name}"
            lines += [f"| {cpu_class(run['machine'])} ({when(run)}) | {pair} | {fold['fold']} | {fold['reviews']:,} | "
                      f"{pct(fold['before'])} | {pct(fold['after'])} | {fold['points']:+.2f} | "
                      f"{fold['interval_points'][0]:+.2f} to {fold['interval_points'][1]:+.2f} | "
                      f"{fold['mcnemar_p']:.2g} | {fold['verdict']} |" for fold in each["folds"]]
    return "\n".join(lines) + "\n"


def negation_sources(results: Path) -> str:
    """benchmarks/README.md's table of where negation beyond "not" occurs in real labelled text
    (negation_sources.py)."""
    run = json.loads((results / "negation_sources.json").read_text())
    lines = [f"| form ({when(run)}) | scoping over | SST phrases: positive / neutral / negative | SST labelled as "
             "meant | IMDb sentences | of them in reviews labelled as meant |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for row in run["rows"]:
        by = row["sst_by_polarity"]
        word = "a complaint (means positive)" if row["means"] == "positive" else "praise (means negative)"
        lines.append(f"| {row['form']} | {word} | {by['positive']} / {by['neutral']} / {by['negative']} | "
                     f"{row['sst_right']} | {row['imdb_sentences']} | {pct(row['imdb_share_meant'], 0)} |")
    return "\n".join(lines) + "\n"


RENDERERS = {"headline": headline, "compile-cpu": compile_cpu, "imdb-runs": imdb_runs, "our-model": our_model,
             "feedback-loop": feedback_loop, "campaign": campaign, "compare": compare,
             "two-models": two_models, "padding": padding, "serving": serving, "serving-accuracy": serving_accuracy,
             "int8-schemes": int8_schemes, "accuracy-control": accuracy_control, "batching": batching,
             "memory": memory, "training-speed": training_speed, "load": load, "language": language,
             "cold-start": cold_start, "bulk": bulk, "long-reviews": long_reviews, "explanations": explanations,
             "audit": audit, "sst5": sst5, "machine-classes": machine_classes,
             "gate-agreement": gate_agreement,
             "negation-sources": negation_sources}


def rendered(text: str, results: Path) -> str:
    """`text` with every marked table rendered anew from `results`."""
    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name.startswith("file-"):
            return match.group(1) + transcribed(results, name[len("file-"):]) + match.group(4)
        if name not in RENDERERS:
            raise SystemExit(f"no renderer for the marked table {name!r}")
        return match.group(1) + RENDERERS[name](results) + match.group(4)

    return MARKED.sub(replace, text)


def disagreements(results: Path, documents=DOCUMENTS) -> list[str]:
    """'<file>: <table>' for each marked table whose text is not what its files render."""
    found = []
    for doc in documents:
        text = doc.read_text()
        for match in MARKED.finditer(text):
            name = match.group("name")
            render = (lambda r: transcribed(r, name[len("file-"):])) if name.startswith("file-") else \
                RENDERERS.get(name, lambda _: None)
            if render(results) != match.group("body"):
                found.append(f"{doc.name}: {match.group('name')}")
    return found


def render_files(results: Path, documents=DOCUMENTS) -> list[Path]:
    """Rewrite every document whose marked tables changed; the documents rewritten."""
    changed = []
    for doc in documents:
        text = doc.read_text()
        new = rendered(text, results)
        if new != text:
            doc.write_text(new)
            changed.append(doc)
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"), help="the results folder")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table disagrees")
    args = parser.parse_args()
    if args.check:
        wrong = disagreements(Path(args.results))
        for item in wrong:
            print(f"{item} disagrees with {args.results}: run python benchmarks/render.py")
        sys.exit(1 if wrong else 0)
    for path in render_files(Path(args.results)):
        print(f"re-rendered {path}")


if __name__ == "__main__":
    main()
