"""Human-readable evaluation report: one self-contained HTML page (plots as base64 PNG).

Plots: SIM to the intended speaker vs to the nearest other one (with the EER threshold),
CER/WER distribution per language, DNSMOS sig/bak/ovrl, and the prosody shift of each
style against neutral. Tables: the summary, per-style prosody, groups, and every item.
matplotlib is used through ``matplotlib.figure.Figure`` (no pyplot, no global backend).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

from voxsmith.eval.common import require
from voxsmith.eval.summary import DELTA_FIELDS
from voxsmith.fileio import atomic_write_text

ITEM_COLUMNS = (
    "id",
    "speaker",
    "style",
    "lang",
    "duration_s",
    "sim_ref",
    "sim_other",
    "other_speaker",
    "cer",
    "wer",
    "mos_ovrl",
    "f0_mean_hz",
    "f0_std_st",
    "energy_db",
    "rate",
    "asr_text",
    "error",
)
STYLE_PLOT = (
    ("d_f0_mean_st", "f0 level shift (semitones)"),
    ("d_f0_std_st", "f0 range shift (semitones)"),
    ("d_energy_db", "energy shift (dB)"),
    ("rate_ratio", "speaking rate ratio"),
)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def _figure(ncols: int = 1) -> Any:
    figure = require("matplotlib.figure", "matplotlib", "the HTML report")
    return figure.Figure(figsize=(4.2 * ncols, 3.2))


def _sim_plot(items: list[dict[str, Any]], summary: dict[str, Any]) -> str | None:
    ref = [r["sim_ref"] for r in items if r.get("sim_ref") is not None]
    other = [r["sim_other"] for r in items if r.get("sim_other") is not None]
    if not ref and not other:
        return None
    fig = _figure(1.5)
    ax = fig.add_subplot()
    low = min(ref + other)
    bins = [min(low, 0.5) - 0.02 + i * (1.02 - min(low, 0.5)) / 40 for i in range(41)]
    if ref:
        ax.hist(ref, bins=bins, alpha=0.6, label="intended speaker")
    if other:
        ax.hist(other, bins=bins, alpha=0.6, label="nearest other speaker")
    threshold = summary.get("sim", {}).get("eer_threshold")
    if threshold is not None and threshold != float("inf"):
        ax.axvline(threshold, color="k", linestyle="--", label=f"EER threshold {threshold:.2f}")
    ax.set_xlabel("speaker similarity (cosine)")
    ax.set_ylabel("items")
    ax.legend(fontsize=8)
    return _png(fig)


def _asr_plot(items: list[dict[str, Any]]) -> str | None:
    series = [(m, [r[m] for r in items if r.get(m) is not None]) for m in ("cer", "wer")]
    series = [(m, v) for m, v in series if v]
    if not series:
        return None
    fig = _figure(1.5)
    ax = fig.add_subplot()
    top = max(0.05, max(max(v) for _, v in series))
    bins = [i * top / 20 for i in range(21)]
    for metric, values in series:
        ax.hist(values, bins=bins, alpha=0.6, label=f"{metric.upper()} ({'zh' if metric == 'cer' else 'en'})")
    ax.set_xlabel("error rate")
    ax.set_ylabel("items")
    ax.legend(fontsize=8)
    return _png(fig)


def _mos_plot(items: list[dict[str, Any]]) -> str | None:
    keys = ("mos_sig", "mos_bak", "mos_ovrl")
    data = [[r[k] for r in items if r.get(k) is not None] for k in keys]
    if not all(data):
        return None
    fig = _figure(1.2)
    ax = fig.add_subplot()
    ax.boxplot(data, tick_labels=["sig", "bak", "ovrl"])
    ax.set_ylabel("DNSMOS (1-5)")
    return _png(fig)


def _style_plot(summary: dict[str, Any]) -> str | None:
    styles = {k: v for k, v in summary.get("styles", {}).items() if k != "neutral"}
    if not any(v.get(f) is not None for v in styles.values() for f in DELTA_FIELDS):
        return None
    fig = _figure(len(STYLE_PLOT))
    names = sorted(styles)
    for i, (key, label) in enumerate(STYLE_PLOT, start=1):
        ax = fig.add_subplot(1, len(STYLE_PLOT), i)
        base = 1.0 if key == "rate_ratio" else 0.0
        vals = [(styles[n].get(key) if styles[n].get(key) is not None else base) - base for n in names]
        ax.bar(range(len(names)), vals, bottom=base)
        ax.axhline(base, color="k", linewidth=0.8)
        ax.set_xticks(range(len(names)), names, rotation=60, fontsize=8)
        ax.set_title(label, fontsize=9)
    return _png(fig)


def _kv_table(title: str, data: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in data.items()
        if not isinstance(v, dict)
    )
    return f"<h3>{html.escape(title)}</h3><table>{rows}</table>"


def _grid(title: str, rows: dict[str, dict[str, Any]]) -> str:
    if not rows:
        return ""
    cols = list(dict.fromkeys(k for r in rows.values() for k in r))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["", *cols])
    body = "".join(
        "<tr><th>"
        + html.escape(name)
        + "</th>"
        + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols)
        + "</tr>"
        for name, r in rows.items()
    )
    return f"<h3>{html.escape(title)}</h3><table><tr>{head}</tr>{body}</table>"


def _items_table(items: list[dict[str, Any]]) -> str:
    cols = [c for c in ITEM_COLUMNS if any(r.get(c) is not None for r in items)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(c)))}</td>" for c in cols) + "</tr>" for r in items
    )
    return f"<h2>Items</h2><table><tr>{head}</tr>{body}</table>"


def render_html(report: dict[str, Any]) -> str:
    """The report page as one HTML string."""
    summary, items = report.get("summary", {}), report.get("items", [])
    parts = [f"<h1>voxsmith evaluation: {html.escape(str(report.get('manifest', '')))}</h1>"]
    parts.append(f"<p>{summary.get('n_items', 0)} items, {summary.get('n_failed', 0)} failed; ")
    parts.append(f"created {html.escape(str(report.get('created', '')))}</p>")
    plots = [_sim_plot(items, summary), _asr_plot(items), _mos_plot(items), _style_plot(summary)]
    parts.append("<div>" + "".join(p for p in plots if p) + "</div>")
    parts.append("<h2>Summary</h2>")
    parts.append(_kv_table("duration", summary.get("duration", {})))
    for key in ("sim", "mos", "prosody"):
        if key in summary:
            parts.append(_kv_table(key, summary[key]))
    parts.append(_grid("ASR", summary.get("asr", {})))
    parts.append(_grid("styles (prosody; d_* = shift against neutral)", summary.get("styles", {})))
    for field, groups in summary.get("groups", {}).items():
        parts.append(_grid(f"by {field}", groups))
    parts.append(_grid("judges", report.get("judges", {})))
    parts.append(_items_table(items))
    style = (
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;text-align:left}img{margin:4px}"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>voxsmith eval</title>'
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def write_html(report: dict[str, Any], out: str | Path) -> Path:
    """Write the HTML report atomically."""
    return atomic_write_text(out, render_html(report))
