"""Do the controls do what they say? Measured on a model with held-out corpus speakers (issue 5).

    python benchmarks/controls.py --data /work/data/corpus [--model DIR] [--speakers 4] [--sentences 3]
                                  [--only tokens,duration,emotion,emotion_ref,cache] [--json out.json]

- ``tokens``: ``target_tokens=N`` over ``--token-trials`` (text, speaker, N) trials: the share that
  generated exactly N codes and exactly N × samples-per-token samples.
- ``duration``: ``duration_ratio`` r ∈ {0.75, 0.9, 1.1, 1.25} against r = 1 on the same text,
  speaker and seed: median duration(r)/duration(1) (target: within ±3% of r) and the CER (zh) /
  WER (en) at each r (target: at most 0.05 above r = 1).
- ``emotion``: each of the 8 presets (intensity 1) against neutral on the same texts, speakers and
  seeds: the prosody shift (``voxsmith corpus check-styles`` measures: f0 mean/std, rate, energy,
  tilt) beside the corpus style's own shift at full strength, whether the direction agrees where
  the style recipe moves that measure, the magnitude as a share of the corpus shift, and SIM to
  the speaker's real clip under the emotion as a share of the neutral SIM (target ≥ 0.9), and
  the CER/WER under each preset beside neutral's. ``--intensity`` sets the presets' intensity.
- ``emotion_ref``: emotion from a second clip: for each of the 8 styles, a full-strength clip of
  that style by *another* held-out speaker (the other language's first, so the emotion clip carries
  neither the voice nor the language) as ``emotion_reference``, against neutral on the same texts,
  speakers and seeds: the same prosody measures and SIM to the reference speaker as ``emotion``
  (timbre must survive an emotion taken from someone else's voice).
- ``cache``: the same seed with a ``SpeakerEmbedding`` saved, loaded and reused gives
  bit-identical audio to extracting it from the clip each time.

Speakers are the corpus' held-out test speakers (never trained on); one neutral clip of each is
the reference, another real clip the SIM anchor; texts are held-out (test-split) sentences.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RATIOS = (0.75, 0.9, 1.1, 1.25)


def pick(data: Path, n_speakers: int, n_sentences: int, seed: int) -> list[tuple[dict, dict, list[dict]]]:
    """(reference row, anchor row, text rows) per held-out speaker.

    The texts are test-split sentences of the speaker's language (read by any held-out speaker;
    none is in training), other than the reference's and the anchor's.
    """
    from voxsmith.data.manifest import read_rows

    by_spk: dict[str, list[dict]] = defaultdict(list)
    texts: dict[str, dict[str, dict]] = defaultdict(dict)  # lang -> sentence -> a row reading it
    for r in read_rows(data):
        if r["split"] == "test":
            by_spk[r["speaker"]].append(r)
            texts[r["lang"]].setdefault(r["sentence"], r)
    rng = np.random.default_rng(seed)
    names = sorted(s for s, c in by_spk.items() if len(c) >= 2 and len({r["lang"] for r in c}) == 1)
    zh = [s for s in names if by_spk[s][0]["lang"] == "zh"]
    en = [s for s in names if by_spk[s][0]["lang"] == "en"]
    rng.shuffle(zh)
    rng.shuffle(en)
    chosen = [s for pair in zip(zh, en, strict=False) for s in pair][:n_speakers]  # languages alternate
    out = []
    for spk in chosen:
        clips = sorted(by_spk[spk], key=lambda r: (r["style"] != "neutral", r["id"]))
        ref = clips[0]
        anchor = next((r for r in clips[1:] if r["sentence"] != ref["sentence"]), clips[1])
        pool = sorted(set(texts[ref["lang"]]) - {ref["sentence"], anchor["sentence"]})
        chosen_texts = [texts[ref["lang"]][pool[i]] for i in rng.permutation(len(pool))[:n_sentences]]
        out.append((ref, anchor, chosen_texts))
    return out


def bench_tokens(model, items, trials: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    spt = model.samples_per_token
    # target_tokens applies to one segment: texts the frontend does not split
    texts = [
        (t, emb)
        for emb, _, targets in items
        for t in targets
        if len([ids for ids in model.frontend.process(t["text"]).segment_tokens if ids]) == 1
    ]
    if not texts:
        raise SystemExit("no single-segment text among the picked sentences: raise --sentences")
    exact_tokens = exact_samples = 0
    failures = []
    for k in range(trials):
        row, emb = texts[k % len(texts)]
        n = int(rng.integers(15, 121))
        res = model.synthesize(row["text"], speaker_embedding=emb, target_tokens=n, seed=seed + k)
        ok_t = res.tokens == n
        ok_s = len(res.audio.samples) == n * spt
        exact_tokens += ok_t
        exact_samples += ok_s
        if not (ok_t and ok_s):
            failures.append(
                {"id": row["id"], "n": n, "tokens": res.tokens, "samples": len(res.audio.samples)}
            )
    return {
        "trials": trials,
        "exact_tokens": exact_tokens / trials,
        "exact_samples": exact_samples / trials,
        "samples_per_token": spt,
        "failures": failures,
    }


def _sentences(items, what: str):
    """(embedding, anchor, sentence) over every item's sentences, with a progress bar."""
    from tqdm import tqdm

    flat = [(emb, anchor, t) for emb, anchor, targets in items for t in targets]
    return tqdm(flat, desc=what, unit="sentence")


