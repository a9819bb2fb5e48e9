"""Aggregate per-item judge rows into the report summary (means, EER, per-style prosody shift).

Rows are plain dicts as written to report.json (``report.evaluate_items``); a missing or
None value is left out of a mean. Rates of different languages are never averaged
together: CER (zh) and WER (en) are kept per language, and speaking rate per language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from voxsmith.eval.prosody import DELTA_KEYS

PROSODY_KEYS = ("f0_mean_hz", "f0_std_hz", "f0_mean_st", "f0_std_st", "energy_db", "energy_std_db", "rate")
DELTA_FIELDS = tuple(f"d_{k}" for k in DELTA_KEYS) + ("rate_ratio",)
GROUP_METRICS = ("sim_ref", "sim_other", "cer", "wer", "mos_sig", "mos_bak", "mos_ovrl", "duration_s")


def _values(rows: Iterable[dict[str, Any]], key: str) -> list[float]:
    return [float(r[key]) for r in rows if r.get(key) is not None]


def mean(rows: Iterable[dict[str, Any]], key: str) -> float | None:
    """Mean of ``key`` over the rows that have it, None if none has."""
    vals = _values(rows, key)
    return float(np.mean(vals)) if vals else None


def std(rows: Iterable[dict[str, Any]], key: str) -> float | None:
    vals = _values(rows, key)
    return float(np.std(vals)) if vals else None


def equal_error_rate(genuine: Sequence[float], impostor: Sequence[float]) -> tuple[float, float] | None:
    """(EER, threshold) of a same-speaker vs different-speaker score split.

    Accepting ``score >= t``: false rejections are genuine scores below t, false
    acceptances impostor scores at or above t; the EER is where the two rates cross
    (their mean at the threshold where they are closest). None without both kinds.
    """
    if not genuine or not impostor:
        return None
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    thresholds = np.unique(np.concatenate([g, i, [np.inf]]))
    frr = np.searchsorted(g, thresholds, side="left") / len(g)
    far = 1.0 - np.searchsorted(i, thresholds, side="left") / len(i)
    k = int(np.argmin(np.abs(far - frr)))
    return float((far[k] + frr[k]) / 2), float(thresholds[k])


def _sim_summary(rows: list[dict[str, Any]], impostor: Sequence[float]) -> dict[str, Any]:
    both = [r for r in rows if r.get("sim_ref") is not None and r.get("sim_other") is not None]
    out: dict[str, Any] = {
        "n": len(_values(rows, "sim_ref")),
        "ref_mean": mean(rows, "sim_ref"),
        "ref_std": std(rows, "sim_ref"),
        "other_mean": mean(rows, "sim_other"),
        "margin_mean": mean(both, "sim_margin"),
        # share of items whose closest speaker is the intended one
        "identified": float(np.mean([r["sim_ref"] > r["sim_other"] for r in both])) if both else None,
        "n_impostor_scores": len(impostor),
        "eer": None,
        "eer_threshold": None,
    }
    eer = equal_error_rate(_values(rows, "sim_ref"), impostor)
    if eer is not None:
        out["eer"], out["eer_threshold"] = eer
    return out


def _asr_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang, metric in (("zh", "cer"), ("en", "wer")):
        scored = [r for r in rows if r.get("asr_lang") == lang and r.get(metric) is not None]
        if not scored:
            continue
        edits, ref_len = sum(r["asr_edits"] for r in scored), sum(r["asr_ref_len"] for r in scored)
        out[lang] = {
            "metric": metric,
            "n": len(scored),
            "mean": mean(scored, metric),
            "median": float(np.median(_values(scored, metric))),
            "micro": edits / ref_len if ref_len else None,  # total edits / total reference tokens
        }
    return out


def _style_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for style in sorted({r.get("style") or "neutral" for r in rows}):
        sel = [r for r in rows if (r.get("style") or "neutral") == style]
        entry: dict[str, Any] = {"n": len(sel), "style_strength": mean(sel, "style_strength")}
        entry.update({k: mean(sel, k) for k in PROSODY_KEYS if k != "rate"})
        for lang in ("zh", "en"):
            entry[f"rate_{lang}"] = mean([r for r in sel if r.get("rate_lang") == lang], "rate")
        entry.update({k: mean(sel, k) for k in DELTA_FIELDS})
        out[style] = entry
    return out


def _groups(rows: list[dict[str, Any]], group_by: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in group_by:
        values = sorted({str(r[key]) for r in rows if r.get(key) is not None})
        if not values:
            continue
        out[key] = {}
        for value in values:
            sel = [r for r in rows if str(r.get(key)) == value]
            entry: dict[str, Any] = {"n": len(sel)}
            entry.update({m: mean(sel, m) for m in GROUP_METRICS})
            out[key][value] = entry
    return out


def summarize(
    rows: list[dict[str, Any]], impostor_scores: Sequence[float], group_by: Sequence[str] = ()
) -> dict[str, Any]:
    """The report summary; ``impostor_scores`` are all item-vs-other-speaker similarities."""
    ok = [r for r in rows if not r.get("error")]
    summary: dict[str, Any] = {
        "n_items": len(rows),
        "n_failed": len(rows) - len(ok),
        "duration": {"total_s": sum(_values(ok, "duration_s")), "mean_s": mean(ok, "duration_s")},
    }
    if any(r.get("sim_ref") is not None or r.get("sim_other") is not None for r in ok):
        summary["sim"] = _sim_summary(ok, impostor_scores)
    if any("asr_text" in r for r in ok):
        summary["asr"] = _asr_summary(ok)
    if any(r.get("mos_ovrl") is not None for r in ok):
        summary["mos"] = {k: mean(ok, f"mos_{k}") for k in ("sig", "bak", "ovrl", "p808")}
    if any("f0_mean_hz" in r for r in ok):
        summary["prosody"] = {k: mean(ok, k) for k in PROSODY_KEYS if k != "rate"}
        for lang in ("zh", "en"):
            summary["prosody"][f"rate_{lang}"] = mean([r for r in ok if r.get("rate_lang") == lang], "rate")
        summary["styles"] = _style_summary(ok)
    summary["groups"] = _groups(ok, group_by)
    return summary
