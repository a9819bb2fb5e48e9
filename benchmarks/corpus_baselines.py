"""Ground-truth baselines of a built corpus, measured with the independent judges.

    python benchmarks/corpus_baselines.py /work/data/corpus [--per-engine 12] [--per-speaker 4] [--json OUT]

- speaker judge: same-speaker vs different-speaker cosine (one clip against another clip of the
  same speaker, and against clips of other speakers) and the equal error rate of that decision;
- ASR judge: CER (zh) / WER (en) per engine on a sample of neutral-ish clips;
- DNSMOS per engine on the same sample.
Style prosody shifts come from ``voxsmith corpus check-styles DIR``.
Deterministic for the seed (the sample is drawn with numpy's generator).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def eer(same: np.ndarray, diff: np.ndarray) -> float:
    """Equal error rate of thresholding cosine: accept when >= t."""
    best = 1.0
    for t in np.unique(np.concatenate([same, diff])):
        frr = float((same < t).mean())
        far = float((diff >= t).mean())
        best = min(best, max(frr, far))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--per-engine", type=int, default=12, help="clips per engine for ASR and DNSMOS")
    ap.add_argument("--per-speaker", type=int, default=4, help="clips per speaker for the speaker judge")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args()

    from voxsmith.data.manifest import read_rows
    from voxsmith.eval.asr import AsrJudge
    from voxsmith.eval.mos import MosJudge
    from voxsmith.eval.sim import SpeakerJudge

    rows = read_rows(args.corpus)
    rng = np.random.default_rng(args.seed)
    result: dict = {"clips": len(rows), "minutes": round(sum(r["duration_s"] for r in rows) / 60, 1)}

    # speaker judge: each speaker's clips, one as reference, the rest as same; other speakers' as different
    sim = SpeakerJudge()
    by_spk: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_spk[r["speaker"]].append(r)
    emb: dict[str, list[np.ndarray]] = {}
    for spk, clips in sorted(by_spk.items()):
        pick = rng.choice(len(clips), size=min(args.per_speaker, len(clips)), replace=False)
        emb[spk] = [sim.embed(args.corpus / clips[i]["path"]) for i in sorted(pick)]
    same, diff = [], []
    names = sorted(emb)
    for a in names:
        if len(emb[a]) < 2:
            continue
        ref = emb[a][0]
        same += [float(ref @ e) for e in emb[a][1:]]
        diff += [float(ref @ emb[b][1 % len(emb[b])]) for b in names if b != a]
    same_a, diff_a = np.array(same), np.array(diff)
    result["sim"] = {
        "speakers": len(names),
        "same_mean": round(float(same_a.mean()), 3),
        "diff_mean": round(float(diff_a.mean()), 3),
        "eer": round(eer(same_a, diff_a), 3),
        "pairs": [len(same), len(diff)],
    }

    # ASR + DNSMOS per engine
    asr, mos = AsrJudge(), MosJudge()
    by_engine: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_engine[r["engine"]].append(r)
    result["engines"] = {}
    for engine, clips in sorted(by_engine.items()):
        pick = rng.choice(len(clips), size=min(args.per_engine, len(clips)), replace=False)
        errs, ovrl = defaultdict(list), []
        for i in sorted(pick):
            r = clips[i]
            path = args.corpus / r["path"]
            res = asr.score(path, r["lang"], r["normalized"])
            errs[res.metric].append(res.error)
            ovrl.append(mos.score(path).ovrl)
        result["engines"][engine] = {
            **{k: round(float(np.mean(v)), 3) for k, v in errs.items()},
            "dnsmos_ovrl": round(float(np.mean(ovrl)), 2),
            "clips": len(pick),
        }
        print(engine, result["engines"][engine], file=sys.stderr)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
