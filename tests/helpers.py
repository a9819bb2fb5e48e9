"""Small helpers shared by tests."""

from __future__ import annotations

import numpy as np


def make_tone(seconds: float = 2.0, sr: int = 22050, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    """A harmonic tone with a slow amplitude envelope: speech-like enough for I/O tests."""
    t = np.arange(int(seconds * sr)) / sr
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (amp * env * x / np.max(np.abs(x))).astype(np.float32)


def make_fake_corpus(root, n_speakers: int = 3, clips_per_speaker: int = 4, seconds: float = 1.5) -> None:
    """A tiny corpus directory (tones per 'speaker') with a manifest in the corpus schema."""
    import json
    from pathlib import Path

    import soundfile as sf

    root = Path(root)
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    rows = []
    for s in range(n_speakers):
        for k in range(clips_per_speaker):
            cid = f"spk{s}_{k:03d}"
            x = make_tone(seconds + 0.1 * k, freq=120.0 + 60 * s + 7 * k)
            sf.write(root / "wavs" / f"{cid}.wav", x, 22050, subtype="PCM_16")
            split = "valid" if k == clips_per_speaker - 1 else "train"
            rows.append(
                {
                    "id": cid,
                    "path": f"wavs/{cid}.wav",
                    "text": "你好",
                    "normalized": "你好",
                    "syllables": ["ni3", "hao3"],
                    "phones": ["<zh>", "n", "i3", "h", "ao3"],
                    "units": ["ni3", "hao3"],
                    "lang": "zh",
                    "speaker": f"spk{s}",
                    "engine": "tone",
                    "style": "neutral",
                    "style_strength": 0.0,
                    "duration_s": len(x) / 22050,
                    "split": split,
                }
            )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
