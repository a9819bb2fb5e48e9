"""``voxsmith emotion TEXT``: the eight emotion weights a text asks for (the T2E stage alone)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "emotion",
        help="text -> eight emotion weights (what `--emotion-text` would use)",
        description="Prints the weights of happy, angry, sad, afraid, disgusted, melancholic, surprised, calm "
        "for an instruction ('用悲伤的语气说', 'say it angrily') or emotional content ('我中奖了！').",
    )
    p.add_argument("text", help="the instruction or the text itself")
    p.add_argument("--json", action="store_true", help="print one JSON object: emotion name -> weight")
    p.add_argument(
        "--backend",
        choices=("default", "llm"),
        default="default",
        help="default: offline embedding + lexicon (no LLM); llm: a local causal LM (needs --model-dir)",
    )
    p.add_argument("--model-dir", type=Path, help="transformers model directory for --backend llm")
    p.set_defaults(func=run_emotion)


def run_emotion(args: argparse.Namespace) -> int:
    from voxsmith.errors import ConfigError

    if args.backend == "llm":
        if args.model_dir is None:
            raise ConfigError("--backend llm needs --model-dir DIR (a local transformers causal LM)")
        from voxsmith.emotion_text import LLMBackend

        backend = LLMBackend(args.model_dir)
    else:
        if args.model_dir is not None:
            raise ConfigError("--model-dir is only used with --backend llm")
        from voxsmith.emotion_text import default_backend

        backend = default_backend()
    result = backend(args.text)
    if args.json:
        print(json.dumps(result.named(), ensure_ascii=False))
        return 0
    for name, weight in result.named().items():
        print(f"{name:12s} {weight:.3f}")
    print(f"label: {result.label}" + (f"  (cues: {', '.join(result.cues)})" if result.cues else ""))
    return 0
