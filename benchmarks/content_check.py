"""Content check: the ASR judge over 30 s windows against its encoder context fitted to the clip.

    python benchmarks/content_check.py --corpus /work/data/corpus [--clips 30] [--speed-clips 10]

Whisper pads every clip to 30 s before its encoder, so a 5 s clip costs as much as a 30 s
one; ``WhisperConfig(fit_window=True)`` (the content check's default) cuts the context to
the clip plus 2 s, at least 10 s. Both ways, greedy, on the same clips:

- error rate (CER for Mandarin, WER for English) of the corpus's test-split clips against
  their texts, per language, and the share of clips whose content verdict (``ok``: error
  within the limit, nothing skipped or repeated) agrees between the two;
- time of the content check alone on 4.5-6 s clips (test clips, joined where short), median, model load
  excluded.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True, help="corpus directory (manifest.jsonl)")
    ap.add_argument("--clips", type=int, default=30, help="test clips per language")
    ap.add_argument("--speed-clips", type=int, default=10, help="~5 s clips timed")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of the ASR judge")
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)

    from voxsmith.audio import SAMPLE_RATE, Audio, AudioProcessor
    from voxsmith.check.content import ContentChecker
    from voxsmith.eval.asr import AsrJudge
    from voxsmith.eval.whisper import WhisperBackend, WhisperConfig
    from voxsmith.train.data import read_manifest

    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    rows = [r for r in read_manifest(args.corpus) if r.get("split") == "test"]
    by_lang = {lang: [r for r in rows if r.get("lang") == lang][: args.clips] for lang in ("zh", "en")}
    modes = {
        "30 s windows": WhisperConfig(beam_size=1, threads=args.threads),
        "fitted window": WhisperConfig(beam_size=1, threads=args.threads, fit_window=True),
    }
    checkers = {name: ContentChecker(AsrJudge(WhisperBackend(cfg))) for name, cfg in modes.items()}
    audio = {r["id"]: AudioProcessor.load(r["path"], SAMPLE_RATE) for rs in by_lang.values() for r in rs}

    out: dict = {"clips": {lang: len(rs) for lang, rs in by_lang.items()}, "modes": {}}
    verdicts: dict[str, list[bool]] = {}
    for name, checker in checkers.items():
        res: dict = {}
        verdicts[name] = []
        for lang, rs in by_lang.items():
            errs = []
            for r in rs:
                c = checker.check(audio[r["id"]], r["text"])
                errs.append(c.cer)
                verdicts[name].append(c.ok)
            res[f"error_{lang}"] = round(float(np.mean(errs)), 4) if errs else None
        out["modes"][name] = res
        print(name, res, flush=True)
    a, b = verdicts.values()
    out["verdict_agreement"] = round(float(np.mean([x == y for x, y in zip(a, b, strict=True)])), 4)

    # 4.5-6 s Mandarin clips: test clips, alone or joined with 0.2 s gaps
    joined: list[tuple[Audio, str]] = []
    group: list[tuple[dict, Audio]] = []  # each clip read once
    for r in [r for r in rows if r.get("lang") == "zh"]:
        group.append((r, audio.get(r["id"]) or AudioProcessor.load(r["path"], SAMPLE_RATE)))
        parts = [a for _, a in group]
        seconds = sum(p.seconds for p in parts) + 0.2 * (len(parts) - 1)
        if seconds < 4.5:
            continue
        if seconds > 6.0:  # keep the timed clips near 5 s
            group = []
            continue
        gap = np.zeros(int(0.2 * SAMPLE_RATE), dtype=np.float32)
        pieces = [x for p in parts for x in (p.samples, gap)][:-1]
        joined.append((Audio(np.concatenate(pieces), SAMPLE_RATE), "".join(g["text"] for g, _ in group)))
        group = []
        if len(joined) >= args.speed_clips:
            break
    for name, checker in checkers.items():
        checker.check(*joined[0])  # warm-up: the model loads on the first call
        times = []
        for clip, text in joined:
            t0 = time.perf_counter()
            checker.check(clip, text)
            times.append(time.perf_counter() - t0)
        out["modes"][name]["seconds_median"] = round(float(np.median(times)), 3)
    out["speed_clip_s"] = round(float(np.median([c.seconds for c, _ in joined])), 2) if joined else None
    fast, slow = (out["modes"][n]["seconds_median"] for n in ("fitted window", "30 s windows"))
    out["speedup"] = round(slow / fast, 2)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
