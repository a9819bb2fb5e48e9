"""Recipe: the pronunciation checker's recogniser (CTC over toned pinyin) and its calibration.

    voxsmith train checker --data CORPUS --out runs/checker

1. Reading-swap clips (``checker_data.build_swap_set``, ``swap_minutes`` of audio, rendered
   once into ``OUT/swaps`` with ttskit): corpus sentences with some polyphones read another
   way, so that the recogniser learns to hear the sound rather than the reading the
   context predicts.
   With ``voice_minutes``, more such clips read by the screened Mandarin voices that no
   corpus speaker uses (``checker_data.extra_readers``, into ``OUT/voices``): more voices
   to generalise over, none of them a test voice.
2. CTC training of ``PronRecognizer`` on the corpus's Mandarin clips (code-switched ones
   included) and the swap clips, with speed, vocal-tract, pitch-range and SpecAugment-style
   augmentation. With ``--frontend whisper`` the recogniser reads Whisper base's encoder
   states, encoded once per clip into the corpus cache (``train/whisper_states.py``) and
   augmented there (time stretch, pitch range, time masks, channel drop-out).
3. Calibration of the decision on held-out clips: every polyphone there is scored once
   with its true reading as the intended one (a correct reading) and once per other
   reading pretending that one was intended (the audio then says a *wrong* reading: what
   the checker must catch). Thresholds keep false alarms on correct readings under
   ``max_false_alarm``.
4. The pitch tone judge (``check/tone.py``), fitted at each validation on the training
   clips' syllable contours (as the current recogniser aligns them); the calibration picks
   its weight in the candidate scores on the held-out voices (0 = it does not help).

The calibration clips are those of ``calib_voices`` Mandarin engine voices of the train
split that the recogniser never hears in training (all speakers built on them), because
the checker must be calibrated for voices it has not heard: margins on the valid split
(new sentences, known voices) are much larger than on new voices, and thresholds fitted
there let through many false alarms on new voices (measured: 17% instead of the 2%
fitted). A corpus with too few voices for that falls back to the valid split.

The built-in checker (``--frontend whisper``, 20 min of swaps, 20 min of extra voices, 3000
steps, ``--detection-slack 0.02``): states of ~1000 clips encoded in ~5 min, 3000 steps in
~15 min on two threads, with three validations.

Cost of the log-mel recogniser, measured on the shared 2-core machine with the 61-minute corpus (one thread, nice 19,
other jobs running): swap clips about one minute per minute of audio (4 min of clips in
4.6 min); 3000 steps of 4000 mel frames in 14 min (3.55 steps/s); calibrations ~10 s each.
So about 25 min on one thread from scratch; two threads shorten the training part. The
exported ``checker.safetensors`` carries weights, config, unit inventory and calibration;
copy it to ``voxsmith/assets/checker/`` to make it the built-in checker. Resumes from
``OUT/state.pt`` (and ``OUT/swaps``) like every recipe.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from voxsmith.audio import MelConfig
from voxsmith.check.align import token_spans, viterbi_align
from voxsmith.check.config import Calibration, CheckerConfig
from voxsmith.check.expected import ExpectedToken, expected_tokens, tone_variants
from voxsmith.check.gop import fit_threshold, score_tokens
from voxsmith.check.model import PronRecognizer, save_checker
from voxsmith.check.tone import N_FEATURES, ToneJudge, fit_tone_judge, token_features, tone_of
from voxsmith.errors import DataError, VoxsmithError
from voxsmith.models.units import SIL, UNK, row_units, units_to_ids
from voxsmith.text.frontend import TextFrontend
from voxsmith.train.content import spec_augment
from voxsmith.train.data import CorpusData
from voxsmith.train.optim import optimizer_step
from voxsmith.train.state import RunDir, seed_all, start_module_run
from voxsmith.train.unit_error import edit_distance, greedy_ctc

log = logging.getLogger(__name__)

FLOOR = float(np.log(MelConfig().clamp))  # log-mel of silence: the padding value
N_MELS = MelConfig().n_mels


@dataclass
class CheckerTrainConfig:
    steps: int = 3000  # optimiser steps (~0.28 s each on one thread for the tiny size)
    max_batch_frames: int = 4000  # mel frames per batch (~46 s of audio): more updates per minute
    lr: float = 3e-3  # AdamW peak learning rate
    warmup: int = 100  # linear warm-up steps
    langs: tuple[str, ...] = ("zh",)  # clip languages trained on (zh clips include code-switching)
    augment: bool = True  # speed / vocal-tract / masking augmentation
    stretch: float = 0.12  # time stretch factor range 1 +- stretch
    warp: float = 0.15  # mel-axis warp factor range 1 +- warp (vocal tract length)
    log_every: int = 25
    val_every: int = 500  # validate, calibrate, save and export every this many steps
    val_clips: int = 60  # valid clips for the unit error rate
    swap_minutes: float = 10.0  # reading-swap clips to render first (train/checker_data.py); 0 = none
    voice_minutes: float = 20.0  # clips read (with swaps) by voices no corpus speaker uses; 0 = none
    calib_voices: int = 2  # Mandarin engine voices held out of training for the calibration
    calib_clips: int = 300  # clips used for the calibration (at most)
    max_false_alarm: float = 0.02  # calibration target on correct readings
    detection_slack: float = 0.0  # lower the thresholds while losing at most this share of detections
    tone_clips: int = 600  # training clips the pitch tone judge is fitted on at each validation; 0 = no judge
    tone_min_syllables: int = 50  # fewer Mandarin syllables than this: no judge
    seed: int = 0
    threads: int = 2


class ClipSet:
    """Packed corpora (the corpus's split and the swap set) behind one clip index, giving each
    clip's input to ``model``: its log-mel (or Whisper encoder states, ``prepare`` first), plus
    its pitch channels when the model takes them (computed from the packed audio once, then kept)."""

    def __init__(self, parts: list[CorpusData], model: PronRecognizer) -> None:
        self.parts = parts
        self.model = model
        self.pitch = model.cfg.pitch
        self.whisper = model.cfg.frontend == "whisper"
        self.n_main = model.cfg.n_main
        self.root, self.split = parts[0].root, parts[0].split
        self.clips = [c for p in parts for c in p.clips]
        self._where = [(p, i) for p in parts for i in range(len(p.clips))]
        self._pitch: dict[int, torch.Tensor] = {}
        self._states: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.clips)

    def prepare(self, indices: list[int]) -> None:
        """Whisper states of clips ``indices`` (encoded once into the corpus cache); no-op on log-mel."""
        if not self.whisper:
            return
        from voxsmith.train.whisper_states import clip_states

        todo: dict[CorpusData, list[tuple[int, int]]] = {}  # part -> (clip index, index in part)
        for i in dict.fromkeys(indices):
            if i not in self._states:
                part, j = self._where[i]
                todo.setdefault(part, []).append((i, j))
        for part, pairs in todo.items():
            states = clip_states(part, [j for _, j in pairs], self.model.encoder())
            self._states.update({i: states[j] for i, j in pairs})

    def features(self, i: int) -> torch.Tensor:
        """(in_channels, frames) of clip ``i``."""
        part, j = self._where[i]
        if not self.whisper:
            main = part.clip_mel(j)
        elif i in self._states:
            main = self._states[i].float()
        else:
            raise KeyError(f"clip {i}: Whisper states not prepared (ClipSet.prepare)")
        return self.model.combine(main, self.pitch_of(i) if self.pitch else None)

    def pitch_of(self, i: int) -> torch.Tensor:
        """(3, frames) pitch channels of clip ``i`` at twice the recogniser's output rate
        (``PronRecognizer.pitch_track``; computed once, then kept)."""
        if i not in self._pitch:
            part, j = self._where[i]
            pitch = self.model.pitch_track(part.clip_audio(j))
            if not self.whisper:  # on the packed mel's grid (whole hops only)
                pitch = pitch[:, : part.clip_mel(j).shape[-1]]
            self._pitch[i] = pitch.half()
        return self._pitch[i].float()


def clip_targets(data: ClipSet) -> list[list[int]]:
    """Unit ids per clip; pauses are left to the blank (a TTS may or may not pause at a comma)."""
    return [[u for u in units_to_ids(row_units(c.row)) if u != SIL] for c in data.clips]


def usable(data: ClipSet, targets: list[list[int]], langs: tuple[str, ...]) -> list[int]:
    """Clips of the wanted languages with a non-empty target."""
    idx = [i for i, c in enumerate(data.clips) if c.row.get("lang") in langs and targets[i]]
    if not idx:
        raise DataError(f"{data.root}: no {'/'.join(langs)} clips with pinyin in split {data.split!r}")
    return idx


def augment(
    x: torch.Tensor, rng: np.random.Generator, cfg: CheckerTrainConfig, n_main: int = N_MELS, mel: bool = True
) -> torch.Tensor:
    """One clip (C, T): time stretch of all channels, mel-axis warp of the mel rows (vocal
    tract length; ``mel`` only: Whisper states have no frequency axis), pitch excursions
    scaled (pitch range) when there are pitch rows."""
    rate = 1 + rng.uniform(-cfg.stretch, cfg.stretch)
    t_new = max(8, int(round(x.shape[-1] * rate)))
    x = F.interpolate(x[None], size=t_new, mode="linear", align_corners=True)[0]
    main, rest = x[:n_main], x[n_main:]
    if mel:
        alpha = 1 + rng.uniform(-cfg.warp, cfg.warp)
        src = torch.clamp(torch.arange(n_main, dtype=torch.float32) / alpha, 0, n_main - 1)
        lo = src.floor().long()
        hi = torch.clamp(lo + 1, max=n_main - 1)
        w = (src - lo)[:, None]
        main = main[lo] * (1 - w) + main[hi] * w
    if rest.shape[0]:
        rest = rest.clone()
        rest[:2] *= float(rng.uniform(0.8, 1.25))  # relative log f0 and its change
    return torch.cat([main, rest], 0)


def mask_states(states: torch.Tensor, rng: np.random.Generator, drop: float = 0.1) -> torch.Tensor:
    """SpecAugment's counterpart for (B, d, T) Whisper states: two time masks of up to 6
    frames and ``drop`` of the channels zeroed, per clip."""
    states = states.clone()
    for b in range(states.shape[0]):
        t = states.shape[-1]
        for _ in range(2):
            t0 = int(rng.integers(0, max(1, t - 10)))
            states[b, :, t0 : t0 + int(rng.integers(0, 7))] = 0.0
        states[b, torch.from_numpy(rng.random(states.shape[1]) < drop)] = 0.0
    return states


def make_batch(
    data: ClipSet,
    targets: list[list[int]],
    order: list[int],
    rng: np.random.Generator | None = None,
    cfg: CheckerTrainConfig | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, C, T) padded features (mel floor or zero states, zero pitch), lengths, concatenated
    targets, their lengths."""
    feats = [data.features(i) for i in order]
    n, mel = data.n_main, not data.whisper
    train = rng is not None and cfg is not None and cfg.augment
    if train:
        feats = [augment(f, rng, cfg, n, mel) for f in feats]  # type: ignore[arg-type]
    t = max(f.shape[-1] for f in feats)
    batch = torch.zeros(len(feats), feats[0].shape[0], t)
    if mel:
        batch[:, :n] = FLOOR
    for b, f in enumerate(feats):
        batch[b, :, : f.shape[-1]] = f
    if train:
        if mel:
            batch[:, :n] = spec_augment(batch[:, :n], rng)  # type: ignore[arg-type]
        else:
            batch[:, :n] = mask_states(batch[:, :n], rng)  # type: ignore[arg-type]
    tg = [torch.tensor(targets[i]) for i in order]
    return (
        batch,
        torch.tensor([f.shape[-1] for f in feats]),
        torch.cat(tg),
        torch.tensor([len(x) for x in tg]),
    )


def sample_order(data: ClipSet, pool: list[int], rng: np.random.Generator, max_frames: int) -> list[int]:
    """Random clips from ``pool`` until the padded batch would exceed ``max_frames``."""
    order: list[int] = []
    longest = 0
    while True:
        i = pool[int(rng.integers(len(pool)))]
        n = data.clips[i].n_frames
        if order and (len(order) + 1) * max(longest, n) > max_frames:
            return order
        order.append(i)
        longest = max(longest, n)


@torch.no_grad()
def unit_error_rate(model: PronRecognizer, data: ClipSet, targets: list[list[int]], pool: list[int]) -> float:
    errs = total = 0
    for i in pool:
        errs += edit_distance(greedy_ctc(model.log_probs(data.features(i))), targets[i])
        total += len(targets[i])
    return errs / max(1, total)


@dataclass
class AlignedClip:
    """One clip as the checker sees it: expected tokens, posteriors, spans, pitch."""

    tokens: list[ExpectedToken]
    log_probs: torch.Tensor  # (T', U)
    spans: np.ndarray  # (K, 2) token frames
    pitch: torch.Tensor  # (3, T) mel-rate pitch channels
    swapped: set[int]  # syllables read another way on purpose (reading-swap clips)


@torch.no_grad()
def aligned_clips(
    model: PronRecognizer, data: ClipSet, pool: list[int], frontend: TextFrontend | None = None
) -> list[AlignedClip]:
    """Clips of ``pool`` whose labels the frontend reproduces, aligned to their expected units."""
    frontend = frontend or TextFrontend()
    out = []
    for i in pool:
        row = data.clips[i].row
        try:
            _, tokens = expected_tokens(row.get("normalized") or row["text"], frontend)
        except VoxsmithError:
            continue
        if [t.reading for t in tokens if t.kind == "zh"] != list(row.get("syllables") or []):
            continue  # labels made by another frontend version: not comparable
        ids = units_to_ids([u for t in tokens for u in t.units])
        if UNK in ids:
            continue
        lp = model.log_probs(data.features(i))
        alignment = viterbi_align(lp.numpy(), ids)
        if alignment is None:
            continue
        spans = token_spans(alignment, [len(t.units) for t in tokens])
        out.append(AlignedClip(tokens, lp, spans, data.pitch_of(i), set(row.get("swapped") or [])))
    return out


def clip_tone_features(clip: AlignedClip) -> np.ndarray:
    """(K, 32) tone-judge features of every token of an aligned clip."""
    return token_features(clip.pitch, clip.spans, clip.log_probs.shape[0], clip.tokens)


def tone_examples(clips: list[AlignedClip]) -> tuple[np.ndarray, np.ndarray]:
    """Features and tones (1-5) of the Chinese syllables of ``clips`` (swapped ones left out:
    an engine may say an unusual reading unclearly)."""
    feats, tones = [], []
    for clip in clips:
        f = clip_tone_features(clip)
        for k, tok in enumerate(clip.tokens):
            if tok.kind == "zh" and tok.syllable not in clip.swapped:
                feats.append(f[k])
                tones.append(tone_of(tok.reading))
    return np.asarray(feats, dtype=np.float32).reshape(-1, N_FEATURES), np.asarray(tones)


def score_clips(clips: list[AlignedClip], judge: ToneJudge | None = None) -> list[tuple[AlignedClip, list]]:
    """Candidate scores of every token (``gop.score_tokens``), with the judge's tone log-probs."""
    out = []
    for clip in clips:
        tone_lp = judge.log_probs(clip_tone_features(clip)) if judge is not None else None
        out.append((clip, score_tokens(clip.log_probs, clip.tokens, clip.spans, True, tone_lp)))
    return out


def collect_margins(
    scored: list[tuple[AlignedClip, list]], tone_weight: float = 0.0
) -> dict[str, list[float]]:
    """Margins of correct and wrong readings, the judge weighed in with ``tone_weight``.

    ``poly_pos``/``poly_neg``: polyphones, true reading vs each other reading as intended;
    ``tone_pos``/``tone_neg``: every syllable, true reading vs each other tone as intended.
    At the swapped syllables of a reading-swap clip only the wrong readings count: the
    engine may not have said an unusual reading cleanly, which would make a poor example
    of a correct one, while the usual reading intended over it is the case to catch.
    """
    out: dict[str, list[float]] = {"poly_pos": [], "poly_neg": [], "tone_pos": [], "tone_neg": []}
    for clip, scores in scored:
        for tok, sc in zip(clip.tokens, scores, strict=True):
            if sc is None:
                continue
            sc.tone_weight = tone_weight
            if tok.syllable not in clip.swapped:
                out["tone_pos"].append(sc.tone_margin)
            for v in tone_variants(tok.reading):
                out["tone_neg"].append(sc.margin(v, tone_variants(v)))
            if tok.alternatives:
                readings = (tok.reading, *tok.alternatives)
                if tok.syllable not in clip.swapped:
                    out["poly_pos"].append(sc.margin(tok.reading, tok.alternatives))
                for alt in tok.alternatives:
                    out["poly_neg"].append(sc.margin(alt, [r for r in readings if r != alt]))
    return out


TONE_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)  # judge weights tried by the calibration


