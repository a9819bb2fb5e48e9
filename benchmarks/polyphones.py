"""Polyphone benchmark: voxsmith's Chinese G2P against pypinyin's defaults on the evaluation set.

    python benchmarks/polyphones.py [--set tests/data/polyphones.tsv] [--errors]

Scores the toned reading of the target character of each sentence (exact match, tone included).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def load_set(path: Path) -> list[tuple[str, int, str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sentence, pos, char, reading = line.split("\t")
        rows.append((sentence, int(pos), char, reading))
    return rows


def pypinyin_default(sentence: str) -> list[str]:
    """pypinyin's plain call: its phrase dictionary with its own segmentation, no context rules."""
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(sentence, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda s: list(s))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=REPO / "tests/data/polyphones.tsv")
    ap.add_argument("--errors", action="store_true", help="print every wrong reading")
    args = ap.parse_args(argv)
    from voxsmith.text.g2p_zh import ChineseG2P

    rows = load_set(args.set)
    g2p = ChineseG2P()
    systems = {"voxsmith": lambda s: g2p.convert(s), "pypinyin default": pypinyin_default}
    results = {}
    for name, fn in systems.items():
        start = time.perf_counter()
        wrong = Counter()
        ok = 0
        for sentence, pos, char, reading in rows:
            got = fn(sentence)[pos]
            if got == reading:
                ok += 1
            else:
                wrong[char] += 1
                if args.errors:
                    print(f"[{name}] {sentence} {char}: expected {reading}, got {got}")
        ms = (time.perf_counter() - start) * 1000 / len(rows)
        results[name] = ok
        worst = ", ".join(f"{c}×{n}" for c, n in wrong.most_common(8)) or "-"
        print(
            f"{name:17s} {ok}/{len(rows)} = {100 * ok / len(rows):.1f}%  ({ms:.2f} ms/sentence; errors: {worst})"
        )
    chars = len({r[2] for r in rows})
    print(f"set: {len(rows)} sentences, {chars} distinct polyphonic characters ({args.set})")
    return 0 if results["voxsmith"] >= 0.97 * len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
