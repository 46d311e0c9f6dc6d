#!/usr/bin/env bash
# The GPU check, one command, for a machine with one GPU and no Hub (weights and data carried in):
#   1. benchmarks/training.py: seed recipe, train.py's recipe (and with cuDNN attention), the plain bf16 loop;
#   2. train.py end to end on the whole IMDb train split (2 epochs at 512): training, calibration, test scoring of
#      every test review, other domains (SST-5 when given), ONNX files and the int8 bar.
# Writes $OUT/training.json, $OUT/model/metrics.json, $OUT/gpu_check.json and prints a short table.
# Each step has its own time limit, so one slow step cannot eat the rest; on an H200 with all-MiniLM-L6-v2 the
# whole check takes well under 8 minutes.
#
#   benchmarks/gpu_check.sh ENCODER_DIR IMDB_DIR [SST5_DIR]
#
# Sizes come from the environment (defaults are the real check; the CPU tests run it tiny): SIZE (distilbert),
# REVIEWS (8192), BATCH_SIZE (16), MAX_LENGTH (512), EPOCHS (2), LEARNING_RATE (5e-5), MAX_TRAIN_SAMPLES and
# MAX_EVAL_SAMPLES (all), BENCH_TIMEOUT (300 s), TRAIN_TIMEOUT (360 s), OUT (benchmarks/results/gpu_check), and
# PYTHON, the interpreter every step runs with (the `python` on PATH by default; the tests pass their own).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
    echo "usage: benchmarks/gpu_check.sh ENCODER_DIR IMDB_DIR [SST5_DIR]" >&2
    exit 2
fi
encoder=$1 imdb=$2 sst5=${3:-}
out=${OUT:-benchmarks/results/gpu_check}
mkdir -p "$out"
python=${PYTHON:-python}
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false

step() {  # step NAME TIMEOUT_S COMMAND...: runs it, logs to $out/NAME.log, records its exit code and seconds
    local name=$1 limit=$2 start rc
    shift 2
    echo "== $name (limit ${limit}s)"
    start=$EPOCHREALTIME
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    rc=$?
    awk -v rc="$rc" -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "{\"rc\": %d, \"seconds\": %.1f}\n", rc, b - a }' \
        >"$out/$name.status.json"
    tail -n 12 "$out/$name.log"
    [ "$rc" -eq 0 ] || echo "!! $name failed (exit $rc); log: $out/$name.log"
}

step training_benchmark "${BENCH_TIMEOUT:-300}" "$python" benchmarks/training.py --tokenizer "$encoder" \
    --dataset "$imdb" --size "${SIZE:-distilbert}" --reviews "${REVIEWS:-8192}" --batch-size "${BATCH_SIZE:-16}" \
    --out "$out/training.json"

train_args=(--model "$encoder" --dataset "$imdb" --dataset-name stanfordnlp/imdb --output-dir "$out/model"
            --overwrite-output-dir --epochs "${EPOCHS:-2}" --max-length "${MAX_LENGTH:-512}"
            --batch-size "${BATCH_SIZE:-16}" --learning-rate "${LEARNING_RATE:-5e-5}" --report-to none)
[ -n "${MAX_TRAIN_SAMPLES:-}" ] && train_args+=(--max-train-samples "$MAX_TRAIN_SAMPLES")
[ -n "${MAX_EVAL_SAMPLES:-}" ] && train_args+=(--max-eval-samples "$MAX_EVAL_SAMPLES")
[ -n "$sst5" ] && train_args+=(--eval-dataset "sst5=$sst5")
step train "${TRAIN_TIMEOUT:-360}" "$python" train.py "${train_args[@]}"

"$python" benchmarks/gpu_summary.py "$out"
