"""Batch and multi-role synthesis from a script file.

A script is JSONL (one object per line) or YAML (a list of lines, or a mapping with
``roles`` and ``lines``). A line::

    {"text": "你竟然敢骗我！", "role": "wife", "emotion": "angry", "intensity": 1.4,
     "duration_ratio": 0.9, "seed": 3, "pause_ms": 400}

``role`` (or ``speaker``) names a role of the ``roles`` table, a voice-library name or a
saved embedding; ``ref`` gives a reference clip directly. ``roles`` maps a role to
``{"speaker": NAME_OR_FILE}`` or ``{"ref": CLIP}`` plus default controls for that role.
In JSONL the roles table may be a first line ``{"roles": {...}}``.

Output directory: ``lines/NNNN-role.wav`` per line, ``manifest.jsonl`` (one row per line
with its status), ``joined.wav`` (all finished lines with their pauses). Finished lines are
skipped on a rerun (same line, same model); a bad line is reported and the rest still run.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from voxsmith.audio import SAMPLE_RATE, Audio, AudioProcessor
from voxsmith.errors import ConfigError, DataError, VoxsmithError
from voxsmith.fileio import atomic_write_lines

if TYPE_CHECKING:
    from voxsmith.pipeline import IndexTTSModel

LINE_KEYS = {
    "id", "text", "role", "speaker", "ref", "emotion", "emotion_ref", "emotion_vector", "intensity",
    "emo_alpha", "duration_ratio", "target_tokens", "seed", "pause_ms",
}  # fmt: skip
ROLE_KEYS = LINE_KEYS - {"id", "text", "role", "pause_ms"}
DEFAULT_PAUSE_MS = 300.0


@dataclass
class Script:
    lines: list[dict[str, Any]]
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    base: Path = Path(".")  # relative clip paths resolve against the script's folder


def read_script(path: str | os.PathLike) -> Script:
    """Parse a JSONL or YAML script; structural problems are a ``DataError`` naming the line."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: script not found")
    text = p.read_text(encoding="utf-8")
    roles: dict[str, dict] = {}
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DataError(f"{p}: not valid YAML ({exc})") from exc
        if isinstance(doc, dict):
            roles = doc.get("roles") or {}
            lines = doc.get("lines")
        else:
            lines = doc
        if not isinstance(lines, list):
            raise DataError(f"{p}: expected a list of lines (or a mapping with 'lines')")
    elif p.suffix.lower() in (".jsonl", ".json"):
        lines = []
        for n, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                # kept as a bad line: reported in the manifest, the rest still run
                obj = {"_error": f"line {n}: not valid JSON ({exc.msg})"}
            if isinstance(obj, dict) and set(obj) == {"roles"}:
                roles = obj["roles"]
                continue
            lines.append(obj)
    else:
        raise DataError(f"{p}: script must be .jsonl or .yaml")
    if not isinstance(roles, dict):
        raise DataError(f"{p}: 'roles' must map role names to settings")
    for name, spec in roles.items():
        if not isinstance(spec, dict) or not ({"speaker", "ref"} & set(spec)):
            raise DataError(f"{p}: role {name!r} needs 'speaker' or 'ref'")
        extra = set(spec) - ROLE_KEYS
        if extra:
            raise DataError(f"{p}: role {name!r} has unknown keys {sorted(extra)}")
    if not lines:
        raise DataError(f"{p}: the script has no lines")
    return Script(lines, roles, p.parent)


def line_error(line: Any) -> str | None:
    """Why a line cannot run (before synthesis), or None."""
    if not isinstance(line, dict):
        return "not an object"
    if "_error" in line:
        return str(line["_error"])
    extra = set(line) - LINE_KEYS
    if extra:
        return f"unknown keys {sorted(extra)}"
    if not isinstance(line.get("text"), str) or not line["text"].strip():
        return "no text"
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^\w\-]+", "_", text).strip("_")[:24] or "line"


@dataclass
class BatchReport:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    joined: Path | None = None
    manifest: Path | None = None
    errors: list[str] = field(default_factory=list)


