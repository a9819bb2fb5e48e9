"""Checker detection benchmark: misread polyphones caught vs false alarms, held-out speakers.

    python benchmarks/checker_detection.py --corpus /work/data/corpus [--model PATH] [--sentences 100]

Sentences: ``tests/data/polyphones.tsv`` (a target polyphone each, its correct reading known;
only all-Chinese sentences). Each is read by a held-out speaker of the corpus (test split,
round robin) through the corpus engine: ttskit reading toned pinyin, then the speaker's
WORLD timbre (``checker_synth.PinyinSpeaker``). Two readings per sentence:

- *correct*: every syllable as the text frontend reads it (the reading the checker expects);
- *wrong*: the same, with the target read as its first other reading (银行 -> yin2 xing2).

The checker (pronunciation part; the ASR content check cannot tell 行 xing2 from hang2)
scores both against the text. Reported:

- detection: wrong targets flagged / wrong clips;
- false alarms: polyphone syllables flagged in the correct clips / polyphones judged
  there (every polyphone of the sentence, not only the target), and at the targets only;
- the same false-alarm rate on the corpus's own test-split clips (rendered from characters
  by ttskit's own G2P, so a few labels disagree with the audio: an upper bound);
- the oracle operating point: best detection at <= 5% false alarms on this set, on the
  polyphone margins (a threshold chosen on the test data, for reference only; the decision
  uses the calibration fitted on held-out voices);
- speed: full check (with the ASR content check) of ~5 s clips (correct clips joined), and
  the pronunciation part alone; model load excluded.

Rendered clips are cached under ``--work`` so that another model re-uses them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def load_targets(path: Path, n: int) -> list[tuple[str, int, str, str]]:
    from voxsmith.text.chars import PUNCT_CLASS, is_cjk

    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sentence, pos, char, reading = line.split("\t")
        if all(is_cjk(c) or c in PUNCT_CLASS for c in sentence):
            rows.append((sentence, int(pos), char, reading))
    step = max(1, len(rows) // n)  # spread over the set (it is grouped by character)
    return rows[::step][:n]


def rate(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True, help="corpus directory (speakers.json, manifest)")
    ap.add_argument("--model", type=Path, help="checker file (default: the built-in one)")
    ap.add_argument("--set", type=Path, default=REPO / "tests/data/polyphones.tsv")
    ap.add_argument("--sentences", type=int, default=100)
    ap.add_argument("--corpus-clips", type=int, default=100, help="test-split corpus clips for false alarms")
    ap.add_argument(
        "--speed-clips", type=int, default=10, help="clips timed with the full check (ASR included)"
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/voxsmith-checker-bench"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)

    import torch
    from checker_synth import PinyinSpeaker, PinyinTtskit, clauses_of, surface_readings, test_speakers

    from voxsmith.audio import Audio, AudioProcessor
    from voxsmith.check.checker import PronunciationChecker
    from voxsmith.text.chars import is_cjk
    from voxsmith.text.g2p_zh import polyphone_alternatives
    from voxsmith.train.data import read_manifest

    torch.set_num_threads(args.threads)
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # one line per clip otherwise
    checker = PronunciationChecker.load(args.model)
    speakers = test_speakers(args.corpus)
    tts = PinyinTtskit()
    voices = [PinyinSpeaker(s, tts) for s in speakers]
    args.work.mkdir(parents=True, exist_ok=True)

    detected: list[bool] = []
    fa_all: list[bool] = []
    fa_target: list[bool] = []
    margin_wrong: list[float] = []
    margin_right: list[float] = []
    speed_files: list[tuple[Path, str]] = []
    per_char: dict[str, list[int]] = {}
    targets = load_targets(args.set, args.sentences)
    for n, (sentence, pos, char, reading) in enumerate(targets):
        result = checker.frontend.process(sentence)
        readings = [s.pinyin for s in result.syllables]
        k = sum(is_cjk(c) for c in sentence[:pos])
        if result.syllables[k].text != char or readings[k] != reading:
            print(f"skip {sentence}: frontend reads {readings[k]} at {pos}", file=sys.stderr)
            continue
        alts = [a for a in polyphone_alternatives(char) if a != reading]
        if not alts:
            continue
        voice = voices[n % len(voices)]
        clips = {}
        spoken = surface_readings(sentence, readings)  # 一/不 in their spoken tones, as a TTS says them
        for variant, rd in (("correct", spoken), ("wrong", spoken[:k] + [alts[0]] + spoken[k + 1 :])):
            # keyed by what is said too: another --sentences picks other sentences for index n
            said = hashlib.sha1(" ".join(rd).encode()).hexdigest()[:10]
            path = args.work / f"{n:04d}_{voice.speaker.id}_{variant}_{said}.wav"
            if not path.is_file():
                AudioProcessor.save(voice.render(clauses_of(sentence, rd), seed=n), path)
            clips[variant] = path
        _, right = checker.pronunciation(clips["correct"], sentence)
        _, wrong = checker.pronunciation(clips["wrong"], sentence)
        detected.append(not wrong[k].ok)
        margin_wrong.append(wrong[k].margin)
        fa_target.append(not right[k].ok)
        for s in right:
            if s.polyphone:
                fa_all.append(not s.ok)
                margin_right.append(s.margin)
        per_char.setdefault(char, [0, 0])
        per_char[char][0] += int(not wrong[k].ok)
        per_char[char][1] += 1
        speed_files.append((clips["correct"], sentence))
        print(
            f"{n:3d} {voice.speaker.id:14s} {sentence} {char} {reading}->{alts[0]}: "
            f"wrong heard {wrong[k].heard} conf {wrong[k].confidence:.2f} {'CAUGHT' if not wrong[k].ok else 'missed'}; "
            f"correct conf {right[k].confidence:.2f}; margins {wrong[k].margin:+.1f} / {right[k].margin:+.1f}",
            flush=True,
        )

    # the corpus's own held-out clips
    rows = [r for r in read_manifest(args.corpus) if r.get("split") == "test" and r.get("lang") == "zh"]
    fa_corpus: list[bool] = []
    for row in rows[: args.corpus_clips]:
        _, sy = checker.pronunciation(row["path"], row["text"])
        fa_corpus += [not s.ok for s in sy if s.polyphone]

    # oracle: the best threshold on this set's margins at <= 5% false alarms (margins, not
    # confidences: a steep calibrated slope saturates confidences to 0/1 and hides the order)
    cr, cw = np.sort(np.asarray(margin_right)), np.asarray(margin_wrong)
    oracle = {"threshold": None, "detection": None, "false_alarm": None}
    if len(cr) and len(cw):
        thr = float(cr[int(np.floor(0.05 * len(cr)))])  # flag below: at most 5% of correct ones
        oracle = {
            "threshold": round(thr, 4),
            "detection": round(float((cw < thr).mean()), 4),
            "false_alarm": round(float((cr < thr).mean()), 4),
        }

    # speed: clips of about 5 s (correct clips joined), full check with the ASR content check
    timings: list[dict] = []
    group: list[tuple[Path, str]] = []
    for item in speed_files:
        group.append(item)
        audios = [AudioProcessor.load(p) for p, _ in group]
        seconds = sum(a.seconds for a in audios) + 0.2 * (len(audios) - 1)
        if seconds < 4.5:
            continue
        gap = np.zeros(int(0.2 * audios[0].sample_rate), dtype=np.float32)
        joined = Audio(
            np.concatenate([x for a in audios for x in (a.samples, gap)][:-1]), audios[0].sample_rate
        )
        text = "".join(t for _, t in group)
        group = []
        checker.check(joined, text)  # warm (the ASR model loads on the first call)
        t0 = time.perf_counter()
        checker.pronunciation(joined, text)
        t1 = time.perf_counter()
        checker.check(joined, text)
        timings.append({"seconds": joined.seconds, "pron_s": t1 - t0, "full_s": time.perf_counter() - t1})
        if len(timings) >= args.speed_clips:
            break

    out = {
        "sentences": len(detected),
        "speakers": [v.speaker.id for v in voices],
        "detection": round(rate(detected), 4),
        "false_alarm_polyphones": round(rate(fa_all), 4),
        "false_alarm_targets": round(rate(fa_target), 4),
        "n_polyphones_judged": len(fa_all),
        "false_alarm_corpus_test_clips": round(rate(fa_corpus), 4),
        "n_corpus_polyphones": len(fa_corpus),
        "oracle_at_5pct": oracle,
        "speed_clips_s": round(float(np.median([t["seconds"] for t in timings])), 2) if timings else None,
        "check_full_s_median": round(float(np.median([t["full_s"] for t in timings])), 3)
        if timings
        else None,
        "check_pronunciation_s_median": (
            round(float(np.median([t["pron_s"] for t in timings])), 3) if timings else None
        ),
        "calibration": checker.calibration.to_dict(),
        "per_char_detection": {c: f"{a}/{b}" for c, (a, b) in sorted(per_char.items())},
        # raw polyphone margins (nats), for comparing or combining checkers on the same clips
        "margins": {"wrong_targets": margin_wrong, "correct_polyphones": margin_right},
    }
    print(json.dumps({k: v for k, v in out.items() if k != "margins"}, ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
