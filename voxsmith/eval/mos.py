"""Quality judge: DNSMOS P.835 (speechmos), a non-intrusive MOS estimate on 16 kHz audio.

``sig`` rates the speech signal, ``bak`` the background (noise), ``ovrl`` the overall
quality, each on a 1-5 scale; ``p808`` is the P.808 overall estimate. A clip shorter than
the model's 9.01 s window is repeated cyclically to exactly one window (one model run;
speechmos itself doubles it until it is longer, which costs up to 5 runs for the same
content); longer clips are scored in 1 s hops and averaged. Clean synthetic speech scores ovrl about 2.5-3.4,
speech in strong noise below 2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxsmith.eval.common import AudioInput, load_audio, require

WINDOW_SECONDS = 9.01  # DNSMOS input length (speechmos.dnsmos.INPUT_LENGTH)


@dataclass(frozen=True)
class MosScores:
    """DNSMOS estimates, each on a 1-5 scale."""

    sig: float  # speech signal quality
    bak: float  # background intrusiveness (higher = cleaner)
    ovrl: float  # overall quality
    p808: float  # P.808 overall estimate

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class MosJudge:
    """DNSMOS scorer; the two ONNX sessions are created once per instance."""

    sample_rate = 16000  # Hz DNSMOS works at

    def __init__(self, personalized: bool = False) -> None:
        self.personalized = personalized  # the model variant that penalises interfering talkers
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            require("onnxruntime", "onnxruntime", "the DNSMOS judge")
            dnsmos = require("speechmos.dnsmos", "speechmos", "the DNSMOS judge")
            root = Path(dnsmos.__file__).parent
            primary = root / ("pdnsmos_models" if self.personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
            self._model = dnsmos.DNSMOS(str(primary), str(root / "dnsmos_models" / "model_v8.onnx"))
        return self._model

    def score(self, src: AudioInput) -> MosScores:
        """DNSMOS of one clip (path or ``Audio``; resampled to 16 kHz)."""
        model = self._load()
        samples = np.clip(load_audio(src, self.sample_rate), -1.0, 1.0)
        window = int(np.ceil(WINDOW_SECONDS * self.sample_rate))
        if len(samples) < window:
            samples = np.resize(samples, window)  # cyclic repeat: exactly one window, one run
        out = model(samples, self.sample_rate, self.personalized)
        return MosScores(
            sig=float(out["sig_mos"]),
            bak=float(out["bak_mos"]),
            ovrl=float(out["ovrl_mos"]),
            p808=float(out["p808_mos"]),
        )

    def describe(self) -> dict[str, str]:
        return {"model": "DNSMOS P.835" + (" personalized" if self.personalized else "")}
