#!/usr/bin/env bash
# Release a micro training run as the shipped float model and rerun the benchmarks that read it.
#
#   bash scripts/release_micro.sh RUN SPEECH_DIRS NOISE_DIRS VBD_DIR
#   bash scripts/release_micro.sh runs/micro-abs2 "../shared/data/speech data/downloads/fillets-ng" \
#       ../shared/data/noise ../shared/data/vbd_test
#
# Steps (about 20 minutes on 2 cores):
#   1. scripts/release_model.py: gtcrn_micro/checkpoints/micro.pt + micro.md (the run's best validation epoch)
#   2. test-set quality of micro, whole clip and streaming, side by side (merged into benchmarks/quality)
#   3. the model card again, now with the test-set rows
# The int8 steps come from another checkpoint: scripts/release_micro_int8.sh.
# The test set is only reported on; the checkpoint was chosen on validation by the training run.
set -euo pipefail
RUN=$1; SPEECH=$2; NOISE=$3; VBD=$4
cd "$(dirname "$0")/.."
# shellcheck disable=SC2086  # SPEECH / NOISE hold several folders
python scripts/release_model.py --run "$RUN" --speech $SPEECH --noise $NOISE
q="python scripts/benchmark_quality.py --noisy $VBD/noisy --clean $VBD/clean --out benchmarks/quality --models micro --no-progress --merge"
$q --backends torch > /tmp/release_micro_torch.log 2>&1 &  # each --merge re-reads the table before writing
torch_side=$!
$q --backends stream > /tmp/release_micro_stream.log 2>&1 &
stream_side=$!
wait $torch_side || { echo "torch benchmark failed: /tmp/release_micro_torch.log"; exit 1; }
wait $stream_side || { echo "stream benchmark failed: /tmp/release_micro_stream.log"; exit 1; }
# shellcheck disable=SC2086
python scripts/release_model.py --run "$RUN" --speech $SPEECH --noise $NOISE --card-only \
  --scores benchmarks/quality/results.csv
echo "released $RUN as micro; now regenerate the notebooks, check the README status and run .ci/run"
