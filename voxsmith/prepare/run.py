"""``prepare(cfg)``: every source of RAW -> DATASET (resumable), then manifest, report, features.

    find_sources(RAW) + transcripts ──► skip sources finished with the same settings (state.py)
        ──► SourceProcessor per source (in this process, or ``workers`` spawned processes)
        ──► main process records each finished source (sources.jsonl)
        ──► splits ──► manifest.jsonl, dropped.jsonl, report.json (atomic) ──► feature caches

DATASET/: ``wavs/<speaker>/<id>.wav`` (22050 Hz mono 16-bit), ``manifest.jsonl`` (the corpus
schema of ``voxsmith.data.manifest``, read by ``voxsmith.train.data.CorpusData``, plus
``source, start_s, end_s, text_origin, asr_text, asr_error, dnsmos``), ``dropped.jsonl``,
``report.json``, ``sources.jsonl`` (resume state), ``cache/<split>.npz`` (packed audio + mels).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from voxsmith.fileio import atomic_write_lines, folder_lock
from voxsmith.prepare.config import PrepareConfig
from voxsmith.prepare.process import SourceProcessor, SourceResult, text_sha
from voxsmith.prepare.report import assign_splits, build_report, nothing_usable
from voxsmith.prepare.sources import SourceFile, find_sources
from voxsmith.prepare.state import LOCK, Record, SourceStore
from voxsmith.prepare.transcripts import GivenText, TranscriptIndex

log = logging.getLogger(__name__)

Task = tuple[SourceFile, GivenText | None]

# The processor of a worker process (set once by _init_worker): judges load once per worker.
_WORKER: SourceProcessor | None = None


def _init_worker(cfg: PrepareConfig) -> None:
    global _WORKER
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    _WORKER = SourceProcessor(cfg)


def _work(task: Task) -> SourceResult:
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.process(*task)


def _results(
    tasks: list[Task], cfg: PrepareConfig, processor: SourceProcessor | None
) -> Iterator[SourceResult]:
    """Results in completion order (in this process when ``workers`` <= 1)."""
    if cfg.workers <= 1 or len(tasks) <= 1:
        proc = processor or SourceProcessor(cfg)
        for src, given in tasks:
            yield proc.process(src, given)
        return
    import multiprocessing as mp
    from concurrent.futures import as_completed

    ctx = mp.get_context("spawn")  # judges hold onnx/ctranslate2 state: no fork
    with ProcessPoolExecutor(min(cfg.workers, len(tasks)), ctx, _init_worker, (cfg,)) as pool:
        futures = [pool.submit(_work, t) for t in tasks]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _remove_stale_wavs(out: Path, rows: list[dict]) -> int:
    """Delete wavs under ``out/wavs`` that no manifest row names (from redone or removed sources,
    or a run killed mid-write). Returns how many were removed."""
    wanted = {(out / r["path"]).resolve() for r in rows}
    removed = 0
    for p in (out / "wavs").rglob("*"):
        if p.is_file() and (p.suffix == ".tmp" or p.suffix == ".wav") and p.resolve() not in wanted:
            p.unlink()
            removed += 1
    return removed


def _build_features(out: Path, rows: list[dict]) -> None:
    from voxsmith.train.data import CorpusData

    for split in ("train", "valid"):
        if any(r["split"] == split for r in rows):
            CorpusData(out, split)


def prepare(
    cfg: PrepareConfig,
    processor: SourceProcessor | None = None,
    on_source: Callable[[SourceResult], None] | None = None,
) -> dict:
    """Prepare (or resume) ``cfg.out`` from ``cfg.raw``; returns the report (also in report.json).

    ``processor`` replaces the default one (tests pass judges in); ``on_source`` is called after
    each source is recorded. Raises ``DataError`` when RAW has no audio or no clip is usable
    (report.json is written first), ``ConfigError`` for bad options.
    """
    cfg.check()
    raw, out = Path(cfg.raw), Path(cfg.out)
    sources = find_sources(raw)
    index = TranscriptIndex.build(raw, cfg.transcripts)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out / LOCK, "prepare"):
        return _prepare(cfg, raw, out, sources, index, processor, on_source)


def _prepare(
    cfg: PrepareConfig,
    raw: Path,
    out: Path,
    sources: list[SourceFile],
    index: TranscriptIndex,
    processor: SourceProcessor | None,
    on_source: Callable[[SourceResult], None] | None,
) -> dict:
    key = cfg.settings_key()
    store = SourceStore(out)
    tasks: list[Task] = []
    for src in sources:
        given = index.lookup(src.rel)
        if store.done(src, text_sha(given), key) is None:
            tasks.append((src, given))
    shas = {src.rel: text_sha(given) for src, given in tasks}
    fps = {src.rel: src.fingerprint for src, _ in tasks}
    total_s = sum(s.seconds for s in sources)
    todo_s = sum(src.seconds for src, _ in tasks)
    log.info("%d source(s), %d to process (%.1f min), %d already done", len(sources), len(tasks), todo_s / 60,
             len(sources) - len(tasks))  # fmt: skip
    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=round(total_s / 60, 2), initial=round((total_s - todo_s) / 60, 2), unit="min",
                   desc="prepare", bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} min [{elapsed}<{remaining}]")  # fmt: skip
    t0 = time.perf_counter()
    done_s = 0.0
    try:
        for res in _results(tasks, cfg, processor):
            store.append(Record(fps[res.rel], shas[res.rel], key, res))
            done_s += res.seconds
            if bar is not None:
                bar.update(round(res.seconds / 60, 2))
            if on_source is not None:
                on_source(res)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    rels = [s.rel for s in sources]
    store.compact(rels)
    results = [store.records[r].result for r in rels]
    rows = sorted((row for res in results for row in res.rows), key=lambda r: r["id"])
    assign_splits(rows, cfg.valid_share)
    atomic_write_lines(out / "manifest.jsonl", [json.dumps(r, ensure_ascii=False) for r in rows])
    drops = [d.to_dict() for res in results for d in res.drops]
    atomic_write_lines(out / "dropped.jsonl", [json.dumps(d, ensure_ascii=False) for d in drops])
    removed = _remove_stale_wavs(out, rows)
    if removed:
        log.info("removed %d wav file(s) no longer in the manifest", removed)
    this_run = {
        "sources_done": len(tasks),
        "sources_skipped": len(sources) - len(tasks),
        "minutes": round(done_s / 60, 3),
        "wall_s": round(wall, 2),
        "minutes_per_minute": round(done_s / wall, 3) if wall > 0 and done_s else 0.0,
        "workers": cfg.workers,
        "settings": key,
    }
    report = build_report(results, rows, this_run)
    atomic_write_lines(out / "report.json", [json.dumps(report, ensure_ascii=False, indent=1)])
    if not rows:
        raise nothing_usable(report, str(raw))
    if cfg.features:
        _build_features(out, rows)
    return report
