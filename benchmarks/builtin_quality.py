"""Zero-shot quality of a model on held-out corpus speakers (test split), with the judges.

    python benchmarks/builtin_quality.py --data /work/data/heldout [--model DIR] [--speakers 6] [--per-speaker 2]

For each held-out speaker: one neutral clip is the reference; ``--per-speaker`` other sentences
the speaker read (distinct texts, none the reference's) are synthesised; each output is scored
for SIM to the speaker (resemblyzer, against another real clip of that speaker), CER/WER
(Whisper), DNSMOS, and real-time factor. The real clips of the same texts are scored the same
way as the ground-truth ceiling.

``--oracle`` adds a third row: each real clip's own codes (the codec on the real audio) rendered
by S2M + vocoder with the same reference, i.e. the ceiling of everything after the GPT. It
separates what the GPT gets wrong from what the acoustic stages lose. ``--vocoded`` adds the
real clips' own mel through the vocoder: what the vocoder alone loses. ``--cross-lingual`` adds
a ``cross`` row: each reference speaker also reads ``--per-speaker`` sentences of the other
language (the other-language speakers' target sentences, in turn), scored for SIM to that
speaker's own real clip and for CER/WER in the sentence's language: the issue's cross-lingual
target compares it with the same-language row (at most 1.5x its error, SIM >= 0.65).

Each SIM comes with ``sim_other``: the highest SIM of the same output to the anchor clip of any
other chosen speaker (issue 4 asks the clone to sit at least 0.10 nearer its own speaker than the
nearest other voice: ``sim_margin`` in the summary). ``--reuse`` judges the clips an earlier run
left in ``--out`` instead of synthesising them again.

Error rates are reported as means and, beside them, as means of per-item rates capped at 1
(``*_capped``): Whisper hallucinates long digit strings on unintelligible English, giving
single items rates of 5-10 that swamp an uncapped mean.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pick_items(clips: list[dict], n: int, rng: np.random.Generator) -> tuple[dict, dict, list[dict]]:
    """A speaker's reference (its first neutral clip), SIM anchor, and ``n`` target clips.

    The targets read ``n`` distinct sentences, none of them the reference's or the anchor's
    (a held-out speaker often reads one sentence in all 9 styles; identical texts would repeat
    one generated clip and count it several times). Neutral readings of a sentence come first.
    A speaker with few sentences (the valid split) gets the reference's sentence in another
    style as anchor.
    """
    clips = sorted(clips, key=lambda r: (r["style"] != "neutral", r["id"]))
    ref = clips[0]
    # the anchor reads another sentence when there are enough; else the reference's in another style
    spare = len({c["text"] for c in clips}) > n + 1
    anchor = next((c for c in clips[1:] if (c["text"] != ref["text"]) == spare), clips[1])
    seen = {ref["text"], anchor["text"]}
    targets = []
    for k in rng.permutation(len(clips)):
        c = clips[int(k)]
        if c["text"] not in seen:
            seen.add(c["text"])
            targets.append(c)
    # the neutral reading of each chosen sentence when there is one
    neutral = {c["text"]: c for c in reversed(clips) if c["style"] == "neutral"}
    return ref, anchor, [neutral.get(c["text"], c) for c in targets[:n]]


def plan_items(data: Path, split: str, n_speakers: int, per_speaker: int, seed: int) -> list[tuple]:
    """``(speaker, reference, anchor, targets)`` per chosen speaker: the benchmark's item set.

    Speakers reading at least two sentences, ``n_speakers`` of them drawn with ``seed``, then
    ``pick_items`` for each in order (one generator, so a seed always gives the same items).
    """
    from voxsmith.data.manifest import read_rows

    by_spk: dict[str, list[dict]] = defaultdict(list)
    for r in read_rows(data):
        if r["split"] == split:
            by_spk[r["speaker"]].append(r)
    rng = np.random.default_rng(seed)
    speakers = sorted(s for s, c in by_spk.items() if len({r["text"] for r in c}) >= 2)
    if not speakers:
        raise SystemExit(f"{data}: no speaker of split {split!r} reads two or more sentences")
    chosen = sorted(rng.choice(len(speakers), min(n_speakers, len(speakers)), False))
    return [(speakers[i], *pick_items(by_spk[speakers[i]], per_speaker, rng)) for i in chosen]


def cross_targets(plan: list[tuple], per_speaker: int) -> dict[str, list[dict]]:
    """Speaker -> ``per_speaker`` target clips of the other language, for cross-lingual items.

    The pool of a language is every chosen speaker's targets in that language, in plan order;
    the speakers of the other language take turns through it, so each sentence is read by as
    few reference speakers as the counts allow. A speaker reads none of its own targets.
    """
    pool = {lang: [t for *_, targets in plan for t in targets if t["lang"] == lang] for lang in ("zh", "en")}
    turn = {"zh": 0, "en": 0}
    out: dict[str, list[dict]] = {}
    for spk, ref, _, _ in plan:
        other = "en" if ref["lang"] == "zh" else "zh"
        mine = [t for t in pool[other] if t["speaker"] != spk]
        picked = []
        for _ in range(min(per_speaker, len(mine))):
            picked.append(mine[turn[other] % len(mine)])
            turn[other] += 1
        out[spk] = picked
    return out


def oracle_mel(model, codes_of: Path, text: str, emb, seed: int):
    """The real clip's own codes through S2M, prompted by ``emb``: mel ``(80, frames)``."""
    import torch

    codes = model.speaker_encoder(codes_of).prompt_codes
    # the text as one segment (an S2M that reads GPT latents needs it)
    ids = [int(i) for seg in model.frontend.process(text).segment_tokens for i in seg]
    with torch.inference_mode():
        return model.parts.codes_to_mel(codes, emb, text_ids=ids, seed=seed)


