"""Reading-swap clips for the checker: corpus sentences read with other readings on purpose.

In the corpus every polyphone is read the way its context dictates (银行 always hang2), so
a recogniser can learn to hear the context instead of the sound: on held-out voices it
heard 数字 as shu4 zi4 when the clip said shu3. Swap clips break that link: train-split
sentences, read by their own (train) speakers, with each polyphone given another of its
readings with probability ``p_poly`` and other syllables another tone with probability
``p_tone``. The labels are the readings actually rendered, and the row's text carries them
as ``‹字|pin1›`` annotations, so the text frontend (and the calibration) reads them too.
The same clips can be read by other speakers instead (``readers``): ``extra_readers`` gives
the screened Mandarin voices the corpus left out, so the recogniser hears more voices.

Rendering: ttskit reading toned pinyin (its ``pinyin`` text cleaner, with the third-tone
sandhi its character path applies), then the speaker's WORLD timbre, as the corpus
renders a neutral clip. Needs the ttskit engine (see ``voxsmith.data.ttskit_engine``).
The set is written as a small corpus (``manifest.jsonl`` + ``wavs/``) and grows
resumably: clips already written are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from voxsmith.audio import Audio, AudioProcessor, resample
from voxsmith.check.expected import tone_variants
from voxsmith.data import world
from voxsmith.data.engines import decode_wav_bytes
from voxsmith.data.render import ClipRenderer, RenderConfig
from voxsmith.data.speakers import Roster, Speaker, SpeakerPart, slug, variants, voice_group
from voxsmith.errors import DataError, EngineError
from voxsmith.text.chars import PUNCT_CLASS, is_cjk
from voxsmith.text.g2p_zh import polyphone_alternatives
from voxsmith.train.data import read_manifest

log = logging.getLogger(__name__)

SR = 22050
MAX_S_PER_SYL = 0.7  # longer than this per syllable: a failed attention, retry with another seed
RETRIES = 4


def third_tone_sandhi(syllables: list[str]) -> list[str]:
    """3-3 -> 2-3, as ttskit's character path does (phkit ``change_diao``): from the end of the
    clause, a third tone before an unchanged third tone becomes a second tone."""
    out = list(syllables)
    unchanged_next = False
    for i in range(len(out) - 1, -1, -1):
        if out[i].endswith("3") and unchanged_next:
            out[i] = out[i][:-1] + "2"
            unchanged_next = False
        else:
            unchanged_next = out[i].endswith("3")
    return out


def surface_readings(sentence: str, readings: list[str]) -> list[str]:
    """Lexical readings of a sentence's characters with 一/不 in their spoken tone (ttskit's G2P)."""
    from phkit.chinese import text2pinyin

    per_char = text2pinyin(sentence, errors=lambda x: [None for _ in x])  # one entry per character
    auto = [p for p, ch in zip(per_char, sentence, strict=True) if is_cjk(ch)]
    chars = [ch for ch in sentence if is_cjk(ch)]
    return [a if ch in "一不" and a else r for ch, r, a in zip(chars, readings, auto, strict=True)]


def clauses_of(sentence: str, readings: list[str]) -> list[list[str]]:
    """Group the readings of a sentence's Chinese characters into clauses at its punctuation."""
    out: list[list[str]] = [[]]
    k = 0
    for ch in sentence:
        if is_cjk(ch):
            out[-1].append(readings[k])
            k += 1
        elif ch in PUNCT_CLASS and out[-1]:
            out.append([])
    if k != len(readings):
        raise DataError(f"{sentence!r}: {k} characters for {len(readings)} readings")
    return [c for c in out if c]


