"""``voxsmith eval run``: every judge over a manifest of clips, rows + summary -> report.json.

The manifest schema is documented in ``manifest``. Per item the report has (None where a
judge was not run or had nothing to compare with):

    duration_s                          clip length
    sim_ref                             cosine to the intended speaker (ref_path, or the
                                        centroid of the speaker's pool clips, leaving this
                                        clip out)
    sim_other, other_speaker            highest cosine to any other known speaker, and who
    sim_margin                          sim_ref - sim_other (> 0: closest to the right voice)
    asr_text, asr_lang, cer|wer         transcript and its error against ``text``
    asr_edits, asr_ref_len              the error's counts (for corpus-level rates)
    mos_sig, mos_bak, mos_ovrl, mos_p808  DNSMOS
    f0_*, energy_*, voiced_ratio, speech_s, rate, rate_unit, rate_lang, rate_from
                                        prosody (``prosody.Prosody``); the rate uses
                                        ``text``, else the transcript
    d_f0_mean_hz, d_f0_mean_st, d_f0_std_st, d_energy_db, d_energy_std_db, rate_ratio,
    baseline                            prosody against ``baseline_path``, else against the
                                        mean of the neutral items of the same speaker and
                                        language ("neutral_mean"); none for neutral items
    error                               why the item could not be judged (the run goes on)

Judge models are loaded once per ``Judges`` object; pass one object to several calls.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from voxsmith.audio import AudioProcessor
from voxsmith.errors import ConfigError, VoxsmithError
from voxsmith.eval.asr import AsrJudge
from voxsmith.eval.manifest import EvalItem, load_manifest, load_pool
from voxsmith.eval.mos import MosJudge
from voxsmith.eval.prosody import DELTA_KEYS, ProsodyJudge, prosody_deltas
from voxsmith.eval.scoring import guess_lang
from voxsmith.eval.sim import SpeakerJudge, centroid, cosine
from voxsmith.eval.summary import summarize
from voxsmith.fileio import atomic_write_text

log = logging.getLogger(__name__)

JUDGES = ("sim", "asr", "mos", "prosody")
REPORT_VERSION = 1


@dataclass
class EvalConfig:
    """What ``evaluate_items`` runs and how it groups the summary."""

    judges: tuple[str, ...] = JUDGES  # which judges to run
    pool_clips: int = 8  # real clips per pool speaker for its centroid
    group_by: tuple[str, ...] = ("lang", "style", "engine", "speaker")  # summary tables (fields present)
    progress: bool = True  # tqdm bar over items (hidden when stderr is not a terminal)
    extra: dict[str, Any] = field(default_factory=dict)  # copied into the report header

    def __post_init__(self) -> None:
        unknown = [j for j in self.judges if j not in JUDGES]
        if unknown or not self.judges:
            raise ConfigError(f"judges must be a non-empty subset of {', '.join(JUDGES)}; got {unknown}")


class Judges:
    """One instance of each judge, created on first use and kept (one model load per process)."""

    def __init__(
        self,
        speaker: SpeakerJudge | None = None,
        asr: AsrJudge | None = None,
        mos: MosJudge | None = None,
        prosody: ProsodyJudge | None = None,
    ) -> None:
        self._speaker, self._asr, self._mos, self._prosody = speaker, asr, mos, prosody

    @property
    def speaker(self) -> SpeakerJudge:
        self._speaker = self._speaker or SpeakerJudge()
        return self._speaker

    @property
    def asr(self) -> AsrJudge:
        self._asr = self._asr or AsrJudge()
        return self._asr

    @property
    def mos(self) -> MosJudge:
        self._mos = self._mos or MosJudge()
        return self._mos

    @property
    def prosody(self) -> ProsodyJudge:
        self._prosody = self._prosody or ProsodyJudge()
        return self._prosody

    def describe(self, names: Sequence[str]) -> dict[str, Any]:
        parts = {"sim": self.speaker, "mos": self.mos, "prosody": self.prosody}
        out = {n: parts[n].describe() for n in names if n in parts}
        if "asr" in names:
            out["asr"] = self.asr.backend.describe()
        return out


def _speaker_registry(items: list[EvalItem], pool: dict[str, list[Path]]) -> dict[str, list[Path]]:
    """Every known speaker -> clips: pool speakers, plus each manifest speaker's ref files."""
    reg = {name: list(paths) for name, paths in pool.items()}
    for item in items:
        if item.ref_path is not None and item.speaker_key is not None:
            paths = reg.setdefault(item.speaker_key, [])
            if item.ref_path not in paths:
                paths.append(item.ref_path)
    return reg


