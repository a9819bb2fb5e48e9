"""Sampling settings side by side: GPT code sampling and S2M flow-matching sampling.

    python benchmarks/sampling_sweep.py --data /work/data/heldout [--model DIR] --variants VARIANTS.json
                                        [--speakers 11] [--per-speaker 4] [--json out.json]

``VARIANTS.json`` maps a name to the settings it changes, for example::

    {"base": {},
     "noise0.7": {"s2m_noise": 0.7},
     "sway": {"s2m_sway": -1.0},
     "beams3": {"sampling": {"num_beams": 3}, "oracle": false}}

Keys: ``s2m_steps``, ``cfg_rate``, ``s2m_noise``, ``s2m_sway`` (the model's S2M settings),
``sampling`` (fields of ``SamplingConfig`` over the model's default), ``oracle`` (false: skip the
oracle row). Every variant renders the same items as ``builtin_quality.py`` with the same
``--seed`` (one neutral reference per held-out speaker, distinct held-out sentences), in one
process so the judges load once. Per variant and row (``gen``: the model's own codes;
``oracle``: the real clip's codes through S2M + vocoder, what the acoustic side makes of perfect
codes) it prints mean SIM, CER (zh) and WER (en) capped at 1 per item, and DNSMOS ovrl.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

PART_KEYS = ("s2m_steps", "cfg_rate", "s2m_noise", "s2m_sway")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="corpus directory (held-out test speakers)")
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    ap.add_argument("--variants", type=Path, required=True, help="JSON: name -> settings (see above)")
    ap.add_argument("--speakers", type=int, default=11)
    ap.add_argument("--per-speaker", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("sampling_sweep"), help="rendered clips")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from builtin_quality import plan_items, render_oracle, summarise

    from voxsmith.audio import AudioProcessor
    from voxsmith.errors import CheckpointError, ConfigError
    from voxsmith.eval.asr import AsrJudge
    from voxsmith.eval.mos import MosJudge
    from voxsmith.eval.sim import SpeakerJudge
    from voxsmith.models.parts import card_settings
    from voxsmith.pipeline import IndexTTSModel

    variants = json.loads(args.variants.read_text())
    model = IndexTTSModel.from_pretrained(args.model, threads=args.threads)
    parts = model.parts
    defaults = {k: getattr(parts, k) for k in PART_KEYS}
    samplings = {}
    for name, v in variants.items():  # bad keys and values fail before any rendering
        unknown = set(v) - {*PART_KEYS, "sampling", "oracle"}
        if unknown:
            raise SystemExit(f"variant {name}: unknown keys {sorted(unknown)}")
        try:  # replace() re-runs SamplingConfig's checks and refuses unknown fields
            samplings[name] = dataclasses.replace(parts.default_sampling(), **v.get("sampling", {}))
        except (TypeError, ConfigError) as e:
            raise SystemExit(f"variant {name}: bad sampling settings: {e}") from None
        try:  # the bounds a model card's settings must keep
            card_settings({k: v[k] for k in PART_KEYS if k in v}, f"variant {name}")
        except CheckpointError as e:
            raise SystemExit(str(e)) from None
    plan = plan_items(args.data, "test", args.speakers, args.per_speaker, args.seed)
    sim, asr, mos = SpeakerJudge(), AsrJudge(), MosJudge()
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for name, v in variants.items():
        for k in PART_KEYS:
            setattr(parts, k, v.get(k, defaults[k]))
        t0 = time.perf_counter()
        items = []
        for _, ref, anchor, targets in plan:
            emb = model.speaker_encoder(args.data / ref["path"])
            for t in targets:
                res = model.synthesize(
                    t["text"], speaker_embedding=emb, seed=args.seed, sampling=samplings[name]
                )
                sources = [("gen", args.out / f"{name}.{t['id']}.wav")]
                AudioProcessor.save(res.audio, sources[0][1])
                if v.get("oracle", True):
                    sources.append(("oracle", args.out / f"{name}.{t['id']}.oracle.wav"))
                    oracle = render_oracle(model, args.data / t["path"], t["text"], emb, args.seed)
                    AudioProcessor.save(oracle, sources[-1][1])
                for kind, path in sources:
                    score = asr.score(path, t["lang"], t["normalized"])
                    items.append(
                        {
                            "kind": kind,
                            "lang": t["lang"],
                            "err": None if score.error is None else min(1.0, score.error),
                            "sim": sim.similarity(path, args.data / anchor["path"]),
                            "dnsmos": mos.score(path).ovrl,
                        }
                    )
        results[name] = {
            "settings": v,
            **summarise(items),
            "minutes": round((time.perf_counter() - t0) / 60, 1),
        }
        print(name, json.dumps(results[name]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
