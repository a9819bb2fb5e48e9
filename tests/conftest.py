"""Shared test fixtures: seeded randomness, fixture locations, tiny audio."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def official_fixtures() -> Path:
    """The official parity fixtures (``VOXSMITH_FIXTURES`` or ``<repo>/../shared/fixtures/official``)."""
    root = Path(os.environ.get("VOXSMITH_FIXTURES", REPO.parent / "shared" / "fixtures" / "official"))
    if not (root / "index.json").exists():
        pytest.fail(f"official fixtures not found at {root} (set VOXSMITH_FIXTURES)")
    return root


@pytest.fixture(scope="module")
def short_model(tmp_path_factory):
    """A random-weight model whose segments hold 16 text tokens, one per test module (tests set
    its sampling settings and restore them)."""
    from tests.helpers import make_random_model
    from voxsmith.pipeline import IndexTTSModel

    return IndexTTSModel.from_pretrained(make_random_model(tmp_path_factory.mktemp("m"), max_tokens=16))


@pytest.fixture(scope="module")
def short_spk(short_model):
    """A speaker embedding of two seconds of seeded noise, for ``short_model``."""
    import torch

    from voxsmith.audio import Audio

    g = torch.Generator().manual_seed(0)
    return short_model.speaker_encoder(Audio((0.1 * torch.randn(22050 * 2, generator=g)).numpy(), 22050))
