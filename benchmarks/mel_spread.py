"""Is S2M's mel over-smoothed? Its spread over time against the real clip's, per mel band.

    python benchmarks/mel_spread.py --data /work/data/heldout [--model DIR] [--speakers 10] [--per-speaker 2]

Small acoustic models often render a mel whose frames vary less than real speech (the "global
variance" a post-filter restores). For each held-out speaker, its first neutral clip is the
reference and ``--per-speaker`` other neutral sentences are synthesised (``gen``) and rendered from
the real clips' own codes (``oracle``: S2M and the vocoder's input without the GPT). Over the
speech frames of each output and of the real clip of the same sentence (``envelope.speech_frames``),
per mel bin: ``std``, the spread of the log-mel over time, and ``delta``, the spread of its
frame-to-frame change (how sharp the transitions are). Printed: the median over items and bins of
output / real, and per band of 10 bins. Below 1 would call for a post-filter; above 1 means the
output varies more than real speech does (noise, not blur).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def spreads(mel) -> tuple[np.ndarray, np.ndarray]:
    """``(M,)`` per-bin std over speech frames of ``mel (M, T)``, and of its frame differences."""
    from voxsmith.models.envelope import speech_frames

    frames = speech_frames(mel)
    return frames.std(dim=1).numpy(), (frames[:, 1:] - frames[:, :-1]).std(dim=1).numpy()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="corpus directory (manifest.jsonl, wavs/)")
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    ap.add_argument("--speakers", type=int, default=10)
    ap.add_argument("--per-speaker", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)

    import torch

    from benchmarks.builtin_quality import oracle_mel
    from voxsmith.audio import AudioProcessor
    from voxsmith.data.manifest import read_rows
    from voxsmith.pipeline import IndexTTSModel

    torch.set_num_threads(args.threads)
    model = IndexTTSModel.from_pretrained(args.model)
    by_speaker: dict[str, list[dict]] = defaultdict(list)
    for r in read_rows(args.data):
        if r["split"] == "test" and r["style"] == "neutral":
            by_speaker[r["speaker"]].append(r)
    ratios: dict[str, dict[str, list[np.ndarray]]] = {k: {"std": [], "delta": []} for k in ("gen", "oracle")}
    items = []
    for spk in sorted(by_speaker)[: args.speakers]:
        clips = sorted(by_speaker[spk], key=lambda r: r["id"])
        ref, targets = clips[0], clips[1 : 1 + args.per_speaker]
        emb = model.speaker_encoder(args.data / ref["path"])
        for t in targets:
            real_std, real_delta = spreads(AudioProcessor.mel(AudioProcessor.load(args.data / t["path"]))[0])
            mels = {
                "gen": model.tts(t["text"], emb, seed=args.seed)[0],
                "oracle": oracle_mel(model, args.data / t["path"], t["text"], emb, args.seed),
            }
            row = {"id": t["id"], "lang": t["lang"]}
            for kind, mel in mels.items():
                std, delta = spreads(mel.float())
                ratios[kind]["std"].append(std / real_std)
                ratios[kind]["delta"].append(delta / real_delta)
                row[kind] = {"std": round(float(np.median(std / real_std)), 3),
                             "delta": round(float(np.median(delta / real_delta)), 3)}  # fmt: skip
            items.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for kind, measures in ratios.items():
        summary[kind] = {}
        for measure, rows in measures.items():
            arr = np.stack(rows)  # (items, M)
            bands = arr.reshape(len(arr), -1, 10)
            summary[kind][measure] = {
                "median": round(float(np.median(arr)), 3),
                "bands": [round(float(x), 3) for x in np.median(bands, axis=(0, 2))],
            }
            print(f"{kind:6s} {measure:5s} output/real median {summary[kind][measure]['median']:.3f}  "
                  f"per 10 bins {summary[kind][measure]['bands']}")  # fmt: skip
    if args.json:
        args.json.write_text(
            json.dumps({"model": model.model_id, "items": items, "summary": summary}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
