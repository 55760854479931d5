#!/usr/bin/env bash
# Ship the long runs (models issue) once both have finished their schedule or budget:
#   1. export runs/clearzoom-{jpeg,clean}/checkpoint.pt (EMA weights) into src/clearzoom/weights/;
#   2. check they are registered in src/clearzoom/models/pretrained.py and clearzoom-jpeg is the
#      default (a person edits that file: description, compute spent);
#   3. measure: the quality benches of docs/models.md (about 40 minutes on 2 threads) and the
#      render speed (pause any training first: timings need a quiet machine);
#   4. regenerate the model card (docs/models.md) and the README's models table;
#   5. regenerate what shows the default model at work: the README figure, the web screenshot and
#      the explain report of docs/explain/, and the README's excerpt of that report.
# Then update the README's prose around the table by hand, rerun benchmarks/quality-tta.yaml and
# update docs/self-ensemble.md.
#   bash scripts/ship_long_runs.sh [export|check|bench|card|docs|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:-all}
cz=.venv/bin/clearzoom
py=.venv/bin/python

if [[ $step == export || $step == all ]]; then
  for name in clearzoom-jpeg clearzoom-clean; do
    ck="runs/$name/checkpoint.pt"
    [[ -f $ck ]] || { echo "error: $ck: no checkpoint (scripts/train_long.sh)" >&2; exit 1; }
    case $name in
      clearzoom-jpeg) what="JPEG-aware LIIF (EDSR 32x8 + MLP 128x4, bilinear skip, told the input's JPEG quality), trained on clean and JPEG inputs" ;;
      *) what="LIIF (EDSR 32x8 + MLP 128x4, bilinear skip), trained on clean inputs only: the twin of clearzoom-jpeg" ;;
    esac
    $cz export "$ck" "src/clearzoom/weights/$name.safetensors" --overwrite --description "$what"
  done
  ls -l src/clearzoom/weights/
fi

if [[ $step == check || $step == all ]]; then
  $py - <<'EOF'
import sys
from clearzoom.models.pretrained import DEFAULT_MODEL, PRETRAINED
missing = [n for n in ("clearzoom-jpeg", "clearzoom-clean") if n not in PRETRAINED]
if missing or DEFAULT_MODEL != "clearzoom-jpeg":
    sys.exit(f"error: register {', '.join(missing) or 'them'} in src/clearzoom/models/pretrained.py "
             f"and set DEFAULT_MODEL = 'clearzoom-jpeg' (now {DEFAULT_MODEL!r})")
for n in ("clearzoom-jpeg", "clearzoom-clean"):
    size = PRETRAINED[n].path.stat().st_size
    print(f"{n}: {size / 1e6:.1f} MB")
    if size > 10e6:
        sys.exit(f"error: {n} is over 10 MB")
EOF
fi

if [[ $step == bench || $step == all ]]; then
  $cz bench quality --config benchmarks/quality-models-scales.yaml
  $cz bench quality --config benchmarks/quality-models-jpeg.yaml
  # the card quotes this command from the JSON it writes (scripts/make_model_card.py, _speed)
  $cz bench speed --model clearzoom-jpeg,clearzoom-clean,clearzoom-small --sizes 1024 --scales 4 \
    --precisions fp32,auto --threads 1,2 --json docs/results/speed-models.json
fi

if [[ $step == card || $step == all ]]; then
  $py scripts/make_model_card.py
fi

if [[ $step == docs || $step == all ]]; then
  $py scripts/make_readme_figure.py
  $py scripts/make_web_screenshot.py
  for ext in md html json; do
    $cz explain examples/osprey-small.jpg --scale 4 -o docs/explain/osprey-small.$ext --threads 2 --overwrite
  done
  $py scripts/quote_explain_report.py
fi