def calibrate(
    model: PronRecognizer,
    data: ClipSet,
    pool: list[int],
    max_false_alarm: float = 0.02,
    judge: ToneJudge | None = None,
    weights: tuple[float, ...] = TONE_WEIGHTS,
    slack: float = 0.0,
) -> Calibration:
    """Fit the thresholds (and, with a tone judge, its weight) on ``pool`` clips.

    The weight is the one of ``weights`` under which most wrong polyphone readings fall
    below a threshold that keeps false alarms at ``max_false_alarm`` (the smaller on ties);
    defaults are kept where data is too thin. ``slack``: see ``gop.fit_threshold``.
    """
    scored = score_clips(aligned_clips(model, data, pool), judge)
    cal = Calibration(max_false_alarm=max_false_alarm, detection_slack=slack)
    stats: dict = {"split": data.split, "clips": len(pool)}
    best: tuple[float, float, dict] | None = None  # (detection, weight, margins)
    search = {}
    for w in weights if judge is not None else (0.0,):
        m = {k: np.asarray(v) for k, v in collect_margins(scored, w).items()}
        if len(m["poly_pos"]) < 5 or len(m["poly_neg"]) < 5:
            best = best or (0.0, w, m)
            break
        det = fit_threshold(m["poly_pos"], m["poly_neg"], max_false_alarm, slack)[2]["detection"]
        search[w] = det
        if best is None or det > best[0]:
            best = (det, w, m)
    assert best is not None
    _, cal.tone_weight, m = best
    if search:
        stats["tone_weight_search"] = {str(w): d for w, d in search.items()}
    for key in ("poly", "tone"):
        pos, neg = m[f"{key}_pos"], m[f"{key}_neg"]
        if len(pos) < 5 or len(neg) < 5:
            stats[key] = {"n_correct": int(len(pos)), "n_wrong": int(len(neg)), "fitted": False}
            continue
        thr, slope, st = fit_threshold(pos, neg, max_false_alarm, slack)
        stats[key] = st
        if key == "poly":
            cal.poly_threshold, cal.poly_scale = thr, slope
        else:
            cal.syl_threshold, cal.syl_scale = thr, slope
    cal.fitted = bool(stats.get("poly", {}).get("n_correct")) and "fitted" not in stats["poly"]
    cal.stats = stats
    return cal


