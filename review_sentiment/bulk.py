"""Score a review archive of any size with the Space's own Predictor: streamed, resumable, and scaled out with torchrun.

    python -m review_sentiment.bulk --model you/imdb-distilbert --input reviews.csv --output scored.parquet
    python -m review_sentiment.bulk --model outputs/model --input exports/ --output scored.csv --id-column id \\
        --baseline                                   # a folder of parquet/csv/jsonl files; add the star model's verdict
    python -m review_sentiment.bulk --model outputs/model --input stanfordnlp/imdb --split test --output imdb.jsonl
    torchrun --standalone --nproc_per_node 2 -m review_sentiment.bulk ...          # 2 processes, one machine
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --master_addr HOST0 --master_port 29500 \\
        -m review_sentiment.bulk ...              # on each node (node_rank 0, 1); --output on a shared disk

Input is read through `datasets` in streaming mode, `--chunk-size` rows at a time; each chunk's scores are written to
`<output>.parts/` as they finish, and merged into `<output>` (parquet, csv or jsonl, by extension) in input order at
the end, atomically. Memory stays flat whatever the input size. Killed at any point, the same command with `--resume`
continues after the last complete chunk and writes a byte-identical file. Under torchrun or `accelerate launch`
(gloo on CPUs, NCCL on GPUs) each rank scores a contiguous range of chunks and rank 0 merges.

Output columns: the `--id-column` if given, the fine-tuned model's answer (`label`, `verdict`, `confidence`,
`p_<class>` for every class; `expected_class` and `class` for ordered classes: data/answers.py says each once),
`language`, with `--baseline` the same columns of the star model prefixed `baseline_` (`baseline_verdict`,
`baseline_confidence`, `baseline_expected_stars`, `baseline_class`, `baseline_p_1 star`, ...), and `error` (empty,
or why a row such as an empty review was not scored; such rows are kept).
"""

from __future__ import annotations

import codecs
import io
import json
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .cli import option, parse, run
from .data.answers import columns
from .data.language import detect_language
from .data.reviews import review_errors
from .defaults import BASELINE_ID, DEFAULT_LONG_TEXT
from .errors import UserError
from .hub import REPO_ID
from .inference import runtime_choice
from .inference.predictor import Predictor
from .inference.runtime_choice import AUTO, RUNTIME_CHOICES

READERS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "json", ".json": "json"}
WRITERS = (".parquet", ".csv", ".jsonl")


