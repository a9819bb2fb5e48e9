"""``voxsmith speaker add|list|remove``: the persistent local voice library.

voxsmith speaker add alice alice_5s.wav      # prepare and store the reference once
voxsmith speaker list --json
voxsmith speak "你好" --speaker alice -o hello.wav
voxsmith speaker remove alice
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "speaker",
        help="manage the voice library (add, list, remove)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--voices", type=Path, help="library directory (default: $VOXSMITH_VOICES or ~/.local/share)"
    )
    s = p.add_subparsers(dest="speaker_command", metavar="ACTION")
    s.required = True
    a = s.add_parser("add", help="store a voice from a reference clip")
    a.add_argument("name", help="voice name")
    a.add_argument("reference", type=Path, help="reference clip (wav, flac, ogg, mp3)")
    a.add_argument("--overwrite", action="store_true", help="replace an existing voice of that name")
    a.add_argument(
        "--model", type=Path, help="also cache the embedding for this model now (default: built-in)"
    )
    a.add_argument("--no-embed", action="store_true", help="store only; embed at first use")
    a.set_defaults(func=run_add)
    ls = s.add_parser("list", help="list stored voices")
    ls.add_argument("--json", action="store_true", help="print as JSON")
    ls.set_defaults(func=run_list)
    r = s.add_parser("remove", help="delete a stored voice")
    r.add_argument("name", help="voice name")
    r.set_defaults(func=run_remove)


def run_add(args: argparse.Namespace) -> int:
    from voxsmith.voices import VoiceLibrary

    lib = VoiceLibrary(args.voices)
    voice = lib.add(args.name, args.reference, overwrite=args.overwrite)
    msg = f"added voice {voice.name!r} ({voice.seconds:.1f} s) to {lib.root}"
    if not args.no_embed:
        from voxsmith.pipeline import IndexTTSModel

        model = IndexTTSModel.from_pretrained(args.model)
        lib.embedding(voice.name, model)
        msg += f"; embedding cached for {model.model_id}"
    print(msg)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from voxsmith.voices import VoiceLibrary

    voices = VoiceLibrary(args.voices).list()
    if args.json:
        print(json.dumps([v.to_json() for v in voices], ensure_ascii=False, indent=1))
    elif not voices:
        print("no voices stored yet: voxsmith speaker add NAME REF.wav")
    else:
        for v in voices:
            print(f"{v.name:20s} {v.seconds:5.1f} s  added {v.added}  from {v.source}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    from voxsmith.voices import VoiceLibrary

    VoiceLibrary(args.voices).remove(args.name)
    print(f"removed voice {args.name!r}")
    return 0
