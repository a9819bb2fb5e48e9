"""Sampling settings a model card may set (model.json): read at load, checked with the key named."""

from __future__ import annotations

import json

import pytest

from tests.helpers import make_random_model
from voxsmith.errors import CheckpointError


@pytest.mark.parametrize(
    "key, good, bad",
    [
        ("timbre_match", 0.5, 1.5),
        ("timbre_match_tilt", 0.0, -1.0),
        ("code_candidates", 4, 0),
        ("code_candidates", 2, 2.5),
        ("code_candidates", 64, 65),
        ("listen_candidates", 0, -1),
        ("listen_candidates", 16, 65),
        ("listen_confidence", 0.9, 1.5),
        ("duration_token_share", 0.5, 1.5),
        ("duration_token_share_slow", 0.0, -0.5),
        ("emotion_mix_cap", 1.0, 0.0),
        ("voice_hold", 1.0, 0.0),
        ("text_guidance", 1.5, -0.5),
    ],
)
def test_a_card_setting_is_read_and_a_bad_one_refused(tmp_path, key, good, bad):
    from voxsmith.pipeline import IndexTTSModel

    root = make_random_model(tmp_path / "m")
    card = json.loads((root / "model.json").read_text())
    card[key] = good
    (root / "model.json").write_text(json.dumps(card))
    assert getattr(IndexTTSModel.from_pretrained(root).parts, key) == good
    card[key] = bad
    (root / "model.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match=key):
        IndexTTSModel.from_pretrained(root)


def test_saved_settings_are_the_parts_not_the_card_they_were_loaded_from(tmp_path):
    """A setting changed after loading is what ``save_parts`` writes, also back to its default."""
    from voxsmith.models.parts import save_parts
    from voxsmith.pipeline import IndexTTSModel

    root = make_random_model(tmp_path / "m")
    card = json.loads((root / "model.json").read_text())
    card["code_candidates"], card["timbre_match_tilt"], card["duration_token_share"] = 4, 0.0, 0.5
    (root / "model.json").write_text(json.dumps(card))
    parts = IndexTTSModel.from_pretrained(root).parts
    assert (parts.code_candidates, parts.timbre_match_tilt, parts.duration_token_share) == (4, 0.0, 0.5)
    parts.code_candidates, parts.timbre_match_tilt, parts.duration_token_share = 1, None, 1.0
    again = IndexTTSModel.from_pretrained(save_parts(parts, tmp_path / "saved")).parts
    assert (again.code_candidates, again.timbre_match_tilt, again.duration_token_share) == (1, None, 1.0)


def test_the_card_text_guidance_reaches_the_sampling(tmp_path):
    from voxsmith.pipeline import IndexTTSModel

    root = make_random_model(tmp_path / "m")
    card = json.loads((root / "model.json").read_text())
    card["text_guidance"] = 2.0
    (root / "model.json").write_text(json.dumps(card))
    assert IndexTTSModel.from_pretrained(root).parts.default_sampling().text_guidance == 2.0
