"""The dataset's splits, ``report.json`` and the error raised when nothing is usable.

report.json::

    {"minutes_found": 12.4, "minutes_sliced": 10.9, "minutes_kept": 9.6, "minutes_dropped": 1.3,
     "sources": 8, "clips_kept": 97, "clips_dropped": 11,
     "dropped": {"too_quiet": {"clips": 3, "minutes": 0.21}, ...},   # per reason
     "reasons": {reason: meaning}, "errors": [{"source": ..., "error": ...}],
     "splits": {"train": {"clips": .., "minutes": ..}, "valid": ...}, "speakers": {...},
     "langs": {...}, "text_origins": {"file": .., "csv": .., "aligned": .., "asr": ..},
     "this_run": {"sources_done": .., "sources_skipped": .., "minutes": .., "wall_s": ..,
                  "minutes_per_minute": ..}}

``minutes_found`` is all decoded audio; ``minutes_sliced`` what voice-activity slicing turned
into clips (the rest was silence, or whole sources that were unreadable or had no speech).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from voxsmith.errors import DataError
from voxsmith.prepare.process import SourceResult
from voxsmith.prepare.quality import REASONS


def assign_splits(rows: list[dict], valid_share: float) -> None:
    """Set ``split`` of each row: per speaker, ``round(n * valid_share)`` clips (at least one when
    the speaker has two or more) go to ``valid``, chosen by a hash of the clip id so that the
    choice does not depend on processing order."""
    by_speaker: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_speaker[r["speaker"]].append(r)
    for group in by_speaker.values():
        group.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
        n_valid = max(1, round(len(group) * valid_share)) if len(group) >= 2 and valid_share > 0 else 0
        for k, r in enumerate(group):
            r["split"] = "valid" if k < n_valid else "train"


def _minutes(seconds: float) -> float:
    return round(seconds / 60.0, 3)


def _tally(rows: list[dict], key: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r in rows:
        entry = out.setdefault(str(r.get(key)), {"clips": 0, "minutes": 0.0})
        entry["clips"] += 1
        entry["minutes"] += r["duration_s"] / 60.0
    return {k: {"clips": v["clips"], "minutes": round(v["minutes"], 3)} for k, v in sorted(out.items())}


def build_report(results: list[SourceResult], rows: list[dict], this_run: dict) -> dict:
    """report.json content from every source's result and the final manifest rows."""
    found = sum(r.seconds for r in results)
    dropped: dict[str, dict] = {}
    sliced = 0.0
    for res in results:
        for d in res.drops:
            entry = dropped.setdefault(d.reason, {"clips": 0, "minutes": 0.0})
            entry["clips"] += 1
            entry["minutes"] += d.seconds / 60.0
            if d.reason not in ("unreadable", "no_speech"):
                sliced += d.seconds
    kept = sum(r["duration_s"] for r in rows)
    sliced += sum(r["end_s"] - r["start_s"] for r in rows)
    clip_drops = sum(v["clips"] for k, v in dropped.items() if k not in ("unreadable", "no_speech"))
    return {
        "minutes_found": _minutes(found),
        "minutes_sliced": _minutes(sliced),
        "minutes_kept": _minutes(kept),
        "minutes_dropped": round(sum(v["minutes"] for v in dropped.values()), 3),
        "sources": len(results),
        "clips_kept": len(rows),
        "clips_dropped": clip_drops,
        "dropped": {
            k: {"clips": v["clips"], "minutes": round(v["minutes"], 3)} for k, v in sorted(dropped.items())
        },
        "reasons": dict(REASONS),
        "errors": [{"source": r.rel, "error": r.error} for r in results if r.error],
        "splits": _tally(rows, "split"),
        "speakers": _tally(rows, "speaker"),
        "langs": _tally(rows, "lang"),
        "text_origins": _tally(rows, "text_origin"),
        "this_run": this_run,
    }


def nothing_usable(report: dict, raw: str) -> DataError:
    """The error for a run that kept no clip, listing the reasons with their counts."""
    parts = [
        f"{reason} {v['clips']} ({v['minutes']:.2f} min: {REASONS.get(reason, reason)})"
        for reason, v in sorted(report["dropped"].items(), key=lambda kv: -kv[1]["clips"])
    ]
    errors = "; ".join(f"{e['source']}: {e['error']}" for e in report["errors"][:5])
    return DataError(
        f"{raw}: nothing usable: 0 clips kept from {report['sources']} file(s), "
        f"{report['minutes_found']:.2f} min of audio; dropped: {', '.join(parts) or 'nothing'}"
        + (f"; unreadable files: {errors}" if errors else "")
        + " (details in report.json and dropped.jsonl)"
    )


def summary_text(report: dict) -> str:
    """A few lines for people: found, kept, dropped per reason, splits."""
    lines = [
        f"{report['minutes_found']:.2f} min of audio in {report['sources']} file(s); "
        f"{report['minutes_kept']:.2f} min kept in {report['clips_kept']} clips, "
        f"{report['clips_dropped']} clips dropped"
    ]
    for reason, v in report["dropped"].items():
        lines.append(f"  dropped {reason:<14} {v['clips']:>5} ({v['minutes']:.2f} min)")
    splits = ", ".join(
        f"{k} {v['clips']} clips / {v['minutes']:.2f} min" for k, v in report["splits"].items()
    )
    lines.append(f"splits: {splits or 'none'}")
    run = report["this_run"]
    lines.append(
        f"this run: {run['sources_done']} file(s) processed, {run['sources_skipped']} already done; "
        f"{run['minutes']:.2f} min of audio in {run['wall_s'] / 60:.2f} min "
        f"= {run['minutes_per_minute']:.2f} min of audio per minute"
    )
    return "\n".join(lines)
