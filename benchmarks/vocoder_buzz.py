"""Copy synthesis through one or more vocoders: frame-rate buzz, pitch kept, mel kept.

    python benchmarks/vocoder_buzz.py --data /work/data/heldout --vocoder A.safetensors [--vocoder B ...] [--clips 24] [--json OUT]

For ``--clips`` held-out clips (neutral and styled, every speaker in turn), each real clip's mel
goes through each vocoder, and the output is compared with the real clip:

- ``buzz``: the share of the energy below 4 kHz in lines at multiples of the frame rate
  (``voxsmith.eval.buzz``), and ``excess_db``, how far above the lines' share of the spectrum
  that is (0 for real speech);
- ``f0_err_st``: median |f0 of the output − f0 of the real clip| in semitones over the frames
  voiced in both (WORLD dio + stonemask, 5 ms), and ``voiced_agree`` the share of frames whose
  voicing agrees;
- ``mel_l1``: L1 between the log-mels of output and real clip;
- with ``--judges``: ``dnsmos`` (overall) of the output (and of the real clip), and ``sim``, the
  speaker judge's similarity of the output to the real clip it was made from.

A vocoder path may be a ``vocoder.safetensors`` or a model directory holding one.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="corpus directory (manifest.jsonl, wavs/)")
    ap.add_argument("--vocoder", type=Path, action="append", required=True, help="vocoder file or model dir")
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--judges", action="store_true", help="add DNSMOS and speaker similarity")
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)

    import torch

    from voxsmith.audio import Audio, AudioProcessor
    from voxsmith.checkpoints import load_module
    from voxsmith.data import world
    from voxsmith.data.manifest import read_rows
    from voxsmith.eval.buzz import frame_rate_buzz
    from voxsmith.models.vocoder import VocosConfig, VocosVocoder

    torch.set_num_threads(args.threads)
    tracker = world.WorldConfig(sample_rate=22050, frame_period=5.0, f0_method="dio")
    rows = [r for r in read_rows(args.data) if r["split"] == "test" and 2.0 < float(r["duration_s"]) < 10.0]
    by_speaker: dict[str, list[dict]] = {}
    for r in rows:
        by_speaker.setdefault(r["speaker"], []).append(r)
    picked: list[dict] = []
    while len(picked) < args.clips and any(by_speaker.values()):
        for spk in sorted(by_speaker):
            if by_speaker[spk] and len(picked) < args.clips:
                picked.append(by_speaker[spk].pop(len(by_speaker[spk]) // 2))
    vocoders = {}
    for path in args.vocoder:
        file = path / "vocoder.safetensors" if path.is_dir() else path
        vocoders[str(path)] = load_module(file, "vocos", lambda c: VocosVocoder(VocosConfig(**c)))
    judged = ("dnsmos", "sim") if args.judges else ()
    if args.judges:
        from voxsmith.eval.mos import MosJudge
        from voxsmith.eval.sim import SpeakerJudge

        mos, speaker = MosJudge(), SpeakerJudge()
    keys = ("buzz", "excess_db", "f0_err_st", "voiced_agree", "mel_l1", *judged)
    results: dict[str, dict[str, list[float]]] = {"real": {"buzz": [], "excess_db": [], "dnsmos": []}}
    results |= {name: {k: [] for k in keys} for name in vocoders}
    for r in picked:
        audio = AudioProcessor.load(args.data / r["path"], 22050)
        real = audio.samples
        b = frame_rate_buzz(real, 22050)
        results["real"]["buzz"].append(b.share)
        results["real"]["excess_db"].append(b.excess_db)
        if args.judges:
            results["real"]["dnsmos"].append(mos.score(audio).ovrl)
        mel = AudioProcessor.mel(real)
        f0_real = world.track_f0(real, tracker)[0]
        for name, model in vocoders.items():
            with torch.inference_mode():
                out = model(mel)[0].numpy()
            b = frame_rate_buzz(out, 22050)
            f0 = world.track_f0(out[: len(real)], tracker)[0]
            n = min(len(f0), len(f0_real))
            both = (f0[:n] > 0) & (f0_real[:n] > 0)
            err = np.abs(12 * np.log2(f0[:n][both] / f0_real[:n][both])) if both.any() else np.array([np.nan])
            res = results[name]
            res["buzz"].append(b.share)
            res["excess_db"].append(b.excess_db)
            res["f0_err_st"].append(float(np.median(err)))
            res["voiced_agree"].append(float(np.mean((f0[:n] > 0) == (f0_real[:n] > 0))))
            res["mel_l1"].append(float((AudioProcessor.mel(out) - mel).abs().mean()))
            if args.judges:
                made = Audio(out.astype(np.float32), 22050)
                res["dnsmos"].append(mos.score(made).ovrl)
                res["sim"].append(speaker.similarity(made, audio))
    summary = {
        name: {k: round(statistics.median(v), 3) for k, v in res.items() if v}
        for name, res in results.items()
    }
    out = {"clips": len(picked), "median": summary}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
