"""The small classifier on top of the sentence embedding: multinomial logistic regression.

Shapes: D = embedding size (384), K = 8 emotions, N = examples.
Inputs are standardised per dimension (E5 vectors all share a large common component, so raw
cosines sit around 0.8 and differences are small); weights are fitted by L-BFGS from zeros,
which is deterministic: the same data gives the same head, bit for bit.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize

from voxsmith.checkpoints import load_safetensors, save_safetensors
from voxsmith.embeddings import EMOTIONS
from voxsmith.errors import CheckpointError

HEAD_KIND = "t2e_head"


@dataclass
class HeadConfig:
    """What the head file says about itself (stored as the checkpoint's config)."""

    dim: int = 384  # embedding size (multilingual-e5-small)
    n_classes: int = len(EMOTIONS)  # the 8 official categories, in EMOTIONS order
    l2: float = 1.0  # ridge penalty on W (on standardised inputs), chosen by cross-validation
    cue_scale: float = 3.0  # logits += cue_scale × cue vector (cues.py), chosen by cross-validation
    keep_ratio: float = 0.35  # weights below keep_ratio × max probability are dropped
    embedder: str = ""  # which embedding the head was trained on; must match at load
    labels: tuple[str, ...] = EMOTIONS
    train_sha256: str = ""  # the training TSV it was fitted on (reproducibility)
    n_train: int = 0
    cv_accuracy: float = 0.0  # k-fold accuracy on the training set, cues included


class SoftmaxHead:
    """``logits(X: (N, D)) -> (N, K)``; ``fit`` on (N, D) embeddings and (N,) int labels."""

    def __init__(self, config: HeadConfig):
        self.config = config
        d, k = config.dim, config.n_classes
        self.mean = np.zeros(d, np.float32)
        self.std = np.ones(d, np.float32)
        self.W = np.zeros((d, k), np.float32)
        self.b = np.zeros(k, np.float32)

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) - self.mean) / self.std

    def logits(self, x: np.ndarray) -> np.ndarray:
        """(N, D) embeddings → (N, K) logits."""
        return (self._standardise(x) @ self.W + self.b).astype(np.float32)

    def fit(self, x: np.ndarray, y: np.ndarray) -> SoftmaxHead:
        """Minimise mean cross-entropy + ``l2/2N``·‖W‖² over (N, D) ``x`` and (N,) ``y``."""
        x = np.asarray(x, np.float64)
        n, d = x.shape
        k = self.config.n_classes
        self.mean = x.mean(0).astype(np.float32)
        self.std = (x.std(0) + 1e-6).astype(np.float32)
        z = self._standardise(x)
        onehot = np.eye(k)[y]
        lam = self.config.l2

        def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[: d * k].reshape(d, k), theta[d * k :]
            logit = z @ w + b  # (N, K)
            logit -= logit.max(1, keepdims=True)
            p = np.exp(logit)
            p /= p.sum(1, keepdims=True)
            loss = -np.sum(onehot * np.log(p + 1e-12)) / n + 0.5 * lam * np.sum(w * w) / n
            g = (p - onehot) / n  # (N, K)
            gw = z.T @ g + lam * w / n
            return loss, np.concatenate([gw.ravel(), g.sum(0)])

        res = minimize(loss_grad, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
        self.W = res.x[: d * k].reshape(d, k).astype(np.float32)
        self.b = res.x[d * k :].astype(np.float32)
        return self

    def save(self, path: str | os.PathLike) -> Path:
        tensors = {name: torch.from_numpy(getattr(self, name).copy()) for name in ("W", "b", "mean", "std")}
        return save_safetensors(tensors, path, kind=HEAD_KIND, config=asdict(self.config))

    @classmethod
    def load(cls, path: str | os.PathLike) -> SoftmaxHead:
        tensors, config, _ = load_safetensors(path, kind=HEAD_KIND)
        known = set(HeadConfig.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise CheckpointError(f"{path}: unknown head config keys {unknown}")
        cfg = HeadConfig(**{**config, "labels": tuple(config.get("labels", EMOTIONS))})
        if cfg.labels != EMOTIONS:
            raise CheckpointError(f"{path}: head labels {cfg.labels} differ from {EMOTIONS}")
        head = cls(cfg)
        expected = {
            "W": (cfg.dim, cfg.n_classes),
            "b": (cfg.n_classes,),
            "mean": (cfg.dim,),
            "std": (cfg.dim,),
        }
        missing = sorted(set(expected) - set(tensors))
        unexpected = sorted(set(tensors) - set(expected))
        if missing or unexpected:
            raise CheckpointError(f"{path}: head tensors missing {missing}, unexpected {unexpected}")
        for name, shape in expected.items():
            if tuple(tensors[name].shape) != shape:
                raise CheckpointError(
                    f"{path}: head tensor {name} has shape {tuple(tensors[name].shape)}, want {shape}"
                )
            setattr(head, name, tensors[name].numpy().astype(np.float32))
        return head
