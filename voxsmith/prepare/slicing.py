"""Speech regions -> training clips of ``min_s``..``max_s`` seconds.

A source no longer than ``max_s`` is already a clip: it is kept whole, trimmed to its speech
(plus padding), so that a transcript given for it still matches. A longer recording is cut:
consecutive regions are joined while the clip stays under ``max_s``, the silence between them
is at most ``max_gap_s``, and the clip is shorter than ``target_s`` (so clips end at the first
pause after ``target_s``); a piece left shorter than ``min_s`` joins a neighbour when it can.
Each clip keeps ``pad_s`` of the silence around it, never more than half of the gap to the next
clip, so that no two clips share audio.
"""

from __future__ import annotations

from voxsmith.prepare.config import SliceConfig
from voxsmith.prepare.vad import Span


def _join_short(groups: list[list[Span]], cfg: SliceConfig) -> list[list[Span]]:
    """Merge groups shorter than ``min_s`` into the nearer neighbour that has room."""
    out: list[list[Span]] = []
    for g in groups:
        if out:
            prev = out[-1]
            prev_short = prev[-1].end - prev[0].start < cfg.min_s
            this_short = g[-1].end - g[0].start < cfg.min_s
            fits = g[-1].end - prev[0].start + 2 * cfg.pad_s <= cfg.max_s
            if (prev_short or this_short) and fits and g[0].start - prev[-1].end <= cfg.max_gap_s:
                prev.extend(g)
                continue
        out.append(list(g))
    return out


def group_regions(regions: list[Span], cfg: SliceConfig) -> list[Span]:
    """Speech regions (sorted, each at most ``max_s - 2*pad_s``) -> unpadded clip spans."""
    if not regions:
        return []
    groups: list[list[Span]] = [[regions[0]]]
    for r in regions[1:]:
        cur = groups[-1]
        gap = r.start - cur[-1].end
        grown = r.end - cur[0].start + 2 * cfg.pad_s
        if gap <= cfg.max_gap_s and grown <= cfg.max_s and cur[-1].end - cur[0].start < cfg.target_s:
            cur.append(r)
        else:
            groups.append([r])
    return [Span(g[0].start, g[-1].end) for g in _join_short(groups, cfg)]


def pad_spans(spans: list[Span], total_s: float, pad_s: float) -> list[Span]:
    """Each span widened by ``pad_s`` into the silence, at most to the middle of each gap."""
    out = []
    for i, s in enumerate(spans):
        lo = (spans[i - 1].end + s.start) / 2 if i else 0.0
        hi = (s.end + spans[i + 1].start) / 2 if i + 1 < len(spans) else total_s
        out.append(Span(round(max(lo, s.start - pad_s), 4), round(min(hi, s.end + pad_s), 4)))
    return out


def plan_clips(regions: list[Span], total_s: float, cfg: SliceConfig) -> list[Span]:
    """Clip spans (seconds, padded) of a source of ``total_s`` seconds with speech ``regions``."""
    if not regions:
        return []
    if total_s <= cfg.max_s:
        return pad_spans([Span(regions[0].start, regions[-1].end)], total_s, cfg.pad_s)
    return pad_spans(group_regions(regions, cfg), total_s, cfg.pad_s)