class BatchRunner:
    """Runs a script line by line with one model; speakers are resolved once per role."""

    def __init__(self, model: IndexTTSModel, voices: str | os.PathLike | None = None):
        self.model = model
        self.voices = voices
        self._speakers: dict[str, Any] = {}

    def _settings(self, script: Script, line: dict) -> dict:
        role = line.get("role") or line.get("speaker")
        settings: dict[str, Any] = {}
        if role is not None and role in script.roles:
            settings.update(script.roles[role])
        settings.update({k: v for k, v in line.items() if k not in ("role", "id")})
        if role is not None and role not in script.roles and "speaker" not in line and "ref" not in line:
            settings["speaker"] = role  # a bare role name is a library voice
        if "speaker" not in settings and "ref" not in settings:
            raise ConfigError("no speaker: give 'role', 'speaker' or 'ref'")
        return settings

    def _speaker(self, settings: dict, base: Path):
        from voxsmith.embeddings import SpeakerEmbedding
        from voxsmith.voices import VoiceLibrary

        if "ref" in settings:
            key = "ref:" + str(settings["ref"])
            if key not in self._speakers:
                self._speakers[key] = self.model.speaker_encoder(base / settings["ref"])
            return self._speakers[key]
        name = str(settings["speaker"])
        if name not in self._speakers:
            if name.endswith(".safetensors"):
                self._speakers[name] = SpeakerEmbedding.load(base / name)
            else:
                self._speakers[name] = VoiceLibrary(self.voices).embedding(name, self.model)
        return self._speakers[name]

    def _key(self, settings: dict) -> str:
        blob = json.dumps(settings, sort_keys=True, ensure_ascii=False) + self.model.model_id
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    def run(self, script: Script, out: str | os.PathLike, progress: bool = True) -> BatchReport:
        from tqdm import tqdm

        out = Path(out)
        (out / "lines").mkdir(parents=True, exist_ok=True)
        manifest = out / "manifest.jsonl"
        previous = {}
        if manifest.is_file():
            for raw in manifest.read_text(encoding="utf-8").splitlines():
                row = json.loads(raw)
                previous[row["index"]] = row
        rows: list[dict] = []
        report = BatchReport(manifest=manifest)
        for i, line in enumerate(tqdm(script.lines, desc="batch", unit="line", disable=not progress)):
            row: dict[str, Any] = {"index": i, "id": line.get("id") if isinstance(line, dict) else None}
            err = line_error(line)
            try:
                if err:
                    raise DataError(err)
                settings = self._settings(script, line)
                role = str(line.get("role") or line.get("speaker") or Path(str(settings.get("ref"))).stem)
                path = out / "lines" / f"{i + 1:04d}-{_slug(role)}.wav"
                row.update(role=role, text=line["text"], path=str(path.relative_to(out)), key=self._key(settings),
                           pause_ms=float(settings.get("pause_ms", DEFAULT_PAUSE_MS)))  # fmt: skip
                old = previous.get(i)
                if old and old.get("status") == "ok" and old.get("key") == row["key"] and path.is_file():
                    rows.append(old)
                    report.skipped += 1
                    continue
                res = self._synthesize(settings, script.base)
                AudioProcessor.save(res.audio, path)
                row.update(status="ok", seconds=round(res.seconds, 3), tokens=res.tokens)
                report.done += 1
            except VoxsmithError as exc:
                row.update(status="failed", error=str(exc))
                report.failed += 1
                report.errors.append(f"line {i + 1}: {exc}")
            rows.append(row)
            _write_jsonl(manifest, rows + [previous[k] for k in sorted(previous) if k > i])
        _write_jsonl(manifest, rows)
        report.joined = self._join(out, rows)
        report.seconds = sum(float(r.get("seconds", 0.0)) for r in rows if r.get("status") == "ok")
        return report

    def _synthesize(self, settings: dict, base: Path):
        spk = self._speaker(settings, base)
        emotion_ref = settings.get("emotion_ref")
        return self.model.synthesize(
            settings["text"],
            speaker_embedding=spk,
            emotion=settings.get("emotion"),
            emotion_reference=None if emotion_ref is None else base / emotion_ref,
            emotion_vector=settings.get("emotion_vector"),
            intensity=float(settings.get("intensity", 1.0)),
            emo_alpha=float(settings.get("emo_alpha", 1.0)),
            duration_ratio=settings.get("duration_ratio"),
            target_tokens=settings.get("target_tokens"),
            seed=int(settings.get("seed", 0)),
        )

    @staticmethod
    def _join(out: Path, rows: list[dict]) -> Path | None:
        parts = []
        for r in rows:
            if r.get("status") != "ok":
                continue
            samples, _ = sf.read(out / r["path"], dtype="float32")  # our own files: 22050 Hz mono
            parts.append(samples)
            parts.append(
                np.zeros(int(float(r.get("pause_ms", DEFAULT_PAUSE_MS)) / 1000 * SAMPLE_RATE), np.float32)
            )
        if not parts:
            return None
        path = out / "joined.wav"
        AudioProcessor.save(Audio(np.concatenate(parts[:-1]), SAMPLE_RATE), path)
        return path


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    atomic_write_lines(path, (json.dumps(r, ensure_ascii=False) for r in rows))
