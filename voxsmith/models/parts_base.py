"""``PartsBase``: what the inference facade needs from a model, whatever its size.

Two implementations share this contract:

- :class:`voxsmith.models.parts.ModelParts` — the tiny built-in model (log-mel conditioning,
  CTC content encoder + k-means codec, S2M with or without GPT latents, Vocos vocoder);
- :class:`voxsmith.models.official.OfficialParts` — the official IndexTTS-2 checkpoints
  (w2v-BERT 2.0 features, MaskGCT RepCodec, GPT latents into S2M, CAMPPlus, BigVGAN).

The facade (``voxsmith.pipeline.IndexTTSModel``) only calls what is declared here, plus the
GPT's conditioners through ``parts.gpt`` (``speaker_latents``, ``emotion_vector``).

Shapes: T conditioning frames, F feature width, N codes, P prompt mel frames, D GPT width,
S style width, M = 80 mel bins.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import torch

from voxsmith.audio import Audio
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.emotion import EmotionMatrix
from voxsmith.models.emotion_rate import MIN_CHANGE, EmotionRates
from voxsmith.models.gpt import UnifiedVoice
from voxsmith.models.prosody import ContourHead, ProsodyHead, s2m_share
from voxsmith.models.sampling import SamplingConfig

if TYPE_CHECKING:
    from voxsmith.embeddings import SpeakerEmbedding
    from voxsmith.emotion_text.base import T2EBackend
    from voxsmith.text.frontend import TextFrontend


class PartsBase(ABC):
    """The trained modules of one model and the glue between them (eval mode, CPU)."""

    name: str
    gpt: UnifiedVoice
    emotion: EmotionMatrix | None
    s2m_steps: int  # Euler steps at inference
    cfg_rate: float  # classifier-free guidance strength
    card: dict  # the model card (model.json, or what the official loader derived)
    prosody: ProsodyHead | None = None  # emotion → utterance prosody, for an S2M that reads offsets
    contour: ContourHead | None = None  # GPT latents → per-code prosody, for an S2M that reads a contour
    rates: EmotionRates | None = None  # emotion weights → speaking rate (S2M's stretch)
    code_candidates: int = 1  # GPT samples per segment, the one whose codes read best kept (score_codes)
    # a segment with readings the user set (glossary, inline pinyin): this many of its best-read
    # candidates are rendered and the pronunciation checker's hearing of those readings picks
    listen_candidates: int = 0
    # the checker's confidence (calibrated probability) in every set reading that takes a candidate
    # at once; a candidate heard as set with less is kept only when no later one clears it (the
    # surest heard then wins). 0: the first heard as set is taken
    listen_confidence: float = 0.0
    # share of a duration_ratio the GPT's token count takes (log scale); S2M reads the rest as a
    # stretch. 1: all of it in tokens (the official behaviour, and a whole number of tokens)
    duration_token_share: float = 1.0
    # the same for ratios above 1 (slower speech), where S2M's stretch may serve better; None:
    # duration_token_share
    duration_token_share_slow: float | None = None
    # the most emotion weight (their sum) the GPT's emotion vector mixes in; stronger weights
    # (intensity above it) still scale the measured prosody asks and speaking rate. None: no cap
    emotion_mix_cap: float | None = None
    # the most of each category's own measured pitch and tilt change an emotion asks of S2M (its
    # weight clipped at this for those measures: prosody.VOICE_MEASURES); None: they grow with
    # intensity like the rest
    voice_hold: float | None = None

    # ----- facts -------------------------------------------------------------------------
    @property
    @abstractmethod
    def samples_per_token(self) -> int:
        """Output samples (22050 Hz) per semantic code (nominal where it is not an integer)."""

    @abstractmethod
    def modules(self) -> dict[str, torch.nn.Module]:
        """Every weight-holding module by part name (parameter counts, fingerprint, export)."""

    def parameter_counts(self) -> dict[str, int]:
        counts = {k: sum(p.numel() for p in m.parameters()) for k, m in self.modules().items()}
        counts["total"] = sum(counts.values())
        return counts

    def fingerprint(self) -> dict[str, str]:
        """An exact identity of the weights per part, the same on every machine and thread count.

        Integer sums of the float32 bit patterns (plain and position-weighted): integer
        addition does not depend on the order a parallel reduction takes, where a float sum of
        millions of weights does (a float fingerprint moved with ``torch.set_num_threads``, and
        with it the model id that speaker embeddings are checked against).
        """
        out = {}
        for part, module in self.modules().items():
            sums = []
            for name, t in sorted(module.state_dict().items()):
                if not t.is_floating_point():
                    continue
                bits = t.detach().float().contiguous().view(torch.int32).reshape(-1).to(torch.int64)
                # 24-bit values × positions mod 251 stay far from int64 overflow below 10⁹ weights
                pos = torch.arange(bits.numel(), dtype=torch.int64) % 251
                sums.append(f"{name}:{int(bits.sum())}:{int(((bits >> 8) * pos).sum())}")
            out[part] = hashlib.sha1("|".join(sums).encode()).hexdigest()[:16]
        return out

    @abstractmethod
    def default_sampling(self) -> SamplingConfig:
        """How codes are sampled when the caller does not say."""

    @abstractmethod
    def frontend(self) -> TextFrontend:
        """The text frontend whose token ids this GPT reads (phones or the official BPE)."""

    def text_emotion_backend(self) -> T2EBackend:
        """Text → eight emotion weights (voxsmith's offline default unless a model ships its own)."""
        from voxsmith.emotion_text import default_backend

        return default_backend()

    # ----- reference analysis ------------------------------------------------------------
    @abstractmethod
    def conditioning_features(self, ref: Audio) -> torch.Tensor:
        """A prepared reference clip (22050 Hz) → ``(T, F)`` features the GPT conditioners read."""

    @abstractmethod
    def prompt_codes(self, mel: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        """The reference's semantic codes ``(N,)`` from its mel ``(M, P)`` and/or features ``(T, F)``."""

    @abstractmethod
    def style_vector(self, ref: Audio) -> torch.Tensor:
        """The reference's style vector ``(S,)`` (S2M conditioning)."""

    def mix_emotion(self, weights: torch.Tensor, style: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Eight weights mixed with the speaker's own emotion ``base (D,)`` through the emotion matrix → ``(D,)``."""
        if self.emotion is None:
            raise CheckpointError(f"model {self.name} has no emotion matrix; use an emotion reference clip")
        weights = torch.as_tensor(weights)
        total = float(weights.sum())
        if self.emotion_mix_cap is not None and total > self.emotion_mix_cap:
            weights = weights * (self.emotion_mix_cap / total)
        return self.emotion.mix(weights, base, style=style).reshape(-1)

    def emotion_duration(self, weights: torch.Tensor | None) -> float | None:
        """The factor on a sentence's neutral length that emotion ``weights (8,)`` ask for
        (:class:`EmotionRates`); None without rates or weights, or when it is within 1%."""
        if self.rates is None or weights is None:
            return None
        factor = self.rates.duration_factor(weights)
        return None if abs(factor - 1.0) < MIN_CHANGE else factor

    # ----- generation --------------------------------------------------------------------
    @torch.inference_mode()
    def generate_codes(
        self,
        ids: list[int],
        spk: SpeakerEmbedding,
        emo_vec: torch.Tensor,
        sampling: SamplingConfig,
        target: int | None,
        generator: torch.Generator | None,
        units: list[int] | None = None,
        candidates: int | None = None,
    ) -> torch.Tensor:
        """Text ids of one segment → codes ``(N,)``; ``target`` = exactly that many codes.

        With ``units`` (the segment's pronunciation unit ids) and ``code_candidates`` > 1, that
        many samples are drawn in one batch (the prompt prefilled once) and the one
        :meth:`score_codes` rates best is kept
        (one candidate, or a model that cannot score codes: one sample, as without).
        ``candidates``: at most that many samples this time (a pass that only needs a length)."""
        return self.rank_codes(ids, spk, emo_vec, sampling, target, generator, units, candidates)[0]

    @torch.inference_mode()
    def rank_codes(
        self,
        ids: list[int],
        spk: SpeakerEmbedding,
        emo_vec: torch.Tensor,
        sampling: SamplingConfig,
        target: int | None,
        generator: torch.Generator | None,
        units: list[int] | None = None,
        candidates: int | None = None,
    ) -> list[torch.Tensor]:
        """:meth:`generate_codes`' samples, best-read first (one when they cannot be scored)."""
        # a model that cannot read codes back (the official size) samples once
        n = self.code_candidates if units and type(self).score_codes is not PartsBase.score_codes else 1
        if candidates is not None:
            n = max(1, min(n, candidates))
        res = self.gpt.generate(
            spk.spk_latents.unsqueeze(0), emo_vec.unsqueeze(0), torch.tensor([ids], dtype=torch.long),
            sampling=sampling, target_tokens=target, generator=generator, samples=n,
        )  # fmt: skip
        if n == 1:
            return [res.codes(0)]
        drawn = [res.codes(i) for i in range(n)]
        scores = self.score_codes(drawn, units)  # type: ignore[arg-type]
        assert scores is not None
        return [drawn[k] for k in sorted(range(n), key=scores.__getitem__)]

    def score_codes(self, candidates: list[torch.Tensor], units: list[int]) -> list[float] | None:
        """How badly each candidate's codes ``(N,)`` say ``units`` (lower is better); None where
        the model has no way to read codes back (the official size)."""
        return None

    def gpt_latent(
        self,
        codes: torch.Tensor,
        spk: SpeakerEmbedding,
        text_ids: list[int] | None,
        emo_vec: torch.Tensor | None,
        target: int | None,
    ) -> torch.Tensor | None:
        """GPT latents ``(1, N, D)`` of codes ``(1, N)`` for an S2M with a ``gpt_layer``, else None.

        A teacher-forced pass over the text with the conditioning generation used: the
        free-length slot or, when the codes were generated for an exact ``target``, that
        count's duration embedding.
        """
        if "gpt_layer" not in self.s2m.models:  # type: ignore[attr-defined]
            return None
        if text_ids is None:
            raise ConfigError("codes_to_mel needs the segment's text_ids (the GPT latents depend on them)")
        emo = spk.emo_vec if emo_vec is None else emo_vec
        duration = None if target is None else torch.tensor([codes.shape[1]])
        return self.gpt.latents(
            spk.spk_latents.unsqueeze(0), emo.reshape(1, -1), torch.tensor([text_ids], dtype=torch.long),
            codes.long(), duration=duration,
        )  # fmt: skip

    def prosody_offset(
        self, spk: SpeakerEmbedding, emo_vec: torch.Tensor | None, weights: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """``(1, K)``: the prosody change the emotion asks of S2M, relative to the reference (its
        own emotion); None for an S2M that reads no offsets or when the speaker's emotion is kept."""
        if not getattr(self.s2m.cfg, "prosody_dim", 0):  # type: ignore[attr-defined]
            return None
        return self._emotion_offset(spk, emo_vec, weights)

    def _emotion_offset(
        self, spk: SpeakerEmbedding, emo_vec: torch.Tensor | None, weights: torch.Tensor | None = None
    ) -> torch.Tensor | None:
        """``(1, K)``: for emotion ``weights (8,)``, the measured change of their categories
        (``ProsodyHead.preset_offset``); else the prosody head's change from the speaker's own
        emotion to ``emo_vec`` (None without a head or an emotion)."""
        if self.prosody is None or emo_vec is None:
            return None
        if weights is not None and self.prosody.table is not None:
            return self.prosody.preset_offset(weights, voice_hold=self.voice_hold)
        return self.prosody.offset(emo_vec, spk.emo_vec)

    def prosody_contour(
        self,
        latent: torch.Tensor | None,
        spk: SpeakerEmbedding,
        emo_vec: torch.Tensor | None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor | None:
        """``(1, N, Kc)``: the per-code contour for an S2M that reads one (else None), predicted
        from the GPT latents ``(1, N, D)`` and moved by the pitch share of the emotion's utterance
        offset (``prosody.s2m_share``; none when the speaker's own emotion is kept)."""
        if not getattr(self.s2m.cfg, "contour_dim", 0):  # type: ignore[attr-defined]
            return None
        if self.contour is None or latent is None:
            raise CheckpointError(
                f"{self.name}: its S2M reads a prosody contour, but there is no contour head"
            )
        return self.contour.shift(
            self.contour(latent), s2m_share(self._emotion_offset(spk, emo_vec, weights))
        )

    @abstractmethod
    def codes_to_mel(
        self,
        codes: torch.Tensor,
        spk: SpeakerEmbedding,
        *,
        text_ids: list[int] | None = None,
        emo_vec: torch.Tensor | None = None,
        target: int | None = None,
        n_steps: int | None = None,
        seed: int | None = None,
        emo_weights: torch.Tensor | None = None,
        stretch: float = 1.0,
    ) -> torch.Tensor:
        """Codes ``(N,)`` of one segment → its mel ``(M, frames)``, the speaker's reference as prompt.

        ``text_ids``, ``emo_vec`` and ``target`` are what the codes were generated from (a model
        whose S2M reads GPT latents re-runs the GPT over them); ``emo_weights (8,)``, when the
        emotion came as weights, lets a model with a measured prosody table ask S2M for it;
        ``stretch`` reads the codes over that many times their frames (an emotion's speaking rate).
        """

    @abstractmethod
    def vocode(self, mel: torch.Tensor) -> torch.Tensor:
        """Mel ``(B, M, frames)`` → waveform ``(B, samples)`` at 22050 Hz."""
