#!/usr/bin/env bash
# Start or resume the long CPU runs of the models issue in the background, one thread each:
#   clearzoom-jpeg (configs/clearzoom-jpeg.yaml) and its clean-trained twin (configs/clearzoom-clean.yaml).
# Each stops at its budget of training CPU time (default 1200 minutes, summed over all sessions)
# or at its planned steps; run this again in the next session to continue. Logs: runs/<name>/.
#   bash scripts/train_long.sh [BUDGET_MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-1200}
if [ ! -x .venv/bin/clearzoom ]; then
  echo "error: .venv/bin/clearzoom is missing: run bash scripts/setup.sh first" >&2
  exit 1
fi
for name in clearzoom-jpeg clearzoom-clean; do
  run="runs/$name"
  mkdir -p "$run"
  args=(--config "configs/$name.yaml" --out "$run" --budget-minutes "$BUDGET" --quiet)
  if [ -f "$run/checkpoint.pt" ]; then args+=(--resume "$run/checkpoint.pt"); fi
  nohup .venv/bin/clearzoom -v train "${args[@]}" >> "$run/stdout.log" 2>&1 &
  echo "$name: pid $! (log $run/stdout.log)"
done