def bench_duration(model, items, asr, seed: int, out_dir: Path) -> dict:
    from voxsmith.audio import AudioProcessor

    ratios: dict[float, list[float]] = defaultdict(list)
    errs: dict[float, list[float]] = defaultdict(list)
    unscored = 0
    for emb, _, t in _sentences(items, "duration"):
        base = None
        for r in (1.0, *RATIOS):
            res = model.synthesize(t["text"], speaker_embedding=emb, duration_ratio=r, seed=seed)
            path = out_dir / f"{t['id']}.r{r}.wav"
            AudioProcessor.save(res.audio, path)
            score = asr.score(path, t["lang"], t["normalized"])
            if score.error is None:  # the judge could not score it: left out, counted
                unscored += 1
            else:
                errs[r].append(float(score.error))
            if r == 1.0:
                base = res.seconds
            else:
                ratios[r].append(res.seconds / base)
    return {
        str(r): {
            "median_ratio": round(float(np.median(ratios[r])), 4),
            "within_3pct": bool(abs(np.median(ratios[r]) / r - 1) <= 0.03),
            "err": round(float(np.mean(errs[r])), 3),
            "err_minus_r1": round(float(np.mean(errs[r]) - np.mean(errs[1.0])), 3),
        }
        for r in RATIOS
    } | {
        "1.0": {"err": round(float(np.mean(errs[1.0])), 3)},
        "items": len(ratios[RATIOS[0]]),
        "unscored": unscored,
    }


def emotion_clips(data: Path, items) -> dict[str, dict[str, Path]]:
    """Per reference speaker, per style: a full-strength clip of that style by another test
    speaker, of the other language where there is one (``emotion_ref``)."""
    from voxsmith.data.manifest import read_rows
    from voxsmith.data.styles import EMOTIONS

    rows = [r for r in read_rows(data) if r["split"] == "test" and r.get("style_strength", 1.0) >= 1.0]
    out: dict[str, dict[str, Path]] = {}
    for _, anchor, _ in items:
        spk, lang = anchor["speaker"], anchor["lang"]
        out[spk] = {}
        for emo in EMOTIONS:
            others = sorted(
                (r for r in rows if r["style"] == emo and r["speaker"] != spk),
                key=lambda r: (r["lang"] == lang, r["id"]),  # the other language first
            )
            if not others:
                raise SystemExit(f"emotion_ref: no full-strength {emo} clip by a speaker other than {spk}")
            out[spk][emo] = data / others[0]["path"]
    return out


