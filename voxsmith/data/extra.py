"""More voices beside a built corpus: a roster of random warped speakers, and the merge.

The conditioners (S2M's in-context prompt and style vector, the speaker Perceiver) generalise
to new voices by the number of voices they have heard, not by the minutes of each; the
packaged roster gives 36 training speakers (and 10 held out). ``voxsmith corpus voices``
draws many more from the same engine voices with random WORLD timbres
(``speakers.random_timbre``: formant warp, pitch, an equaliser curve, tilt, breathiness; the
harmonics stay clean, unlike warping mels), only from voices the base corpus trains on, so
its held-out voices stay unheard (``--source unused`` varies instead the engine voices the
screening passed but no roster speaker reads: new recorded persons, not new timbres of old ones):

    voxsmith corpus voices --base CORPUS --per-voice 5 --out extra.json
    voxsmith corpus build --roster extra.json --train-only --out EXTRA --minutes 120
    voxsmith corpus merge CORPUS EXTRA --out MERGED

``merge`` writes a corpus directory whose manifest lists both corpora's clips (paths made
absolute; nothing is copied) and seeds its cache with the base corpus's per-clip caches
(codes, GPT latents, prosody, style vectors), which the training stages complete for the
extra clips; the packed audio of each split is rebuilt on first use.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from voxsmith.data.manifest import format_summary, read_rows, summarize, write_rows
from voxsmith.data.speakers import Roster, extra_voices, held_out_groups, voice_group
from voxsmith.errors import DataError
from voxsmith.fileio import atomic_copy, atomic_write_text

log = logging.getLogger(__name__)

# Per-clip caches keyed by clip id, which stay valid for the same clips in a merged corpus.
PER_CLIP_CACHES = ("codes_", "latents_", "prosody_", "style_")


def _base_roster(base: Path) -> tuple[Roster, dict[str, str]]:
    path = base / "speakers.json"
    if not path.is_file():
        raise DataError(f"{path}: not found (is {base} a corpus built by `voxsmith corpus build`?)")
    roster = Roster.load(path)
    splits = roster.info.get("splits")
    if not isinstance(splits, dict):
        raise DataError(f"{path}: no speaker splits recorded")
    return roster, splits


def extra_roster(base: str | Path, per_voice: int, seed: int = 0, source: str = "train") -> Roster:
    """A train-only roster of ``per_voice`` random voices per training engine voice of ``base``
    (``source`` "train"), per engine voice the screening passed but no speaker of ``base``
    reads ("unused"), or both."""
    base = Path(base)
    roster, splits = _base_roster(base)
    measured = roster.info.get("voices", {})
    f0 = {k: float(v["f0"]) for k, v in measured.items() if isinstance(v, dict) and v.get("f0")}
    screened = {k: str(v["lang"]) for k, v in measured.items()
                if isinstance(v, dict) and v.get("ok") and v.get("lang")}  # fmt: skip
    speakers = extra_voices(roster.speakers, splits, f0, per_voice, seed, screened=screened, source=source)
    used = {p.voice for s in speakers for _, p in s.parts}
    info = {
        "about": "made by `voxsmith corpus voices`; build it with --train-only (see voxsmith/data/extra.py)",
        "base": str(base.resolve()),
        "per_voice": per_voice,
        "seed": seed,
        "source": source,
        "held_out_groups": sorted(held_out_groups(roster.speakers, splits)),
        "voices": {k: v for k, v in measured.items() if k in used},
    }
    return Roster(speakers, info)


def merge(base: str | Path, extra: str | Path, out: str | Path) -> dict:
    """``out``: a corpus of ``base``'s clips and ``extra``'s training clips; returns its summary.

    Refuses an ``extra`` whose speakers share an id with ``base``'s or use a voice ``base``
    holds out (its test speakers would then no longer be unheard).
    """
    base, extra, out = Path(base), Path(extra), Path(out)
    roster, splits = _base_roster(base)
    extra_roster_, _ = _base_roster(extra)
    held = held_out_groups(roster.speakers, splits)
    leaks = sorted({s.id for s in extra_roster_.speakers for _, p in s.parts if voice_group(p.voice) in held})
    if leaks:
        raise DataError(f"{extra}: speakers {', '.join(leaks[:5])} use voices {base} holds out for testing")
    clash = sorted({s.id for s in roster.speakers} & {s.id for s in extra_roster_.speakers})
    if clash:
        raise DataError(f"{extra}: speaker ids {', '.join(clash[:5])} are also in {base}")
    if out.resolve() in (base.resolve(), extra.resolve()):
        raise DataError(f"--out {out} must be a new directory, not one of the corpora merged")
    rows = []
    for corpus in (base, extra):
        for row in read_rows(corpus):
            p = Path(row["path"])
            rows.append({**row, "path": str(p if p.is_absolute() else (corpus / p).resolve())})
    if len({r["id"] for r in rows}) != len(rows):
        raise DataError(f"{base} and {extra} share clip ids")
    out.mkdir(parents=True, exist_ok=True)
    (out / "cache").mkdir(exist_ok=True)
    for src in sorted((base / "cache").glob("*.npz")) if (base / "cache").is_dir() else []:
        dst = out / "cache" / src.name
        if src.name.startswith(PER_CLIP_CACHES) and not dst.exists():
            atomic_copy(src, dst, suffix=".npz")
    info = {
        **roster.to_dict(),
        "speakers": [s.to_dict() for s in roster.speakers + extra_roster_.speakers],
        "splits": {**splits, **{s.id: "train" for s in extra_roster_.speakers}},
        "merged_from": [str(base.resolve()), str(extra.resolve())],
    }
    atomic_write_text(out / "speakers.json", json.dumps(info, ensure_ascii=False, indent=1) + "\n")
    write_rows(out, rows)
    summary = summarize(rows)
    atomic_write_text(out / "summary.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
    log.info("merged %s and %s into %s:\n%s", base, extra, out, format_summary(summary))
    return summary
