"""Fit the default backend's head: ``python -m voxsmith.emotion_text.train``.

Embeds ``data/train.tsv`` with multilingual-e5-small, picks the ridge penalty and the cue
scale by k-fold cross-validation (seeded folds), fits the head on all of it and writes
``data/head.safetensors`` atomically. Deterministic: the same data gives the same file.
``heldout.tsv`` is never read here.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from voxsmith.emotion_text.cues import cue_vector
from voxsmith.emotion_text.dataset import HEAD_FILE, TRAIN_TSV, Example, file_sha256, load_examples
from voxsmith.emotion_text.default import softmax
from voxsmith.emotion_text.head import HeadConfig, SoftmaxHead

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    seed: int = 0  # shuffles the cross-validation folds
    folds: int = 5  # k in k-fold cross-validation
    l2_grid: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)  # ridge penalties tried
    cue_scales: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)  # cue weights tried (0 = head alone)
    keep_ratio: float = 0.35  # stored in the head: sparsity of the output weights


@dataclass
class TrainReport:
    cv_accuracy: float  # best (l2, cue_scale), cues included
    cv_head_only: float  # same l2, cue_scale 0: what the embedding alone gets
    cues_only: float  # argmax of the cue vector alone (ties and no-cue count as wrong)
    l2: float
    cue_scale: float
    n: int


def _fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    ids = np.empty(n, np.int64)
    ids[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return ids


def train_head(
    examples: Sequence[Example], embed: Callable[[list[str]], np.ndarray], base: HeadConfig, cfg: TrainConfig
) -> tuple[SoftmaxHead, TrainReport]:
    """Cross-validate (l2, cue_scale) on ``examples``, then fit the head on all of them."""
    x = embed([e.text for e in examples])  # (N, D)
    y = np.array([e.label_index for e in examples])
    cues = np.stack([cue_vector(e.text)[0] for e in examples])  # (N, 8)
    fold = _fold_ids(len(examples), cfg.folds, cfg.seed)
    best = (-1.0, 0.0, 0.0, 0.0)  # (acc, -l2, scale, head-only acc): ties go to the larger penalty
    for l2 in cfg.l2_grid:
        oof = np.zeros((len(examples), base.n_classes))
        for k in range(cfg.folds):
            train, test = fold != k, fold == k
            head = SoftmaxHead(replace(base, l2=l2)).fit(x[train], y[train])
            oof[test] = head.logits(x[test])
        head_only = float(np.mean(oof.argmax(1) == y))
        for scale in cfg.cue_scales:
            acc = float(np.mean(softmax(oof + scale * cues).argmax(1) == y))
            log.info("l2=%-5g cue_scale=%-4g cv_accuracy=%.4f", l2, scale, acc)
            best = max(best, (acc, -l2, scale, head_only))
    acc, neg_l2, scale, head_only = best
    strong = cues.max(1) > 0
    cues_only = float(
        np.mean(strong & (cues.argmax(1) == y) & ((cues == cues.max(1, keepdims=True)).sum(1) == 1))
    )
    final = replace(
        base, l2=-neg_l2, cue_scale=scale, keep_ratio=cfg.keep_ratio, n_train=len(examples), cv_accuracy=acc
    )
    head = SoftmaxHead(final).fit(x, y)
    return head, TrainReport(acc, head_only, cues_only, -neg_l2, scale, len(examples))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Fit the text-to-emotion head on a labelled TSV (deterministic)."
    )
    ap.add_argument(
        "--data", type=Path, default=TRAIN_TSV, help="training TSV (default: the packaged train.tsv)"
    )
    ap.add_argument(
        "--out", type=Path, default=HEAD_FILE, help="head file to write (default: the packaged one)"
    )
    ap.add_argument("--seed", type=int, default=TrainConfig.seed)
    ap.add_argument("--folds", type=int, default=TrainConfig.folds)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from voxsmith.emotion_text.embedder import E5Embedder

    embedder = E5Embedder()
    examples = load_examples(args.data)
    base = HeadConfig(dim=embedder.dim, embedder=embedder.name, train_sha256=file_sha256(args.data))
    head, report = train_head(examples, embedder, base, TrainConfig(seed=args.seed, folds=args.folds))
    head.save(args.out)
    print(
        f"{report.n} examples: cv accuracy {report.cv_accuracy:.3f} (head alone {report.cv_head_only:.3f}, "
        f"cues alone {report.cues_only:.3f}); l2={report.l2:g} cue_scale={report.cue_scale:g} -> {os.fspath(args.out)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
