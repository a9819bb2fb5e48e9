"""Argmax accuracy of a T2E backend on labelled examples, overall and by language/category/kind."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from voxsmith.emotion_text.dataset import Example
from voxsmith.emotion_text.result import EmotionWeights


@dataclass
class EvalReport:
    n: int
    accuracy: float
    by_lang: dict[str, float]
    by_category: dict[str, float]
    by_kind: dict[str, float]
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (text, label, predicted)
    latency_ms: list[float] = field(default_factory=list)  # per call

    def latency_summary(self) -> dict[str, float]:
        lat = np.asarray(self.latency_ms)
        return {
            "mean_ms": float(lat.mean()),
            "median_ms": float(np.median(lat)),
            "p95_ms": float(np.percentile(lat, 95)),
        }

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "by_lang": {k: round(v, 4) for k, v in self.by_lang.items()},
            "by_category": {k: round(v, 4) for k, v in self.by_category.items()},
            "by_kind": {k: round(v, 4) for k, v in self.by_kind.items()},
            "latency": {k: round(v, 2) for k, v in self.latency_summary().items()},
            "errors": [list(e) for e in self.errors],
        }


def _rates(groups: dict[str, list[bool]]) -> dict[str, float]:
    return {k: float(np.mean(v)) for k, v in groups.items()}


def evaluate(backend: Callable[[str], EmotionWeights], examples: Sequence[Example]) -> EvalReport:
    """Run ``backend`` on every example (timing each call) and score ``label`` against the truth."""
    by_lang, by_cat, by_kind = defaultdict(list), defaultdict(list), defaultdict(list)
    errors, latency, hits = [], [], []
    for ex in examples:
        t0 = time.perf_counter()
        pred = backend(ex.text).label
        latency.append(1000 * (time.perf_counter() - t0))
        ok = pred == ex.label
        hits.append(ok)
        by_lang[ex.lang].append(ok)
        by_cat[ex.label].append(ok)
        by_kind[ex.kind].append(ok)
        if not ok:
            errors.append((ex.text, ex.label, pred))
    return EvalReport(
        n=len(examples),
        accuracy=float(np.mean(hits)),
        by_lang=_rates(by_lang),
        by_category=_rates(by_cat),
        by_kind=_rates(by_kind),
        errors=errors,
        latency_ms=latency,
    )