def bench_emotion(
    model,
    items,
    sim,
    asr,
    corpus_shift: dict | None,
    seed: int,
    out_dir: Path,
    intensity: float = 1.0,
    clips: dict[str, dict[str, Path]] | None = None,
) -> dict:
    """The presets (or, with ``clips``, each style's clip as ``emotion_reference``) against neutral."""
    from voxsmith.audio import AudioProcessor
    from voxsmith.data.check import MEASURES, measure_clip, spoken_units
    from voxsmith.data.styles import EMOTIONS, recipe

    shifts: dict[str, list[dict[str, float]]] = defaultdict(list)
    sims: dict[str, list[float]] = defaultdict(list)
    errs: dict[str, list[float]] = defaultdict(list)
    for emb, anchor, t in _sentences(items, "emotion" if clips is None else "emotion_ref"):
        base = None
        for emo in ("neutral", *EMOTIONS):
            if clips is None:
                given = {"emotion": None if emo == "neutral" else emo, "intensity": intensity}
            else:
                given = {"emotion_reference": None if emo == "neutral" else clips[anchor["speaker"]][emo]}
            res = model.synthesize(t["text"], speaker_embedding=emb, seed=seed, **given)
            path = out_dir / f"{t['id']}.{emo}{'' if clips is None else '.ref'}.wav"
            AudioProcessor.save(res.audio, path)
            m = measure_clip(res.audio.samples, res.audio.sample_rate, spoken_units(t))
            sims[emo].append(sim.similarity(path, anchor["_abs"]))
            score = asr.score(path, t["lang"], t["normalized"])
            if score.error is not None:  # capped per item, as in builtin_quality
                errs[emo].append(min(1.0, score.error))
            if emo == "neutral":
                base = m
            else:
                shifts[emo].append({k: m[k] - base[k] for k in MEASURES})
    neutral_sim = float(np.mean(sims["neutral"]))
    neutral_err = float(np.mean(errs["neutral"]))
    out: dict = {
        "intensity": intensity if clips is None else None,
        "neutral_sim": round(neutral_sim, 3),
        "neutral_err": round(neutral_err, 3),
        "styles": {},
    }
    for emo in EMOTIONS:
        mean = {k: float(np.nanmean([d[k] for d in shifts[emo]])) for k in MEASURES}
        expected = recipe(emo, 1.0).expected()
        ref = (corpus_shift or {}).get(emo, {}).get("shift_by_strength", {}).get("1.0")
        moved = [k for k in MEASURES if expected[k] != 0]
        agrees = {k: bool(np.sign(mean[k]) == expected[k]) for k in moved}
        share = {k: round(mean[k] / ref[k], 2) for k in moved if ref and abs(ref[k]) > 1e-6}
        out["styles"][emo] = {
            "shift": {k: round(v, 3) for k, v in mean.items()},
            "corpus_shift": ref,
            "direction_agrees": agrees,
            "share_of_corpus": share,
            "sim": round(float(np.mean(sims[emo])), 3),
            "sim_vs_neutral": round(float(np.mean(sims[emo])) / neutral_sim, 3),
            "err": round(float(np.mean(errs[emo])), 3),
        }
    along_style(out["styles"])
    st = out["styles"].values()
    out["summary"] = {
        "direction_agrees": f"{sum(sum(s['direction_agrees'].values()) for s in st)}/"
        f"{sum(len(s['direction_agrees']) for s in st)}",
        "half_magnitude": f"{sum(sum(v >= 0.5 for v in s['share_of_corpus'].values()) for s in st)}/"
        f"{sum(len(s['share_of_corpus']) for s in st)}",
        "min_sim_vs_neutral": min(s["sim_vs_neutral"] for s in st),
        "max_err_minus_neutral": round(max(s["err"] for s in st) - neutral_err, 3),
    }
    if all("along_style" in s for s in st):
        out["summary"]["presets_half_along_style"] = (
            f"{sum(s['along_style']['share'] >= 0.5 for s in st)}/{len(st)}"
        )
        out["summary"]["min_share_along_style"] = min(s["along_style"]["share"] for s in st)
    return out


def along_style(styles: dict) -> None:
    """Add to each style its shift as a whole: ``share``, the projection of the measured shift on
    the corpus style's (each measure in units of the corpus styles' RMS shift on it, so no measure
    dominates by its units), as a share of the corpus's; ``cos``, the angle between the two.
    Nothing is added without corpus shifts."""
    names = [e for e, s in styles.items() if s.get("corpus_shift")]
    if not names:
        return
    keys = sorted(
        set.intersection(*(set(styles[e]["corpus_shift"]) & set(styles[e]["shift"]) for e in names))
    )
    corpus = np.array([[styles[e]["corpus_shift"][k] for k in keys] for e in names], dtype=np.float64)
    unit = np.sqrt(np.nanmean(corpus**2, axis=0))
    for i, e in enumerate(names):
        c = np.nan_to_num(corpus[i] / unit)
        m = np.nan_to_num(np.array([styles[e]["shift"][k] for k in keys], dtype=np.float64) / unit)
        styles[e]["along_style"] = {
            "share": round(float(m @ c / (c @ c)), 2),
            "cos": round(float(m @ c / (np.linalg.norm(m) * np.linalg.norm(c) + 1e-12)), 2),
        }


