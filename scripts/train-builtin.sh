#!/usr/bin/env bash
# The built-in model's recipe from a fresh clone: corpus, every stage in dependency order,
# bundle, quality figures. Every step resumes, so run it again after an interruption and it
# goes on where it stopped (a finished stage exits at once). On 2 CPU cores it takes days;
# the shipped model was trained in the same order across sessions (MODEL_CARD.md).
#
#   bash scripts/train-builtin.sh [DATA_DIR] [RUNS_DIR] [OUT_DIR]
#   (defaults: data, runs, voxsmith/assets/tiny; THREADS=2 in the environment)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-data}
RUNS=${2:-runs}
OUT=${3:-voxsmith/assets/tiny}
T=${THREADS:-2}
C=$DATA/corpus
CLIPS=12893 # the shipped corpus: a 72-minute build grown along an 800-minute plan to 680 minutes

bash scripts/setup-corpus.sh
if [ ! -f "$C/manifest.jsonl" ]; then
    voxsmith corpus build --out "$C" --minutes 72 --workers "$T"
fi
have=$(wc -l <"$C/manifest.jsonl")
if [ "$have" -lt "$CLIPS" ]; then
    voxsmith corpus build --out "$C" --minutes 800 --limit $((CLIPS - have)) --workers "$T"
fi

train() { voxsmith train "$@" --data "$C" --threads "$T"; }
# the shipped vocoder: 1968 steps with the head's phase, then its magnitude 12000 steps on the real
# STFT with Griffin-Lim's phase (the predicted phase buzzed at the frame rate)
train vocoder --out "$RUNS/vocoder_phase" --steps 1968 --phase predicted
train vocoder --out "$RUNS/vocoder" --init "$RUNS/vocoder_phase/vocoder.safetensors" --steps 12000 --warmup 100
train content --out "$RUNS/content" --steps 7900
if [ ! -f "$RUNS/codec/codec.safetensors" ]; then
    # 1024 codes: Mandarin's toned units need more than 512 (BENCHMARKS.md, *The model on 1024 codes*)
    voxsmith train codec --data "$C" --content "$RUNS/content/content.safetensors" --out "$RUNS/codec" \
        --codebook-size 1024
fi
train style --out "$RUNS/style" --steps 700 # a finished run still rewrites the style caches
CODEC="$RUNS/codec/codec.safetensors"
# dropout and code noise: the tiny GPT overfits a corpus of this size without them; the
# prosody probe makes its latents carry the emotion's pitch and loudness, the unit probe the
# text's units
train gpt --out "$RUNS/gpt_tf" --codec "$CODEC" --steps "${GPT_STEPS:-4000}" --dropout 0.25 --code-noise 0.1 \
    --prosody-weight 1.0 --unit-ctc-weight 0.2
# then on a quarter of its own draws (scheduled sampling): what it sees when it samples
train gpt --out "$RUNS/gpt" --codec "$CODEC" --init "$RUNS/gpt_tf/gpt.safetensors" --steps 1000 --warmup 100 \
    --lr 2e-4 --dropout 0.25 --code-noise 0.05 --self-feed 0.25 --prosody-weight 1.0 --unit-ctc-weight 0.2
# S2M reads the GPT's latents beside the codes, as the official S2M does; cross-clip prompts
# make it take prosody from them rather than from its prompt
train s2m --out "$RUNS/s2m" --codec "$CODEC" --gpt "$RUNS/gpt/gpt.safetensors" --steps "${S2M_STEPS:-20000}" \
    --cross-prompt 0.5 --prosody --contour
