"""``voxsmith prepare RAW --out DATASET``: a speaker's recordings -> a fine-tuning data set.

    voxsmith prepare RAW --out DATASET [--lang zh|en|auto] [--glossary FILE] [--min-s 2 --max-s 15]
                     [--dnsmos-floor X] [--max-cer X | --no-asr-check] [--workers N] [--json]

RAW: a folder (searched recursively) of long recordings or clips (wav, flac, mp3, ogg).
Transcripts are optional: ``take1.txt`` or ``take1.lab`` next to ``take1.wav``, or a CSV with
the header ``file,text`` (default RAW/transcripts.csv). Without one, the ASR judge transcribes;
with one for a long recording, the text is cut to the slices by aligning it to their ASR text.

DATASET gets wavs/ (22050 Hz mono 16-bit), manifest.jsonl (readable by the training code),
report.json (minutes found, kept and dropped per reason) and dropped.jsonl. Rerunning the
same command skips finished recordings. Exits with an error listing the reasons when no clip
is usable.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "prepare",
        help="slice, filter and transcribe recordings into a fine-tuning data set",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("raw", type=Path, metavar="RAW", help="folder of recordings")
    p.add_argument("--out", required=True, type=Path, metavar="DATASET", help="output data set folder")
    p.add_argument("--lang", choices=["zh", "en", "auto"], default="auto", help="language (default: auto)")
    p.add_argument("--glossary", type=Path, help="term -> reading file (.tsv/.txt/.yaml) for pinyin")
    p.add_argument("--transcripts", type=Path, help="file,text CSV (default: RAW/transcripts.csv if present)")
    p.add_argument("--speaker", help="speaker name (default: the RAW folder's name)")
    p.add_argument("--speaker-per-folder", action="store_true", help="RAW's sub-folders name the speakers")
    p.add_argument("--min-s", type=float, default=2.0, help="shortest clip, seconds (default: 2)")
    p.add_argument("--max-s", type=float, default=15.0, help="longest clip, seconds (default: 15)")
    p.add_argument(
        "--vad", choices=["silero", "webrtc"], default="silero", help="voice detector (default: silero)"
    )
    p.add_argument(
        "--dnsmos-floor",
        type=float,
        default=2.0,
        help="drop clips with DNSMOS ovrl below this (0 = off; default 2)",
    )
    p.add_argument(
        "--min-dbfs", type=float, default=-45.0, help="drop clips quieter than this RMS (default -45)"
    )
    p.add_argument(
        "--max-cer",
        type=float,
        default=0.3,
        help="drop clips whose ASR disagrees with the text more (default 0.3)",
    )
    p.add_argument(
        "--no-asr-check",
        action="store_true",
        help="trust given transcripts (no ASR unless a text must be found)",
    )
    p.add_argument(
        "--valid-share", type=float, default=0.1, help="share of clips for validation (default 0.1)"
    )
    p.add_argument("--workers", type=int, default=1, help="processes (default: 1)")
    p.add_argument("--no-features", action="store_true", help="do not pack the training feature caches")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print report.json on stdout")
    p.set_defaults(func=run_prepare)


def config_from_args(args: argparse.Namespace):
    """The ``PrepareConfig`` of parsed arguments."""
    from voxsmith.prepare.config import FilterConfig, PrepareConfig, SliceConfig

    return PrepareConfig(
        raw=args.raw,
        out=args.out,
        lang=args.lang,
        glossary=args.glossary,
        transcripts=args.transcripts,
        speaker=args.speaker,
        speaker_per_folder=args.speaker_per_folder,
        slicing=SliceConfig(min_s=args.min_s, max_s=args.max_s, vad=args.vad),
        filters=FilterConfig(
            dnsmos_floor=args.dnsmos_floor,
            min_dbfs=args.min_dbfs,
            max_cer=None if args.no_asr_check else args.max_cer,
        ),
        valid_share=args.valid_share,
        workers=args.workers,
        features=not args.no_features,
        progress=not args.no_progress,
    )


def run_prepare(args: argparse.Namespace) -> int:
    from voxsmith.prepare.report import summary_text
    from voxsmith.prepare.run import prepare

    if not args.debug:  # one INFO line per transcribed clip drowns the progress bar
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    report = prepare(config_from_args(args))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(summary_text(report))
        print(f"data set: {args.out} (manifest.jsonl, report.json)")
    return 0
