"""``voxsmith check AUDIO --text TEXT``: was the text read as meant? Misread polyphones, skips.

    voxsmith check out.wav --text "他在银行工作，头发很长。" --json

Prints, with ``--json``, one object ``{"ok", "syllables": [{"text", "expected", "heard",
"confidence", "ok"}], "content": {"cer", "skipped", "repeated"}}``. Exit status 0 when the
clip passes, 1 when a syllable or the content fails, 2 on an error. Works on any audio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def run(args: argparse.Namespace) -> int:
    import torch

    from voxsmith.check.checker import PronunciationChecker
    from voxsmith.text.frontend import TextFrontend
    from voxsmith.text.glossary import Glossary

    torch.set_num_threads(args.threads)
    text = sys.stdin.read() if args.text == "-" else args.text
    frontend = TextFrontend(glossary=Glossary.load(args.glossary) if args.glossary else None)
    checker = PronunciationChecker.load(args.model, frontend=frontend, check_all=args.all)
    report = checker.check(args.audio, text, content=not args.no_content)
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return 0 if report.ok else 1
    for s in report.syllables:
        mark = "ok " if s.ok else "BAD"
        note = f" heard {s.heard}" if s.heard != s.expected else ""
        kind = " (polyphone)" if s.polyphone else ""
        print(f"{mark} {s.index:3d} {s.text} {s.expected}{note}  conf {s.confidence:.2f}{kind}")
    c = report.content
    if c.cer is None:
        print("content: not checked")
    else:
        print(f"content: cer {c.cer:.3f}; heard: {c.transcript}")
        for span in c.skipped:
            print(f"  skipped: {span.text} (at {span.index})")
        for span in c.repeated:
            print(f"  repeated: {span.text} (at {span.index})")
    print("ok" if report.ok else "NOT OK")
    return 0 if report.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="check a clip against its text: misread polyphones, skipped or repeated words",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("audio", metavar="AUDIO", type=Path, help="the clip (wav/flac/ogg/mp3, any sample rate)")
    p.add_argument("--text", required=True, help="what the clip should say ('-' reads standard input)")
    p.add_argument(
        "--model", type=Path, help="checker file (default: the built-in assets/checker/checker.safetensors)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--all", action="store_true", help="judge the tone of every syllable, not only polyphones")
    p.add_argument("--no-content", action="store_true", help="skip the ASR content check (cer null)")
    p.add_argument(
        "--glossary", metavar="FILE", help="glossary file (term -> pinyin), as for `voxsmith frontend`"
    )
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    p.set_defaults(func=run)
