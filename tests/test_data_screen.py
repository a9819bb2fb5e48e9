"""Screening logic with stand-in judges (the real ones are tested in test_eval_*)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from voxsmith.audio import Audio
from voxsmith.data import screen as screen_mod
from voxsmith.data.screen import ScreenConfig, screen
from voxsmith.data.speakers import Roster


@dataclass
class FakeResult:
    error: float


class FakeAsr:
    """Every clip is understood with the same error rate."""

    error = 0.0

    def score(self, clip: Audio, lang: str, text: str) -> FakeResult:
        return FakeResult(self.error)


class FakeSim:
    """A 'speaker embedding' from the clip's long-term spectrum in 24 bands (unit norm)."""

    def embed(self, clip: Audio) -> np.ndarray:
        spec = np.abs(np.fft.rfft(clip.samples[: 2**15], n=2**15))
        bands = np.array_split(np.log(spec + 1e-6), 24)
        v = np.array([b.mean() for b in bands])
        v = v - v.mean()
        return v / np.linalg.norm(v)


@pytest.fixture
def fake_judges(monkeypatch):
    import voxsmith.eval.asr
    import voxsmith.eval.sim

    asr = FakeAsr()
    monkeypatch.setattr(voxsmith.eval.asr, "AsrJudge", lambda: asr)
    monkeypatch.setattr(voxsmith.eval.sim, "SpeakerJudge", FakeSim)
    monkeypatch.setattr(screen_mod.RenderConfig, "__init__", _dio_render_init)
    return asr


_orig_init = screen_mod.RenderConfig.__init__


def _dio_render_init(self, *args, **kwargs):
    kwargs.setdefault("f0_method", "dio")  # fast f0 for tests
    _orig_init(self, *args, **kwargs)


def test_screen_keeps_distinct_speakers_and_records_why(tmp_path, fake_judges):
    cfg = ScreenConfig(max_sim=0.97, engines=("flite",), n_bilingual=0)
    roster = screen(tmp_path / "work", cfg)
    ids = [s.id for s in roster.speakers]
    assert len(ids) >= 3 and len(ids) == len(set(ids)) and ids[0] == "en-awb"
    info = roster.info
    assert set(info["voices"]) == {"flite:awb", "flite:rms", "flite:slt", "flite:kal16"}
    assert all(v["ok"] and "centroid" not in v for v in info["voices"].values())
    for c in info["candidates"]:
        assert c["kept"] == (c["id"] in ids)
        if not c["kept"]:
            assert "too similar" in c["reason"] and c["nearest_sim"] > 0.97
    path = roster.save(tmp_path / "roster.json")
    assert [s.id for s in Roster.load(path).speakers] == ids
    # measurements are cached: a second screening with a stricter threshold needs no rendering
    again = screen(tmp_path / "work", ScreenConfig(max_sim=0.5, engines=("flite",), n_bilingual=0))
    assert len(again.speakers) < len(roster.speakers)


def test_screen_drops_unintelligible_voices(tmp_path, fake_judges):
    fake_judges.error = 0.5
    roster = screen(tmp_path / "work", ScreenConfig(engines=("flite",), warped=False))
    assert roster.speakers == [] and roster.info["same_speaker_sim_mean"] is None
    assert all(
        not v["ok"] and v["reason"].startswith("ASR error 0.500") for v in roster.info["voices"].values()
    )
