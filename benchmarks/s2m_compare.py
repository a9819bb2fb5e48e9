"""S2M checkpoints side by side on the same validation batches (flow-matching loss).

    python benchmarks/s2m_compare.py --data CORPUS --codec CODEC [--gpt GPT] S2M_A.safetensors S2M_B.safetensors [--batches 16]

A training run validates on 4 batches of the valid split as it was when the run started; after
the corpus grew, or across runs, those figures are not comparable. This scores every given
``s2m.safetensors`` on the same fixed crops and noise of the corpus's current valid split
(``train.s2m.validate``). S2Ms that read GPT latents are compared on the latents of ``--gpt``
(the one they were trained with; cached per GPT file), and each S2M gets the side inputs it
reads (prosody offsets, per-code contour); crops are prompted by their own start (the recipe's
default, not a run's ``--cross-prompt``). Lower is better; the loss is a proxy (the Whisper
benchmark, ``builtin_quality.py``, is the judge).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("s2ms", type=Path, nargs="+", help="s2m.safetensors files")
    ap.add_argument("--data", type=Path, required=True, help="corpus directory (codes cached)")
    ap.add_argument("--codec", type=Path, required=True, help="codec.safetensors the S2Ms read")
    ap.add_argument("--gpt", type=Path, help="gpt.safetensors whose latents the S2Ms read")
    ap.add_argument("--batches", type=int, default=16, help="validation batches")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)

    import torch

    from voxsmith.checkpoints import load_module
    from voxsmith.models.s2m import S2M, S2MConfig
    from voxsmith.train.gpt_latents import latents_cache
    from voxsmith.train.s2m import S2MData, S2MTrainConfig, load_codec, validate

    torch.set_num_threads(args.threads)
    codec = load_codec(args.codec)
    latents = latents_cache(args.data, args.split, args.gpt) if args.gpt is not None else None
    data: dict[tuple[bool, bool], S2MData] = {}  # per side inputs read, built when needed
    out = {"corpus": str(args.data), "split": args.split, "batches": args.batches}
    results = {}
    with torch.no_grad():
        for path in args.s2ms:
            model = load_module(path, "s2m", lambda c: S2M(S2MConfig.from_dict(c)))
            # the side inputs the model reads (prosody offsets, per-code contour), as in its training run
            reads = (bool(model.cfg.prosody_dim), bool(model.cfg.contour_dim))  # type: ignore[attr-defined]
            if reads not in data:
                data[reads] = S2MData(args.data, args.split, latents, prosody=reads[0], contour=reads[1])
            loss = validate(
                model, codec, data[reads], S2MTrainConfig(), model.cfg.dit.style_dim, batches=args.batches
            )  # type: ignore[arg-type]
            results[str(path)] = {"val_fm_loss": round(loss, 4)}
            print(path, json.dumps(results[str(path)]), flush=True)
    out["s2ms"] = results
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