def bench_cache(model, items, seed: int) -> dict:
    from voxsmith.embeddings import SpeakerEmbedding

    same = 0
    trials = 0
    with tempfile.TemporaryDirectory() as tmp:
        for emb, _, targets in items:
            path = emb.save(Path(tmp) / "voice.safetensors")
            cached = SpeakerEmbedding.load(path)
            for t in targets[:2]:
                fresh = model.synthesize(t["text"], reference=emb.meta["source"], seed=seed)
                reused = model.synthesize(t["text"], speaker_embedding=cached, seed=seed)
                same += bool(np.array_equal(fresh.audio.samples, reused.audio.samples))
                trials += 1
    return {"trials": trials, "bit_identical": same / trials}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="corpus directory (held-out test speakers)")
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    ap.add_argument("--speakers", type=int, default=4)
    ap.add_argument("--sentences", type=int, default=3, help="texts per speaker")
    ap.add_argument("--token-trials", type=int, default=50)
    ap.add_argument("--corpus-shifts", type=Path, help="`voxsmith corpus check-styles --json` output")
    ap.add_argument("--only", default="tokens,duration,emotion,emotion_ref,cache")
    ap.add_argument("--intensity", type=float, default=1.0, help="preset intensity for `emotion` (0-2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("controls_out"))
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--timbre-match", type=float, help="share of the reference's spectral envelope on S2M's output (0-1)"
    )
    ap.add_argument(
        "--duration-token-share",
        type=float,
        help="share of a duration ratio taken in GPT tokens, the rest as S2M's stretch (0-1)",
    )
    ap.add_argument(
        "--duration-token-share-slow",
        type=float,
        help="the same for ratios above 1 (default: the model's, else --duration-token-share's)",
    )
    ap.add_argument(
        "--emotion-mix-cap",
        type=float,
        help="most emotion weight the GPT's emotion vector mixes in; intensity beyond it scales the prosody asks only",
    )
    ap.add_argument(
        "--voice-hold",
        type=float,
        help="most of a category's own pitch and tilt change any intensity asks (e.g. 1)",
    )
    args = ap.parse_args()

    from voxsmith.errors import CheckpointError
    from voxsmith.models.parts import override_settings
    from voxsmith.pipeline import IndexTTSModel

    parts = set(args.only.split(","))
    model = IndexTTSModel.from_pretrained(args.model, threads=args.threads)
    try:
        given = {
            "timbre_match": args.timbre_match,
            "duration_token_share": args.duration_token_share,
            "duration_token_share_slow": args.duration_token_share_slow,
            "emotion_mix_cap": args.emotion_mix_cap,
            "voice_hold": args.voice_hold,
        }
        override_settings(model.parts, given, "controls.py")
    except CheckpointError as e:
        raise SystemExit(str(e)) from None
    picked = pick(args.data, args.speakers, args.sentences, args.seed)
    items = []
    for ref, anchor, targets in picked:
        anchor["_abs"] = str(args.data / anchor["path"])
        items.append((model.speaker_encoder(args.data / ref["path"]), anchor, targets))
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "model": model.model_id,
        "timbre_match": model.parts.timbre_match,
        "duration_token_share": model.parts.duration_token_share,
        "duration_token_share_slow": model.parts.duration_token_share_slow,
        "emotion_mix_cap": model.parts.emotion_mix_cap,
        "voice_hold": model.parts.voice_hold,
        "speakers": [r["speaker"] for r, _, _ in picked],
    }
    if "tokens" in parts:
        result["tokens"] = bench_tokens(model, items, args.token_trials, args.seed)
        print(json.dumps({"tokens": result["tokens"]}), file=sys.stderr)
    if "cache" in parts:
        result["cache"] = bench_cache(model, items, args.seed)
        print(json.dumps({"cache": result["cache"]}), file=sys.stderr)
    if "duration" in parts:
        from voxsmith.eval.asr import AsrJudge

        result["duration"] = bench_duration(model, items, AsrJudge(), args.seed, args.out)
        print(json.dumps({"duration": result["duration"]}), file=sys.stderr)
    if parts & {"emotion", "emotion_ref"}:
        from voxsmith.eval.asr import AsrJudge
        from voxsmith.eval.sim import SpeakerJudge

        shifts = None
        if args.corpus_shifts:
            shifts = json.loads(args.corpus_shifts.read_text())
        else:
            from voxsmith.data.check import style_shifts

            shifts = style_shifts(args.data, max_per_style=30, seed=args.seed)
        judges = SpeakerJudge(), AsrJudge()
        for what in ("emotion", "emotion_ref"):
            if what not in parts:
                continue
            clips = emotion_clips(args.data, items) if what == "emotion_ref" else None
            result[what] = bench_emotion(
                model, items, *judges, shifts, args.seed, args.out, args.intensity, clips=clips
            )
            if clips is not None:
                result[what]["clips"] = {s: {e: str(p) for e, p in c.items()} for s, c in clips.items()}
            print(json.dumps({what: result[what]["summary"]}), file=sys.stderr)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
