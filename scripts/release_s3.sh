#!/usr/bin/env bash
# Release the s3 training run (one set of weights for float and int8) and score it on the test set.
#
#   bash scripts/release_s3.sh [RUN] [VBD_DIR]
#   bash scripts/release_s3.sh runs/s3 ../shared/data/vbd_test
#
# Steps (about 30 minutes on 2 cores):
#   1. scripts/release_model.py --model s3: s3.pt, s3_float.tflite, s3_int8.tflite and s3.md from the
#      run's best validation epoch; float and int8 scored on the run's validation mixtures; S3 cost
#      (benchmarks/export/s3_report.json)
#   2. the test set (VoiceBank-DEMAND, report only): float in torch, int8 through the whole audio
#      path (merged into benchmarks/quality)
#   3. the model card again, now with the test rows
# The test set is only reported on; the checkpoint was chosen on validation by the training run.
set -euo pipefail
RUN=${1:-runs/s3}; VBD=${2:-../shared/data/vbd_test}
cd "$(dirname "$0")/.."
python scripts/release_model.py --model s3 --run "$RUN"
python scripts/benchmark_quality.py --noisy "$VBD/noisy" --clean "$VBD/clean" --out benchmarks/quality --models s3 \
  --backends torch tflite-int8 --no-progress --merge
python scripts/release_model.py --model s3 --run "$RUN" --card-only --scores benchmarks/quality/results.csv
echo "released $RUN as s3; run .ci/run"
