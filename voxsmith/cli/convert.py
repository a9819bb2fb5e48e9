"""``voxsmith convert``: official IndexTTS-2 checkpoints → voxsmith's self-describing format.

    voxsmith convert checkpoints/ --out models/indextts2
    voxsmith convert checkpoints/ --out models/indextts2-fp16 --dtype fp16

The source is the official directory (config.yaml, bpe.model, gpt.pth, s2mel.pth,
wav2vec2bert_stats.pt, feat1.pt, feat2.pt, optional qwen0.6bemo4-merge/, plus w2v-bert-2.0/,
semantic_codec/, campplus/ and bigvgan/ sub-directories; see voxsmith.models.official.layout).
Every module is loaded strictly first, so a converted directory is known to be complete.
The result loads with ``--model DIR`` like any voxsmith model; with the default fp32 it gives
the same outputs as the official directory.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DTYPES = ("fp32", "fp16", "bf16")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert official IndexTTS-2 checkpoints to voxsmith's format",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", type=Path, help="official IndexTTS-2 directory")
    p.add_argument("--out", type=Path, required=True, help="voxsmith model directory to write")
    p.add_argument("--dtype", choices=DTYPES, default="fp32",
                   help="storage type of the large parts (default: fp32, bit-identical outputs)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the written model card as JSON")
    p.set_defaults(func=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    import torch

    from voxsmith.errors import CheckpointError, ConfigError
    from voxsmith.models.official import load_official, looks_official, save_official_parts

    src, out = args.source, args.out
    if not src.is_dir():
        raise CheckpointError(f"{src}: official checkpoint directory not found")
    if not looks_official(src):
        raise CheckpointError(
            f"{src}: not an official IndexTTS-2 directory (no config.yaml, gpt.pth or s2mel.pth)"
        )
    if out.resolve() == src.resolve():
        raise ConfigError(f"--out {out} is the source directory; write the converted model elsewhere")
    dtype = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    parts = load_official(src)
    root = save_official_parts(parts, out, dtype=dtype)
    card = json.loads((root / "model.json").read_text(encoding="utf-8"))
    if args.json:
        print(json.dumps(card, ensure_ascii=False))
    else:
        total = card["parameters"]["total"]
        print(f"{root}: {card['name']} converted ({total / 1e6:.1f} M parameters, {args.dtype})")
    return 0