def fit_judge(
    model: PronRecognizer, data: ClipSet, pool: list[int], max_clips: int, seed: int, min_syllables: int = 50
) -> tuple[ToneJudge | None, dict]:
    """Train the tone judge on up to ``max_clips`` Mandarin clips of ``pool`` (spread evenly)."""
    zh = [i for i in pool if data.clips[i].row.get("lang") == "zh"]
    step = max(1, len(zh) // max(1, max_clips))
    feats, tones = tone_examples(aligned_clips(model, data, zh[::step][:max_clips]))
    if len(feats) < max(min_syllables, 2):
        log.warning("checker: only %d syllables for the tone judge; none fitted", len(feats))
        return None, {"syllables": int(len(feats))}
    judge, acc = fit_tone_judge(feats, tones, seed=seed, min_syllables=min_syllables)
    return judge, {"syllables": int(len(feats)), "train_accuracy": round(acc, 4)}


def voice_of(row: dict) -> str:
    """The engine voice behind a clip (a speaker built on it shares its pronunciation habits)."""
    return str(row.get("voice") or row.get("speaker"))


def hold_out_voices(
    data: ClipSet, pool: list[int], n: int, seed: int, max_clips: int = 300
) -> tuple[list[int], list[int], list[str]]:
    """Split ``pool`` into (training clips, calibration clips of ``n`` held-out voices, those voices).

    Nothing is held out when the pool has fewer than ``3 * n + 2`` voices.
    """
    voices = sorted({voice_of(data.clips[i].row) for i in pool})
    if n <= 0 or len(voices) < 3 * n + 2:
        return pool, [], []
    rng = np.random.default_rng(seed)
    held = sorted(str(v) for v in rng.choice(voices, size=n, replace=False))
    train = [i for i in pool if voice_of(data.clips[i].row) not in held]
    calib = [i for i in pool if voice_of(data.clips[i].row) in held]
    step = max(1, len(calib) // max_clips)  # spread the calibration clips over sentences and voices
    return train, calib[::step], held


def train_checker(
    corpus: str | Path,
    out: str | Path,
    cfg: CheckerTrainConfig | None = None,
    model_cfg: CheckerConfig | None = None,
    resume: bool = True,
    recalibrate: bool = False,
) -> Path:
    """Train (or resume) the recogniser and calibrate it; returns ``checker.safetensors``.

    ``recalibrate``: no training; refit the tone judge and the calibration of the run's
    current weights and export them (e.g. after the calibration method changed).
    """
    cfg = cfg or CheckerTrainConfig()
    model_cfg = model_cfg or CheckerConfig.tiny()
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    run = RunDir(out, "checker")
    parts = [CorpusData(corpus, "train")]  # all languages: shares the packed cache with other stages
    if cfg.swap_minutes > 0:
        from voxsmith.train.checker_data import build_swap_set

        parts.append(CorpusData(build_swap_set(corpus, run.path / "swaps", cfg.swap_minutes, seed=cfg.seed)))
    if cfg.voice_minutes > 0:
        from voxsmith.train.checker_data import build_swap_set, extra_readers

        readers = extra_readers(corpus)
        if readers:
            voices = {r.part("zh").voice for r in readers}
            log.info("checker: %d extra readers on %d voices", len(readers), len(voices))
            voices_dir = build_swap_set(
                corpus, run.path / "voices", cfg.voice_minutes, seed=cfg.seed + 1, readers=readers
            )
            parts.append(CorpusData(voices_dir))
        else:
            log.warning("checker: every screened Mandarin voice is a corpus speaker's; no extra voices")
    model = PronRecognizer(model_cfg)
    data = ClipSet(parts, model)
    targets = clip_targets(data)
    pool, calib_pool, held = hold_out_voices(
        data, usable(data, targets, cfg.langs), cfg.calib_voices, cfg.seed, cfg.calib_clips
    )
    valid = ClipSet([CorpusData(corpus, "valid")], model)
    v_targets = clip_targets(valid)
    v_pool = usable(valid, v_targets, cfg.langs)
    calib_data, calib_pool = (data, calib_pool) if calib_pool else (valid, v_pool[: cfg.calib_clips])
    # Whisper states, encoded once (frontend "whisper" only)
    data.prepare(pool)
    valid.prepare(v_pool[: cfg.val_clips])
    calib_data.prepare(calib_pool[: cfg.calib_clips])
    log.info(
        "checker: %d train clips (%.1f min), %d valid clips, calibration on %d clips of %s",
        len(pool),
        _minutes(data, pool),
        len(v_pool),
        len(calib_pool),
        f"held-out voices {', '.join(held)}" if held else "the valid split",
    )
    opt, sched, step = start_module_run(run, model, cfg.lr, cfg.warmup, cfg.steps, resume=resume)
    path = run.path / "checker.safetensors"

    def validate_and_export(step: int, save_state: bool = True) -> None:
        model.eval()
        uer = unit_error_rate(model, valid, v_targets, v_pool[: cfg.val_clips])
        judge, judge_stats = (
            fit_judge(model, data, pool, cfg.tone_clips, cfg.seed, cfg.tone_min_syllables)
            if cfg.tone_clips > 0
            else (None, {})
        )
        cal = calibrate(
            model,
            calib_data,
            calib_pool[: cfg.calib_clips],
            cfg.max_false_alarm,
            judge,
            slack=cfg.detection_slack,
        )
        if cal.stats is not None:
            if held:
                cal.stats["voices"] = held
            if judge_stats:
                cal.stats["tone_judge"] = judge_stats
        poly = cal.stats.get("poly", {}) if cal.stats else {}
        run.log(
            step,
            val_unit_error=uer,
            tone_weight=cal.tone_weight,
            **{f"calib_poly_{k}": v for k, v in poly.items() if k in ("false_alarm", "detection")},
        )
        export = functools.partial(save_checker, model, cal, path, judge)
        if save_state:
            run.checkpoint(step, {"model": model}, {"opt": opt}, {"sched": sched}, export=export)
        else:
            export()
        log.info(
            "checker step %d: val unit error %.3f, calibration %s, %.0f s",
            step,
            uer,
            cal.stats,
            run.train_seconds,
        )

    if recalibrate:
        if not run.has_state():
            raise DataError(f"{run.path}: no trained checker to recalibrate (no state.pt)")
        validate_and_export(step, save_state=False)
        return path
    bar = tqdm(total=cfg.steps, initial=step, desc="checker", unit="step")
    while step < cfg.steps:
        rng = np.random.default_rng([cfg.seed, step])
        mel, lens, tg, tg_lens = make_batch(
            data, targets, sample_order(data, pool, rng, cfg.max_batch_frames), rng, cfg
        )
        model.train()
        loss = model.ctc_loss(mel, lens, tg, tg_lens)
        optimizer_step(loss, model.parameters(), opt, sched, 5.0)
        step += 1
        bar.update(1)
        if step % cfg.log_every == 0:
            run.log(step, ctc=loss.item(), lr=sched.get_last_lr()[0])
            bar.set_postfix(ctc=f"{loss.item():.3f}")
        if step % cfg.val_every == 0 or step == cfg.steps:
            validate_and_export(step)
    bar.close()
    return path


def _minutes(data: ClipSet, pool: list[int]) -> float:
    return sum(data.clips[i].n_samples for i in pool) / 22050 / 60
