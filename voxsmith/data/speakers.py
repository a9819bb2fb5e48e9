"""The speaker roster: engine voice + WORLD timbre transform = one speaker id.

Three kinds of speaker:

- ``engine``: an engine voice as it is (still resynthesised by WORLD, like every clip);
- ``warped``: an engine voice with a timbre transform (formant warp, f0 scale, liveliness,
  tilt, breathiness, tempo) that makes a new voice;
- ``bilingual``: one speaker id with a Mandarin part and an English part. No engine here
  reads both languages intelligibly (espeak-ng's Mandarin is not understood by Whisper, and
  ttskit spells English words), so a bilingual speaker is *constructed*: Mandarin from a
  ttskit voice, English from an English engine voice whose WORLD transform is fitted to the
  Mandarin voice's f0 median and long-term spectral envelope (``timbre.match_timbre``).
  The two halves share pitch and average colour, not every trait of a real person; the
  screening records the speaker judge's similarity between them. Code-switched sentences
  are read by joining the two halves stretch by stretch.

Voices of the same recorded person in two engines (flite ``slt`` and festival's slt HTS;
flite ``kal16`` and festival's kal diphone) form one *group*; held-out (test) speakers are
chosen by group, so no voice of a test speaker is heard in training, warped or not.

The roster used by the builder comes from ``voxsmith corpus screen`` (``roster.json`` next
to this module): which voices were dropped (ASR threshold) and which speakers were kept
(speaker-similarity threshold), with the measurements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from voxsmith.data.timbre import EQ_LIMIT_DB, EQ_POINTS_HZ, Timbre
from voxsmith.errors import DataError
from voxsmith.fileio import atomic_write_text

ROSTER_FILE = "roster.json"
# Engine voices that are recordings of the same person.
SAME_PERSON = {
    "festival:cmu_us_slt_arctic_hts": "flite:slt",
    "festival:kal_diphone": "flite:kal16",
}


@dataclass(frozen=True)
class SpeakerPart:
    """What one speaker sounds like in one language."""

    voice: str  # engine voice key, "engine:name"
    timbre: Timbre = field(default_factory=Timbre)

    @property
    def engine(self) -> str:
        return self.voice.split(":", 1)[0]


@dataclass(frozen=True)
class Speaker:
    """A corpus speaker: an id and one part per language it speaks."""

    id: str
    kind: str  # "engine", "warped" or "bilingual"
    parts: tuple[tuple[str, SpeakerPart], ...]  # ((lang, part), ...)

    @property
    def langs(self) -> tuple[str, ...]:
        return tuple(lang for lang, _ in self.parts)

    def part(self, lang: str) -> SpeakerPart:
        for lg, p in self.parts:
            if lg == lang:
                return p
        raise DataError(f"speaker {self.id} does not speak {lang!r} (speaks {', '.join(self.langs)})")

    @property
    def groups(self) -> set[str]:
        """Recorded persons behind this speaker (see ``voice_group``)."""
        return {voice_group(p.voice) for _, p in self.parts}

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "parts": {lg: {"voice": p.voice, "timbre": p.timbre.to_dict()} for lg, p in self.parts},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Speaker:
        try:
            parts = tuple(
                (lg, SpeakerPart(p["voice"], Timbre.from_dict(p.get("timbre", {}))))
                for lg, p in d["parts"].items()
            )
            return cls(d["id"], d.get("kind", "engine"), parts)
        except (KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"malformed speaker entry {d!r}: {exc}") from exc


def voice_group(voice: str) -> str:
    """The recorded person behind an engine voice (same-person voices share a group)."""
    return SAME_PERSON.get(voice, voice)


def slug(voice: str) -> str:
    """Short id part of a voice key: ``ttskit:Aiyue`` -> ``aiyue``, ``espeak:en-us+f3`` -> ``enusf3``."""
    name = voice.split(":", 1)[1]
    return "".join(ch for ch in name.lower() if ch.isalnum())[:14]


def variants(voice: str, median_f0: float) -> list[tuple[str, Timbre]]:
    """Warped speakers made from one engine voice: (suffix, timbre).

    ``x``: the other register: a high voice is taken down to about 120 Hz with formants
    lowered (a larger vocal tract), a low voice up to about 230 Hz with formants raised;
    ``y``: a livelier, slightly smaller and faster voice; ``z``: a darker, calmer, slightly
    larger and slower voice. ``median_f0`` (Hz, measured) decides the register.
    """
    if median_f0 >= 165.0:
        scale = float(np.clip(120.0 / median_f0, 0.35, 0.75))
        cross = Timbre(warp=0.1, f0_scale=round(scale, 3), tilt_db=-1.0, tempo=0.97)
    else:
        scale = float(np.clip(230.0 / max(median_f0, 60.0), 1.3, 2.3))
        cross = Timbre(warp=-0.09, f0_scale=round(scale, 3), f0_range=1.1, tilt_db=0.5, tempo=1.03)
    return [
        ("x", cross),
        ("y", Timbre(warp=-0.05, f0_scale=1.12, f0_range=1.25, tilt_db=0.5, tempo=1.06)),
        ("z", Timbre(warp=0.06, f0_scale=0.88, f0_range=0.8, tilt_db=-1.5, breath=0.1, tempo=0.94)),
    ]


# Ranges of the random voices of ``random_timbre`` (more voices for the conditioners).
RANDOM_WARP = 0.13  # all-pass factor drawn in [-W, W]
RANDOM_F0_HZ = (85.0, 300.0)  # target median pitch, drawn log-uniformly near what the warp implies
RANDOM_EQ_DB = 4.0  # standard deviation of the smooth equaliser curve, before clipping


def random_timbre(rng: np.random.Generator, median_f0: float) -> Timbre:
    """A random new voice from an engine voice whose median pitch is ``median_f0`` Hz.

    A larger vocal tract (formants down, ``warp`` > 0) goes with a lower voice, as in people:
    the target pitch is drawn around the voice's own, moved by the warp, then kept inside
    ``RANDOM_F0_HZ``. A smooth random equaliser curve (the colour a speaker judge hears
    beyond formants and pitch), tilt, breathiness, liveliness and rate vary on top.
    """
    warp = float(rng.uniform(-RANDOM_WARP, RANDOM_WARP))
    f0 = max(median_f0, 60.0)
    target = f0 * 2.0 ** (-warp * 6.0 + float(rng.normal(0.0, 0.35)))
    target = float(np.clip(target, *RANDOM_F0_HZ))
    # a smooth curve: white noise over the EQ points, averaged with its neighbours
    raw = rng.normal(0.0, RANDOM_EQ_DB, len(EQ_POINTS_HZ) + 2)
    eq = np.clip(np.convolve(raw, np.ones(3) / 3.0 * np.sqrt(3.0), mode="valid"), -EQ_LIMIT_DB, EQ_LIMIT_DB)
    return Timbre(
        warp=round(warp, 3),
        f0_scale=round(float(np.clip(target / f0, 0.35, 2.5)), 3),
        f0_range=round(float(rng.uniform(0.75, 1.3)), 3),
        tilt_db=round(float(rng.uniform(-2.5, 1.5)), 2),
        breath=round(float(rng.uniform(-0.1, 0.2)), 3),
        tempo=round(float(rng.uniform(0.93, 1.07)), 3),
        eq_db=tuple(round(float(g), 2) for g in eq),
    )


EXTRA_SOURCES = ("train", "unused", "both")


def extra_voices(
    speakers: list[Speaker],
    splits: dict[str, str],
    voice_f0: dict[str, float],
    per_voice: int,
    seed: int,
    screened: dict[str, str] | None = None,
    source: str = "train",
) -> list[Speaker]:
    """``per_voice`` random warped speakers (``random_timbre``) for every engine voice that only
    training speakers use (``splits``: speaker id -> split of the base corpus), or (``source``
    "unused") for every voice of ``screened`` (voice -> lang: the voices the screening passed)
    that no roster speaker reads: new recorded persons, the widest new voices; or "both".

    A voice any held-out or excluded speaker uses is never taken, nor any voice of its
    recorded person (``voice_group``), so the held-out voices stay unheard. Ids are
    ``<lang>-<voice slug>-r<k>`` (``-s<seed>r<k>`` for a seed other than 0, so batches drawn with
    other seeds can be merged beside each other); the same arguments give the same speakers.
    """
    if per_voice < 1:
        raise DataError(f"per_voice must be at least 1, got {per_voice}")
    if source not in EXTRA_SOURCES:
        raise DataError(f"unknown voice source {source!r} (use one of {', '.join(EXTRA_SOURCES)})")
    from voxsmith.data.plan import stable_int  # plan imports this module

    banned = held_out_groups(speakers, splits)
    voices: dict[str, str] = {}  # voice -> lang
    if source != "unused":
        for s in speakers:
            if splits.get(s.id) == "train":
                for lang, p in s.parts:
                    if voice_group(p.voice) not in banned:
                        voices.setdefault(p.voice, lang)
    if source != "train":
        read = {p.voice for s in speakers for _, p in s.parts}
        for voice, lang in (screened or {}).items():
            if voice not in read and voice_group(voice) not in banned:
                voices.setdefault(voice, lang)
    if not voices:
        what = "used only by training speakers" if source == "train" else "left unused by the roster"
        raise DataError(f"no engine voice is {what}")
    out = []
    for voice in sorted(voices):
        if voice not in voice_f0:
            raise DataError(f"no median f0 measured for {voice} (the roster's screening records it)")
        rng = np.random.default_rng([seed, stable_int(voice)])
        for k in range(per_voice):
            timbre = random_timbre(rng, voice_f0[voice])
            lang = voices[voice]
            tag = f"r{k}" if seed == 0 else f"s{seed}r{k}"  # other seeds: other voices, other ids
            out.append(
                Speaker(f"{lang}-{slug(voice)}-{tag}", "warped", ((lang, SpeakerPart(voice, timbre)),))
            )
    return out


def held_out_groups(speakers: list[Speaker], splits: dict[str, str]) -> set[str]:
    """Recorded persons (``voice_group``) of every speaker ``splits`` does not mark "train"."""
    return {voice_group(p.voice) for s in speakers if splits.get(s.id) != "train" for _, p in s.parts}


@dataclass
class Roster:
    """The speakers of a corpus and how they were chosen."""

    speakers: list[Speaker]
    info: dict = field(default_factory=dict)  # screening measurements and decisions

    def by_id(self) -> dict[str, Speaker]:
        return {s.id: s for s in self.speakers}

    def for_lang(self, lang: str) -> list[Speaker]:
        return [s for s in self.speakers if lang in s.langs]

    def to_dict(self) -> dict:
        return {**self.info, "speakers": [s.to_dict() for s in self.speakers]}

    def save(self, path: str | Path) -> Path:
        return atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path | None = None) -> Roster:
        """The roster at ``path``, or the packaged screening result."""
        if path is None:
            ref = resources.files("voxsmith.data").joinpath(ROSTER_FILE)
            if not ref.is_file():
                raise DataError(
                    f"no packaged {ROSTER_FILE}: run `voxsmith corpus screen` first, or pass --roster"
                )
            text, where = ref.read_text(encoding="utf-8"), f"voxsmith/data/{ROSTER_FILE}"
        else:
            p = Path(path)
            if not p.is_file():
                raise DataError(f"{p}: roster file not found")
            text, where = p.read_text(encoding="utf-8"), str(p)
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc})") from exc
        speakers = [Speaker.from_dict(s) for s in d.get("speakers", [])]
        if not speakers:
            raise DataError(f"{where}: roster has no speakers")
        ids = [s.id for s in speakers]
        if len(set(ids)) != len(ids):
            raise DataError(f"{where}: duplicate speaker ids")
        info = {k: v for k, v in d.items() if k != "speakers"}
        return cls(speakers, info)


def choose_test_groups(roster: Roster, seed: int, held_out: dict[str, int] | None = None) -> set[str]:
    """Voice groups held out for the test split: ``held_out[lang]`` persons per language
    (default 3 Mandarin, 2 English; a language the roster lacks is skipped).

    One bilingual speaker (when there is one) is held out with both of its voices, so that
    cross-lingual cloning can be tested; the other groups are drawn with a seeded generator
    among those that split no other speaker between train and test.
    Piper's voice, the only neural English one, stays in training.
    """
    rng = np.random.default_rng([seed, 7])
    held: set[str] = set()
    bilingual = [s for s in roster.speakers if s.kind == "bilingual"]
    if bilingual:
        pick = bilingual[int(rng.integers(len(bilingual)))]
        if "piper:joe" not in pick.groups:
            held |= pick.groups
    for lang, n in (held_out or {"zh": 3, "en": 2}).items():
        if not roster.for_lang(lang):
            continue
        groups = sorted({voice_group(s.part(lang).voice) for s in roster.for_lang(lang)} - {"piper:joe"})
        free = [g for g in groups if g not in held]
        need = n - (len(groups) - len(free))
        if need > 0 and len(free) <= need:
            raise DataError(
                f"roster has {len(groups)} {lang} voices; cannot hold {n} out and train on the rest"
            )
        for _ in range(max(0, need)):
            # Prefer voices whose holding-out leaves no speaker half in train, half in test.
            cost = [_excluded(roster, held | {g}) for g in free]
            best = [g for g, c in zip(free, cost, strict=True) if c == min(cost)]
            pick = best[int(rng.integers(len(best)))]
            held.add(pick)
            free.remove(pick)
    return held


def _excluded(roster: Roster, held: set[str]) -> int:
    """Speakers that would mix held-out and training voices."""
    return sum(1 for s in roster.speakers if s.groups & held and not s.groups <= held)


def split_speakers(roster: Roster, seed: int, held_out: dict[str, int] | None = None) -> dict[str, str]:
    """speaker id -> "train", "test", or "excluded".

    A speaker all of whose voices are held out is a test speaker; one with none is a
    training speaker; a speaker mixing both (a bilingual pair across the line) is left out,
    so that no voice heard in training is in the test set.
    """
    held = choose_test_groups(roster, seed, held_out)
    out = {}
    for s in roster.speakers:
        inside = s.groups & held
        out[s.id] = "test" if inside == s.groups else "train" if not inside else "excluded"
    return out