def render_oracle(model, codes_of: Path, text: str, emb, seed: int):
    """The real clip's own codes through S2M + vocoder, prompted by ``emb``: ``Audio``."""
    return model.vocoder(oracle_mel(model, codes_of, text, emb, seed))


def summarise(items: list[dict]) -> dict:
    """Mean SIM, CER (zh), WER (en) and DNSMOS per kind of item (``gen``, ``real`` ...); items
    carry ``kind``, ``lang``, ``sim``, ``err`` (None: not scored) and ``dnsmos``."""
    summary = {}
    for kind in ("gen", "real", "vocoded", "oracle", "cross"):
        sel = [i for i in items if i["kind"] == kind]
        if not sel:
            continue
        errs = {
            lang: [i["err"] for i in sel if i["lang"] == lang and i["err"] is not None]
            for lang in ("zh", "en")
        }
        summary[kind] = {
            "sim": round(float(np.mean([i["sim"] for i in sel])), 3),
            **(
                {  # the nearest other voice among the chosen speakers' anchors: the margin issue 4 asks for
                    "sim_nearest_other": round(float(np.mean([i["sim_other"] for i in sel])), 3),
                    "sim_margin": round(float(np.mean([i["sim"] - i["sim_other"] for i in sel])), 3),
                }
                if all(i.get("sim_other") is not None for i in sel)
                else {}
            ),
            "cer_zh": round(float(np.mean(errs["zh"] or [np.nan])), 3),
            "wer_en": round(float(np.mean(errs["en"] or [np.nan])), 3),
            # per item capped at 1: ASR hallucinations on unintelligible audio (long digit
            # strings) give item error rates of 5-10 that swamp the mean
            "cer_zh_capped": round(float(np.mean(np.minimum(errs["zh"], 1.0))), 3) if errs["zh"] else None,
            "wer_en_capped": round(float(np.mean(np.minimum(errs["en"], 1.0))), 3) if errs["en"] else None,
            "dnsmos": round(float(np.mean([i["dnsmos"] for i in sel])), 2),
        }
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--speakers", type=int, default=6)
    ap.add_argument("--per-speaker", type=int, default=2)
    ap.add_argument(
        "--split",
        default="test",
        help="corpus split to read: test (held-out voices, the default) or valid (training voices, unseen sentences)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("builtin_quality"))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--oracle", action="store_true", help="also render the real clips' own codes")
    ap.add_argument("--temperature", type=float, help="GPT sampling temperature (default: the model's)")
    ap.add_argument("--top-p", type=float, help="GPT nucleus mass (default: the model's)")
    ap.add_argument("--top-k", type=int, help="GPT top-k (default: the model's)")
    ap.add_argument("--beams", type=int, help="GPT beams (default: the model's)")
    ap.add_argument("--text-guidance", type=float, help="GPT guidance on the text (default: the model's)")
    ap.add_argument("--cfg-rate", type=float, help="S2M guidance strength (default: the model's)")
    ap.add_argument("--s2m-steps", type=int, help="S2M Euler steps (default: the model's)")
    ap.add_argument("--s2m-noise", type=float, help="scale of S2M's starting noise (default: the model's)")
    ap.add_argument("--s2m-sway", type=float, help="S2M sway time grid in [-1, 0] (default: the model's)")
    ap.add_argument(
        "--timbre-match", type=float, help="share of the reference's spectral envelope on S2M's output (0-1)"
    )
    ap.add_argument(
        "--code-candidates",
        type=int,
        help="GPT samples per segment, the best read by the content CTC head kept",
    )
    ap.add_argument(
        "--vocoded",
        action="store_true",
        help="also the real clips' mel through the vocoder (its share of the loss)",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="judge generated clips already in --out instead of synthesising them again (only valid for "
        "an earlier run of the same model, settings and seed; no real-time factor then)",
    )
    ap.add_argument(
        "--cross-lingual",
        action="store_true",
        help="also each reference speaker reading sentences of the other language (a 'cross' row)",
    )
    args = ap.parse_args()

    from voxsmith.audio import AudioProcessor
    from voxsmith.errors import CheckpointError
    from voxsmith.eval.asr import AsrJudge
    from voxsmith.eval.mos import MosJudge
    from voxsmith.eval.sim import SpeakerJudge
    from voxsmith.models.parts import override_settings
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(args.model, threads=args.threads)
    given = {"cfg_rate": args.cfg_rate, "s2m_steps": args.s2m_steps, "s2m_noise": args.s2m_noise,
             "s2m_sway": args.s2m_sway, "timbre_match": args.timbre_match,
             "code_candidates": args.code_candidates}  # fmt: skip
    try:  # the bounds a model card's settings must keep
        override_settings(model.parts, given, "builtin_quality.py")
    except CheckpointError as e:
        raise SystemExit(str(e)) from None
    sampling = model.parts.default_sampling()
    for name, value in (("temperature", args.temperature), ("top_p", args.top_p), ("top_k", args.top_k),
                        ("num_beams", args.beams), ("text_guidance", args.text_guidance)):  # fmt: skip
        if value is not None:
            setattr(sampling, name, value)
    plan = plan_items(args.data, args.split, args.speakers, args.per_speaker, args.seed)
    cross = cross_targets(plan, args.per_speaker) if args.cross_lingual else {}
    sim, asr, mos = SpeakerJudge(), AsrJudge(), MosJudge()
    args.out.mkdir(parents=True, exist_ok=True)
    items = []

    def generate(t: dict, emb, name: str) -> tuple[Path, float | None]:
        """Synthesise target ``t``'s text with ``emb`` into ``--out/name``: (path, real-time factor)."""
        if args.reuse and (args.out / name).is_file():
            return args.out / name, None
        t0 = time.perf_counter()
        res = model.synthesize(t["text"], speaker_embedding=emb, seed=args.seed, sampling=sampling)
        wall = time.perf_counter() - t0
        AudioProcessor.save(res.audio, args.out / name)
        return args.out / name, round(wall / res.seconds, 2)

    def judge(kind: str, spk: str, t: dict, src: Path, anchor: dict, item_id: str, rtf: float | None) -> dict:
        """One scored item: SIM to the speaker's ``anchor`` clip and (``sim_other``) the highest
        SIM to another chosen speaker's anchor, CER/WER against ``t``, DNSMOS."""
        score = asr.score(src, t["lang"], t["normalized"])
        others = [args.data / a["path"] for s, _, a, _ in plan if s != spk]
        return {
            "kind": kind, "speaker": spk, "lang": t["lang"], "id": item_id,
            "sim": round(sim.similarity(src, args.data / anchor["path"]), 3),
            "sim_other": round(max(sim.similarity(src, a) for a in others), 3) if others else None,
            "err": None if score.error is None else round(score.error, 3),
            "hyp": score.text, "dnsmos": round(mos.score(src).ovrl, 2), "rtf": rtf,
        }  # fmt: skip

    for spk, ref, anchor, targets in plan:
        emb = model.speaker_encoder(args.data / ref["path"])
        for t in targets:
            path, rtf = generate(t, emb, f"{t['id']}.wav")
            sources = [("gen", path), ("real", args.data / t["path"])]
            if args.oracle:
                sources.append(("oracle", args.out / f"{t['id']}.oracle.wav"))
                AudioProcessor.save(
                    render_oracle(model, args.data / t["path"], t["text"], emb, args.seed), sources[-1][1]
                )
            if args.vocoded:
                real = AudioProcessor.load(args.data / t["path"], sr=model.sample_rate)
                sources.append(("vocoded", args.out / f"{t['id']}.vocoded.wav"))
                AudioProcessor.save(model.vocoder(AudioProcessor.mel(real.samples)[0]), sources[-1][1])
            for kind, src in sources:
                items.append(judge(kind, spk, t, src, anchor, t["id"], rtf if kind == "gen" else None))
            print(json.dumps(items[-len(sources)], ensure_ascii=False), file=sys.stderr)
        for t in cross.get(spk, []):
            path, rtf = generate(t, emb, f"{t['id']}.cross.{spk}.wav")
            items.append(judge("cross", spk, t, path, anchor, f"{t['id']}.{spk}", rtf))
            print(json.dumps(items[-1], ensure_ascii=False), file=sys.stderr)
    summary = summarise(items)
    rtfs = [i["rtf"] for i in items if i["kind"] == "gen" and i["rtf"] is not None]
    summary["gen"]["rtf_median"] = float(np.median(rtfs)) if rtfs else None
    out = {"model": model.model_id, "data": str(args.data), "split": args.split, "sampling": vars(sampling),
           "cfg_rate": model.parts.cfg_rate, "s2m_steps": model.parts.s2m_steps, "s2m_noise": model.parts.s2m_noise,
           "s2m_sway": model.parts.s2m_sway, "timbre_match": model.parts.timbre_match,
           "code_candidates": model.parts.code_candidates, "speakers": [spk for spk, *_ in plan],
           "summary": summary, "items": items}  # fmt: skip
    print(json.dumps(out["summary"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
