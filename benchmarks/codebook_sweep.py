"""How much pronunciation the tiny size's codes keep, per codebook size.

    python benchmarks/codebook_sweep.py --data CORPUS --content content.safetensors \
        [--codec codec.safetensors] [--sizes 256,512,1024,2048] [--fit-clips 1500] [--json OUT]

S2M and the GPT read k-means codes of the content encoder's features; the content encoder's own
CTC head, reading the centroids instead of the features, says how much of the pronunciation
survives quantisation (valid unit error: toned pinyin / phones, greedy CTC). This fits a fresh
codebook of each size on the features of ``--fit-clips`` train clips (nothing in the corpus
cache is written) and scores the valid split with it, beside the unquantised features and, with
``--codec``, the codebook in use. A size that closes much of the gap to the features is worth
retraining GPT and S2M on; one that does not says the content encoder itself is the limit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="corpus directory")
    ap.add_argument("--content", type=Path, required=True, help="content.safetensors")
    ap.add_argument("--codec", type=Path, help="codec.safetensors in use (a baseline row)")
    ap.add_argument("--sizes", default="256,512,1024,2048", help="codebook sizes to fit (comma-separated)")
    ap.add_argument(
        "--fit-clips", type=int, default=1500, help="train clips whose features fit each codebook"
    )
    ap.add_argument("--valid-clips", type=int, default=200, help="valid clips scored")
    ap.add_argument("--iters", type=int, default=20, help="k-means iterations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 2:
        ap.error("--sizes needs at least one size >= 2")

    import numpy as np
    import torch

    from voxsmith.checkpoints import load_module
    from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
    from voxsmith.train.content import load_content, unit_error_rate
    from voxsmith.train.data import CorpusData

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    encoder = load_content(args.content)
    train, valid = CorpusData(args.data, "train"), CorpusData(args.data, "valid")
    encoder.eval()

    @torch.no_grad()
    def features(data: CorpusData, clips) -> list[torch.Tensor]:
        """Content features (T', dim) of the given clips of ``data``, in that order."""
        return [encoder(data.clip_mel(int(i)).unsqueeze(0))[0][0] for i in clips]

    pick = np.random.default_rng(args.seed).permutation(len(train))[: args.fit_clips]
    fit_feats = torch.cat(features(train, pick))
    n_valid = min(args.valid_clips, len(valid))
    valid_feats = features(valid, range(n_valid))  # unit_error_rate scores the first n_valid

    def score(codec: KMeansCodec | None) -> float:
        return round(unit_error_rate(encoder, valid, n_valid, codec, valid_feats), 4)

    rows = [{"codes": "features (no quantisation)", "valid_unit_error": score(None)}]
    print(json.dumps(rows[-1]), flush=True)
    if args.codec is not None:
        codec = load_module(args.codec, "kmeans_codec", lambda c: KMeansCodec(KMeansCodecConfig(**c)))
        rows.append({"codes": f"in use ({codec.cfg.codebook_size})", "valid_unit_error": score(codec)})  # type: ignore[arg-type]
        print(json.dumps(rows[-1]), flush=True)
    for k in sizes:
        t0 = time.perf_counter()
        codec = KMeansCodec(KMeansCodecConfig(dim=encoder.cfg.dim, codebook_size=k))
        mse = codec.fit(fit_feats, iters=args.iters, seed=args.seed)
        used = int(torch.unique(codec.quantize(torch.cat(valid_feats))).numel())
        rows.append({"codes": k, "kmeans_mse": round(mse, 4), "valid_codes_used": used,
                     "valid_unit_error": score(codec), "fit_s": round(time.perf_counter() - t0, 1)})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    out = {"corpus": str(args.data), "content": str(args.content), "fit_frames": int(fit_feats.shape[0]),
           "valid_clips": n_valid, "rows": rows}  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
