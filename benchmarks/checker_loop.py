"""Check-loop benchmark: sentences whose every polyphone ends up read as intended, with and
without the loop; mean retries and added time.

    python benchmarks/checker_loop.py [--model PATH] [--synth MODULE:FACTORY] [--sentences 60]

``--synth`` names a factory (no arguments) returning ``synthesize(text, seed) -> Audio``
that honours ``‹字|pin1›`` annotations; the default, ``checker_synth:CorpusEngineSynth``,
is the corpus engine (ttskit) with its own G2P, whose polyphone mistakes are real. For the
built-in model, pass a factory that wraps ``IndexTTSModel`` (one speaker, fixed seed).

Sentences: the ``--sentences`` most polyphone-heavy all-Chinese sentences of
``tests/data/polyphones.tsv`` (at least 2 polyphones each). Ground truth: when the
synthesiser exposes ``last_readings`` (the default one does) the rendered readings are
compared with the frontend's at every polyphone (一/不 tone sandhi counts as intended);
otherwise the checker's own final verdict is the judge (biased: said in the output).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

SANDHI = {"一": {"yi1", "yi2", "yi4"}, "不": {"bu4", "bu2"}}


def load_factory(spec: str):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def heavy_sentences(path: Path, n: int) -> list[str]:
    from voxsmith.text.chars import PUNCT_CLASS, is_cjk
    from voxsmith.text.g2p_zh import is_polyphone

    seen, scored = set(), []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sentence = line.split("\t")[0]
        if sentence in seen or not all(is_cjk(c) or c in PUNCT_CLASS for c in sentence):
            continue
        seen.add(sentence)
        count = sum(is_polyphone(c) for c in sentence if c not in SANDHI)
        if count >= 2:
            scored.append((-count, len(scored), sentence))
    return [s for _, _, s in sorted(scored)[:n]]


def misreadings(text: str, rendered: list[str], frontend) -> list[str] | None:
    """``字 intended→rendered`` for every polyphone rendered otherwise (None: lengths differ)."""
    from voxsmith.text.g2p_zh import is_polyphone

    result = frontend.process(text)
    if len(rendered) != len(result.syllables):
        return None
    out = []
    for syl, got in zip(result.syllables, rendered, strict=True):
        if syl.text in SANDHI:
            wrong = got not in SANDHI[syl.text]
        else:
            wrong = len(syl.text) == 1 and is_polyphone(syl.text) and got != syl.pinyin
        if wrong:
            out.append(f"{syl.text} {syl.pinyin}→{got}")
    return out


class Recorder:
    """Wraps a synthesiser: times every call, keeps the rendered readings when exposed."""

    def __init__(self, synth) -> None:
        self.synth = synth
        self.calls: list[dict] = []

    def __call__(self, text: str, seed: int):
        t0 = time.perf_counter()
        audio = self.synth(text, seed)
        self.calls.append(
            {
                "text": text,
                "seed": seed,
                "seconds": time.perf_counter() - t0,
                "readings": list(getattr(self.synth, "last_readings", None) or []),
            }
        )
        return audio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="checker file (default: the built-in one)")
    ap.add_argument("--synth", default="checker_synth:CorpusEngineSynth", help="MODULE:FACTORY")
    ap.add_argument("--set", type=Path, default=REPO / "tests/data/polyphones.tsv")
    ap.add_argument("--sentences", type=int, default=60)
    ap.add_argument("--max-retries", type=int, default=3)
    ap.add_argument("--no-content", action="store_true", help="pronunciation only (no ASR content check)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)

    import torch

    from voxsmith.check.checker import PronunciationChecker
    from voxsmith.check.loop import verify_and_fix

    torch.set_num_threads(args.threads)
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # one line per clip otherwise
    checker = PronunciationChecker.load(args.model)
    content = not args.no_content

    class _Checker:
        def check(self, audio, text):
            return checker.check(audio, text, content=content)

    synth = Recorder(load_factory(args.synth)())
    sentences = heavy_sentences(args.set, args.sentences)
    rows = []
    for i, text in enumerate(sentences):
        synth.calls.clear()
        t0 = time.perf_counter()
        _, report = verify_and_fix(synth, text, _Checker(), max_retries=args.max_retries, seed=0)
        total = time.perf_counter() - t0
        first, last = synth.calls[0], synth.calls[-1]
        truth = bool(first["readings"])
        wrong_before = misreadings(text, first["readings"], checker.frontend) if truth else None
        wrong_after = misreadings(text, last["readings"], checker.frontend) if truth else None
        before = wrong_before == [] if truth else None
        after = wrong_after == [] if truth else report.ok
        rows.append(
            {
                "text": text,
                "before": before,
                "after": after,
                "checker_ok": report.ok,
                "retries": report.attempts - 1,
                "first_synth_s": first["seconds"],
                "total_s": total,
                "misread_before": wrong_before,
                "misread_after": wrong_after,
                "fixes": report.fixes,
                "remaining": report.remaining,
            }
        )
        print(
            f"{i:3d} {text} before={before} after={after} retries={report.attempts - 1} "
            f"fixes={[f.get('text', f['action']) for f in report.fixes]}",
            flush=True,
        )

    ground_truth = all(r["before"] is not None for r in rows)
    out = {
        "sentences": len(rows),
        "synth": args.synth,
        "judge": "rendered readings (ground truth)" if ground_truth else "the checker itself (biased)",
        "all_polyphones_as_intended_without_loop": (
            round(float(np.mean([r["before"] for r in rows])), 4) if ground_truth else None
        ),
        "all_polyphones_as_intended_with_loop": round(float(np.mean([r["after"] for r in rows])), 4),
        "checker_ok_after_loop": round(float(np.mean([r["checker_ok"] for r in rows])), 4),
        "mean_retries": round(float(np.mean([r["retries"] for r in rows])), 3),
        "mean_added_s": round(float(np.mean([r["total_s"] - r["first_synth_s"] for r in rows])), 3),
        "mean_first_synth_s": round(float(np.mean([r["first_synth_s"] for r in rows])), 3),
        "content_check": content,
        "max_retries": args.max_retries,
    }
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(
            json.dumps({**out, "rows": rows}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
