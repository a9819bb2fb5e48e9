"""``voxsmith corpus build``: plan the clips, render them in worker processes, resume on rerun.

    roster.json + seed ──► sentence pool (cached) ──► job list (plan.py, deterministic)
        ──► clips not yet in the manifest ──► workers (ClipRenderer each) ──► wavs/<speaker>/<id>.wav
        ──► main process appends one manifest line per finished clip ──► summary.json

Output directory: ``manifest.jsonl``, ``wavs/``, ``sentences.jsonl`` (pool cache),
``speakers.json`` (roster with splits), ``build.json`` (settings a rerun must share),
``failures.jsonl`` (clips that failed: logged and skipped, retried by the next run),
``summary.json``. Clips are 22050 Hz mono 16-bit wav.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing as mp
import os
import queue
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from voxsmith.audio import AudioProcessor
from voxsmith.data.engines import make_engine
from voxsmith.data.manifest import ManifestWriter, format_summary, read_rows, summarize, write_rows
from voxsmith.data.plan import Job, PlanConfig, PoolSentence, plan_jobs, require_langs
from voxsmith.data.pool import load_or_make_pool
from voxsmith.data.render import ClipRenderer, RenderConfig, job_seed
from voxsmith.data.speakers import Roster, Speaker
from voxsmith.data.styles import emotion_vector
from voxsmith.data.texts import TextConfig
from voxsmith.errors import ConfigError, DataError
from voxsmith.fileio import LineAppender, atomic_write_text, folder_lock

log = logging.getLogger(__name__)

CORPUS_VERSION = 1  # bump when rendering changes what a clip sounds like (old builds then refuse to resume)


@dataclass
class BuildConfig:
    """Everything a build needs; ``plan`` and ``render`` decide the clips, the rest how fast."""

    out: Path  # corpus directory
    plan: PlanConfig = field(default_factory=PlanConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    text: TextConfig = field(default_factory=TextConfig)
    roster: str | None = None  # roster JSON; None = the packaged screening result
    workers: int = 1  # worker processes (0 = render in this process)
    threads: int = 1  # torch/BLAS threads per worker
    limit: int | None = None  # stop after this many new clips (None = all)
    progress: bool = True  # tqdm progress bar on stderr


@dataclass
class BuildReport:
    """What one run of the builder did, and the summary of the whole corpus."""

    planned: int
    already_done: int
    rendered: int
    failed: int
    new_audio_s: float
    wall_s: float
    summary: dict

    @property
    def throughput(self) -> float:
        """Minutes of audio rendered per minute of wall time in this run."""
        return self.new_audio_s / self.wall_s if self.wall_s > 0 else 0.0


def _settings(cfg: BuildConfig, roster: Roster) -> dict:
    p = asdict(cfg.plan)
    p.pop("minutes")  # a rerun may build more or fewer minutes on the same plan
    p["langs"] = list(cfg.plan.langs)
    if not p["train_only"]:
        p.pop("train_only")  # corpora built before the option resume unchanged
    speakers = json.dumps([s.to_dict() for s in roster.speakers], sort_keys=True)
    return {
        "version": CORPUS_VERSION,
        "plan": p,
        "render": asdict(cfg.render),
        "text": asdict(cfg.text),
        "roster_sha1": hashlib.sha1(speakers.encode()).hexdigest(),
    }


def _check_settings(out: Path, cfg: BuildConfig, roster: Roster) -> None:
    path = out / "build.json"
    now = _settings(cfg, roster)
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        if before != now:
            raise ConfigError(
                f"{out} was built with other settings, roster or renderer version ({before}); rerun "
                f"with the same options (only --minutes, --workers, --threads and --limit may change) "
                f"or use another --out"
            )
    else:
        atomic_write_text(path, json.dumps(now, indent=1) + "\n")


def make_row(
    job: Job, sent: PoolSentence, spk: Speaker, duration_s: float, path: str, sample_rate: int = 22050
) -> dict:
    """The manifest row of a rendered clip."""
    from voxsmith.data.render import stretches

    used = [spk.part(lg) for lg, _ in stretches(sent.normalized, spk, job.lang)]
    return {
        "id": job.id,
        "path": path,
        "text": sent.text,
        "normalized": sent.normalized,
        "syllables": list(sent.syllables),
        "phones": list(sent.phones),
        "units": list(sent.units),
        "lang": job.lang,
        "speaker": job.speaker,
        "engine": "+".join(dict.fromkeys(p.engine for p in used)),
        "voice": "+".join(dict.fromkeys(p.voice for p in used)),
        "style": job.style,
        "style_strength": job.strength,
        "emotion": emotion_vector(job.style, job.strength),
        "duration_s": round(duration_s, 4),
        "split": job.split,
        "sentence": sent.id,
        "kind": sent.kind,
        "code_switch": len(used) > 1,
        "sample_rate": sample_rate,
    }


def clip_path(job: Job) -> str:
    return f"wavs/{job.speaker}/{job.id}.wav"


def render_task(renderer: ClipRenderer, task: dict) -> dict:
    """Render and write one clip; never raises (a failure is returned as a result)."""
    t0 = time.perf_counter()
    try:
        spk = Speaker.from_dict(task["speaker"])
        audio = renderer.render(
            spk, task["normalized"], task["lang"], task["style"], task["strength"], task["seed"]
        )
        AudioProcessor.save(audio, task["out"])
        return {"id": task["id"], "ok": True, "duration_s": audio.seconds, "wall_s": time.perf_counter() - t0}
    except Exception as exc:  # any failure of one clip is logged and skipped, not fatal
        return {"id": task["id"], "ok": False, "error": f"{exc.__class__.__name__}: {exc}"}


def _worker_main(tasks: mp.Queue, results: mp.Queue, render_cfg: dict, threads: int, parent: int) -> None:
    """Worker process: one renderer (engines load once), tasks until a ``None``.

    A worker whose builder died (killed) stops at the next task instead of rendering on.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    logging.basicConfig(level=logging.WARNING)
    renderer = ClipRenderer(RenderConfig(**render_cfg))
    while os.getppid() == parent:
        task = tasks.get()
        if task is None:
            return
        results.put(render_task(renderer, task))


