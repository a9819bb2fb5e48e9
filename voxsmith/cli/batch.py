"""``voxsmith batch SCRIPT --out DIR``: many lines, many roles, one run (resumable).

    voxsmith batch dialogue.yaml --out dialogue/
    voxsmith batch lines.jsonl --out book/ --json

See ``voxsmith.batch`` for the script format. Rerunning skips finished lines; a bad line is
reported in the manifest and the others still run (exit status 1 if any failed).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from voxsmith.cli.speak import add_candidates_arg, add_glossary_arg, add_model_args

    p = sub.add_parser(
        "batch",
        help="synthesise a JSONL/YAML script of lines and roles",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("script", type=Path, help="script file (.jsonl or .yaml)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--voices", type=Path, help="voice library directory")
    add_model_args(p)
    add_glossary_arg(p)
    add_candidates_arg(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voxsmith.batch import BatchRunner, read_script
    from voxsmith.cli.speak import load_model

    script = read_script(args.script)  # a malformed script fails before the model loads
    model = load_model(args)
    report = BatchRunner(model, args.voices).run(script, args.out, progress=not args.no_progress)
    out = {
        "done": report.done,
        "skipped": report.skipped,
        "failed": report.failed,
        "seconds": round(report.seconds, 3),
        "joined": None if report.joined is None else str(report.joined),
        "manifest": str(report.manifest),
        "errors": report.errors,
    }
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        print(
            f"{report.done} lines synthesised, {report.skipped} already done, {report.failed} failed; "
            f"{report.seconds:.1f} s of audio in {out['joined']}"
        )
        for e in report.errors:
            print(f"  {e}")
    return 1 if report.failed else 0
