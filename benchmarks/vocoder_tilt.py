"""How much of a tilt put on a mel the vocoder renders (copy synthesis of real clips).

Each clip's mel is vocoded as it is and with ``prosody.tilt_mel`` tilts; the change in the
clip's tilt (``voxsmith corpus check-styles``'s measure: dB per octave over 0.5–4 kHz of the
whole clip's power spectrum) is printed per asked tilt, with its mean.

    python benchmarks/vocoder_tilt.py --data /work/data/heldout [--clips 6] [--tilts -3,-2,-1,1,2]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="a corpus (manifest.jsonl) with neutral clips")
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--tilts", default="-3,-2,-1,1,2", help="comma-separated tilts, dB per octave")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch

    from voxsmith.audio import AudioProcessor
    from voxsmith.data.check import measure_clip
    from voxsmith.data.manifest import read_rows
    from voxsmith.models.prosody import tilt_mel
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(args.model, threads=args.threads)
    rows = [r for r in read_rows(args.data) if r.get("style") == "neutral"]
    if not rows:
        raise SystemExit(f"{args.data}: no neutral clips")
    step = max(1, len(rows) // args.clips)
    tilts = [float(t) for t in args.tilts.split(",")]
    got: dict[float, list[float]] = {t: [] for t in tilts}
    for r in rows[::step][: args.clips]:
        audio = AudioProcessor.load(args.data / r["path"])
        mel = AudioProcessor.mel(audio)
        mel = mel[0] if mel.dim() == 3 else mel
        with torch.inference_mode():
            wave = model.parts.vocode(mel[None])[0].numpy()
            base = measure_clip(wave, audio.sample_rate, 1)["tilt"]
            for t in tilts:
                wave = model.parts.vocode(tilt_mel(mel, t)[None])[0].numpy()
                got[t].append(measure_clip(wave, audio.sample_rate, 1)["tilt"] - base)
    out = {str(t): {"per_clip": [round(v, 2) for v in vs], "mean": round(float(np.mean(vs)), 2),
                    "share": round(float(np.mean(vs)) / t, 2)} for t, vs in got.items()}  # fmt: skip
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