class PinyinTtskit:
    """ttskit's multi-speaker Mellotron fed toned pinyin (one model per process)."""

    def __init__(self) -> None:
        from voxsmith.data.ttskit_engine import TtskitEngine

        self._engine = TtskitEngine()
        self._sdk = None

    def sdk(self):
        if self._sdk is None:
            self._engine.require()
            sdk = self._engine._load()  # the engine's shims and its quiet loading
            sdk._dataloader.text_cleaners = "pinyin"  # read "yin2 hang2 ." instead of characters
            self._sdk = sdk
        return self._sdk

    def clause(self, syllables: list[str], voice: str, seed: int) -> np.ndarray:
        """(N,) float32 at 22050 Hz of one clause of toned syllables."""
        import torch

        sdk = self.sdk()
        text = " ".join(third_tone_sandhi(syllables)) + " ."
        digest = hashlib.sha1(f"{voice}|{text}|{seed}".encode()).digest()
        for attempt in range(RETRIES):
            torch.manual_seed(int.from_bytes(digest[:4], "little") + attempt)  # prenet dropout stays on
            audio = decode_wav_bytes(sdk.tts_sdk_base(text, speaker=voice, audio="1"))
            if 0.06 * len(syllables) < audio.seconds <= MAX_S_PER_SYL * len(syllables) + 0.8:
                x = resample(audio.samples, audio.sample_rate, SR)
                return AudioProcessor.trim_silence(x, SR, top_db=40.0, pad_ms=30.0)
        raise EngineError(f"ttskit {voice}: attention failed {RETRIES} times on {text!r}")

    def read(self, clauses: list[list[str]], voice: str, seed: int = 0) -> np.ndarray:
        """Clauses joined with 0.15 s pauses."""
        parts: list[np.ndarray] = []
        for i, syl in enumerate(clauses):
            if i:
                parts.append(np.zeros(int(0.15 * SR), dtype=np.float32))
            parts.append(self.clause(syl, voice, seed))
        return np.concatenate(parts).astype(np.float32)


class PinyinSpeaker:
    """A corpus speaker reading pinyin: ttskit voice -> WORLD timbre -> levelled clip."""

    def __init__(self, speaker: Speaker, tts: PinyinTtskit) -> None:
        self.speaker = speaker
        self.tts = tts
        self.renderer = ClipRenderer(RenderConfig())  # harvest f0, as the corpus: tones survive WORLD

    def render(self, clauses: list[list[str]], seed: int = 0) -> Audio:
        part = self.speaker.part("zh")
        x = self.tts.read(clauses, part.voice.split(":", 1)[1], seed)
        x = AudioProcessor.normalize_loudness(x, self.renderer.cfg.loudness_dbfs)
        feat = part.timbre.apply(world.analyze(x, self.renderer.cfg.world()))
        return self.renderer.finish(world.synthesize(feat), 0.0)


def corpus_speakers(corpus: Path) -> dict[str, Speaker]:
    path = corpus / "speakers.json"
    if not path.is_file():
        raise DataError(f"{path}: not found (the corpus build writes it)")
    d = json.loads(path.read_text(encoding="utf-8"))
    return {s["id"]: Speaker.from_dict(s) for s in d["speakers"]}


def extra_readers(corpus: str | os.PathLike, roster: Roster | None = None) -> list[Speaker]:
    """Mandarin engine voices that passed the screening but that no corpus speaker uses, each
    as itself and as its three warped variants (``speakers.variants``).

    The screening kept only mutually distinct speakers for the corpus, which left several
    intelligible ttskit voices out; the checker's recogniser generalises to new voices
    better the more it hears, and none of these is behind a test speaker (those are corpus
    speakers), so they are fair training material.
    """
    roster = roster or Roster.load()
    used = {g for s in corpus_speakers(Path(corpus)).values() for g in s.groups}
    out: list[Speaker] = []
    for key, v in sorted((roster.info.get("voices") or {}).items()):
        if not (v.get("ok") and v.get("lang") == "zh" and key.startswith("ttskit:")):
            continue
        if voice_group(key) in used:
            continue
        base = f"xv-{slug(key)}"
        out.append(Speaker(base, "extra", (("zh", SpeakerPart(key)),)))
        for suffix, timbre in variants(key, float(v.get("f0") or 200.0)):
            out.append(Speaker(f"{base}-{suffix}", "extra", (("zh", SpeakerPart(key, timbre)),)))
    return out


def swap_readings(
    chars: list[str], readings: list[str], rng: np.random.Generator, p_poly: float, p_tone: float
) -> list[str]:
    """Readings with some polyphones read another way and some syllables in another tone."""
    from phkit.chinese import pinyin2ph_dict  # ttskit can say only these toned syllables

    out = list(readings)
    for k, (ch, r) in enumerate(zip(chars, readings, strict=True)):
        alts = [a for a in polyphone_alternatives(ch) if a != r and a in pinyin2ph_dict]
        if alts and rng.random() < p_poly:
            out[k] = str(rng.choice(alts))
        elif rng.random() < p_tone:
            tones = [t for t in tone_variants(r) if t in pinyin2ph_dict and not t.endswith("5")]
            if tones:
                out[k] = str(rng.choice(tones))
    return out


