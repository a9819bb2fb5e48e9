"""Normalisation benchmark: run the case list and print the pass count (and each failure).

python benchmarks/normalize.py [--cases tests/data/normalize_cases.tsv]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_cases(path: Path) -> list[tuple[str, str, str | None]]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        cases.append((cols[0], cols[1], cols[2] if len(cols) > 2 and cols[2] else None))
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=REPO / "tests/data/normalize_cases.tsv")
    args = ap.parse_args(argv)
    from voxsmith.text.normalize import Normalizer

    normalizer = Normalizer()
    cases = load_cases(args.cases)
    start = time.perf_counter()
    passed = 0
    for text, expected, lang in cases:
        got = normalizer.normalize(text, lang).text
        if got == expected:
            passed += 1
        else:
            print(f"FAIL {text!r}\n  expected {expected!r}\n  got      {got!r}")
    ms = (time.perf_counter() - start) * 1000 / max(1, len(cases))
    print(f"normalisation cases passed: {passed}/{len(cases)} ({ms:.2f} ms per case)")
    return 0 if passed == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