class _SimScorer:
    """SIM to the intended speaker and to the nearest other speaker, with embeddings cached."""

    def __init__(self, judge: SpeakerJudge, registry: dict[str, list[Path]], pool: dict[str, list[Path]]):
        self.judge, self.registry, self.pool = judge, registry, pool
        self._centroids: dict[str, np.ndarray | None] = {}
        self._unusable: set[Path] = set()

    def _centroid(self, paths: list[Path], exclude: Path | None = None) -> np.ndarray | None:
        """Centroid of a speaker's clips; unusable clips are skipped (warned about once)."""
        embs = []
        for p in paths:
            if (exclude is not None and p.resolve() == exclude) or p in self._unusable:
                continue
            try:
                embs.append(self.judge.embed(p))
            except VoxsmithError as exc:
                log.warning("speaker clip %s skipped: %s", p, exc)
                self._unusable.add(p)
        return centroid(embs) if embs else None

    def _registry_centroid(self, name: str) -> np.ndarray | None:
        if name not in self._centroids:
            self._centroids[name] = self._centroid(self.registry[name])
        return self._centroids[name]

    def score(self, item: EvalItem) -> tuple[dict[str, Any], list[float]]:
        emb = self.judge.embed(item.path)
        me = item.path.resolve()
        ref = None
        if item.ref_path is not None:
            ref = self.judge.embed(item.ref_path)
        elif item.speaker in self.pool:
            ref = self._centroid(self.pool[item.speaker], exclude=me)
        own = {item.speaker, item.speaker_key} - {None}
        others: dict[str, np.ndarray] = {}
        for name in self.registry:
            c = None if name in own else self._registry_centroid(name)
            if c is not None:
                others[name] = c
        for name, paths in item.other_refs.items():
            c = self._centroid(paths, exclude=me)
            if c is not None:
                others[f"other:{name}"] = c
        impostor = {name: cosine(emb, c) for name, c in others.items()}
        row: dict[str, Any] = {"sim_ref": None if ref is None else cosine(emb, ref)}
        row["sim_other"], row["other_speaker"] = None, None
        if impostor:
            row["other_speaker"] = max(impostor, key=impostor.__getitem__)
            row["sim_other"] = impostor[row["other_speaker"]]
        if row["sim_ref"] is not None and row["sim_other"] is not None:
            row["sim_margin"] = row["sim_ref"] - row["sim_other"]
        return row, list(impostor.values())


def _judge_item(
    item: EvalItem, judges: Judges, names: Sequence[str], sim: _SimScorer | None
) -> tuple[dict[str, Any], list[float]]:
    audio = AudioProcessor.load(item.path)
    row: dict[str, Any] = {"duration_s": audio.seconds}
    impostor: list[float] = []
    if sim is not None:
        sim_row, impostor = sim.score(item)
        row.update(sim_row)
    # a text without a lang says which language it is; ASR detection only when neither is given
    item_lang = item.lang or (guess_lang(item.text) if item.text else None)
    asr_text, asr_lang = None, item_lang
    if "asr" in names:
        res = judges.asr.score(audio, item_lang, item.text)
        asr_text, asr_lang = res.text, res.lang
        row.update({"asr_text": res.text, "asr_lang": res.lang, res.metric: res.error})
        if res.counts is not None:
            row.update({"asr_edits": res.counts.edits, "asr_ref_len": res.counts.ref_len})
    if "mos" in names:
        row.update({f"mos_{k}": v for k, v in judges.mos.score(audio).to_dict().items()})
    if "prosody" in names:
        text, rate_from = (item.text, "text") if item.text is not None else (asr_text, "asr")
        lang = item_lang or asr_lang
        pros = judges.prosody.measure(audio, text=text, lang=lang if text is not None else None)
        row.update(pros.to_dict())
        row["rate_lang"] = lang if pros.rate is not None else None
        row["rate_from"] = rate_from if pros.rate is not None else None
    return row, impostor


