"""Text-to-emotion benchmark: argmax accuracy on the held-out set and latency per call.

python benchmarks/text_emotion.py [--data voxsmith/emotion_text/data/heldout.tsv] [--json] [--errors]

Prints accuracy overall, per language, per kind (instruction / content) and per category
(target >= 0.85 overall), plus the load time and per-call latency of the default backend.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from voxsmith.emotion_text.dataset import HELDOUT_TSV, load_examples
    from voxsmith.emotion_text.default import DefaultBackend
    from voxsmith.emotion_text.evaluate import evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HELDOUT_TSV, help="labelled TSV (default: the held-out set)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--errors", action="store_true", help="list the misclassified texts")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    backend = DefaultBackend()
    load_s = time.perf_counter() - t0
    examples = load_examples(args.data)
    backend(examples[0].text)  # warm-up: first call pays one-off allocation costs
    report = evaluate(backend, examples)
    if args.json:
        print(json.dumps({**report.to_json(), "load_s": round(load_s, 3)}, ensure_ascii=False, indent=1))
        return 0
    lat = report.latency_summary()
    print(f"{args.data.name}: {report.n} texts, accuracy {report.accuracy:.3f} (target >= 0.85)")
    print("  by language: " + ", ".join(f"{k} {v:.3f}" for k, v in report.by_lang.items()))
    print("  by kind:     " + ", ".join(f"{k} {v:.3f}" for k, v in report.by_kind.items()))
    print("  by category: " + ", ".join(f"{k} {v:.2f}" for k, v in report.by_category.items()))
    print(
        f"  latency: load {load_s * 1000:.0f} ms, per call mean {lat['mean_ms']:.1f} ms, "
        f"median {lat['median_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms"
    )
    if args.errors:
        for text, label, pred in report.errors:
            print(f"  x {label:>11s} -> {pred:<11s} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
