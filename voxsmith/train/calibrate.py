"""Calibrate the emotion presets by rendering them: what to ask so the output shows the corpus's change.

The prosody table (``ProsodyHead.table``) says what each emotion category does to pitch,
range, loudness and tilt in the corpus. Asking the renderer for exactly that overshoots or
falls short, measure by measure (on the shipped model at intensity 1: angry's pitch came out at
1.7× the corpus, happy's tilt at 3.7×, sad's darkening at 0.5×): the GPT's emotion-conditioned
latents already move the contour the S2M follows, a higher voice comes out brighter before any
tilt is added, and the vocoder renders only part of a darker mel.

So the asks are fitted in a loop: render every preset and a neutral take of the same sentence
for a few train speakers of the corpus (never the held-out speakers a benchmark reads), measure
the change each preset made with the corpus check's own measures (``data.check.measure_clip``,
what ``voxsmith corpus check-styles`` reports for the corpus), and move each ask by what is
missing. The renderer's response to an ask is near-proportional with a gain under one, so a
unit step converges without overshooting. Bounds (:func:`ask_bounds`): each ask stays within
``REACH`` × the table's range, and where the corpus's change is clear (``SIGN_FLOOR``) on its
side of zero (a few renders measure small changes noisily: disgusted's −0.16 dB/oct tilt, and
an ask turned against the corpus's direction fails on voices that respond less) and no smaller
than the table's own change: voices the calibration never heard respond less than the train
voices it renders, so lowering an ask that overshoots on these cost the held-out voices their
half of the corpus's change (32 of 36 measures against the table's 34).
The result is stored as ``ProsodyHead.ask`` beside the table.

Shapes: C = 8 categories, K = len(prosody.MEASURES).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from voxsmith.checkpoints import load_safetensors, save_safetensors
from voxsmith.embeddings import EMOTIONS
from voxsmith.errors import CheckpointError, ConfigError, DataError
from voxsmith.models.parts import PART_FILES
from voxsmith.models.prosody import MEASURES, SCALES, ProsodyHead

log = logging.getLogger(__name__)
# scaled: a corpus change at least this large (0.2 st, 0.3 dB, 0.15 dB/oct) keeps its ask's sign
SIGN_FLOOR = 0.05
# an ask may reach this many times the table's range: the renderer delivers a third to a half of
# an asked range widening (surprised's +1.3 st came out +0.4 on held-out voices)
REACH = 3.0


@dataclass
class CalibrationItem:
    """One neutral reference clip of a train speaker and the sentences rendered with its voice."""

    speaker: str
    reference: Path
    texts: list[dict]  # manifest rows: their text, language and pronunciation units


@dataclass
class CalibrationReport:
    """Per round, each category's measured change against the corpus's, in the measures' units."""

    rounds: list[dict[str, dict[str, float]]] = field(
        default_factory=list
    )  # category -> measure -> delivered
    target: dict[str, dict[str, float]] = field(default_factory=dict)
    ask: dict[str, dict[str, float]] = field(default_factory=dict)  # the stored asks, in units

    def shares(self, round_: int = -1) -> dict[str, dict[str, float]]:
        """Delivered / corpus change per category and measure (NaN where the corpus moved < 0.05)."""
        got = self.rounds[round_]
        return {
            c: {k: got[c][k] / t if abs(t) >= 0.05 else float("nan") for k, t in self.target[c].items()}
            for c in self.target
        }


