"""``voxsmith dev ...``: developer tools (official parity checks)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dev", help="developer tools: parity with the official implementation")
    dev = p.add_subparsers(dest="dev_command", metavar="TOOL")
    dev.required = True
    par = dev.add_parser(
        "parity",
        help="replay official fixtures (spec.json + weights + io per module) and compare outputs",
        description="Runs every module fixture found under DIR (gpt/, s2mel/, bigvgan/, campplus/, "
        "semantic_codec/) and reports the worst error per module. Exit status 1 if any module fails.",
    )
    par.add_argument("dir", type=Path, help="fixture root, e.g. ../shared/fixtures/official")
    par.add_argument("--module", action="append", help="only this module (repeatable)")
    par.add_argument("--json", action="store_true", help="print one JSON object")
    par.set_defaults(func=run_parity_cmd)

    b = dev.add_parser(
        "bundle",
        help="assemble a model directory from trained stages (how the built-in model is made)",
        description="Reads RUNS/{content,codec,gpt,s2m,style,vocoder}/<stage>.safetensors, fits the emotion "
        "matrix on the corpus, and writes model.json + fp16 parts to --out (e.g. voxsmith/assets/tiny).",
    )
    b.add_argument("--runs", type=Path, required=True, help="directory holding one run directory per stage")
    b.add_argument("--data", type=Path, required=True, help="the corpus the stages were trained on")
    b.add_argument("--out", type=Path, required=True, help="model directory to write")
    b.add_argument("--name", default="voxsmith-tiny", help="model name (default: voxsmith-tiny)")
    b.add_argument(
        "--quality",
        type=Path,
        help="benchmarks/builtin_quality.py --json output to put in the model card (MODEL_CARD.md)",
    )
    b.add_argument(
        "--cfg-rate",
        type=float,
        help="S2M classifier-free guidance strength stored in model.json (default: 0.7, the official "
        "setting; measure with benchmarks/builtin_quality.py --cfg-rate before changing it)",
    )
    b.add_argument(
        "--temperature",
        type=float,
        help="default GPT sampling temperature stored in model.json (default: 0.8; measure with "
        "benchmarks/builtin_quality.py --temperature before changing it)",
    )
    b.add_argument(
        "--base",
        type=Path,
        help="model directory (e.g. voxsmith/assets/tiny) supplying the stages RUNS has no export for, "
        "and its sampling settings unless given here: rebuild a model after retraining some parts",
    )
    b.set_defaults(func=run_bundle)

    r = dev.add_parser(
        "presets",
        help="measure what each emotion does on a corpus (speaking rate, prosody) and store it in a model",
        description="Measures, for each emotion category, the speaking rate and (for a model whose S2M reads "
        "prosody offsets) the pitch, range, loudness and tilt of the corpus's styled train clips against the "
        "same speakers' neutral speech, and writes them into MODEL's emotion.safetensors (what `dev bundle` "
        "does for a new model). Emotion presets, vectors and text then ask for exactly these changes.",
    )
    r.add_argument("model", type=Path, help="model directory, e.g. voxsmith/assets/tiny")
    r.add_argument("--data", type=Path, required=True, help="a corpus from `voxsmith corpus build`")
    r.set_defaults(func=run_presets)

    c = dev.add_parser(
        "calibrate",
        help="fit what each emotion preset asks of the renderer so its output shows the corpus's change",
        description="Renders every emotion preset and a neutral take of the same sentences for a few train "
        "speakers of CORPUS, measures each preset's change in pitch, range, loudness and tilt as "
        "`voxsmith corpus check-styles` measures the corpus's styles, and moves what the preset asks until "
        "the two agree (ROUNDS render-measure-correct passes). The asks are stored in MODEL's "
        "emotion.safetensors beside the prosody table; `dev presets` clears them (a new table needs new asks).",
    )
    c.add_argument("model", type=Path, help="model directory, e.g. voxsmith/assets/tiny")
    c.add_argument("--data", type=Path, required=True, help="the corpus the presets were measured on")
    c.add_argument(
        "--shifts", type=Path, help="`voxsmith corpus check-styles DATA --json` output (else measured)"
    )
    c.add_argument("--speakers", type=int, default=8, help="train speakers to render (languages alternate)")
    c.add_argument("--sentences", type=int, default=2, help="sentences per speaker")
    c.add_argument("--rounds", type=int, default=2, help="render-measure-correct passes")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    c.add_argument("--json", type=Path, help="also write the per-round report here")
    c.set_defaults(func=run_calibrate)


def run_parity_cmd(args: argparse.Namespace) -> int:
    from voxsmith.errors import DataError
    from voxsmith.parity import run_parity

    if not args.dir.is_dir():
        raise DataError(f"{args.dir}: fixture directory not found")
    results = run_parity(args.dir, args.module)
    if not results:
        raise DataError(f"{args.dir}: no module fixtures (expected sub-directories with spec.json)")
    report = {name: r.to_json() for name, r in results.items()}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        for name, r in report.items():
            status = "ok" if r["ok"] else "FAIL"
            print(f"{name:16s} {status:4s} checks={r['checks']:3d} max_abs_err={r['max_abs_err']:.3g}")
            for f in r["failures"]:
                print(f"    {f}")
    return 0 if all(r["ok"] for r in report.values()) else 1


def run_bundle(args: argparse.Namespace) -> int:
    from voxsmith.errors import DataError
    from voxsmith.train.bundle import assemble

    quality = None
    if args.quality is not None:
        if not args.quality.is_file():
            raise DataError(f"{args.quality}: quality JSON not found")
        quality = json.loads(args.quality.read_text(encoding="utf-8"))
    if args.cfg_rate is not None and args.cfg_rate < 0:
        raise DataError(f"--cfg-rate must be >= 0, got {args.cfg_rate}")
    if args.temperature is not None and args.temperature <= 0:
        raise DataError(f"--temperature must be > 0, got {args.temperature}")
    root = assemble(
        args.runs,
        args.data,
        args.out,
        name=args.name,
        quality=quality,
        cfg_rate=args.cfg_rate,
        base=args.base,
        temperature=args.temperature,
    )
    card = json.loads((root / "model.json").read_text(encoding="utf-8"))
    size = sum(p.stat().st_size for p in root.glob("*.safetensors")) / 2**20
    print(f"{root}: {card['parameters']['total'] / 1e6:.1f} M parameters, {size:.1f} MiB")
    return 0


def run_presets(args: argparse.Namespace) -> int:
    from voxsmith.train.bundle import refit_presets

    rates, head = refit_presets(args.model, args.data)
    out: dict = {"tempo": rates.named()}
    if head is not None:
        out["prosody"] = {e: {m: round(v, 2) for m, v in ms.items()} for e, ms in head.named_table().items()}
    print(json.dumps(out))
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from voxsmith.fileio import atomic_write_text
    from voxsmith.train.calibrate import calibrate_model

    shifts = json.loads(args.shifts.read_text(encoding="utf-8")) if args.shifts else None
    report = calibrate_model(
        args.model, args.data, shifts, args.speakers, args.sentences, args.rounds, args.seed, args.threads
    )
    out = {"ask": report.ask, "share_last_round": {
        c: {k: round(v, 2) for k, v in ms.items() if v == v} for c, ms in report.shares().items()
    }}  # fmt: skip
    if args.json:
        atomic_write_text(args.json, json.dumps(asdict(report), indent=1))
    print(json.dumps(out))
    return 0
