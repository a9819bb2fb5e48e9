"""``voxsmith prepare``: a folder of a speaker's recordings -> a training data set for fine-tuning.

Stages, one file each: ``sources`` (find audio files), ``transcripts`` (sidecar .txt/.lab or a
CSV), ``vad`` (speech regions: silero-vad, bundled ONNX), ``slicing`` (regions -> 2-15 s clips),
``quality`` (drop reasons and signal checks), ``align`` (one transcript -> per-slice texts via
ASR), ``text`` (normalised text and pinyin with the user's glossary), ``process`` (one source),
``state`` (resume), ``report`` (splits, report.json), ``run`` (the whole folder).

The output folder reads like a corpus: ``voxsmith.train.data.CorpusData(DATASET, "train")``.
Importing this package loads no model.
"""

from __future__ import annotations

from voxsmith.prepare.config import FilterConfig, PrepareConfig, SliceConfig
from voxsmith.prepare.run import prepare

__all__ = ["FilterConfig", "PrepareConfig", "SliceConfig", "prepare"]