def pick_items(corpus: Path, speakers: int, sentences: int, seed: int = 0) -> list[CalibrationItem]:
    """``speakers`` train speakers (languages alternating), each with a neutral reference clip
    and ``sentences`` train sentences of its language read by other clips."""
    from voxsmith.train.data import read_manifest

    rows = [r for r in read_manifest(corpus) if r.get("split") == "train"]
    by_spk: dict[str, list[dict]] = defaultdict(list)
    texts: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        by_spk[r["speaker"]].append(r)
        if r.get("style") == "neutral":
            texts[r["lang"]].setdefault(r.get("sentence", r["text"]), r)
    rng = np.random.default_rng(seed)
    names = sorted(s for s, rs in by_spk.items() if any(r.get("style") == "neutral" for r in rs))
    per_lang = [
        [s for s in names if by_spk[s][0]["lang"] == lang] for lang in sorted({r["lang"] for r in rows})
    ]
    for v in per_lang:
        rng.shuffle(v)
    # languages alternate while each has speakers left
    chosen = [v[i] for i in range(max(map(len, per_lang), default=0)) for v in per_lang if i < len(v)][
        :speakers
    ]
    if not chosen:
        raise DataError(f"{corpus}: no train speaker with a neutral clip to calibrate the presets on")
    items = []
    for spk in chosen:
        ref = sorted((r for r in by_spk[spk] if r.get("style") == "neutral"), key=lambda r: r["id"])[0]
        pool = sorted(set(texts[ref["lang"]]) - {ref.get("sentence", ref["text"])}) or sorted(
            texts[ref["lang"]]
        )
        picked = [texts[ref["lang"]][pool[i]] for i in rng.permutation(len(pool))[:sentences]]
        items.append(CalibrationItem(spk, Path(ref["path"]), picked))  # resolved by read_manifest
    return items


def corpus_targets(shifts: dict) -> torch.Tensor:
    """``(C, K)`` scaled: each category's full-strength change in the corpus (``style_shifts``)."""
    out = torch.zeros(len(EMOTIONS), len(MEASURES))
    for c, emo in enumerate(EMOTIONS):
        full = shifts.get(emo, {}).get("shift_by_strength", {}).get("1.0")
        if full is None:
            raise ConfigError(f"style shifts: no full-strength measures for {emo!r}")
        for k, (m, sc) in enumerate(zip(MEASURES, SCALES, strict=True)):
            v = full.get(m)
            out[c, k] = 0.0 if v is None or not np.isfinite(v) else float(v) / sc
    return out


def delivered(model, items: list[CalibrationItem], seed: int, progress: bool = True) -> torch.Tensor:
    """``(C, K)`` scaled: the mean change each preset makes against neutral over ``items``
    (same sentence, voice and seed), measured as the corpus check measures clips; NaN where a
    measure was never read (no voiced frame)."""
    from tqdm import tqdm

    from voxsmith.data.check import measure_clip, spoken_units

    diffs: dict[str, list[list[float]]] = defaultdict(list)
    voices = {it.speaker: model.speaker_encoder(it.reference) for it in items}
    jobs = [(it, t) for it in items for t in it.texts]
    for it, t in tqdm(jobs, desc="calibrate", unit="sentence", disable=not progress):
        spk, base = voices[it.speaker], None
        for emo in ("neutral", *EMOTIONS):
            res = model.synthesize(
                t["text"], speaker_embedding=spk, emotion=None if emo == "neutral" else emo, seed=seed
            )
            m = measure_clip(res.audio.samples, res.audio.sample_rate, spoken_units(t))
            if base is None:
                base = m
                continue
            diffs[emo].append([(m[k] - base[k]) / sc for k, sc in zip(MEASURES, SCALES, strict=True)])
    out = np.full((len(EMOTIONS), len(MEASURES)), np.nan)
    for c, e in enumerate(EMOTIONS):
        d = np.asarray(diffs[e], dtype=np.float64).reshape(-1, len(MEASURES))
        seen = ~np.isnan(d)
        out[c] = np.where(
            seen.any(axis=0), np.where(seen, d, 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1), np.nan
        )
    return torch.from_numpy(out).float()


def _named(rows: torch.Tensor) -> dict[str, dict[str, float]]:
    return {
        e: {m: round(float(v) * sc, 3) for m, v, sc in zip(MEASURES, row, SCALES, strict=True)}
        for e, row in zip(EMOTIONS, rows, strict=True)
    }


