"""How much of the pronunciation the content encoder and its codes keep, per corpus split.

    python benchmarks/content_units.py --content C.safetensors --codec K.safetensors \\
        --split /work/data/corpus:valid --split /work/data/heldout:test [--clips 200]

Greedy CTC unit error (toned pinyin / phones) of the first ``--clips`` clips of each split, read
from the encoder's features and from their nearest codebook centres (what the GPT and S2M see),
over all clips and per language (pooled figures hide a language whose units the codebook merges).
A split of held-out voices against the training voices' valid split shows how well the encoder
hears voices it never trained on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--content", type=Path, required=True, help="content.safetensors")
    ap.add_argument("--codec", type=Path, required=True, help="codec.safetensors (k-means codebook)")
    ap.add_argument("--split", action="append", required=True, help="CORPUS:SPLIT (repeatable)")
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from voxsmith.train.content import (
        content_features,
        load_codec,
        load_content,
        pooled_unit_error,
        unit_errors_by_lang,
    )
    from voxsmith.train.data import CorpusData

    torch.set_num_threads(args.threads)
    content, codec = load_content(args.content), load_codec(args.codec)
    for spec in args.split:
        corpus, _, split = spec.rpartition(":")
        if not corpus:
            raise SystemExit(f"--split {spec!r}: expected CORPUS:SPLIT")
        data = CorpusData(corpus, split)
        hidden = content_features(content, data, args.clips)  # once, read raw and quantised
        feats = unit_errors_by_lang(content, data, args.clips, features=hidden)
        codes = unit_errors_by_lang(content, data, args.clips, codec, hidden)
        for lang in [None, *sorted(feats)]:  # None: every clip
            row = {"split": spec, "lang": lang or "all", "clips": min(args.clips, len(data)),
                   "features": round(pooled_unit_error(feats, lang), 3),
                   "codes": round(pooled_unit_error(codes, lang), 3)}  # fmt: skip
            print(json.dumps(row))


if __name__ == "__main__":
    main()