def _add_prosody_deltas(items: list[EvalItem], rows: list[dict[str, Any]], judges: Judges) -> None:
    """Fill d_* fields: against baseline_path, else the neutral mean of the speaker+language."""
    neutral: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
    for item, row in zip(items, rows, strict=True):
        if item.is_neutral and not row.get("error"):
            neutral.setdefault((item.speaker_key, row.get("rate_lang") or item.lang), []).append(row)
    baselines: dict[Path, dict[str, Any]] = {}
    keys = (*DELTA_KEYS, "rate")
    for item, row in zip(items, rows, strict=True):
        if row.get("error") or "f0_mean_hz" not in row:
            continue
        base, kind = None, None
        if item.baseline_path is not None:
            if item.baseline_path not in baselines:
                try:
                    m = judges.prosody.measure(item.baseline_path, item.text, row.get("rate_lang"))
                    baselines[item.baseline_path] = m.to_dict()
                except VoxsmithError as exc:
                    log.warning("%s: baseline %s unusable: %s", item.id, item.baseline_path, exc)
                    baselines[item.baseline_path] = {}
            base, kind = baselines[item.baseline_path] or None, "path"
        elif not item.is_neutral:
            group = neutral.get((item.speaker_key, row.get("rate_lang") or item.lang))
            if group:
                base = {k: _mean_or_none([g.get(k) for g in group]) for k in keys}
                kind = "neutral_mean"
        if base:
            row.update(prosody_deltas(row, base))
            row["baseline"] = kind


def _mean_or_none(values: list[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def evaluate_items(
    items: list[EvalItem],
    judges: Judges | None = None,
    config: EvalConfig | None = None,
    pool: dict[str, list[Path]] | None = None,
) -> dict[str, Any]:
    """Judge ``items``; returns the report dict ``{"version", "created", "judges", "summary", "items"}``."""
    from tqdm import tqdm

    config = config or EvalConfig()
    judges = judges or Judges()
    names = config.judges
    pool = pool or {}
    sim = _SimScorer(judges.speaker, _speaker_registry(items, pool), pool) if "sim" in names else None
    rows: list[dict[str, Any]] = []
    impostor_scores: list[float] = []
    for item in tqdm(items, desc="eval", unit="clip", disable=None if config.progress else True):
        row: dict[str, Any] = {
            "id": item.id,
            "path": str(item.path),
            "text": item.text,
            "lang": item.lang,
            "speaker": item.speaker,
            "ref_path": None if item.ref_path is None else str(item.ref_path),
            "style": item.style,
            "style_strength": item.style_strength,
            **{k: v for k, v in item.meta.items() if isinstance(v, str | int | float | bool) or v is None},
        }
        try:
            judged, impostor = _judge_item(item, judges, names, sim)
            row.update(judged)
            impostor_scores.extend(impostor)
        except VoxsmithError as exc:
            log.warning("%s: not judged: %s", item.id, exc)
            row["error"] = str(exc)
        rows.append(row)
    if "prosody" in names:
        _add_prosody_deltas(items, rows, judges)
    return {
        "version": REPORT_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "judges": judges.describe(names),
        **config.extra,
        "summary": summarize(rows, impostor_scores, config.group_by),
        "items": rows,
    }


def evaluate_manifest(
    manifest: str | Path,
    judges: Judges | None = None,
    config: EvalConfig | None = None,
    pool: str | Path | None = None,
) -> dict[str, Any]:
    """Load a manifest (and a speaker pool manifest) and judge it; see ``evaluate_items``."""
    config = config or EvalConfig()
    items = load_manifest(manifest)
    pool_map = load_pool(pool, config.pool_clips) if pool is not None else {}
    header = {"manifest": str(manifest), "pool": None if pool is None else str(pool), **config.extra}
    return evaluate_items(items, judges, replace(config, extra=header), pool_map)


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(report: dict[str, Any], out: str | Path) -> Path:
    """Write ``report`` as JSON atomically (NaN/inf written as null)."""
    text = json.dumps(_clean(report), ensure_ascii=False, indent=1, allow_nan=False)
    return atomic_write_text(out, text + "\n")
