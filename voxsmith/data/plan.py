"""The job list of a corpus build: which speaker says which sentence in which style, and split.

Everything here is a pure function of the seed, the roster, the languages and the minutes, so
a rerun plans exactly the same clips (resume), and a larger ``--minutes`` plans a superset.

Splits:

- ``test``: speakers whose voices are all held out (``speakers.split_speakers``), reading
  test sentences; none of their voices is heard in ``train``;
- ``valid``: training speakers reading validation sentences that no ``train`` clip has;
- ``train``: training speakers reading training sentences.

Styles: each speaker's stream starts with ``parallel_sets`` sentences read in all 9 styles
(neutral + the 8 emotions, each at a random graded strength), so emotion can be learned
apart from timbre and text; after that each clip is neutral with probability
``neutral_weight``, otherwise one emotion at a strength from ``styles.STRENGTHS``.
Streams are interleaved by their share of the budget, so a build stopped halfway is still
balanced over languages, splits and speakers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from voxsmith.data.speakers import Roster, Speaker, split_speakers
from voxsmith.data.styles import EMOTIONS, STRENGTHS
from voxsmith.errors import ConfigError, DataError

SPLITS = ("train", "valid", "test")
# Rough speaking time used only to plan the budget (real durations go in the manifest).
EST_S_PER_UNIT = {"zh": 0.235, "en": 0.074}  # per syllable (zh) / per phone (en)
EST_S_PER_PAUSE = 0.22
EST_PAD_S = 0.24  # silence kept around each clip


@dataclass(frozen=True)
class PlanConfig:
    """How much of what to build."""

    minutes: float = 90.0  # total audio, split evenly over the languages
    langs: tuple[str, ...] = ("zh", "en")  # languages to build
    seed: int = 0  # decides sentences, held-out voices, styles, order
    test_share: float = 0.10  # of each language's minutes, for held-out speakers
    valid_share: float = 0.05  # of each language's minutes, training speakers on unseen sentences
    valid_sentences: int = 150  # per language, never in train
    test_sentences: int = 200  # per language, read by test speakers
    neutral_weight: float = 0.5  # chance that an ordinary clip is neutral
    parallel_sets: int = 1  # sentences per speaker read in all 9 styles
    test_voices_zh: int = 3  # Mandarin voices (recorded persons) held out for the test split
    test_voices_en: int = 2  # English voices held out for the test split
    train_only: bool = False  # every speaker trains (a roster of extra voices beside a corpus)

    def held_out(self) -> dict[str, int]:
        return {"zh": self.test_voices_zh, "en": self.test_voices_en}

    def splits(self, roster: Roster) -> dict[str, str]:
        """speaker id -> split: all "train" with ``train_only``, else ``split_speakers``."""
        if self.train_only:
            return {s.id: "train" for s in roster.speakers}
        return split_speakers(roster, self.seed, self.held_out())


@dataclass(frozen=True)
class PoolSentence:
    """A sentence of the pool with its frontend analysis."""

    id: str
    lang: str
    text: str
    kind: str
    split: str  # "train", "valid" or "test" (which split may read it)
    normalized: str
    syllables: tuple[str, ...]
    phones: tuple[str, ...]
    units: tuple[str, ...]

    @property
    def code_switch(self) -> bool:
        return self.lang == "zh" and any(ch.isascii() and ch.isalpha() for ch in self.normalized)

    def est_seconds(self) -> float:
        pauses = sum(u in (",", ".") for u in self.units)
        return EST_S_PER_UNIT[self.lang] * (len(self.units) - pauses) + EST_S_PER_PAUSE * pauses


@dataclass(frozen=True)
class Job:
    """One clip to render."""

    id: str
    lang: str
    speaker: str
    sentence: str  # PoolSentence id
    style: str
    strength: float
    split: str
    est_s: float


def stable_int(*parts: object) -> int:
    """A process-independent 32-bit integer from the parts (Python's hash is salted)."""
    return int.from_bytes(hashlib.sha1("|".join(map(str, parts)).encode()).digest()[:4], "little")


def clip_id(speaker: str, sentence: str, style: str, strength: float) -> str:
    tag = style if style == "neutral" else f"{style}{int(round(strength * 100)):03d}"
    return f"{speaker}_{sentence}_{tag}"


def _stream(spk: Speaker, lang: str, split: str, sents: list[PoolSentence], cfg: PlanConfig):
    """Endless (job) generator of one speaker in one language and split."""
    usable = [s for s in sents if not s.code_switch or "en" in spk.langs]
    if not usable:
        return
    rng = np.random.default_rng([cfg.seed, stable_int(spk.id, lang, split)])
    order = rng.permutation(len(usable))
    tempo = spk.part(lang).timbre.tempo
    seen: set[str] = set()
    k = 0

    def make(sent: PoolSentence, style: str, strength: float) -> Job | None:
        jid = clip_id(spk.id, sent.id, style, strength)
        if jid in seen:
            return None
        seen.add(jid)
        from voxsmith.data.styles import recipe

        est = sent.est_seconds() / (tempo * recipe(style, strength).tempo) + EST_PAD_S
        return Job(jid, lang, spk.id, sent.id, style, strength, split, round(est, 3))

    all_styles = ("neutral",) + EMOTIONS
    turn = stable_int(spk.id, "styles") % len(all_styles)  # speakers start their sets at other styles
    for _ in range(cfg.parallel_sets):
        sent = usable[order[k % len(usable)]]
        k += 1
        for style in all_styles[turn:] + all_styles[:turn]:
            strength = 0.0 if style == "neutral" else STRENGTHS[int(rng.integers(len(STRENGTHS)))]
            job = make(sent, style, strength)
            if job:
                yield job
    misses = 0
    while misses < 1000:
        sent = usable[order[k % len(usable)]]
        k += 1
        if rng.random() < cfg.neutral_weight:
            style, strength = "neutral", 0.0
        else:
            style = EMOTIONS[int(rng.integers(len(EMOTIONS)))]
            strength = STRENGTHS[int(rng.integers(len(STRENGTHS)))]
        job = make(sent, style, strength)
        if job is None:
            misses += 1
            continue
        misses = 0
        yield job


def _fill(speakers: list[Speaker], lang: str, split: str, sents, budget_s: float, cfg) -> list[Job]:
    """Round-robin over the speakers' streams until the estimated seconds reach the budget."""
    streams = [_stream(s, lang, split, sents, cfg) for s in speakers]
    jobs: list[Job] = []
    total = 0.0
    live = list(range(len(streams)))
    while total < budget_s and live:
        for i in list(live):
            job = next(streams[i], None)
            if job is None:
                live.remove(i)
                continue
            jobs.append(job)
            total += job.est_s
            if total >= budget_s:
                break
    return jobs


def require_langs(roster: Roster, langs: Sequence[str]) -> None:
    """A clear error when no roster speaker reads one of ``langs``."""
    missing = [lang for lang in langs if not roster.for_lang(lang)]
    if missing:
        read = sorted({lang for s in roster.speakers for lang in s.langs})
        raise DataError(
            f"the roster has no speaker for {', '.join(map(repr, missing))}; its speakers read "
            f"{', '.join(read) or 'nothing'} (build with --langs {','.join(read) or 'LANGS'})"
        )


def plan_jobs(roster: Roster, pool: list[PoolSentence], cfg: PlanConfig) -> list[Job]:
    """The full, interleaved job list of a build."""
    if cfg.minutes <= 0:
        raise ConfigError(f"--minutes must be positive, got {cfg.minutes}")
    test_share = 0.0 if cfg.train_only else cfg.test_share
    if not cfg.train_only and not (
        0 < cfg.test_share <= 1 and 0 <= cfg.valid_share < 1 and cfg.test_share + cfg.valid_share <= 1
    ):
        raise ConfigError(
            f"--test-share {cfg.test_share} / --valid-share {cfg.valid_share}: need 0 < test <= 1, "
            "0 <= valid < 1 and test + valid <= 1"
        )
    require_langs(roster, cfg.langs)
    splits = cfg.splits(roster)
    per_lang_s = cfg.minutes * 60.0 / len(cfg.langs)
    streams: list[list[Job]] = []
    for lang in cfg.langs:
        speakers = roster.for_lang(lang)
        train_spk = [s for s in speakers if splits[s.id] == "train"]
        test_spk = [s for s in speakers if splits[s.id] == "test"]
        if not train_spk or not (test_spk or cfg.train_only):
            raise DataError(
                f"{lang}: need training and held-out speakers (have {len(train_spk)}, {len(test_spk)})"
            )
        budgets = {
            "test": per_lang_s * test_share,
            "valid": per_lang_s * cfg.valid_share,
            "train": per_lang_s * (1.0 - test_share - cfg.valid_share),
        }
        for split in SPLITS:
            if not budgets[split]:
                continue
            sents = [s for s in pool if s.lang == lang and s.split == split]
            if not sents:
                raise DataError(f"{lang}: no {split} sentences in the pool")
            who = test_spk if split == "test" else train_spk
            streams.append(_fill(who, lang, split, sents, budgets[split], cfg))
    # Interleave by progress through each stream's budget (stable for a seed).
    keyed = []
    for si, jobs in enumerate(streams):
        total = sum(j.est_s for j in jobs) or 1.0
        acc = 0.0
        for j in jobs:
            acc += j.est_s
            keyed.append((acc / total, si, j))
    keyed.sort(key=lambda x: (x[0], x[1]))
    out = [j for _, _, j in keyed]
    if len({j.id for j in out}) != len(out):
        raise DataError("internal error: duplicate clip ids in the plan")
    return out
