"""The sentence pool of a build: generated texts, their analysis, and their split.

Generating and analysing ~2400 sentences per language takes ~40 s, so the pool is cached
in ``<out>/sentences.jsonl`` with the settings that made it; a rerun with the same seed
reads it back, one with other settings is refused (a corpus directory has one pool).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from voxsmith.data.frontend import Frontend
from voxsmith.data.plan import PlanConfig, PoolSentence
from voxsmith.data.texts import TextConfig, generate
from voxsmith.errors import DataError, VoxsmithError
from voxsmith.fileio import atomic_write_lines

log = logging.getLogger(__name__)

POOL_FILE = "sentences.jsonl"
POOL_VERSION = 2  # bump when the generator changes what a seed produces


def assign_splits(n: int, seed: int, lang: str, n_valid: int, n_test: int) -> list[str]:
    """Split label per pool position: a seeded choice of ``n_valid`` + ``n_test`` positions."""
    if n_valid + n_test >= n:
        raise DataError(f"{lang}: pool of {n} sentences is too small for {n_valid} valid + {n_test} test")
    order = np.random.default_rng([seed, 11, 0 if lang == "zh" else 1]).permutation(n)
    labels = ["train"] * n
    for i in order[:n_valid]:
        labels[i] = "valid"
    for i in order[n_valid : n_valid + n_test]:
        labels[i] = "test"
    return labels


def make_pool(cfg: PlanConfig, text_cfg: TextConfig, frontend: Frontend | None = None) -> list[PoolSentence]:
    """Generate, analyse and split the sentences of every language of ``cfg``."""
    fe = frontend or Frontend()
    out: list[PoolSentence] = []
    for lang in cfg.langs:
        sentences = generate(lang, cfg.seed, text_cfg)
        labels = assign_splits(len(sentences), cfg.seed, lang, cfg.valid_sentences, cfg.test_sentences)
        for s, split in zip(sentences, labels, strict=True):
            try:
                a = fe.analyze(s.text, lang)
            except VoxsmithError as exc:  # a sentence the frontend cannot read is left out
                log.warning("sentence %s left out: %s", s.id, exc)
                continue
            out.append(
                PoolSentence(
                    s.id,
                    lang,
                    s.text,
                    s.kind,
                    split,
                    a.normalized,
                    tuple(a.syllables),
                    tuple(a.phones),
                    tuple(a.units),
                )
            )
    return out


def _meta(cfg: PlanConfig, text_cfg: TextConfig) -> dict:
    return {
        "version": POOL_VERSION,
        "seed": cfg.seed,
        "n_sentences": text_cfg.n_sentences,
        "window": text_cfg.window,
        "valid_sentences": cfg.valid_sentences,
        "test_sentences": cfg.test_sentences,
    }


def load_or_make_pool(out_dir: Path, cfg: PlanConfig, text_cfg: TextConfig) -> list[PoolSentence]:
    """The cached pool of ``out_dir`` (checked against the settings), else a new one, cached."""
    path = out_dir / POOL_FILE
    meta = _meta(cfg, text_cfg)
    if path.is_file():
        lines = path.read_text(encoding="utf-8").splitlines()
        head = json.loads(lines[0]) if lines else {}
        if head.get("meta") != meta:
            raise DataError(
                f"{path} was made with other settings ({head.get('meta')}); "
                f"use the same --seed as before or another --out directory"
            )
        pool = []
        for line in lines[1:]:
            d = json.loads(line)
            for key in ("syllables", "phones", "units"):
                d[key] = tuple(d[key])
            pool.append(PoolSentence(**d))
        if {s.lang for s in pool} >= set(cfg.langs):
            return pool
        log.info("sentence pool lacks some of %s; extending it", ",".join(cfg.langs))
    pool = make_pool(cfg, text_cfg)
    if path.is_file():  # keep sentences of languages built before
        old = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()[1:]]
        have = {s.lang for s in pool}
        for d in old:
            if d["lang"] not in have:
                for key in ("syllables", "phones", "units"):
                    d[key] = tuple(d[key])
                pool.append(PoolSentence(**d))
    lines = [json.dumps({"meta": meta})]
    lines += [json.dumps(s.__dict__, ensure_ascii=False) for s in pool]
    atomic_write_lines(path, lines)
    return pool