# more voices for S2M to follow: batches of random WORLD voices drawn from a corpus's training voices
# (never a held-out one), merged beside it; the same S2M run goes on there, reading the style vectors.
#   more_voices BASE SEED_A SEED_B MERGED STEPS
more_voices() {
    local base=$1 a=$2 b=$3 merged=$4 steps=$5 s
    for s in "$a" "$b"; do
        [ -f "$DATA/voices$s.json" ] || voxsmith corpus voices --base "$base" --per-voice 5 --seed "$s" \
            --out "$DATA/voices$s.json"
        voxsmith corpus build --roster "$DATA/voices$s.json" --train-only --valid-share 0 --out "$DATA/voices$s" \
            --minutes 120 --workers "$T"
    done
    if [ ! -f "$merged/manifest.jsonl" ]; then
        voxsmith corpus merge "$base" "$DATA/voices$a" --out "$DATA/merged_$a"
        voxsmith corpus merge "$DATA/merged_$a" "$DATA/voices$b" --out "$merged"
    fi
    s2m_on "$merged" "$steps"
}
#   s2m_on MERGED STEPS [CROSS]: code a merged corpus, then the S2M run on to STEPS there, CROSS of
#   its prompts another clip of the speaker (default 0.5)
s2m_on() {
    voxsmith train codec --data "$1" --content "$RUNS/content/content.safetensors" --codec "$CODEC" \
        --out "$RUNS/codec_$(basename "$1")"
    voxsmith train s2m --data "$1" --threads "$T" --out "$RUNS/s2m" --codec "$CODEC" \
        --gpt "$RUNS/gpt/gpt.safetensors" --style "$RUNS/style/style.safetensors" --steps "$2" --cross-prompt "${3:-0.5}"
}
# 6000 steps among seeds 0 and 1 beside the corpus (BENCHMARKS.md, *More voices*), then 4000 among
# seeds 3 and 4 beside a separate 120-minute build of the corpus, the same speakers (*Two more
# batches of minute-long voices*)
more_voices "$C" 0 1 "$DATA/merged" $((${S2M_STEPS:-20000} + 6000))
C2=$DATA/corpus120
[ -f "$C2/manifest.jsonl" ] || voxsmith corpus build --out "$C2" --minutes 120 --workers "$T"
more_voices "$C2" 3 4 "$DATA/merged34" $((${S2M_STEPS:-20000} + 10000))
# then 4000 among 60 voices drawn from the Mandarin engine voices the screening passed that no
# roster speaker reads, new persons (*New persons*)
[ -f "$DATA/voices5.json" ] || voxsmith corpus voices --base "$C2" --per-voice 10 --seed 5 --source unused \
    --out "$DATA/voices5.json"
voxsmith corpus build --roster "$DATA/voices5.json" --train-only --valid-share 0 --langs zh --out "$DATA/voices5" \
    --minutes 60 --workers "$T"
[ -f "$DATA/merged35/manifest.jsonl" ] || voxsmith corpus merge "$DATA/merged34" "$DATA/voices5" --out "$DATA/merged35"
s2m_on "$DATA/merged35" $((${S2M_STEPS:-20000} + 14000))
# then 8000 more there with 70% of the prompts another clip of the speaker (*Cross-clip prompts run on*)
s2m_on "$DATA/merged35" $((${S2M_STEPS:-20000} + 22000)) 0.7
# the shipped model's sampling settings (temperature, timbre match, code candidates, duration
# split) come from its model.json
if [ ! -f "$RUNS/settings/model.json" ]; then
    mkdir -p "$RUNS/settings" && cp voxsmith/assets/tiny/model.json "$RUNS/settings/"
fi
voxsmith dev bundle --runs "$RUNS" --data "$C" --out "$RUNS/bundle" --base "$RUNS/settings"
python3 benchmarks/builtin_quality.py --model "$RUNS/bundle" --data "$C" --speakers 4 --per-speaker 2 \
    --threads "$T" --oracle --json "$RUNS/quality.json"
voxsmith dev bundle --runs "$RUNS" --data "$C" --out "$OUT" --quality "$RUNS/quality.json" --base "$RUNS/settings"
# what each emotion preset asks, fitted by rendering it (its measured table overshoots some measures)
voxsmith dev calibrate "$OUT" --data "$C" --threads "$T"
