#!/usr/bin/env bash
# The data sets BENCHMARKS.md reads, built from nothing (machines here start bare). Every step
# resumes: run it again after an interruption and it goes on where it stopped.
#
#   bash benchmarks/data.sh [DATA_DIR] [STEP ...]
#   (default DATA_DIR /work/data; steps: heldout corpus voices merged, default all, in that order;
#    WORKERS=2 in the environment)
#
#   heldout   80 minutes read by the held-out speakers only (the quality judge's test set; ~15 min)
#   corpus    the shipped corpus's plan: 12893 clips of an 800-minute plan, ~680 minutes (~2.5 h)
#   voices    three batches of random WORLD voices: two drawn from the training voices (seeds 3
#             and 4, 120 minutes each), one from the screened engine voices no speaker reads
#             (seed 5, Mandarin, 60 minutes) — what merged35 added for S2M (~1 h)
#   merged    the corpus with the three batches beside it, m680 (seconds: manifests that point at
#             the parts' audio)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-/work/data}
shift || true
STEPS=${*:-heldout corpus voices merged}
W=${WORKERS:-2}
CLIPS=12893

bash scripts/setup-corpus.sh
mkdir -p "$D"
for step in $STEPS; do
    case $step in
    heldout)
        voxsmith corpus build --out "$D/heldout" --minutes 80 --test-share 1 --valid-share 0 --workers "$W"
        ;;
    corpus)
        have=0
        [ -f "$D/c680/manifest.jsonl" ] && have=$(wc -l <"$D/c680/manifest.jsonl")
        if [ "$have" -lt "$CLIPS" ]; then
            voxsmith corpus build --out "$D/c680" --minutes 800 --limit $((CLIPS - have)) --workers "$W"
        fi
        ;;
    voices)
        for s in 3 4 5; do
            src=train per=5 min=120 langs=""
            [ "$s" = 5 ] && src=unused per=10 min=60 langs="--langs zh"
            [ -f "$D/voices$s.json" ] || voxsmith corpus voices --base "$D/c680" --per-voice $per --seed $s \
                --source $src --out "$D/voices$s.json"
            # shellcheck disable=SC2086
            voxsmith corpus build --roster "$D/voices$s.json" --train-only --valid-share 0 $langs \
                --out "$D/voices$s" --minutes $min --workers "$W"
        done
        ;;
    merged)
        voxsmith corpus merge "$D/c680" "$D/voices3" --out "$D/m_3"
        voxsmith corpus merge "$D/m_3" "$D/voices4" --out "$D/m_34"
        voxsmith corpus merge "$D/m_34" "$D/voices5" --out "$D/m680"
        ;;
    *)
        echo "unknown step: $step (heldout corpus voices merged)" >&2
        exit 2
        ;;
    esac
done
