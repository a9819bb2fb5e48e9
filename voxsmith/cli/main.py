"""``voxsmith`` entry point: builds the argument parser from the subcommand modules.

Every subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int``. Errors of type ``VoxsmithError`` print as one line (exit 2);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from voxsmith.errors import VoxsmithError

# Subcommand modules, in the order they appear in --help.
SUBCOMMANDS: tuple[str, ...] = (
    "voxsmith.cli.speak",
    "voxsmith.cli.speaker",
    "voxsmith.cli.batch",
    "voxsmith.cli.frontend",
    "voxsmith.cli.train",
    "voxsmith.cli.eval",
    "voxsmith.cli.corpus",
    "voxsmith.cli.prepare",
    "voxsmith.cli.finetune",
    "voxsmith.cli.merge",
    "voxsmith.cli.dev",
    "voxsmith.cli.check",
    "voxsmith.cli.emotion",
    "voxsmith.cli.convert",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxsmith",
        description="Controllable zero-shot voice cloning (IndexTTS 2.0 design), offline.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except VoxsmithError as exc:
        if args.debug:
            raise
        print(f"voxsmith: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("voxsmith: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
