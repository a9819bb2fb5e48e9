"""Each judge on tiny real speech (flite / espeak-ng clips made in a temp dir)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf

from tests.eval_speech import SENTENCE_A, SENTENCE_B, SENTENCE_NUM, add_noise, espeak, flite
from voxsmith.audio import Audio
from voxsmith.errors import AudioError, EngineError
from voxsmith.eval.asr import AsrBackend, AsrJudge, Transcript
from voxsmith.eval.mos import MosJudge
from voxsmith.eval.prosody import ProsodyJudge
from voxsmith.eval.sim import SpeakerJudge
from voxsmith.eval.whisper import (
    LOOP_COMPRESSION_RATIO,
    WhisperBackend,
    WhisperConfig,
    compression_ratio,
    whisper_base_dir,
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("speech")
    return {
        "awb_a": flite(d / "awb_a.wav", SENTENCE_A, "awb"),
        "awb_b": flite(d / "awb_b.wav", SENTENCE_B, "awb"),
        "slt_b": flite(d / "slt_b.wav", SENTENCE_B, "slt"),
        "slt_num": flite(d / "slt_num.wav", SENTENCE_NUM, "slt"),
        "es_low": espeak(d / "es_low.wav", SENTENCE_A, pitch=30),
        "es_high": espeak(d / "es_high.wav", SENTENCE_A, pitch=90),
        "es_slow": espeak(d / "es_slow.wav", SENTENCE_B, speed=120),
        "es_fast": espeak(d / "es_fast.wav", SENTENCE_B, speed=240),
    }


def test_speaker_similarity_same_voice_beats_different_voice(clips):
    judge = SpeakerJudge()
    same = judge.similarity(clips["awb_a"], clips["awb_b"])  # same voice, other sentence
    different = judge.similarity(clips["awb_b"], clips["slt_b"])  # same sentence, other voice
    assert same > 0.8
    assert same > different + 0.15
    emb = judge.embed(clips["awb_a"])
    assert emb.shape == (256,) and np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-3)
    # an in-memory Audio gives the same embedding as the file
    x, sr = sf.read(clips["awb_a"], dtype="float32")
    assert judge.similarity(Audio(x, sr), clips["awb_a"]) == pytest.approx(1.0, abs=1e-4)


def test_asr_transcribes_clear_english_with_low_wer(clips):
    judge = AsrJudge()
    res = judge.score(clips["slt_num"], "en", SENTENCE_NUM)  # "5" vs "five" must not count
    assert res.metric == "wer" and res.error is not None
    assert res.error <= 0.1, res.text
    assert set(res.to_dict()) == {"text", "lang", "wer"}
    detected = judge.transcribe(clips["awb_a"])  # language detected when not given
    assert detected.lang == "en" and "fox" in detected.text.lower()


def test_fitted_window_decoding_matches_the_30_s_windows(clips):
    full = WhisperBackend(WhisperConfig(beam_size=1))
    fitted = WhisperBackend(WhisperConfig(beam_size=1, fit_window=True))
    assert full.window_seconds(16000 * 5) is None
    assert fitted.window_seconds(16000 * 5) == 10.0  # at least min_window
    assert fitted.window_seconds(16000 * 12) == pytest.approx(14.0)  # the clip plus the margin
    assert fitted.window_seconds(16000 * 29) is None  # does not fit: the usual windows
    for name, sentence in (("slt_num", SENTENCE_NUM), ("awb_b", SENTENCE_B)):
        a = AsrJudge(full).score(clips[name], "en", sentence)
        b = AsrJudge(fitted).score(clips[name], "en", sentence)
        assert b.error <= min(0.15, a.error + 0.05), (a.text, b.text)
    # a decoding loop in the fitted window is decoded again in the usual 30 s windows
    fitted._decode_fitted = lambda samples, lang, seconds: "the the the the " * 30
    again = AsrJudge(fitted).score(clips["slt_num"], "en", SENTENCE_NUM)
    assert again.error <= 0.15, again.text
    assert compression_ratio("") == 0.0
    assert (
        compression_ratio("今天今天今天" * 20)
        > LOOP_COMPRESSION_RATIO
        > compression_ratio("他在银行工作，银行行长今天来视察。")
    )


def test_asr_backend_is_swappable_and_zh_output_is_simplified(clips):
    class Fixed(AsrBackend):
        name = "fixed"

        def transcribe(self, samples, lang=None):
            assert samples.ndim == 1 and samples.dtype == np.float32
            return Transcript("今天天氣很好，對吧？", "zh")

    res = AsrJudge(Fixed()).score(clips["awb_a"], "zh", "今天天气很好对吗")
    assert res.text == "今天天气很好对吧"
    assert res.metric == "cer" and res.error == pytest.approx(1 / 8)


def test_dnsmos_prefers_clean_speech_to_noisy(clips, tmp_path):
    judge = MosJudge()
    clean = judge.score(clips["slt_b"])
    noisy = judge.score(add_noise(clips["slt_b"], tmp_path / "noisy.wav", snr_db=0.0))
    assert 1.0 <= noisy.ovrl < clean.ovrl - 0.3
    assert noisy.bak < clean.bak - 0.5
    assert all(1.0 <= v <= 5.0 for v in clean.to_dict().values())


def test_prosody_tracks_pitch_and_rate(clips):
    judge = ProsodyJudge()
    low = judge.measure(clips["es_low"], SENTENCE_A, "en")
    high = judge.measure(clips["es_high"], SENTENCE_A, "en")
    assert high.f0_mean_hz > low.f0_mean_hz * 1.2
    assert high.f0_mean_st - low.f0_mean_st > 3.0
    assert low.units == 13 and low.rate_unit == "words/s"
    slow = judge.measure(clips["es_slow"], SENTENCE_B, "en")
    fast = judge.measure(clips["es_fast"], SENTENCE_B, "en")
    assert fast.rate > slow.rate * 1.5 and fast.duration_s < slow.duration_s
    assert 0.2 < low.voiced_ratio < 1.0 and -40.0 < low.energy_db < 0.0
    assert judge.measure(clips["es_low"]).rate is None  # no text, no rate


def test_bad_audio_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="bad.wav"):
        ProsodyJudge().measure(bad)
    with pytest.raises(AudioError, match="not found"):
        MosJudge().score(tmp_path / "missing.wav")


@pytest.mark.parametrize(
    ("module", "package", "call"),
    [
        ("resemblyzer", "resemblyzer", lambda clip: SpeakerJudge().embed(clip)),
        ("speechmos.dnsmos", "speechmos", lambda clip: MosJudge().score(clip)),
        ("faster_whisper", "faster-whisper", lambda clip: AsrJudge().transcribe(clip, "en")),
        ("pyworld", "pyworld", lambda clip: ProsodyJudge().measure(clip)),
    ],
)
def test_missing_judge_package_is_an_engine_error(clips, monkeypatch, module, package, call):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(EngineError, match=f"pip install {package}"):
        call(clips["awb_a"])


def test_whisper_model_is_joined_once_atomically(tmp_path):
    first = whisper_base_dir(tmp_path)
    model = first / "model.bin"
    assert first == tmp_path / "whisper-base" and model.stat().st_size > 100_000_000
    assert {p.name for p in first.iterdir()} == {
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
        "model.bin",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]  # no temp dir left behind
    stamp = model.stat().st_mtime_ns
    assert whisper_base_dir(tmp_path) == first and model.stat().st_mtime_ns == stamp  # reused


def test_frame_rate_buzz_finds_a_repeating_frame():
    from voxsmith.eval.buzz import frame_rate_buzz

    sr, hop = 22050, 256
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(sr * 2)
    # the same frame over and over: a waveform periodic at the hop
    repeated = np.tile(rng.standard_normal(hop), 2 * sr // hop)
    clean, buzzy = frame_rate_buzz(noise, sr, hop), frame_rate_buzz(repeated, sr, hop)
    assert abs(clean.excess_db) < 1.0
    assert buzzy.share > 0.9 and buzzy.excess_db > 10.0
    # a tone between the lines is no buzz
    tone = np.sin(2 * np.pi * 200.0 * np.arange(2 * sr) / sr)
    assert frame_rate_buzz(tone, sr, hop).share < 0.01
    with pytest.raises(AudioError):
        frame_rate_buzz(np.zeros(100), sr, hop)