def annotate(sentence: str, readings: list[str], changed: set[int]) -> str:
    """``sentence`` with the characters at ``changed`` (indices among its Chinese characters)
    written as ``‹字|pin1›``."""
    out, k = [], 0
    for ch in sentence:
        if is_cjk(ch):
            out.append(f"‹{ch}|{readings[k]}›" if k in changed else ch)
            k += 1
        else:
            out.append(ch)
    return "".join(out)


def build_swap_set(
    corpus: str | os.PathLike,
    out: str | os.PathLike,
    minutes: float = 15.0,
    *,
    seed: int = 0,
    p_poly: float = 0.5,
    p_tone: float = 0.08,
    readers: list[Speaker] | None = None,
) -> Path:
    """Render reading-swap clips of the corpus's train split into ``out`` until ``minutes``.

    ``readers``: speakers to read the sentences instead of the corpus's own (one drawn per
    sentence, e.g. ``extra_readers``); their clips are named ``voice-...``.
    """
    corpus, out = Path(corpus), Path(out)
    speakers = corpus_speakers(corpus)
    rows = [
        r
        for r in read_manifest(corpus)
        if r.get("split") == "train"
        and r.get("lang") == "zh"
        and r.get("syllables")
        and all(is_cjk(c) or c in PUNCT_CLASS for c in r["normalized"])
        and r.get("speaker") in speakers
    ]
    if not rows:
        raise DataError(f"{corpus}: no all-Chinese train clips to build reading swaps from")
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    done = (
        {
            json.loads(x)["id"]: json.loads(x)
            for x in manifest.read_text(encoding="utf-8").splitlines()
            if x.strip()
        }
        if manifest.is_file()
        else {}
    )
    total = sum(r["duration_s"] for r in done.values())
    tts = PinyinTtskit()
    voices: dict[str, PinyinSpeaker] = {}
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    with open(manifest, "a", encoding="utf-8") as fh:
        for n in order:
            if total >= minutes * 60:
                break
            row = rows[int(n)]
            reader = (
                readers[int(np.random.default_rng([seed, int(n), 1]).integers(len(readers)))]
                if readers
                else speakers[row["speaker"]]
            )
            cid = f"{'voice' if readers else 'swap'}-{row['id']}"
            rng_row = np.random.default_rng([seed, int(n)])  # a clip's readings do not depend on the order
            if cid in done:
                continue
            sentence, readings = row["normalized"], list(row["syllables"])
            chars = [c for c in sentence if is_cjk(c)]
            if len(chars) != len(readings):
                continue
            new = swap_readings(chars, readings, rng_row, p_poly, p_tone)
            changed = {k for k, (a, b) in enumerate(zip(readings, new, strict=True)) if a != b}
            spoken = [
                r if k in changed else s
                for k, (r, s) in enumerate(zip(new, surface_readings(sentence, readings), strict=True))
            ]
            spk = voices.setdefault(reader.id, PinyinSpeaker(reader, tts))
            try:
                audio = spk.render(clauses_of(sentence, spoken), seed=int(n))
            except EngineError as exc:
                log.warning("swap clip %s skipped: %s", cid, exc)
                continue
            rel = f"wavs/{cid}.wav"
            AudioProcessor.save(audio, out / rel)
            text = annotate(sentence, new, changed)
            rec = {
                "id": cid,
                "path": rel,
                "text": text,
                "normalized": text,
                "syllables": new,
                "phones": [],
                "units": new,
                "lang": "zh",
                "speaker": reader.id,
                "engine": "ttskit-pinyin",
                "voice": reader.part("zh").voice if readers else row.get("voice", ""),
                "style": "neutral",
                "style_strength": 0.0,
                "emotion": [0.0] * 8,
                "duration_s": round(audio.seconds, 3),
                "split": "train",
                "swapped": sorted(changed),
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fh.flush()
            total += audio.seconds
            log.info(
                "swap %s: %d of %d readings changed, %.1f / %.0f min",
                cid,
                len(changed),
                len(new),
                total / 60,
                minutes,
            )
    return out
