#!/usr/bin/env bash
# Release a micro training run and rerun every benchmark that reads the shipped micro model.
#
#   bash scripts/release_micro.sh RUN SPEECH_DIRS NOISE_DIRS VBD_DIR [WHY_LAST]
#   bash scripts/release_micro.sh runs/micro-abs "../shared/data/speech data/downloads/fillets-ng" \
#       ../shared/data/noise ../shared/data/vbd_test
#
# Steps (about an hour on 2 cores; the two halves after the export run side by side):
#   1. scripts/release_model.py: checkpoint + model card + float/int8/16x8 steps + export report
#   2a. test-set quality of micro, whole clip and streaming (merged into benchmarks/quality)
#   2b. every export stage on the test set (benchmark_int8), int8 ranges on validation
#       (benchmark_ranges), the ESP32-S3 budget
#   3. the model card again, now with the test-set rows
# The test set is only reported on; the checkpoint was chosen on validation by the training run.
set -euo pipefail
RUN=$1; SPEECH=$2; NOISE=$3; VBD=$4
# WHY_LAST: release the run's last epoch, not its best validation epoch, for this (validation) reason
LAST=()
if [ -n "${5:-}" ]; then LAST=(--last "$5"); fi
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086  # SPEECH / NOISE hold several folders
python scripts/release_model.py --run "$RUN" --speech $SPEECH --noise $NOISE "${LAST[@]}"
q="python scripts/benchmark_quality.py --noisy $VBD/noisy --clean $VBD/clean --out benchmarks/quality --models micro --no-progress --merge"
( $q --backends torch && $q --backends stream ) > /tmp/release_micro_quality.log 2>&1 &
quality=$!
( python scripts/benchmark_int8.py --noisy "$VBD/noisy" --clean "$VBD/clean" \
  && python scripts/benchmark_ranges.py --speech $SPEECH --noise $NOISE \
  && python scripts/budget_esp32s3.py ) > /tmp/release_micro_export.log 2>&1 &
export_side=$!
wait $quality || { echo "quality benchmarks failed: /tmp/release_micro_quality.log"; exit 1; }
wait $export_side || { echo "export benchmarks failed: /tmp/release_micro_export.log"; exit 1; }
python scripts/release_model.py --run "$RUN" --speech $SPEECH --noise $NOISE --card-only "${LAST[@]}" \
  --scores benchmarks/quality/results.csv --int8-table benchmarks/export/int8_table.csv
echo "released $RUN; now regenerate the notebooks, check the README status and run .ci/run"
