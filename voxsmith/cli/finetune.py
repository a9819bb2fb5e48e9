"""``voxsmith finetune DATASET --method lora --out ADAPTER_DIR``: a voice of its own from minutes of speech.

    voxsmith finetune DATASET --method lora|ia3|partial|full --out ADAPTER_DIR [--model DIR]
                      [--rank R --alpha A --targets c_attn,c_proj,c_fc,wqkv,wo,w1,w2,w3]
                      [--epochs N | --steps N] [--lr LR] [--patience P] [--glossary FILE] [--resume]

DATASET: a folder made by ``voxsmith prepare`` (manifest.jsonl with train / valid splits).
ADAPTER_DIR gets adapter_model.safetensors + adapter_config.json, speaker.safetensors (the
stored voice: no reference clip needed at inference), the glossary if one was given, and
train/ (resumable state, losses.jsonl, losses.png). Stop it any time (Ctrl-C checkpoints);
``--resume`` continues. Use the result with ``voxsmith speak "…" --adapter ADAPTER_DIR -o out.wav``
or merge it into a model with ``voxsmith merge``.

lora / ia3: peft adapters on the S2M estimator, where timbre is made (at the official size also
on the GPT's attention and MLP; --targets adds them here); partial: emotion projections and
output heads only; full: every GPT and S2M weight.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from voxsmith.finetune.config import METHODS

    p = sub.add_parser(
        "finetune",
        help="fine-tune a voice on a prepared data set (LoRA, IA3, partial or full)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", type=Path, metavar="DATASET", help="prepared data set folder (manifest.jsonl)")
    p.add_argument("--method", choices=METHODS, default="lora", help="what to train (default: lora)")
    p.add_argument("--out", required=True, type=Path, metavar="ADAPTER_DIR", help="adapter output folder")
    p.add_argument("--model", type=Path, help="base model directory (default: the built-in model)")
    p.add_argument("--rank", type=int, help="LoRA rank (default: 2 at the tiny size, 8 at the official)")
    p.add_argument(
        "--alpha", type=float, help="LoRA alpha; updates are scaled by alpha/rank (default: 2 x rank)"
    )
    p.add_argument(
        "--targets",
        help="lora/ia3: comma-separated module names (default: the S2M estimator's wqkv,wo,w1,w2,w3 at "
        "the tiny size; add c_attn,c_proj,c_fc to adapt the GPT too, e.g. for pinyin-guided terms "
        "in your data; the official size adapts both)",
    )
    p.add_argument(
        "--epochs", type=int, help="passes over the training codes (default: 40 tiny, 20 official)"
    )
    p.add_argument("--steps", type=int, help="optimiser steps (overrides --epochs)")
    p.add_argument(
        "--lr", type=float, help="peak learning rate (default: lora 2e-3, ia3 3e-3, partial 5e-4, full 1e-4)"
    )
    p.add_argument(
        "--patience", type=int, help="validations without improvement before stopping (default: 3)"
    )
    p.add_argument("--val-every", type=int, help="steps between validations (default: one epoch, at least 5)")
    p.add_argument("--glossary", type=Path, help="term -> pinyin file (.tsv/.yaml): train those readings in")
    p.add_argument("--seed", type=int, help="random seed (default: 0)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    p.add_argument("--resume", action="store_true", help="continue the run in ADAPTER_DIR/train")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(func=run_finetune)


def config_from_args(args: argparse.Namespace, gpt_width: int):
    from voxsmith.finetune.config import FinetuneConfig, parse_targets

    overrides = {
        "rank": args.rank, "epochs": args.epochs, "steps": args.steps, "lr": args.lr, "patience": args.patience,
        "val_every": args.val_every, "seed": args.seed, "threads": args.threads,
        "targets": parse_targets(args.targets) if args.targets is not None else None,
    }  # fmt: skip
    if args.alpha is not None:
        overrides["alpha"] = args.alpha
    elif args.rank is not None:
        overrides["alpha"] = 2.0 * args.rank
    return FinetuneConfig.for_model(gpt_width, args.method, **overrides)


def run_finetune(args: argparse.Namespace) -> int:
    from voxsmith.finetune.train import finetune
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(args.model, threads=args.threads)
    cfg = config_from_args(args, model.parts.gpt.config.model_dim)
    res = finetune(
        args.dataset, args.out, model=model, cfg=cfg, glossary=args.glossary, resume=args.resume,
        echo=lambda line: print(line, file=sys.stderr), progress=not args.no_progress,
    )  # fmt: skip
    if args.json:
        print(json.dumps(res.to_dict(), ensure_ascii=False))
    elif res.finished:
        size = sum(f.stat().st_size for f in args.out.glob("adapter_model.safetensors")) / 1e6
        print(f"{args.out}: {res.method} adapter ({size:.2f} MB), {res.steps} steps in {res.seconds:.0f} s, "
              f"validation loss {res.base_val:.4f} -> {res.best_val:.4f}")  # fmt: skip
    return 0 if res.finished else 130  # stopped by a signal, resumable
