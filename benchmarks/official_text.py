"""Official text mode benchmark: voxsmith's official-style normaliser and pre-tokeniser against
the reference implementation's outputs (shared/fixtures/official/text_frontend/frontend.json).

    python benchmarks/official_text.py [--fixtures ../shared/fixtures/official] [--diff]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(os.environ.get("VOXSMITH_FIXTURES", REPO.parent / "shared" / "fixtures" / "official"))
    ap.add_argument("--fixtures", type=Path, default=default)
    ap.add_argument("--diff", action="store_true", help="print every differing case")
    args = ap.parse_args(argv)
    from voxsmith.text.official import OfficialTextNormalizer, tokenize_by_cjk_char

    data = json.loads((args.fixtures / "text_frontend" / "frontend.json").read_text(encoding="utf-8"))
    cases = data["sentences"] + data["official_front_py_main_cases"]
    start = time.perf_counter()
    normalizer = OfficialTextNormalizer()
    same_norm = same_pre = pre_only = 0
    for c in cases:
        got = normalizer.normalize(c["input"])
        same_norm += got == c["normalized"]
        same_pre += tokenize_by_cjk_char(got) == c["pre_tokenized_tokenize_by_CJK_char"]
        pre_only += tokenize_by_cjk_char(c["normalized"]) == c["pre_tokenized_tokenize_by_CJK_char"]
        if args.diff and got != c["normalized"]:
            print(f"input    {c['input']}\nofficial {c['normalized']}\nvoxsmith {got}\n")
    seconds = time.perf_counter() - start
    n = len(cases)
    print(f"normalised text identical:  {same_norm}/{n}")
    print(f"pre-tokenised text identical: {same_pre}/{n}")
    print(f"pre-tokeniser alone (on the official normalised text): {pre_only}/{n}")
    print(
        f"time: {seconds:.2f} s for {n} cases including setup (the official normaliser loads in "
        f"{data.get('normalizer_load_seconds', float('nan')):.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
