#!/usr/bin/env bash
# The curve-calibration harness in one command (from the repository root):
#   bash experiments/curves/run_all.sh [REPS]
# 1. the MoleculeACE sweeps (cached under experiments/curves/cache/, resumed if present),
#    including the 30-target joint30 sweep,
# 2. simulation-based calibration, REPS (default 100) tables per structure, in processes of at
#    most 50 replicates (longer ones ran out of JIT memory) -> sbc_runs/sbc_<structure>_<first>.csv,
#    then their summary,
# 3. leave-future-out on synthetic tables (5 simulation seeds), the 8-target and the 30-target
#    MoleculeACE sweeps -> lfo.csv, and each structure's MAE paired with none's on the same
#    held-out runs (lfo_paired.py on lfo_runs.csv); on the 30 targets' single-task sweep,
#    the default curve beside empirical references told the other targets' futures
#    (lfo_ceiling.py),
# 4. the 5-task NUTS benchmark, chains in turn and in parallel (4 CPU devices),
# 5. the 30-task joint fit on MoleculeACE -> joint30.csv.
set -euo pipefail
REPS=${1:-100}
HERE=experiments/curves
export PYTHONPATH=${PYTHONPATH:-$PWD}
python $HERE/make_moleculeace_sweep.py --kinds pairs contextual joint30 single30
for structure in none pairwise contextual joint; do
  for ((first = 0; first < REPS; first += 50)); do
    python $HERE/sbc.py --structures $structure --first $first \
      --reps $(( REPS - first < 50 ? REPS - first : 50 )) \
      --out $HERE/sbc_runs/sbc_${structure}_${first}.csv
  done
done
python $HERE/sbc.py --summarise $HERE/sbc_runs/sbc_{none,pairwise,contextual,joint}_[0-9]*.csv
(cd $HERE && python lfo.py --data synthetic moleculeace moleculeace-context moleculeace30 \
  --families pow4 \
  --sim-seeds 7 8 9 10 11 --cpu-devices 4 --out lfo.csv --runs-out lfo_runs.csv \
  && python lfo_paired.py lfo_runs.csv)
(cd $HERE && python lfo.py --data moleculeace30-single --structures none --families pow4 \
  --cpu-devices 4 --out lfo_single30.csv --runs-out lfo_single30_runs.csv \
  && python lfo_ceiling.py --compare lfo_single30_runs.csv)
python $HERE/bench_nuts.py --repeat 2 --cpu-devices 4 --chain-methods sequential parallel
(cd $HERE && python joint30.py --cpu-devices 4 --out joint30.csv)
