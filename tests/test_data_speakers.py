"""Speaker roster: serialisation, held-out voice groups, variants, and the screening's choice rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxsmith.data.screen import distinct_voices
from voxsmith.data.speakers import (
    Roster,
    Speaker,
    SpeakerPart,
    choose_test_groups,
    slug,
    split_speakers,
    variants,
    voice_group,
)
from voxsmith.data.timbre import Timbre
from voxsmith.errors import DataError


def roster() -> Roster:
    zh = [Speaker(f"zh-{i}", "engine", (("zh", SpeakerPart(f"ttskit:V{i}")),)) for i in range(6)]
    en = [
        Speaker(f"en-{v}", "engine", (("en", SpeakerPart(f"flite:{v}")),))
        for v in ("awb", "rms", "slt", "kal16")
    ]
    en.append(Speaker("en-hts", "engine", (("en", SpeakerPart("festival:cmu_us_slt_arctic_hts")),)))
    en.append(Speaker("en-joe", "engine", (("en", SpeakerPart("piper:joe")),)))
    warped = Speaker("zh-0-x", "warped", (("zh", SpeakerPart("ttskit:V0", Timbre(warp=0.1, f0_scale=0.6))),))
    bi = Speaker(
        "bi-1-awb",
        "bilingual",
        (("zh", SpeakerPart("ttskit:V1")), ("en", SpeakerPart("flite:awb", Timbre(f0_scale=1.7)))),
    )
    return Roster(zh + en + [warped, bi])


def test_roster_round_trips_through_json(tmp_path):
    r = roster()
    path = r.save(tmp_path / "roster.json")
    back = Roster.load(path)
    assert [s.to_dict() for s in back.speakers] == [s.to_dict() for s in r.speakers]
    assert back.by_id()["bi-1-awb"].part("en").timbre.f0_scale == 1.7
    assert set(back.by_id()["bi-1-awb"].langs) == {"zh", "en"}
    with pytest.raises(DataError, match="does not speak"):
        back.by_id()["zh-0"].part("en")


def test_bad_roster_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        Roster.load(tmp_path / "none.json")
    (tmp_path / "empty.json").write_text(json.dumps({"speakers": []}))
    with pytest.raises(DataError, match="no speakers"):
        Roster.load(tmp_path / "empty.json")
    dup = {"speakers": [{"id": "a", "parts": {"en": {"voice": "flite:slt"}}}] * 2}
    (tmp_path / "dup.json").write_text(json.dumps(dup))
    with pytest.raises(DataError, match="duplicate"):
        Roster.load(tmp_path / "dup.json")


def test_held_out_voices_never_reach_training():
    r = roster()
    for seed in range(6):
        held = choose_test_groups(r, seed)
        assert "piper:joe" not in held
        splits = split_speakers(r, seed)
        test = [s for s in r.speakers if splits[s.id] == "test"]
        train = [s for s in r.speakers if splits[s.id] == "train"]
        assert len([s for s in test if "zh" in s.langs]) >= 3
        assert len([s for s in test if "en" in s.langs]) >= 2
        train_groups = set().union(*(s.groups for s in train))
        assert not train_groups & set().union(*(s.groups for s in test))
        if splits["zh-0"] == "test":  # a warped copy follows its voice
            assert splits["zh-0-x"] == "test"
    assert split_speakers(r, 3) == split_speakers(r, 3)


def test_same_person_voices_share_a_group():
    assert voice_group("festival:cmu_us_slt_arctic_hts") == voice_group("flite:slt")
    assert voice_group("festival:kal_diphone") == "flite:kal16"
    assert voice_group("flite:awb") == "flite:awb"
    assert slug("espeak:en-us+f3") == "enusf3" and slug("ttskit:Aiyue") == "aiyue"


def test_variants_cross_the_register():
    high = dict(variants("ttskit:A", 240.0))
    low = dict(variants("flite:rms", 100.0))
    assert high["x"].f0_scale * 240 == pytest.approx(120, rel=0.01) and high["x"].warp > 0
    assert low["x"].f0_scale * 100 == pytest.approx(230, rel=0.01) and low["x"].warp < 0
    assert set(high) == {"x", "y", "z"}


def test_distinct_voices_keeps_the_clearest_of_near_duplicates():
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([0.95, np.sqrt(1 - 0.95**2), 0.0])  # cos 0.95 with a
    c = np.array([0.0, 0.0, 1.0])
    voices = {
        "ttskit:A": {"lang": "zh", "error": 0.10, "centroid": a.tolist()},
        "ttskit:B": {"lang": "zh", "error": 0.02, "centroid": b.tolist()},
        "ttskit:C": {"lang": "zh", "error": 0.05, "centroid": c.tolist()},
        "flite:slt": {"lang": "en", "error": 0.0, "centroid": a.tolist()},
    }
    assert distinct_voices(voices, "zh", 0.86) == ["ttskit:B", "ttskit:C"]
    assert distinct_voices(voices, "zh", 0.99) == ["ttskit:B", "ttskit:C", "ttskit:A"]