def ask_bounds(table: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(upper, lower)`` ``(C, K)`` bounds of the asks: within ``REACH`` × the table's range; where
    the corpus's change is clear (``SIGN_FLOOR``), on its side of zero and at least the table's
    own change on that side (the calibration raises an ask the renderer under-delivers and never
    lowers one below what the category measurably does)."""
    limit = REACH * table.abs().amax(dim=0).expand_as(targets)
    zero = torch.zeros_like(limit)
    clear = targets.abs() >= SIGN_FLOOR
    up, down = clear & (targets > 0), clear & (targets < 0)
    upper = torch.where(down, torch.minimum(table, zero), limit)
    lower = torch.where(up, torch.maximum(table, zero), -limit)
    return upper, lower


def calibrate(
    model,
    head: ProsodyHead,
    items: list[CalibrationItem],
    targets: torch.Tensor,
    rounds: int = 2,
    seed: int = 0,
    progress: bool = True,
) -> tuple[torch.Tensor, CalibrationReport]:
    """Fit ``head``'s asks ``(C, K)`` (scaled) in ``rounds`` render-measure-correct passes,
    starting from its current asks (else the table); ``model`` is an ``IndexTTSModel`` whose
    parts use ``head``. Returns the asks and the per-round report."""
    if head.table is None:
        raise CheckpointError("calibrating presets needs a prosody table (`voxsmith dev presets` writes one)")
    if rounds < 1:
        raise ConfigError(f"calibration rounds must be at least 1, got {rounds}")
    upper, lower = ask_bounds(head.table, targets)
    ask = (head.table if head.ask is None else head.ask).clone()
    report = CalibrationReport(target=_named(targets))
    for r in range(rounds):
        head.ask = ask
        got = delivered(model, items, seed, progress)
        report.rounds.append(_named(got))
        miss = torch.nan_to_num(targets - got)  # a measure never read leaves its ask alone
        ask = torch.maximum(torch.minimum(ask + miss, upper), lower)
        miss = miss.abs() * torch.tensor(SCALES)
        log.info("calibration round %d: largest miss per measure %s", r + 1,
                 dict(zip(MEASURES, [round(float(v), 2) for v in miss.amax(dim=0)], strict=True)))  # fmt: skip
    head.ask = ask
    report.ask = _named(ask)
    return ask, report


def calibrate_model(
    model_dir: str | Path,
    corpus: str | Path,
    shifts: dict | None = None,
    speakers: int = 8,
    sentences: int = 2,
    rounds: int = 2,
    seed: int = 0,
    threads: int | None = None,
) -> CalibrationReport:
    """Calibrate the presets of the model in ``model_dir`` on ``corpus``'s train speakers and
    store the asks in its emotion file (rewritten atomically; nothing written on failure).
    ``shifts``: ``voxsmith corpus check-styles --json`` output for ``corpus`` (measured here if
    None)."""
    from voxsmith.pipeline import IndexTTSModel

    model_dir, corpus = Path(model_dir), Path(corpus)
    path = model_dir / PART_FILES["emotion"]
    if not path.is_file():
        raise CheckpointError(f"{path}: not found; preset asks are stored beside an emotion matrix")
    tensors, config, _ = load_safetensors(path, kind="emotion_matrix")
    model = IndexTTSModel.from_pretrained(model_dir, threads=threads)
    head = getattr(model.parts, "prosody", None)
    if head is None or head.table is None:
        raise CheckpointError(
            f"{model_dir}: no prosody table to calibrate (run `voxsmith dev presets` first)"
        )
    if shifts is None:
        from voxsmith.data.check import style_shifts

        shifts = style_shifts(corpus, max_per_style=60, seed=seed)
    items = pick_items(corpus, speakers, sentences, seed)
    ask, report = calibrate(model, head, items, corpus_targets(shifts), rounds, seed)
    tensors = {**tensors, **ProsodyHead(head.weight, head.bias, head.table, ask).tensors()}
    save_safetensors(tensors, path, kind="emotion_matrix", config=config)
    from voxsmith.train.bundle import refresh_presets_card

    refresh_presets_card(model_dir)
    return report
