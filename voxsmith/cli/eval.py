"""``voxsmith eval JUDGE ...``: independent judges of speech (no voxsmith model involved).

  sim A.wav B.wav                     speaker similarity (resemblyzer cosine)  {"sim"}
  asr X.wav [--lang zh|en] [--ref-text T]  faster-whisper base transcript     {"text", "cer"|"wer"}
  mos X.wav                           DNSMOS                                   {"sig", "bak", "ovrl", "p808"}
  prosody X.wav [--text T] [--lang]   f0 (WORLD), energy, speaking rate, duration
  run --manifest M --out report.json [--html [PATH]] [--pool P]
                                      every judge over a manifest of clips (schema: voxsmith.eval.manifest)

``--json`` prints one JSON object on stdout; without it, a short human-readable summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="judge speech: speaker similarity, ASR error, DNSMOS, prosody, full reports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    judges = p.add_subparsers(dest="judge", metavar="JUDGE")
    judges.required = True

    s = judges.add_parser("sim", help="speaker similarity of two clips (cosine, resemblyzer)")
    s.add_argument("a", type=Path, help="first clip")
    s.add_argument("b", type=Path, help="second clip")
    s.set_defaults(func=run_sim)

    a = judges.add_parser("asr", help="transcribe (faster-whisper base) and score against a text")
    a.add_argument("clip", type=Path, help="clip to transcribe")
    a.add_argument("--lang", choices=["zh", "en"], help="language (default: detected)")
    a.add_argument("--ref-text", help="intended text: adds cer (zh) or wer (en)")
    a.set_defaults(func=run_asr)

    m = judges.add_parser("mos", help="DNSMOS quality estimate (sig, bak, ovrl)")
    m.add_argument("clip", type=Path, help="clip to rate")
    m.set_defaults(func=run_mos)

    r = judges.add_parser("prosody", help="f0 mean/std, energy, speaking rate, duration")
    r.add_argument("clip", type=Path, help="clip to measure")
    r.add_argument("--text", help="what is said (default: the ASR transcript, for the speaking rate)")
    r.add_argument("--lang", choices=["zh", "en"], help="language (default: zh if the text has Hanzi; ASR's)")
    r.add_argument("--f0-method", choices=["dio", "harvest"], default="dio", help="WORLD f0 tracker")
    r.set_defaults(func=run_prosody)

    e = judges.add_parser("run", help="every judge over a manifest; writes report.json (and HTML)")
    e.add_argument("--manifest", required=True, type=Path, help="JSONL of clips (see voxsmith.eval.manifest)")
    e.add_argument("--out", required=True, type=Path, help="report JSON to write")
    e.add_argument(
        "--html",
        nargs="?",
        const=True,
        default=None,
        help="also write an HTML report (default: OUT with .html)",
    )
    e.add_argument("--pool", type=Path, help="JSONL of real clips with 'speaker' (e.g. a corpus manifest)")
    e.add_argument("--pool-clips", type=int, default=8, help="clips per pool speaker (default: 8)")
    e.add_argument(
        "--judges", default="sim,asr,mos,prosody", help="comma list of judges to run (default: all)"
    )
    e.add_argument(
        "--group-by", default="lang,style,engine,speaker", help="manifest fields to tabulate the summary by"
    )
    e.set_defaults(func=run_report)

    for parser in (s, a, m, r, e):
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object")


def _emit(args: argparse.Namespace, result: dict[str, Any], lines: list[str]) -> int:
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print("\n".join(lines))
    return 0


def _f(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def run_sim(args: argparse.Namespace) -> int:
    from voxsmith.eval.sim import SpeakerJudge

    sim = SpeakerJudge().similarity(args.a, args.b)
    return _emit(args, {"sim": sim}, [f"sim {sim:.4f}"])


def run_asr(args: argparse.Namespace) -> int:
    from voxsmith.eval.asr import AsrJudge

    res = AsrJudge().score(args.clip, args.lang, args.ref_text)
    lines = [res.text]
    if res.error is not None:
        lines.append(f"{res.metric} {res.error:.4f}")
    return _emit(args, res.to_dict(), lines)


def run_mos(args: argparse.Namespace) -> int:
    from voxsmith.eval.mos import MosJudge

    scores = MosJudge().score(args.clip).to_dict()
    return _emit(args, scores, ["  ".join(f"{k} {v:.3f}" for k, v in scores.items())])


def run_prosody(args: argparse.Namespace) -> int:
    from voxsmith.eval.prosody import ProsodyConfig, ProsodyJudge

    text, lang, text_from = args.text, args.lang, "argument"
    if text is None:
        from voxsmith.eval.asr import AsrJudge

        tr = AsrJudge().transcribe(args.clip, lang)
        text, lang, text_from = tr.text, tr.lang, "asr"
    elif lang is None:
        from voxsmith.eval.scoring import guess_lang

        lang = guess_lang(text)
    result: dict[str, Any] = (
        ProsodyJudge(ProsodyConfig(f0_method=args.f0_method))
        .measure(args.clip, text=text, lang=lang)
        .to_dict()
    )
    result.update({"text": text, "lang": lang, "text_from": text_from})
    return _emit(args, result, [f"{k}: {_f(v)}" for k, v in result.items()])


def run_report(args: argparse.Namespace) -> int:
    from voxsmith.errors import ConfigError
    from voxsmith.eval.html import write_html
    from voxsmith.eval.report import EvalConfig, evaluate_manifest, write_json

    if args.pool_clips < 1:
        raise ConfigError(f"--pool-clips must be at least 1, got {args.pool_clips}")
    config = EvalConfig(
        judges=tuple(j.strip() for j in args.judges.split(",") if j.strip()),
        pool_clips=args.pool_clips,
        group_by=tuple(g.strip() for g in args.group_by.split(",") if g.strip()),
    )
    report = evaluate_manifest(args.manifest, config=config, pool=args.pool)
    out = write_json(report, args.out)
    result: dict[str, Any] = {"report": str(out), "html": None, "summary": report["summary"]}
    if args.html:
        html_path = args.out.with_suffix(".html") if args.html is True else Path(args.html)
        result["html"] = str(write_html(report, html_path))
    summary = report["summary"]
    lines = [f"{summary['n_items']} items ({summary['n_failed']} failed) -> {out}"]
    if "sim" in summary:
        sim = summary["sim"]
        lines.append(
            f"SIM ref {_f(sim['ref_mean'])}  nearest other {_f(sim['other_mean'])}  EER {_f(sim['eer'])}"
        )
    for lang, asr in summary.get("asr", {}).items():
        lines.append(f"{asr['metric'].upper()} {lang} mean {_f(asr['mean'])}  micro {_f(asr['micro'])}")
    if "mos" in summary:
        lines.append("DNSMOS " + "  ".join(f"{k} {_f(v)}" for k, v in summary["mos"].items()))
    if result["html"]:
        lines.append(f"html -> {result['html']}")
    return _emit(args, result, lines)
