#!/usr/bin/env bash
# Extra clean training speech: the voice acting of the game Fish Fillets NG (Czech and Dutch,
# 3,498 studio-recorded lines, about 200 minutes, 22.05 kHz Ogg Vorbis; GPL-2 like the game data).
# It comes from the Debian packages fillets-ng-data-cs and fillets-ng-data-nl (any Debian or
# Ubuntu machine can fetch them without root: `apt-get download` only needs the package lists).
# The files are used as they are: training reads .ogg, mixes stereo to mono and resamples to 16 kHz.
#
# Usage: bash scripts/fetch_fillets_speech.sh [OUTDIR]      (default data/downloads/fillets-ng)
# Then:  gtcrn-micro train ... --speech SPEECH_DIR OUTDIR ...
# The audio is for training only; it is not part of the project and is never committed.
set -euo pipefail
OUT=$(realpath -m "${1:-data/downloads/fillets-ng}")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
apt-get download fillets-ng-data-cs fillets-ng-data-nl
for deb in *.deb; do dpkg-deb -x "$deb" x; done
mkdir -p "$OUT"
cp -r x/usr/share/games/fillets-ng/sound/. "$OUT/"
cp x/usr/share/doc/fillets-ng-data-cs/copyright "$OUT/COPYRIGHT"
echo "$(find "$OUT" -name '*.ogg' | wc -l) voice files in $OUT"
