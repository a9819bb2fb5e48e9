"""How much of a prosody offset S2M renders (a model whose S2M reads utterance prosody offsets,
and the per-code contour the offset moves where it reads one).

    python benchmarks/prosody_gain.py --model DIR --data /work/data/heldout [--speakers 5] [--json OUT]

Per held-out speaker (a neutral reference clip) and two of its neutral sentences, the codes are
generated once; S2M then renders them with no offset and with one offset at a time (f0 ±3 st,
loudness ±3 dB, tilt +2.25 dB/oct, in the units of ``voxsmith.models.prosody``), and the
rendered clip's measures (``voxsmith corpus check-styles``) are compared with the no-offset one.
A faithful S2M moves the asked measure by the asked amount and leaves the others.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ASKED = {  # scaled offsets (f0_mean, f0_std, energy, tilt)
    "f0 +3 st": (0.75, 0.0, 0.0, 0.0),
    "f0 -3 st": (-0.75, 0.0, 0.0, 0.0),
    "energy +3 dB": (0.0, 0.0, 0.5, 0.0),
    "energy -3 dB": (0.0, 0.0, -0.5, 0.0),
    "tilt +2.25 dB/oct": (0.0, 0.0, 0.0, 0.75),
}
SHOWN = ("f0_mean", "f0_std", "energy", "tilt")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    ap.add_argument("--data", type=Path, required=True, help="corpus with held-out speakers (manifest.jsonl)")
    ap.add_argument("--speakers", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every asked offset by this")
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)

    import torch

    from voxsmith.data.check import measure_clip
    from voxsmith.errors import ConfigError
    from voxsmith.pipeline import IndexTTSModel

    torch.set_num_threads(args.threads)
    model = IndexTTSModel.from_pretrained(args.model) if args.model else IndexTTSModel.from_pretrained()
    p = model.parts
    if p.prosody is None:
        raise ConfigError(f"{model.model_id}: its S2M reads no prosody offsets")
    rows = [json.loads(x) for x in (args.data / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    neutral: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("style", "neutral") == "neutral" and 4 < float(r["duration_s"]) < 8:
            neutral.setdefault(r["speaker"], []).append(r)
    asked_all = {k: tuple(args.scale * x for x in v) for k, v in ASKED.items()}
    shifts: dict[str, list[dict[str, float]]] = {k: [] for k in asked_all}
    for spk in sorted(s for s, rs in neutral.items() if len(rs) >= 3)[: args.speakers]:
        ref, *texts = neutral[spk][:3]
        emb = model.speaker_encoder(str(args.data / ref["path"]))
        for t in texts:
            ids = next(list(map(int, x)) for x in model.frontend.process(t["text"]).segment_tokens if x)
            gen = torch.Generator().manual_seed(0)
            codes = p.generate_codes(ids, emb, emb.emo_vec, p.default_sampling(), None, gen)

            def render(offset, codes=codes, ids=ids, emb=emb) -> dict[str, float]:
                own = p.prosody  # a head that asks for this offset whatever the emotion
                p.prosody = SimpleNamespace(offset=lambda *_: torch.tensor([offset], dtype=torch.float32))
                try:
                    mel = p.codes_to_mel(codes, emb, text_ids=ids, emo_vec=emb.emo_vec, seed=0)
                finally:
                    p.prosody = own
                audio = model.vocoder(mel.unsqueeze(0))
                return measure_clip(audio.samples, audio.sample_rate, len(ids))

            base = render((0.0, 0.0, 0.0, 0.0))
            for name, offset in asked_all.items():
                got = render(offset)
                shifts[name].append({k: got[k] - base[k] for k in SHOWN})
    from voxsmith.models.prosody import SCALES

    out = {"model": model.model_id, "scale": args.scale, "items": len(shifts["f0 +3 st"]), "rendered": {}}
    for name, ds in shifts.items():
        asked = dict(
            zip(SHOWN, (np.asarray(asked_all[name]) * np.asarray(SCALES)).round(2).tolist(), strict=True)
        )
        got = {k: round(float(np.nanmean([d[k] for d in ds])), 2) for k in SHOWN}
        out["rendered"][name] = {"asked": asked, "got": got}
        print(f"{name:18s} asked {asked}  got {got}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
