"""GPT checkpoints side by side on the same validation batches (teacher-forced).

    python benchmarks/gpt_compare.py --data CORPUS GPT_A.safetensors GPT_B.safetensors [--batches 16]

A training run validates on the valid split as it was when the run started; after the
corpus grew, or across runs, those figures are not comparable. This scores every given
``gpt.safetensors`` on the same fixed batches of the corpus's current valid split (the
codes in its cache, so all GPTs must use the same codec): next-code cross-entropy and
top-1 accuracy, and the emotion path's health (``train.gpt.validate``).

``emo_latent_shift`` asks whether the latents S2M reads carry the emotion: for up to
``--emotion-clips`` non-neutral clips (speakers with neutral clips too), the same text, codes
and speaker conditioning are run with an emotion reference of the clip's own style and with
a neutral one of the same speaker; the median over clips of the mean per-code distance
between the two latent sequences, relative to the latents' own spread around their mean.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gpts", type=Path, nargs="+", help="gpt.safetensors files")
    ap.add_argument("--data", type=Path, required=True, help="corpus directory (codes cached)")
    ap.add_argument("--batches", type=int, default=16, help="validation batches (~110 s of speech each)")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("--emotion-clips", type=int, default=40, help="clips for emo_latent_shift (0: skip)")
    args = ap.parse_args(argv)

    import torch

    from voxsmith.checkpoints import load_module
    from voxsmith.models.gpt import GPTConfig, UnifiedVoice
    from voxsmith.text.tokenizer import PhoneTokenizer
    from voxsmith.train.gpt import GPTData, GPTTrainConfig, validate

    torch.set_num_threads(args.threads)
    data = GPTData(args.data, args.split, PhoneTokenizer())
    out = {"corpus": str(args.data), "split": args.split, "clips": len(data.keep), "batches": args.batches}
    results = {}
    for path in args.gpts:
        model = load_module(path, "gpt", lambda c: UnifiedVoice(GPTConfig.from_dict(c)))
        scores = validate(model, data, GPTTrainConfig(), batches=args.batches)  # type: ignore[arg-type]
        if args.emotion_clips:
            scores["emo_latent_shift"] = emotion_shift(model, data, args.emotion_clips)  # type: ignore[arg-type]
        results[str(path)] = {k: round(v, 4) for k, v in scores.items()}
        print(path, json.dumps(results[str(path)]), flush=True)
    out["gpts"] = results
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


def emotion_shift(model, data, n_clips: int, seed: int = 0) -> float:
    """Median relative latent change between a style's emotion reference and a neutral one."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    shifts = []
    model.eval()
    with torch.no_grad():
        for k in data.keep:
            row = data.data.clips[k].row
            neutral = data.by_style.get((row["speaker"], "neutral"))
            if row.get("style", "neutral") == "neutral" or not neutral:
                continue
            spk = model.speaker_latents(data._ref(k, data.by_speaker[row["speaker"]], rng, 500)[None])
            emo = data._ref(k, data.by_style[(row["speaker"], row["style"])], rng, 500)[None]
            neu = data._ref(k, neutral, rng, 500)[None]
            text, codes = torch.tensor([data.text[k]]), torch.from_numpy(data.codes[k].astype(np.int64))[None]
            styled = model.latents(spk, model.emotion_vector(emo), text, codes)[0]
            plain = model.latents(spk, model.emotion_vector(neu), text, codes)[0]
            spread = (plain - plain.mean(0)).norm(dim=-1).mean()
            shifts.append(float((styled - plain).norm(dim=-1).mean() / spread))
            if len(shifts) == n_clips:
                break
    return float(np.median(shifts)) if shifts else float("nan")


if __name__ == "__main__":
    sys.exit(main())
