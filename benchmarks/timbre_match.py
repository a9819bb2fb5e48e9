"""SIM of zero-shot clones with the timbre match (``voxsmith.models.envelope``) at several settings.

Renders each held-out sentence once per setting ``STRENGTH:COEFS[:TILT]`` (TILT: the share of
the reference's spectral tilt taken, default STRENGTH; the same GPT codes and S2M
noise for all: only the output stage differs) and scores SIM to another real clip of the
reference speaker with the speaker judge. Prints the running mean per setting after each
speaker and a JSON summary.

    python benchmarks/timbre_match.py --model M --data /work/data/heldout --settings 0:24,0.5:24,0.5:24:1
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `benchmarks.controls` when run as a script


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="corpus with held-out test speakers")
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    ap.add_argument("--settings", default="0:24,0.5:12,0.5:24", help="comma-separated STRENGTH:COEFS[:TILT]")
    ap.add_argument("--speakers", type=int, default=8)
    ap.add_argument("--sentences", type=int, default=3, help="texts per speaker")
    ap.add_argument("--pick-seed", type=int, default=1, help="which speakers and sentences")
    ap.add_argument("--seed", type=int, default=1, help="synthesis seed")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import voxsmith.models.parts as parts_module
    from benchmarks.controls import pick
    from voxsmith.audio import AudioProcessor
    from voxsmith.eval.sim import SpeakerJudge
    from voxsmith.models.envelope import match_envelope
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(args.model, threads=args.threads)
    settings = [x.split(":") for x in args.settings.split(",")]
    judge = SpeakerJudge()
    sims: dict[str, list[float]] = {":".join(s): [] for s in settings}
    tmp = Path(tempfile.mkdtemp())
    for ref, anchor, texts in pick(args.data, args.speakers, args.sentences, args.pick_seed):
        spk = model.speaker_encoder(args.data / ref["path"])
        for t in texts:
            for setting in settings:
                model.parts.timbre_match = float(setting[0])
                model.parts.timbre_match_tilt = float(setting[2]) if len(setting) > 2 else None
                parts_module.match_envelope = functools.partial(match_envelope, coefs=int(setting[1]))
                res = model.synthesize(t["text"], speaker_embedding=spk, seed=args.seed)
                path = tmp / f"{t['id']}_{'_'.join(setting)}.wav"
                AudioProcessor.save(res.audio, path)
                sims[":".join(setting)].append(judge.similarity(path, str(args.data / anchor["path"])))
        print(
            ref["speaker"],
            {k: round(float(np.mean(v)), 4) for k, v in sims.items()},
            flush=True,
        )
    print(json.dumps({k: round(float(np.mean(v)), 4) for k, v in sims.items()}))


if __name__ == "__main__":
    main()
