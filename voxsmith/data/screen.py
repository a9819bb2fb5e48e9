"""``voxsmith corpus screen``: measure every engine voice and candidate speaker, keep the good ones.

1. Every voice of every engine reads the screening sentences (through WORLD, as in the
   corpus). The ASR judge (faster-whisper base) scores them: a voice above the error
   threshold (CER for zh, WER for en) is dropped, with its score recorded.
2. Candidate speakers are made from the surviving voices, in priority order: bilingual
   speakers (a Mandarin voice plus an English voice fitted to it, see speakers.py), the
   engine voices as they are, then three warped variants of each voice.
3. Each candidate is rendered, checked with the ASR judge again (a transform can hurt
   intelligibility), embedded with the speaker judge (resemblyzer), and accepted when its
   centroid's cosine to every speaker accepted before it is below the similarity threshold.

The result (``roster.json``) lists the kept speakers with their transforms and, for the
record, every measurement and every reason a voice or candidate was dropped. Measurements
are cached in the work directory, so re-deciding with other thresholds is instant.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voxsmith.data import world
from voxsmith.data.engines import ENGINE_NAMES, make_engine
from voxsmith.data.render import ClipRenderer, RenderConfig
from voxsmith.data.speakers import Roster, Speaker, SpeakerPart, slug, variants
from voxsmith.data.timbre import Timbre, match_timbre
from voxsmith.data.world import WorldFeatures
from voxsmith.fileio import atomic_write_text

log = logging.getLogger(__name__)

SCREEN_TEXTS = {
    "zh": (
        "今天早上我在公园里遇到了一位老朋友。",
        "这家饭馆的菜又便宜又好吃，我们经常来。",
        "请问去火车站应该坐几路公共汽车？",
    ),
    "en": (
        "My grandfather planted tomatoes behind the old red barn last spring.",
        "Could you tell me how to get to the nearest train station?",
        "She bought three loaves of fresh bread and a jar of honey.",
    ),
}


@dataclass(frozen=True)
class ScreenConfig:
    """Thresholds and sizes of the screening."""

    max_cer_zh: float = 0.15  # drop a Mandarin voice/speaker whose mean CER is above this
    max_wer_en: float = 0.20  # drop an English voice/speaker whose mean WER is above this
    max_sim: float = 0.86  # a candidate this similar (centroid cosine) to a kept speaker is dropped
    n_bilingual: int = 10  # bilingual speakers to construct
    warped: bool = True  # also try the warped variants of every voice
    asr_clips: int = 2  # screening sentences transcribed per transformed candidate (base voices: all 3)
    engines: tuple[str, ...] = ENGINE_NAMES  # engines to screen (missing ones are reported)


class Screener:
    """Holds the renderer, the judges and the measurement cache of one screening."""

    def __init__(self, work: Path, cfg: ScreenConfig):
        from voxsmith.eval.asr import AsrJudge
        from voxsmith.eval.sim import SpeakerJudge

        self.work, self.cfg = work, cfg
        self.renderer = ClipRenderer(RenderConfig())
        self.asr, self.sim = AsrJudge(), SpeakerJudge()
        self.cache_path = work / "screen_cache.json"
        self.cache: dict = json.loads(self.cache_path.read_text()) if self.cache_path.is_file() else {}
        self.base: dict[str, list[WorldFeatures]] = {}  # voice key -> features per screening text

    def _save_cache(self) -> None:
        atomic_write_text(self.cache_path, json.dumps(self.cache))

    def base_features(self, voice: str, lang: str) -> list[WorldFeatures]:
        if voice not in self.base:
            wcfg = self.renderer.cfg.world()
            self.base[voice] = [
                world.analyze(self.renderer.engine_audio(voice, t, lang), wcfg) for t in SCREEN_TEXTS[lang]
            ]
        return self.base[voice]

    def measure(
        self, key: str, voice: str, lang: str, timbre: Timbre, asr: bool = True, asr_clips: int | None = None
    ) -> dict:
        """ASR error, centroid embedding and median f0 of a voice under a timbre (cached)."""
        if key in self.cache:
            return self.cache[key]
        feats = [timbre.apply(f) for f in self.base_features(voice, lang)]
        clips = [self.renderer.finish(world.synthesize(f), 0.0) for f in feats]
        embs = np.stack([self.sim.embed(c) for c in clips])
        centroid = embs.mean(axis=0)
        centroid /= np.linalg.norm(centroid)
        errors = []
        if asr:  # two sentences are enough to catch a transform that ruins intelligibility
            for clip, text in list(zip(clips, SCREEN_TEXTS[lang], strict=True))[
                : asr_clips or self.cfg.asr_clips
            ]:
                errors.append(float(self.asr.score(clip, lang, text).error or 0.0))
        # leave-one-out: each clip against the centroid of the voice's other clips
        loo = [
            float(embs[i] @ (c := embs[np.arange(len(embs)) != i].mean(axis=0)) / np.linalg.norm(c))
            for i in range(len(embs))
        ]
        self_sim = float(np.mean(loo))
        m = {
            "voice": voice,
            "lang": lang,
            "error": float(np.mean(errors)) if errors else None,
            "f0": round(float(np.median(np.concatenate([f.f0[f.voiced] for f in feats]))), 1),
            "self_sim": round(self_sim, 4),
            "centroid": [round(float(x), 5) for x in centroid],
        }
        self.cache[key] = m
        self._save_cache()
        return m

    def limit(self, lang: str) -> float:
        return self.cfg.max_cer_zh if lang == "zh" else self.cfg.max_wer_en


def distinct_voices(voices: dict[str, dict], lang: str, max_sim: float) -> list[str]:
    """Voices of ``lang``, best ASR first, greedily kept when unlike every voice kept before."""
    order = sorted((v for v, m in voices.items() if m["lang"] == lang), key=lambda v: (voices[v]["error"], v))
    kept: list[str] = []
    for v in order:
        if all(float(np.dot(voices[v]["centroid"], voices[k]["centroid"])) <= max_sim for k in kept):
            kept.append(v)
    return kept


def _candidates(scr: Screener, kept: dict[str, dict]) -> list[tuple[Speaker, str]]:
    """(speaker, how it was made) in priority order.

    Bilingual speakers are built on Mandarin voices that are distinct from each other, so
    that they are not dropped as duplicates later; each gets the English voice nearest in
    register among the least used ones (espeak is left out: too robotic to stand for a person).
    """
    zh_distinct = distinct_voices(kept, "zh", scr.cfg.max_sim)
    en = sorted(v for v, m in kept.items() if m["lang"] == "en" and not v.startswith("espeak:"))
    out: list[tuple[Speaker, str]] = []
    paired: set[str] = set()
    uses = dict.fromkeys(en, 0)
    for zv in zh_distinct[: scr.cfg.n_bilingual] if en else []:
        zf0 = kept[zv]["f0"]
        ev = min(en, key=lambda e: (uses[e], abs(np.log(kept[e]["f0"] / zf0))))
        uses[ev] += 1
        fit = match_timbre(scr.base_features(ev, "en"), scr.base_features(zv, "zh"))
        sid = f"bi-{slug(zv)}-{slug(ev)}"
        parts = (("zh", SpeakerPart(zv)), ("en", SpeakerPart(ev, fit)))
        out.append((Speaker(sid, "bilingual", parts), f"{zv} + {ev} fitted to it"))
        paired.add(zv)
    rest = [v for v in zh_distinct if v not in paired] + sorted(v for v in kept if v not in zh_distinct)
    for v in rest:
        if v not in paired:
            m = kept[v]
            out.append((Speaker(f"{m['lang']}-{slug(v)}", "engine", ((m["lang"], SpeakerPart(v)),)), v))
    if scr.cfg.warped:
        for v, m in sorted(kept.items()):
            for suffix, timbre in variants(v, m["f0"]):
                sid = f"{m['lang']}-{slug(v)}-{suffix}"
                out.append(
                    (Speaker(sid, "warped", ((m["lang"], SpeakerPart(v, timbre)),)), f"{v} warp {suffix}")
                )
    return out


def screen(work: Path, cfg: ScreenConfig = ScreenConfig()) -> Roster:
    """Run the screening; returns the roster (with all measurements in ``info``)."""
    work.mkdir(parents=True, exist_ok=True)
    scr = Screener(work, cfg)
    t0 = time.perf_counter()
    voices: dict[str, dict] = {}
    missing = {}
    for name in cfg.engines:
        engine = make_engine(name)
        if not engine.available():
            missing[name] = engine.install
            continue
        for v in engine.voices():
            for lang in v.langs:
                log.info("screening voice %s (%s)", v.key, lang)
                m = scr.measure(f"base|{v.key}|{lang}", v.key, lang, Timbre(), asr_clips=3)
                ok = m["error"] is not None and m["error"] <= scr.limit(lang)
                voices[v.key] = {**m, "ok": ok}
                if not ok:
                    voices[v.key]["reason"] = f"ASR error {m['error']:.3f} > {scr.limit(lang)}"
    kept_voices = {k: m for k, m in voices.items() if m["ok"]}
    accepted: list[tuple[Speaker, dict]] = []
    decisions = []
    for spk, how in _candidates(scr, kept_voices):
        parts = {}
        for lang, part in spk.parts:
            key = f"{spk.id}|{lang}|{json.dumps(part.timbre.to_dict(), sort_keys=True)}"
            parts[lang] = scr.measure(key, part.voice, lang, part.timbre, asr=not part.timbre.is_identity())
            if part.timbre.is_identity():
                parts[lang]["error"] = voices[part.voice]["error"]
        entry = {"id": spk.id, "kind": spk.kind, "made_from": how}
        entry["asr_error"] = {lg: round(m["error"], 4) for lg, m in parts.items()}
        bad = [lg for lg, m in parts.items() if m["error"] > scr.limit(lg)]
        near_id, near = None, -1.0
        for other, om in accepted:
            for m in parts.values():
                for oml in om.values():
                    s = float(np.dot(m["centroid"], oml["centroid"]))
                    if s > near:
                        near_id, near = other.id, s
        entry["nearest"], entry["nearest_sim"] = near_id, round(near, 4)
        if len(parts) == 2:
            entry["cross_lang_sim"] = round(
                float(np.dot(parts["zh"]["centroid"], parts["en"]["centroid"])), 4
            )
        if bad:
            entry["kept"], entry["reason"] = False, f"ASR error too high in {', '.join(bad)}"
        elif near > cfg.max_sim:
            entry["kept"], entry["reason"] = False, f"too similar to {near_id} ({near:.3f} > {cfg.max_sim})"
        else:
            entry["kept"] = True
            accepted.append((spk, parts))
        entry["f0"] = {lg: m["f0"] for lg, m in parts.items()}
        decisions.append(entry)
        log.info("%s: %s", spk.id, "kept" if entry["kept"] else entry["reason"])
    self_sims = [m["self_sim"] for _, pm in accepted for m in pm.values()]
    info = {
        "about": "made by `voxsmith corpus screen`; see voxsmith/data/screen.py",
        "thresholds": asdict(cfg) | {"engines": list(cfg.engines)},
        "judges": {"asr": "faster-whisper base (voxsmith.eval)", "sim": "resemblyzer GE2E centroid cosine"},
        "missing_engines": missing,
        "voices": {k: {kk: vv for kk, vv in m.items() if kk != "centroid"} for k, m in voices.items()},
        "candidates": decisions,
        "same_speaker_sim_mean": round(float(np.mean(self_sims)), 4) if self_sims else None,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return Roster([s for s, _ in accepted], info)
