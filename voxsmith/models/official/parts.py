"""``OfficialParts``: the official IndexTTS-2 modules behind the facade (``PartsBase`` at full size).

The data flow is the official ``infer_v2``'s:

- reference (22050 Hz) → 16 kHz → w2v-BERT 2.0 hidden state 17, normalised (``W2VBertFeatures``):
  the GPT conditioners' input, and (through RepCodec) the prompt's semantic codes;
- reference → CAMPPlus style vector (16 kHz Kaldi fbank); reference log-mel → S2M prompt;
- GPT (official decoding) → codes; a teacher-forced GPT pass over the same text and codes gives
  one latent per code → ``gpt_layer`` + RepCodec embedding → length regulator
  (``int(N × 1.72)`` frames) → CFM (25 Euler steps, CFG 0.7) with prompt mel and style;
- BigVGAN (weight norm folded) → waveform.

Shapes: N codes (50 Hz), T feature frames (50 Hz), H = 1024, D GPT width, S = 192, M = 80 mel bins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from voxsmith.audio import Audio, resample
from voxsmith.models.bigvgan import BigVGAN
from voxsmith.models.emotion import EmotionMatrix
from voxsmith.models.gpt import UnifiedVoice
from voxsmith.models.official.features import SAMPLE_RATE as FEATURE_RATE
from voxsmith.models.official.features import W2VBertFeatures
from voxsmith.models.parts_base import PartsBase
from voxsmith.models.s2m import S2M
from voxsmith.models.sampling import SamplingConfig
from voxsmith.models.semantic_codec import RepCodec
from voxsmith.models.style import StyleEncoder

if TYPE_CHECKING:
    from voxsmith.emotion_text.base import T2EBackend
    from voxsmith.text.frontend import TextFrontend

log = logging.getLogger(__name__)

ARCHITECTURE = "indextts2"  # model.json "architecture" of a converted official model
HOP = 256  # mel hop at 22050 Hz
OFFICIAL_MAX_CODES = 1500  # infer_v2's max_mel_tokens
OFFICIAL_SEGMENT_TOKENS = 120  # infer_v2's max_text_tokens_per_segment


@dataclass
class OfficialParts(PartsBase):
    """Every module of an official IndexTTS-2 checkpoint, in eval mode."""

    name: str
    features: W2VBertFeatures
    codec: RepCodec
    gpt: UnifiedVoice
    s2m: S2M
    style: StyleEncoder
    vocoder: BigVGAN  # weight norm folded
    emotion: EmotionMatrix | None
    bpe_model: Path  # the release's SentencePiece model
    emotion_llm: Path | None = None  # qwen0.6bemo4-merge/ (text → emotion), if shipped
    s2m_steps: int = 25  # official diffusion_steps
    cfg_rate: float = 0.7  # official inference_cfg_rate
    card: dict = field(default_factory=dict)
    _t2e: T2EBackend | None = field(default=None, init=False, repr=False)

    @property
    def samples_per_token(self) -> int:
        """Nominal: a segment of N codes lasts ``int(N × 1.72) × 256`` samples (440.32 per code)."""
        return round(self.s2m.cfg.frames_per_code * HOP)

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"features": self.features, "codec": self.codec, "gpt": self.gpt, "s2m": self.s2m,
                "style": self.style, "vocoder": self.vocoder}  # fmt: skip

    def default_sampling(self) -> SamplingConfig:
        """infer_v2's: beam sampling, 3 beams, top-p 0.8, top-k 30, T 0.8, penalty 10, ≤ 1500 codes."""
        return replace(
            SamplingConfig.official(), max_new_tokens=min(OFFICIAL_MAX_CODES, self.gpt.config.max_mel_tokens)
        )

    def frontend(self) -> TextFrontend:
        """The official text mode on the release's ``bpe.model``; segments fit the GPT's text table."""
        from voxsmith.text.frontend import TextFrontend

        fe = TextFrontend.official(self.bpe_model)
        fe.max_tokens = min(OFFICIAL_SEGMENT_TOKENS, self.gpt.config.max_text_tokens)
        return fe

    def text_emotion_backend(self) -> T2EBackend:
        """The shipped Qwen emotion model (loaded on first use), else voxsmith's offline default."""
        if self.emotion_llm is None:
            return super().text_emotion_backend()
        if self._t2e is None:
            from voxsmith.emotion_text import LLMBackend

            self._t2e = LLMBackend(self.emotion_llm)
        return self._t2e

    # ----- reference analysis ------------------------------------------------------------
    def conditioning_features(self, ref: Audio) -> torch.Tensor:
        """(T, 1024) normalised w2v-BERT features at 50 Hz."""
        return self.features(resample(ref.samples, ref.sample_rate, FEATURE_RATE))

    @torch.inference_mode()
    def prompt_codes(self, mel: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """RepCodec codes ``(T,)`` of the reference's features (the official reads features, not mel)."""
        return self.codec.quantize(feats.unsqueeze(0))[0]

    @torch.inference_mode()
    def style_vector(self, ref: Audio) -> torch.Tensor:
        return self.style.embed(ref)

    # ----- generation --------------------------------------------------------------------
    @torch.inference_mode()
    def codes_to_mel(
        self,
        codes: torch.Tensor,
        spk,
        *,
        text_ids: list[int] | None = None,
        emo_vec: torch.Tensor | None = None,
        target: int | None = None,
        n_steps: int | None = None,
        seed: int | None = None,
        emo_weights: torch.Tensor | None = None,
        stretch: float = 1.0,
    ) -> torch.Tensor:
        """(N,) codes → (80, int(1.72 N)) mel; GPT latents from a teacher-forced pass over the text.

        The pass uses the conditioning generation used: the free-length slot (official) or, when
        the codes were generated for an exact ``target``, that count's duration embedding.
        ``emo_weights`` is for models with a prosody table; the official S2M reads none.
        ``stretch`` spreads the codes over that many times their frames (``S2M.infer``).
        """
        n = codes.numel()
        if n == 0:
            return torch.zeros(self.s2m.cfg.n_mels, 0)
        codes = codes.long().unsqueeze(0)
        latent = self.gpt_latent(codes, spk, text_ids, emo_vec, target)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        mel = self.s2m.infer(
            self.codec.vq2emb(codes),
            spk.prompt_mel.unsqueeze(0),
            spk.style.unsqueeze(0),
            ref_emb=self.codec.vq2emb(spk.prompt_codes.long().unsqueeze(0)),
            gpt_latent=latent,
            stretch=stretch,
            n_steps=n_steps or self.s2m_steps,
            cfg_rate=self.cfg_rate,
            generator=gen,
        )
        return mel[0]

    @torch.inference_mode()
    def vocode(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, frames) → (B, frames · 256): BigVGAN's (B, 1, samples) without the channel axis."""
        return self.vocoder(mel)[:, 0]
