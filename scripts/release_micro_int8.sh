#!/usr/bin/env bash
# Release a micro training run as the source of the shipped int8 steps and rerun every benchmark
# that reads them.
#
#   bash scripts/release_micro_int8.sh RUN SPEECH_DIRS NOISE_DIRS VBD_DIR [WHY_LAST]
#   bash scripts/release_micro_int8.sh runs/micro-bound "../shared/data/speech data/downloads/fillets-ng" \
#       ../shared/data/noise ../shared/data/vbd_test "its int8 step scores ... on held-out validation"
#
# Steps (about 40 minutes on 2 cores; the two halves after the export run side by side):
#   1. scripts/release_model.py --int8: micro_bounded.pt + card, float/int8/16x8 steps, export report
#   2a. every export stage on the test set (benchmark_int8)
#   2b. int8 ranges on validation (benchmark_ranges), the ESP32-S3 budget
#   3. the model card again, now with the test-set rows
# The float model users run with --backend torch comes from scripts/release_micro.sh.
# The test set is only reported on; the checkpoint was chosen on validation.
set -euo pipefail
RUN=$1; SPEECH=$2; NOISE=$3; VBD=$4
# WHY_LAST: release the run's last epoch, not its best validation epoch, for this (validation) reason
LAST=()
if [ -n "${5:-}" ]; then LAST=(--last "$5"); fi
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086  # SPEECH / NOISE hold several folders
python scripts/release_model.py --int8 --run "$RUN" --speech $SPEECH --noise $NOISE "${LAST[@]}"
python scripts/benchmark_int8.py --noisy "$VBD/noisy" --clean "$VBD/clean" > /tmp/release_int8_table.log 2>&1 &
table=$!
# shellcheck disable=SC2086
( python scripts/benchmark_ranges.py --speech $SPEECH --noise $NOISE \
  && python scripts/budget_esp32s3.py ) > /tmp/release_int8_ranges.log 2>&1 &
ranges=$!
wait $table || { echo "benchmark_int8 failed: /tmp/release_int8_table.log"; exit 1; }
wait $ranges || { echo "ranges/budget failed: /tmp/release_int8_ranges.log"; exit 1; }
# shellcheck disable=SC2086
python scripts/release_model.py --int8 --run "$RUN" --speech $SPEECH --noise $NOISE --card-only "${LAST[@]}" \
  --scores benchmarks/quality/results.csv --int8-table benchmarks/export/int8_table.csv
echo "released $RUN as micro_bounded (int8 source); now regenerate the notebooks, check the README status and run .ci/run"
