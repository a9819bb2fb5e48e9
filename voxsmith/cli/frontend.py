"""``voxsmith frontend`` and ``voxsmith check-text``: inspect what the text frontend does.

    voxsmith frontend "他在银HANG2工作，2025年3月1日" --json
    voxsmith check-text "他长得很高，头发也很长" --json

The text modules are imported inside the commands, so ``voxsmith --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys


def _read_text(arg: str) -> str:
    return sys.stdin.read() if arg == "-" else arg


def _frontend(args: argparse.Namespace):
    from voxsmith.text.frontend import TextFrontend
    from voxsmith.text.glossary import Glossary

    glossary = Glossary.load(args.glossary) if args.glossary else None
    if args.bpe_model:  # official checkpoints: their BPE vocabulary and reading style
        frontend = TextFrontend.official(args.bpe_model, glossary)
    else:
        frontend = TextFrontend(glossary=glossary)
    if args.max_tokens is not None:
        frontend.max_tokens = args.max_tokens
    return frontend


def run_frontend(args: argparse.Namespace) -> int:
    result = _frontend(args).process(_read_text(args.text), lang=args.lang)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    print(f"normalized: {result.normalized}")
    for i, seg in enumerate(result.segments, 1):
        print(f"segment {i} ({len(result.segment_tokens[i - 1])} tokens): {seg.text}")
    if result.syllables:
        print("syllables:  " + " ".join(f"{s.text}({s.pinyin})" for s in result.syllables))
    return 0


def run_check(args: argparse.Namespace) -> int:
    reports = _frontend(args).check(_read_text(args.text), lang=args.lang)
    if args.json:
        rows = [
            {
                "index": r.index,
                "char": r.char,
                "chosen": r.chosen,
                "alternatives": r.alternatives,
                "locked": r.locked,
                "context": r.context,
            }
            for r in reports
        ]
        print(json.dumps({"polyphones": rows}, ensure_ascii=False))
        return 0
    if not reports:
        print("no polyphonic characters")
    for r in reports:
        others = ", ".join(a for a in r.alternatives if a != r.chosen)
        fixed = " (fixed by you)" if r.locked else ""
        print(f"{r.index:4d} {r.char} {r.chosen}{fixed}  also: {others}  | {r.context}")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", metavar="TEXT", help="the text ('-' reads standard input)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--glossary", metavar="FILE", help="glossary file (.tsv/.txt or .yaml): term -> pinyin or spoken form"
    )
    p.add_argument(
        "--lang", choices=("zh", "en"), help="read every number in this language (default: by context)"
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        metavar="N",
        help="token budget per segment (default 200 phones; 120 with --bpe-model)",
    )
    p.add_argument(
        "--bpe-model",
        metavar="FILE",
        help="official mode: tokenize with this SentencePiece bpe.model and read numbers in the official style",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "frontend",
        help="normalise text and show segments, pinyin and tokens",
        description="Run the text frontend: normalisation, pinyin (with polyphones), segmentation, tokens.",
    )
    _common(p)
    p.set_defaults(func=run_frontend)
    c = subparsers.add_parser(
        "check-text",
        help="list polyphonic characters with the chosen reading and the alternatives",
        description="List the polyphonic characters of a text, the reading voxsmith chose and the others.",
    )
    _common(c)
    c.set_defaults(func=run_check)