@dataclass
class PredictConfig:
    model: str = option("Model: Hub id or local directory (full model or LoRA adapter).")
    input: str = option("Reviews: a parquet/csv/jsonl file, a directory of such files, or a Hub dataset id.")
    output: str = option("Output file; .parquet, .csv or .jsonl by extension.")
    revision: Optional[str] = option("Hub revision of --model (default: main, or its safetensors conversion PR).")
    split: str = option("Split to read when --input is a Hub dataset id.", "train")
    text_column: str = option("Column holding the review text.", "text")
    id_column: Optional[str] = option("Column copied to the output, to join the scores back to your data.")
    baseline: bool = option("Also score with the 1-5 star baseline: its verdict, confidence and expected stars.",
                            False)
    baseline_model: str = option("The star model for --baseline: Hub id or local directory.", BASELINE_ID)
    long_text: Optional[Literal["head", "head+tail", "chunks"]] = option(
        f"How reviews longer than the model's window are read (default: {DEFAULT_LONG_TEXT}, as the Space).")
    runtime: Optional[str] = option("What runs the models on CPU: auto takes the first allowed of the shipped int8 "
                                    "files (checked: OpenVINO's, then ONNX Runtime's), fp32 on OpenVINO, then ONNX "
                                    "Runtime, then torch (untimed, so every rank and a resumed run compute alike); "
                                    "openvino, onnx or torch narrow it. GPUs always run torch, in bf16 where "
                                    "supported.", AUTO, choices=RUNTIME_CHOICES)
    batch_size: int = option("Most reviews in one forward pass (on CPU, long reviews run alone: call_plan.py).", 32)
    chunk_size: int = option("Rows per chunk: the unit of streaming, progress on disk, --resume and sharding.", 1000)
    resume: bool = option("Continue an interrupted run after its last complete chunk.", False)
    overwrite: bool = option("Replace an existing output (and any interrupted run's parts).", False)

    def __post_init__(self):
        for name in ("model", "input", "output"):
            if not getattr(self, name):
                raise UserError(f"--{name} is required")
        checks = [
            (Path(self.output).suffix.lower() in WRITERS, f"--output must end in one of {', '.join(WRITERS)}"),
            (self.batch_size >= 1, "--batch-size must be at least 1"),
            (self.chunk_size >= 1, "--chunk-size must be at least 1"),
            (not (self.resume and self.overwrite), "--resume and --overwrite exclude each other"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(message)


# -- reading -------------------------------------------------------------------------------------------------------

def local_files(spec: str) -> tuple[str, list[Path]] | None:
    """(datasets builder, files) for a local file or directory; None for anything else (a Hub id)."""
    path = Path(spec).expanduser()
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in READERS)
        if not files:
            raise UserError(f"{spec} holds no .parquet, .csv or .jsonl files.")
    else:
        return None
    kinds = {p.suffix.lower() for p in files}
    if not kinds <= set(READERS):
        raise UserError(f"{files[0].name}: read .parquet, .csv or .jsonl files, not {files[0].suffix or 'this'}.")
    if len({READERS[k] for k in kinds}) > 1:
        raise UserError(f"{spec} mixes file types ({', '.join(sorted(kinds))}); keep one type per directory.")
    return READERS[files[0].suffix.lower()], files


def utf8_first_line(file: Path) -> str:
    """The first line of a text file, after checking that all of it decodes as UTF-8 (streamed, 1 MB at a time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(file, "rb") as handle:
        head = handle.readline()
        try:
            decoder.decode(head)
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UserError(f"{file.name} is not UTF-8 text; save it as UTF-8 and run again.") from None
    if not head.strip():
        raise UserError(f"{file.name} is empty.")
    return head.decode("utf-8-sig").strip()


def check_files(builder: str, files: list[Path], columns: list[str]) -> int | None:
    """Fail before scoring anything on a file that cannot be read, is not UTF-8, or lacks a column. Returns the
    row count where it is free to know (parquet footers), else None."""
    import pyarrow.parquet as pq

    rows = 0
    for file in files:
        if builder == "parquet":
            try:
                meta = pq.ParquetFile(file)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is one line naming it
                raise UserError(f"{file.name} is not a readable parquet file ({type(exc).__name__}).") from None
            names = meta.schema_arrow.names
            rows += meta.metadata.num_rows
        else:
            head = utf8_first_line(file)
            try:
                names = list(pd.read_csv(io.StringIO(head), nrows=0).columns) if builder == "csv" else \
                    list(json.loads(head))
            except (ValueError, pd.errors.ParserError):
                raise UserError(f"{file.name}: its first line is no {builder.upper()} header or record.") from None
        missing = [c for c in columns if c not in names]
        if missing:
            raise UserError(f"{file.name} has no column {missing[0]!r}; its columns are {list(names)}.")
    return rows if builder == "parquet" else None


def open_stream(cfg: PredictConfig):
    """(streaming dataset, row count or None): local files through datasets' packaged readers, or a Hub dataset."""
    from datasets import load_dataset

    columns = [cfg.text_column] + ([cfg.id_column] if cfg.id_column else [])
    local = local_files(cfg.input)
    if local is not None:
        builder, files = local
        total = check_files(builder, files, columns)
        stream = load_dataset(builder, data_files=[str(f) for f in files], split="train", streaming=True)
        return stream.select_columns(columns), total
    if not REPO_ID.match(cfg.input):
        raise UserError(f"--input {cfg.input!r} is neither a file, a directory, nor a Hub dataset id.")
    try:
        stream = load_dataset(cfg.input, split=cfg.split, streaming=True)
        names = stream.column_names or list(next(iter(stream)))
    except Exception as exc:  # noqa: BLE001
        from .hub import explain_hub_error

        raise UserError(f"Cannot read the Hub dataset {cfg.input!r} ({cfg.split}): {explain_hub_error(exc)}") from exc
    missing = [c for c in columns if c not in names]
    if missing:
        raise UserError(f"{cfg.input} has no column {missing[0]!r}; its columns are {names}.")
    return stream.select_columns(columns), None


# -- scoring -------------------------------------------------------------------------------------------------------

def score_chunk(rows: list[dict], cfg: PredictConfig, predictor: Predictor, baseline: Predictor | None) -> pd.DataFrame:
    """One output row per input row, in order; rows that are no usable review keep their place with an error."""
    texts = [row.get(cfg.text_column) for row in rows]
    errors = review_errors(texts)
    ok = [i for i, e in enumerate(errors) if not e]
    out = pd.DataFrame(index=range(len(rows)))
    if cfg.id_column:
        out[cfg.id_column] = [row.get(cfg.id_column) for row in rows]
    scored = [texts[i] for i in ok]

    def place(model: Predictor, prefix: str) -> None:
        """The model's answer columns (data/answers.py), blank in the rows that are no usable review."""
        probs = model.predict_proba(scored) if ok else np.empty((0, len(model.labels)))
        for name, values in columns(model.labels, probs, prefix).items():
            column = pd.Series(pd.NA if values.dtype != float else np.nan, index=out.index, dtype=values.dtype)
            column.iloc[ok] = values.to_numpy()
            out[name] = column

    place(predictor, "")
    # The fine-tuned model reads English: the review's language ("und" when unsure) says which rows to doubt.
    out["language"] = pd.array([detect_language(t)["code"] if not e else None for t, e in zip(texts, errors)],
                               dtype="string")
    if baseline is not None:
        place(baseline, "baseline_")
    out["error"] = pd.array(errors, dtype="string")
    return out


def chunks(stream, size: int, first: int, last: int | None):
    """(chunk index, rows) from chunk `first` up to `last` (exclusive; None: to the end), `size` rows each."""
    rows = stream.skip(first * size) if first else stream
    if last is not None:
        rows = rows.take((last - first) * size)
    index, batch = first, []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield index, batch
            index, batch = index + 1, []
    if batch:
        yield index, batch


# -- writing -------------------------------------------------------------------------------------------------------

def part_path(parts: Path, index: int) -> Path:
    return parts / f"chunk-{index:08d}.parquet"


def write_part(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").replace(path)  # a chunk on disk is always complete


def merge(parts: Path, count: int, output: Path) -> int:
    """The parts, in input order, into one file (written beside it, then renamed: never half-written); returns
    the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = [part_path(parts, i) for i in range(count)]
    staged = output.with_name(f".{output.name}.partial")
    kind = output.suffix.lower()
    if kind == ".parquet":
        schema = pa.unify_schemas([pq.read_schema(f) for f in files], promote_options="permissive") if files \
            else pa.schema([])
        with pq.ParquetWriter(staged, schema) as writer:
            for f in files:
                writer.write_table(pq.read_table(f).cast(schema))
    else:
        with open(staged, "w", encoding="utf-8", newline="") as handle:
            for n, f in enumerate(files):
                frame = pd.read_parquet(f)
                if kind == ".csv":
                    frame.to_csv(handle, header=n == 0, index=False)
                else:
                    text = frame.to_json(orient="records", lines=True, force_ascii=False)
                    handle.write(text if text.endswith("\n") else text + "\n")
    staged.replace(output)
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


# -- the run -------------------------------------------------------------------------------------------------------

def distributed() -> tuple[int, int]:
    """(rank, world size) under torchrun / accelerate launch; (0, 1) otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def settings_of(cfg: PredictConfig) -> dict:
    """What must not change between a run and its --resume (else the parts would not fit together)."""
    keep = ("model", "revision", "input", "split", "text_column", "id_column", "baseline", "baseline_model",
            "long_text", "chunk_size")
    return {k: v for k, v in asdict(cfg).items() if k in keep}


def parts_dir(cfg: PredictConfig) -> Path:
    output = Path(cfg.output)
    return output.with_name(output.name + ".parts")


def check_output(cfg: PredictConfig) -> None:
    """Refuse, before anything is read or written, to clobber an output or mix runs."""
    output, parts = Path(cfg.output), parts_dir(cfg)
    if output.exists() and not cfg.overwrite:
        raise UserError(f"{output} exists; pass --overwrite to replace it.")
    if parts.exists() and not (cfg.resume or cfg.overwrite):
        raise UserError(f"An interrupted run's chunks are in {parts}; pass --resume to continue it or --overwrite "
                        "to start over.")
    if parts.exists() and cfg.resume:
        earlier = json.loads((parts / "run.json").read_text()) if (parts / "run.json").exists() else {}
        if earlier != settings_of(cfg):
            changed = sorted(k for k in settings_of(cfg) if earlier.get(k) != settings_of(cfg)[k])
            raise UserError(f"--resume needs the interrupted run's settings; these differ: {', '.join(changed)}.")


def start_parts(cfg: PredictConfig) -> bool:
    """Make the parts folder (after --overwrite cleared the old run); True when this run created it."""
    output, parts = Path(cfg.output), parts_dir(cfg)
    if cfg.overwrite:
        shutil.rmtree(parts, ignore_errors=True)
        output.unlink(missing_ok=True)
    created = not parts.exists()
    output.parent.mkdir(parents=True, exist_ok=True)
    parts.mkdir(exist_ok=True)
    (parts / "run.json").write_text(json.dumps(settings_of(cfg), indent=2))
    return created


def load_predictors(cfg: PredictConfig) -> tuple[Predictor, Predictor | None]:
    """The Space's path: same Predictor, long-review strategy and calibration, fastest runtime; bf16 on GPUs."""
    long_text = cfg.long_text or DEFAULT_LONG_TEXT
    model = Predictor.load(cfg.model, revision=cfg.revision, batch_size=cfg.batch_size, long_text=long_text)
    # Not timed: every rank and a resumed run must compute with the same runtime and file (byte-identical output).
    model = runtime_choice.choose(model, cfg.runtime, bf16=True, timed=False)
    baseline = None
    if cfg.baseline:
        baseline = runtime_choice.choose(Predictor.load(cfg.baseline_model, batch_size=cfg.batch_size), cfg.runtime,
                                         bf16=True, timed=False)
    return model, baseline


def predict(cfg: PredictConfig) -> Path | None:
    rank, world = distributed()
    failure = None
    try:
        if rank == 0:
            check_output(cfg)
    except UserError as exc:
        failure = exc
    if world > 1:  # every rank learns whether rank 0 could start
        import torch.distributed as dist

        flag = [str(failure) if failure else ""]
        dist.broadcast_object_list(flag, src=0)
        failure = UserError(flag[0]) if flag[0] else None
    if failure:
        raise failure
    output, parts = Path(cfg.output), parts_dir(cfg)
    stream, total = open_stream(cfg)  # every input check happens here, before anything is written
    created = start_parts(cfg) if rank == 0 else False
    barrier(world)
    if world > 1 and total is None:  # contiguous shards need the length: one pass over the text, no scoring
        total = sum(1 for _ in tqdm(stream, desc="counting rows", unit="row", disable=rank != 0))
    n_chunks = math.ceil(total / cfg.chunk_size) if total is not None else None
    # This rank's contiguous range of chunks (all of them in one process), less those already on disk (--resume).
    first, last = (n_chunks * rank // world, n_chunks * (rank + 1) // world) if world > 1 else (0, n_chunks)
    while (last is None or first < last) and part_path(parts, first).exists():
        first += 1
    model, baseline = load_predictors(cfg)
    todo = None if total is None else max(0, min(total, last * cfg.chunk_size) - first * cfg.chunk_size)
    written, count = [], first
    # One bar, on rank 0 (the ranks move at the same pace): reviews/s and, where the length is known, an ETA.
    bar = tqdm(total=todo, unit="review", desc=f"scoring (rank 0 of {world})" if world > 1 else "scoring",
               disable=rank != 0)
    try:
        for index, rows in chunks(stream, cfg.chunk_size, first, last):
            if not part_path(parts, index).exists():
                write_part(score_chunk(rows, cfg, model, baseline), part_path(parts, index))
                written.append(part_path(parts, index))
            bar.update(len(rows))
            count = index + 1
    except Exception as exc:  # a file that breaks mid-stream is one line, and leaves nothing of this run behind
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(parts, ignore_errors=True)
        if isinstance(exc, UserError):
            raise
        raise UserError(f"Reading {cfg.input} failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") \
            from exc
    finally:
        bar.close()
    barrier(world)
    if rank != 0:
        return None
    count = n_chunks if n_chunks is not None else count
    rows = merge(parts, count, output)
    shutil.rmtree(parts)
    print(f"wrote {rows:,} rows to {output}")
    return output


def main(argv: list[str] | None = None) -> None:
    predict(parse(PredictConfig, argv, __doc__.split("\n\n")[0]))


if __name__ == "__main__":
    raise SystemExit(run(main))
