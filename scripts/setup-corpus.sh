#!/usr/bin/env bash
# Extra engines for `voxsmith corpus build` (not needed to use or test voxsmith):
# ttskit 0.3.8 ships its Mandarin Mellotron/MelGAN weights in the wheel but pins ancient
# dependencies, so it goes in with --no-deps plus the few packages it really imports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m pip install -q --disable-pip-version-check -c constraints.txt --no-deps ttskit==0.3.8 aukit phkit
python3 -m pip install -q --disable-pip-version-check -c constraints.txt pydub dotmap inflect unidecode setproctitle
