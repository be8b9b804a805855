#!/usr/bin/env bash
# The curve-calibration harness in one command (from the repository root):
#   bash experiments/curves/run_all.sh [REPS]
# 1. the MoleculeACE sweeps (cached under experiments/curves/cache/, resumed if present),
# 2. simulation-based calibration, REPS (default 100) tables per structure -> sbc.csv,
# 3. leave-future-out on synthetic and MoleculeACE tables -> lfo.csv,
# 4. the 5-task NUTS benchmark.
set -euo pipefail
REPS=${1:-100}
HERE=experiments/curves
export PYTHONPATH=${PYTHONPATH:-$PWD}
python $HERE/make_moleculeace_sweep.py
python $HERE/sbc.py --reps "$REPS" --out $HERE/sbc.csv
(cd $HERE && python lfo.py --out lfo.csv)
python $HERE/bench_nuts.py --repeat 2
