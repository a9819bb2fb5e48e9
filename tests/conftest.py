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
