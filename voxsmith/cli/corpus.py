"""``voxsmith corpus build|summary|screen``: the synthetic multi-speaker, multi-emotion corpus.

    voxsmith corpus build --out DIR --minutes 90 --langs zh,en [--workers 2] [--seed 0]
    voxsmith corpus summary DIR [--json]
    voxsmith corpus check-styles DIR [--json]
    voxsmith corpus screen [--work DIR] [--out voxsmith/data/roster.json]
    voxsmith corpus voices --base DIR --per-voice 5 --out extra.json     # more voices, then
    voxsmith corpus build --roster extra.json --train-only --out EXTRA --minutes 120
    voxsmith corpus merge DIR EXTRA --out MERGED

``build`` resumes: rerunning the same command skips clips already in DIR/manifest.jsonl.
``screen`` measures every engine voice and candidate speaker with the ASR and speaker
judges and writes the roster the builder uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _langs(text: str) -> tuple[str, ...]:
    langs = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in langs if x not in ("zh", "en")]
    if not langs or bad:
        raise argparse.ArgumentTypeError(f"--langs takes zh, en or zh,en (got {text!r})")
    return tuple(dict.fromkeys(langs))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "corpus",
        help="build, summarise or screen the synthetic training corpus",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    csub = p.add_subparsers(dest="corpus_command", metavar="ACTION")
    csub.required = True

    b = csub.add_parser("build", help="build or resume a corpus")
    b.add_argument("--out", required=True, type=Path, help="corpus directory")
    b.add_argument("--minutes", type=float, default=90.0, help="minutes of audio in all (default: 90)")
    b.add_argument("--langs", type=_langs, default=("zh", "en"), help="zh, en or zh,en (default: zh,en)")
    b.add_argument("--workers", type=int, default=2, help="worker processes (default: 2; 0 = in-process)")
    b.add_argument("--seed", type=int, default=0, help="seed of sentences, splits and styles (default: 0)")
    b.add_argument("--roster", help="roster JSON (default: the packaged screening result)")
    b.add_argument("--threads", type=int, default=1, help="torch threads per worker (default: 1)")
    b.add_argument("--limit", type=int, help="render at most this many new clips in this run")
    b.add_argument("--f0-method", choices=["harvest", "dio"], default="harvest", help="WORLD f0 estimator")
    b.add_argument("--sentences", type=int, default=2400, help="sentence pool size per language")
    b.add_argument(
        "--test-share",
        type=float,
        default=0.10,
        help="share of each language's minutes read by the held-out test speakers (default: 0.10; "
        "1.0 with --valid-share 0 builds only held-out material, e.g. for fine-tuning measurements)",
    )
    b.add_argument(
        "--valid-share",
        type=float,
        default=0.05,
        help="share for training speakers on unseen sentences (default: 0.05)",
    )
    b.add_argument(
        "--train-only",
        action="store_true",
        help="every roster speaker trains, none is held out (a roster of `corpus voices`)",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=run_build)

    v = csub.add_parser("voices", help="a roster of random new voices made from a corpus's training voices")
    v.add_argument("--base", required=True, type=Path, help="the built corpus whose training voices to vary")
    v.add_argument("--per-voice", type=int, default=5, help="new speakers per engine voice (default: 5)")
    v.add_argument("--seed", type=int, default=0, help="seed of the timbres (default: 0)")
    v.add_argument(
        "--source",
        choices=("train", "unused", "both"),
        default="train",
        help="engine voices to vary: the training speakers' (default), those the screening passed "
        "that no roster speaker reads (new persons), or both",
    )
    v.add_argument("--out", required=True, type=Path, help="roster JSON to write")
    v.set_defaults(func=run_voices)

    m = csub.add_parser("merge", help="one corpus of a built corpus and a --train-only one beside it")
    m.add_argument("base", type=Path, help="the corpus (its held-out speakers stay held out)")
    m.add_argument("extra", type=Path, help="a corpus built with --train-only from `corpus voices`")
    m.add_argument(
        "--out",
        required=True,
        type=Path,
        help="the merged corpus directory (not BASE or EXTRA; a rerun rewrites it)",
    )
    m.set_defaults(func=run_merge)

    s = csub.add_parser("summary", help="minutes per split, language, speaker and style")
    s.add_argument("dir", type=Path, help="corpus directory")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=run_summary)

    ck = csub.add_parser("check-styles", help="measure each style's prosody shift against neutral")
    ck.add_argument("dir", type=Path, help="corpus directory")
    ck.add_argument("--per-style", type=int, default=60, help="clips measured per style (default: 60)")
    ck.add_argument("--json", action="store_true", help="print the result as JSON")
    ck.set_defaults(func=run_check)

    pk = csub.add_parser(
        "pack-gpt",
        help="pack what the GPT recipe reads (codes, phones, prosody, a reference pool) into a few "
        "tens of MB, to train on another machine (`voxsmith train gpt --data PACK`)",
    )
    pk.add_argument("dir", type=Path, help="corpus directory (codes written by `voxsmith train codec`)")
    pk.add_argument("--out", required=True, type=Path, help="pack directory")
    pk.add_argument(
        "--refs-per-style",
        type=int,
        default=4,
        help="conditioning references kept per (speaker, style) (default: 4)",
    )
    pk.add_argument(
        "--max-ref-frames", type=int, default=500, help="mel frames kept per reference (default: 500, ~5.8 s)"
    )
    pk.add_argument("--no-prosody", action="store_true", help="leave out the prosody probe's targets")
    pk.add_argument("--seed", type=int, default=0, help="seed of the reference choice (default: 0)")
    pk.set_defaults(func=run_pack)

    sc = csub.add_parser("screen", help="measure voices and candidate speakers; write the roster")
    sc.add_argument("--work", type=Path, default=Path("corpus-screen"), help="cache directory")
    sc.add_argument("--out", type=Path, help="roster file (default: voxsmith/data/roster.json)")
    sc.add_argument("--max-cer-zh", type=float, default=0.15, help="ASR CER limit for Mandarin voices")
    sc.add_argument("--max-wer-en", type=float, default=0.20, help="ASR WER limit for English voices")
    sc.add_argument("--max-sim", type=float, default=0.86, help="speaker-similarity limit between speakers")
    sc.add_argument("--bilingual", type=int, default=10, help="bilingual speakers to construct")
    sc.set_defaults(func=run_screen)


def run_build(args: argparse.Namespace) -> int:
    from voxsmith.data.corpus import BuildConfig, build
    from voxsmith.data.manifest import format_summary
    from voxsmith.data.plan import PlanConfig
    from voxsmith.data.render import RenderConfig
    from voxsmith.data.texts import TextConfig

    cfg = BuildConfig(
        out=args.out,
        plan=PlanConfig(
            minutes=args.minutes,
            langs=args.langs,
            seed=args.seed,
            test_share=args.test_share,
            valid_share=args.valid_share,
            train_only=args.train_only,
            # a small pool (quick trials) keeps most of its sentences for training
            valid_sentences=min(PlanConfig.valid_sentences, args.sentences // 16),
            test_sentences=min(PlanConfig.test_sentences, args.sentences // 12),
        ),
        render=RenderConfig(f0_method=args.f0_method),
        text=TextConfig(n_sentences=args.sentences),
        roster=args.roster,
        workers=args.workers,
        threads=args.threads,
        limit=args.limit,
        progress=not args.no_progress,
    )
    report = build(cfg)
    print(format_summary(report.summary))
    print(
        f"this run: {report.rendered} clips rendered, {report.failed} failed "
        f"({report.already_done} were already built, {report.planned} planned); "
        f"{report.new_audio_s / 60:.2f} min of audio in {report.wall_s / 60:.2f} min "
        f"= {report.throughput:.2f} min of audio per minute with {args.workers} worker(s)"
    )
    if report.failed:
        print(
            f"failed clips are listed in {args.out / 'failures.jsonl'}; rerun to retry them", file=sys.stderr
        )
    return 0


def run_voices(args: argparse.Namespace) -> int:
    from voxsmith.data.extra import extra_roster

    roster = extra_roster(args.base, args.per_voice, args.seed, args.source)
    roster.save(args.out)
    langs: dict[str, int] = {}
    for sp in roster.speakers:
        langs[sp.langs[0]] = langs.get(sp.langs[0], 0) + 1
    print(
        f"{len(roster.speakers)} new speakers ({', '.join(f'{k} {n}' for k, n in sorted(langs.items()))}) "
        f"from {len(roster.info['voices'])} engine voices written to {args.out}"
    )
    print(f"next: voxsmith corpus build --roster {args.out} --train-only --out DIR --minutes M")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from voxsmith.data.extra import merge
    from voxsmith.data.manifest import format_summary

    print(format_summary(merge(args.base, args.extra, args.out)))
    print(f"merged corpus written to {args.out}")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    from voxsmith.data.corpus import summary_text
    from voxsmith.data.manifest import read_rows, summarize

    if args.json:
        print(json.dumps(summarize(read_rows(args.dir)), ensure_ascii=False, indent=1))
    else:
        print(summary_text(args.dir))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from voxsmith.data.check import format_shifts, style_shifts

    result = style_shifts(args.dir, args.per_style)
    print(json.dumps(result, indent=1) if args.json else format_shifts(result))
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from voxsmith.train.gpt_pack import PACK_FILE, pack_gpt

    out = pack_gpt(
        args.dir,
        args.out,
        refs_per_style=args.refs_per_style,
        max_ref_frames=args.max_ref_frames,
        prosody=not args.no_prosody,
        seed=args.seed,
    )
    info = json.loads((out / PACK_FILE).read_text())
    for split, s in info["splits"].items():
        print(f"{split}: {s['clips']} clips, {s['refs']} references, {s['bytes'] / 1e6:.1f} MB")
    return 0


def run_screen(args: argparse.Namespace) -> int:
    from voxsmith.data.screen import ScreenConfig, screen

    cfg = ScreenConfig(
        max_cer_zh=args.max_cer_zh,
        max_wer_en=args.max_wer_en,
        max_sim=args.max_sim,
        n_bilingual=args.bilingual,
    )
    roster = screen(args.work, cfg)
    out = args.out or Path(__file__).resolve().parents[1] / "data" / "roster.json"
    roster.save(out)
    kinds: dict[str, int] = {}
    for s in roster.speakers:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    dropped = [c for c in roster.info["candidates"] if not c["kept"]]
    bad_voices = [k for k, v in roster.info["voices"].items() if not v["ok"]]
    print(f"{len(roster.speakers)} speakers kept ({kinds}); {len(dropped)} candidates dropped")
    print(f"voices dropped by ASR: {', '.join(bad_voices) or 'none'}")
    print(f"roster written to {out}")
    return 0
