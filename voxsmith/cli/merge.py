"""``voxsmith merge ADAPTER --out MODEL_DIR``: bake a fine-tuned adapter into a plain model directory.

    voxsmith merge ADAPTER_DIR --out MODEL_DIR [--model BASE_DIR] [--dtype fp32|fp16]

MODEL_DIR loads like any model (``--model MODEL_DIR``) and gives the outputs of the base model
with the adapter active; it carries the adapter's stored voice and glossary, so no reference
clip is needed. fp32 (default) keeps the outputs equal; fp16 halves the size.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "merge",
        help="merge a fine-tuned adapter into a model directory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "adapter", type=Path, metavar="ADAPTER_DIR", help="adapter folder (voxsmith finetune --out)"
    )
    p.add_argument("--out", required=True, type=Path, metavar="MODEL_DIR", help="merged model folder")
    p.add_argument("--model", type=Path, help="the base model the adapter was trained on (default: built-in)")
    p.add_argument(
        "--dtype", choices=["fp32", "fp16"], default="fp32", help="weight precision (default: fp32)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_merge)


def run_merge(args: argparse.Namespace) -> int:
    import torch

    from voxsmith.finetune.merge import merge_adapter
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(args.model)
    out = merge_adapter(
        model, args.adapter, args.out, dtype=torch.float32 if args.dtype == "fp32" else torch.float16
    )
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file()) / 1e6
    if args.json:
        print(json.dumps({"path": str(out), "megabytes": round(size, 3), "adapter": str(args.adapter)}))
    else:
        print(f"{out}: merged model ({size:.1f} MB)")
    return 0
