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
