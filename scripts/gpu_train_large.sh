#!/usr/bin/env bash
# Train clearzoom-jpeg-large on a lent GPU in ONE device call (the models issue, item 3):
#   here:   .venv/bin/python -m scripts.pack_gpu_data (.gpukit/train, ~11 MB, git-ignored)
#   device: run(command="bash scripts/gpu_train_large.sh 450", carry=[".gpukit"], timeout_s=590)
# SECONDS_OF_TRAINING (default 450) is the whole training time, the probe included. The script
#   1. trains 150 steps (PROBE_STEPS) to measure the step rate (data loading included),
#   2. plans train.steps so the cosine schedule ends when the time is up, and resumes to the end,
#   3. writes to $OUT: the EMA weights as clearzoom-jpeg-large.safetensors, log.csv, log.jsonl and
#      the training checkpoint split into 15 MB parts (the device tool returns files of <= 16 MiB).
# A later call continues from the parts put back together: cat parts > .gpukit/resume.pt.
# Environment: OUT (where results go), RUN_DIR (the run folder), GPUKIT, PYTHON, PROBE_STEPS.
# Works on a CPU too (slowly), which is how it is tested: the device machine has torch, Pillow,
# PyYAML, safetensors, click and tqdm, and clearzoom runs from src/ without installing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-450}
shift || true   # the rest: further `clearzoom train` options (tests shrink the model)
out=${OUT:-runs/clearzoom-jpeg-large}
run=${RUN_DIR:-/tmp/clearzoom-jpeg-large}
py=${PYTHON:-python3}
kit=${GPUKIT:-.gpukit}   # the packed crops (train/) and, to continue, resume.pt
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
cfg=configs/clearzoom-jpeg-large.yaml
mkdir -p "$out" "$run"
[[ -d $kit/train ]] || { echo "error: $kit/train missing (python -m scripts.pack_gpu_data, carry .gpukit)" >&2; exit 1; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

resume=() first=0
if [[ -f $kit/resume.pt ]]; then
  resume=(--resume "$kit/resume.pt")
  first=$($py -c "import sys, torch; print(torch.load(sys.argv[1], weights_only=False)['step'])" "$kit/resume.pt")
fi
start=$(date +%s)
$py -m clearzoom -v train --config $cfg --data "$kit/train" --out "$run" --quiet "${resume[@]}" \
  --stop-at-step $(( first + ${PROBE_STEPS:-150} )) "$@"
left=$(( secs - ($(date +%s) - start) ))
steps=$($py - "$run/log.csv" "$left" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
a, b = rows[len(rows) // 3], rows[-1]  # skip the first steps (warm-up, first batches)
rate = (int(b["step"]) - int(a["step"])) / max(1e-6, float(b["seconds"]) - float(a["seconds"]))
# 40 s for the second start (data, validation crops) and the validations; 10% margin
print(int(b["step"]) + max(1, int(rate * max(0.0, float(sys.argv[2]) - 40) * 0.9)))
EOF
)
echo "step rate measured; planning $steps steps in ${left}s"
if (( left > 10 )); then
  $py -m clearzoom -v train --config $cfg --data "$kit/train" --out "$run" --quiet --resume "$run/checkpoint.pt" \
    --steps "$steps" --minutes "$($py -c "print($left / 60)")" "$@"
fi
$py -m clearzoom export "$run/checkpoint.pt" "$out/clearzoom-jpeg-large.safetensors" --overwrite \
  --description "JPEG-aware LIIF (EDSR-baseline 64x16 + MLP 256x4, bilinear skip, told the input's JPEG quality), trained on a GPU on packed crops of the training set"
cp "$run/log.csv" "$run/log.jsonl" "$out/"
split -b 15m "$run/checkpoint.pt" "$out/checkpoint.pt.part-"
ls -l "$out"
