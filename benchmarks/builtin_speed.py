"""Speed and memory of a voxsmith model on this machine's CPU: the issue's three figures.

    python benchmarks/builtin_speed.py --ref ref.wav                 # built-in model, 2 threads
    python benchmarks/builtin_speed.py --ref ref.wav --model DIR --threads 2 --repeats 3 --json
    python benchmarks/builtin_speed.py --emotion sad                 # speed of an emotion preset

Prints the import and model-load times (targets: load ≤ 5 s), the time to extract a speaker
embedding from the reference, then for a few ~5-second sentences (Mandarin and English) the
real-time factor of ``synthesize`` (compute seconds / audio seconds, load excluded; target
≤ 0.5 on 2 cores), split into GPT, S2M and vocoder time, and the process's peak resident
memory (``ru_maxrss``; target ≤ 2 GB). Medians over sentences × repeats. ``load_average_1min``
says how busy the machine was: on a shared machine quote the median and compare runs made side
by side. Without ``--ref`` a clip is made with flite when it is installed. ``--emotion`` times
synthesis under a preset (on a model with speaking rates the GPT runs twice: neutral length,
then the emotion's exact count).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SENTENCES = [  # about 5 s each when spoken
    ("zh", "今天下午我们去公园散步，顺便在路边的小店买了一些新鲜的水果和点心。"),
    ("zh", "这家店的生意一直不错，卖的东西又便宜又好，周末总是有很多人排队。"),
    ("en", "The weather was lovely this morning, so we walked all the way to the station together."),
    ("en", "Please remember to bring your notebook and the printed report to the meeting tomorrow."),
]
TARGETS = {"rtf_median": 0.5, "load_s": 5.0, "peak_rss_gb": 2.0}


def flite_reference(tmp: Path) -> Path:
    if shutil.which("flite") is None:
        raise SystemExit("give --ref FILE (a ~5 s clip); flite is not installed to make one")
    path = tmp / "ref.wav"
    text = "This is the voice I would like to clone today, and it should sound natural."
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", str(path)], check=True)
    return path


class StageClock:
    """Wraps methods of the model's parts to add up the seconds spent in each stage."""

    def __init__(self, parts: object, stages: dict[str, str]):
        self.seconds: dict[str, float] = defaultdict(float)
        for stage, method in stages.items():
            setattr(parts, method, self._timed(stage, getattr(parts, method)))

    def _timed(self, stage: str, fn: Callable) -> Callable:
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - t0

        return run

    def take(self) -> dict[str, float]:
        out = dict(self.seconds)
        self.seconds.clear()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", type=Path, help="reference clip (default: one made with flite)")
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each sentence (default: 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--emotion", help="synthesise under this emotion preset (default: the speaker's own)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    t0 = time.perf_counter()
    import torch

    from voxsmith.pipeline import IndexTTSModel

    import_s = time.perf_counter() - t0
    from official_speed import peak_rss_gb  # after the timed imports: it imports torch too

    t0 = time.perf_counter()
    model = IndexTTSModel.from_pretrained(args.model, threads=args.threads)
    load_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        ref = args.ref or flite_reference(Path(tmp))
        t0 = time.perf_counter()
        spk = model.speaker_encoder(ref)
        speaker_s = time.perf_counter() - t0
    clock = StageClock(model.parts, {"gpt": "generate_codes", "s2m": "codes_to_mel", "vocoder": "vocode"})
    model.synthesize("预热。", speaker_embedding=spk, seed=args.seed)  # first-call allocations
    clock.take()
    runs = []
    for lang, text in SENTENCES:
        for r in range(args.repeats):
            t0 = time.perf_counter()
            res = model.synthesize(text, speaker_embedding=spk, emotion=args.emotion, seed=args.seed + r)
            wall = time.perf_counter() - t0
            stages = clock.take()
            runs.append({"lang": lang, "audio_s": round(res.seconds, 2), "wall_s": round(wall, 3),
                         "rtf": round(wall / res.seconds, 3),
                         **{f"{k}_rtf": round(v / res.seconds, 3) for k, v in stages.items()}})  # fmt: skip
    out = {
        "model": model.model_id,
        "threads": args.threads,
        "emotion": args.emotion,
        "torch_threads": torch.get_num_threads(),
        "import_s": round(import_s, 2),
        "load_s": round(load_s, 2),
        "speaker_s": round(speaker_s, 3),
        "audio_s_median": round(statistics.median([r["audio_s"] for r in runs]), 2),
        "rtf_median": round(statistics.median([r["rtf"] for r in runs]), 3),
        **{
            f"{k}_rtf_median": round(statistics.median([r[f"{k}_rtf"] for r in runs]), 3)
            for k in ("gpt", "s2m", "vocoder")
        },
        "peak_rss_gb": round(peak_rss_gb(), 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "runs": runs,
    }
    out["targets_met"] = {k: out[k] <= v for k, v in TARGETS.items()}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return
    print(f"model {out['model']} on {args.threads} threads (load average {out['load_average_1min']})")
    print(f"import {out['import_s']} s, load {out['load_s']} s (target <= 5), speaker {out['speaker_s']} s")
    print(
        f"RTF median {out['rtf_median']} (target <= 0.5) over {len(runs)} runs of ~{out['audio_s_median']} s: "
        f"GPT {out['gpt_rtf_median']}, S2M {out['s2m_rtf_median']}, vocoder {out['vocoder_rtf_median']}"
    )
    print(f"peak memory {out['peak_rss_gb']} GB (target <= 2)")


if __name__ == "__main__":
    main()
