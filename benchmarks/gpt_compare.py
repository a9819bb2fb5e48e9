"""GPT checkpoints side by side on the same validation batches (teacher-forced).

    python benchmarks/gpt_compare.py --data CORPUS GPT_A.safetensors GPT_B.safetensors [--batches 16]

A training run validates on the valid split as it was when the run started; after the
corpus grew, or across runs, those figures are not comparable. This scores every given
``gpt.safetensors`` on the same fixed batches of the corpus's current valid split (the
codes in its cache, so all GPTs must use the same codec): next-code cross-entropy and
top-1 accuracy, and the emotion path's health (``train.gpt.validate``).
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
        results[str(path)] = {k: round(v, 4) for k, v in scores.items()}
        print(path, json.dumps(results[str(path)]), flush=True)
    out["gpts"] = results
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