def _run_workers(tasks: list[dict], cfg: BuildConfig, on_result) -> None:
    if cfg.workers == 0:
        renderer = ClipRenderer(cfg.render)
        for t in tasks:
            on_result(render_task(renderer, t))
        return
    ctx = mp.get_context("spawn")  # engines hold torch/onnx state: no fork
    tq: mp.Queue = ctx.Queue()
    rq: mp.Queue = ctx.Queue()
    for t in tasks:
        tq.put(t)
    n = min(cfg.workers, len(tasks))
    for _ in range(n):
        tq.put(None)
    args = (tq, rq, asdict(cfg.render), cfg.threads, os.getpid())
    procs = [ctx.Process(target=_worker_main, args=args, daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    received = 0
    # `kill PID` of the builder must stop its workers too: turn SIGTERM into an interrupt.
    old_term = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
    try:
        while received < len(tasks):
            try:
                res = rq.get(timeout=5.0)
            except queue.Empty:
                if not any(p.is_alive() for p in procs):
                    raise DataError(
                        f"all {n} workers exited with {len(tasks) - received} clips left; "
                        "see the log, then rerun to resume"
                    ) from None
                continue
            received += 1
            on_result(res)
    finally:
        for p in procs:
            if p.is_alive() and received < len(tasks):
                p.terminate()
            p.join(timeout=10)
        if received < len(tasks):
            # the task queue's feeder thread still holds tasks no worker will read: joined at
            # exit, it would block on the full pipe and the builder would never exit (the result
            # queue needs nothing: this process never puts into it, so it has no feeder thread)
            tq.cancel_join_thread()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def require_engines(roster: Roster, langs: tuple[str, ...]) -> None:
    """Raise ``EngineError`` (naming the package) for an engine the roster needs and lacks."""
    names = sorted({p.engine for s in roster.speakers for lg, p in s.parts if lg in langs})
    for name in names:
        make_engine(name).require()


def build_lock(out: Path) -> contextlib.AbstractContextManager[None]:
    """Refuse a second builder on the same directory (two writers would duplicate clips)."""
    return folder_lock(out / "build.lock", "build")


def build(cfg: BuildConfig) -> BuildReport:
    """Build (or resume) the corpus in ``cfg.out``; returns what this run did."""
    if cfg.workers < 0:
        raise ConfigError(f"--workers must be >= 0, got {cfg.workers}")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with build_lock(out):
        return _build(cfg, out)


def _build(cfg: BuildConfig, out: Path) -> BuildReport:
    roster = Roster.load(cfg.roster)
    require_langs(roster, cfg.plan.langs)  # before build.json binds the directory to these settings
    require_engines(roster, cfg.plan.langs)
    _check_settings(out, cfg, roster)
    pool = load_or_make_pool(out, cfg.plan, cfg.text)
    jobs = plan_jobs(roster, pool, cfg.plan)
    splits = cfg.plan.splits(roster)
    speakers_json = {**roster.to_dict(), "splits": splits}
    atomic_write_text(out / "speakers.json", json.dumps(speakers_json, ensure_ascii=False, indent=1))

    rows = read_rows(out, repair=True)
    done = {r["id"] for r in rows}
    todo = [j for j in jobs if j.id not in done]
    if cfg.limit is not None:
        todo = todo[: cfg.limit]
    sentences = {s.id: s for s in pool}
    speakers = roster.by_id()
    by_id = {j.id: j for j in todo}
    tasks = [
        {
            "id": j.id,
            "speaker": speakers[j.speaker].to_dict(),
            "normalized": sentences[j.sentence].normalized,
            "lang": j.lang,
            "style": j.style,
            "strength": j.strength,
            "seed": job_seed(j.id, cfg.plan.seed),
            "out": str(out / clip_path(j)),
        }
        for j in todo
    ]
    log.info("%d clips planned, %d already built, %d to render", len(jobs), len(done), len(todo))
    stats = {"ok": 0, "failed": 0, "audio_s": 0.0}
    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(
            total=len(jobs), initial=len(jobs) - len(todo), unit="clip", mininterval=5.0, smoothing=0.05
        )
    t0 = time.perf_counter()
    with ManifestWriter(out) as writer, LineAppender(out / "failures.jsonl") as failures:

        def on_result(res: dict) -> None:
            job = by_id[res["id"]]
            if res["ok"]:
                sent = sentences[job.sentence]
                row = make_row(
                    job,
                    sent,
                    speakers[job.speaker],
                    res["duration_s"],
                    clip_path(job),
                    cfg.render.sample_rate,
                )
                writer.append_row(row)
                stats["ok"] += 1
                stats["audio_s"] += res["duration_s"]
            else:
                stats["failed"] += 1
                log.warning("clip %s failed: %s", job.id, res["error"])
                failures.append(json.dumps({"id": job.id, "error": res["error"], "time": time.time()}))
            if bar is not None:
                bar.update(1)
                wall = time.perf_counter() - t0
                bar.set_postfix(
                    audio_min=f"{stats['audio_s'] / 60:.1f}", x_rt=f"{stats['audio_s'] / wall:.2f}"
                )

        try:
            _run_workers(tasks, cfg, on_result)
        finally:
            if bar is not None:
                bar.close()
    wall = time.perf_counter() - t0
    rows = read_rows(out, repair=True)
    write_rows(out, rows)  # sorted by id: the same settings give the same file
    summary = summarize(rows)
    report = BuildReport(len(jobs), len(done), stats["ok"], stats["failed"], stats["audio_s"], wall, summary)
    summary["last_run"] = {
        "rendered": report.rendered,
        "failed": report.failed,
        "audio_min": round(report.new_audio_s / 60, 3),
        "wall_min": round(wall / 60, 3),
        "audio_min_per_wall_min": round(report.throughput, 3),
        "workers": cfg.workers,
        "complete": len(rows) >= len(jobs),
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def summary_text(out: Path) -> str:
    """The summary of an existing corpus directory, for ``voxsmith corpus summary``."""
    rows = read_rows(Path(out))
    if not rows:
        raise DataError(f"{out}: no manifest.jsonl with clips (build one with `voxsmith corpus build`)")
    return format_summary(summarize(rows))
