"""The semantic GPT (the official ``UnifiedVoice``): text + conditioning → semantic codes.

One class at two sizes: :meth:`GPTConfig.indextts2` is the official architecture (its state dict
is the official ``gpt.pth`` key for key), :meth:`GPTConfig.tiny` the built-in model trained here.

Sequence layout (one row)::

    [spk latents + emo vector (N)] [duration] [free] [start text … stop] [start code  c1 c2 …]
     conditioning (N + 2)                            text (Lt + 2)        codes

- speaker conditioner: Conformer → Perceiver, N = 32 latents of the GPT width;
- emotion conditioner: Conformer → Perceiver (1 latent, ``emo_dim``) → ``emovec_layer`` →
  ``emo_layer``; the vector is added to every speaker latent;
- duration slot: ``W_sem[n]`` (a row of the code position table, W_num = W_sem) for "exactly
  n codes", or ``speed_emb[1]`` for free length (zero-initialised, the paper's zeroed duration
  embedding; used for 30% of training rows); the free slot is ``speed_emb[0]``;
- text and codes carry their own learned position tables; GPT-2 has none.

Shapes: B batch, N latents, D ``model_dim``, Lt text ids, Lc codes, T feature frames, F feature size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from voxsmith.errors import ConfigError, DataError, TextError, VoxsmithError
from voxsmith.models.conformer import ConformerEncoder
from voxsmith.models.gpt_config import GPTConfig
from voxsmith.models.gpt_stack import KVCache, build_gpt2, linear, run_stack, small_matmuls
from voxsmith.models.perceiver import PerceiverResampler
from voxsmith.models.sampling import DecodeResult, SamplingConfig, decode

__all__ = ["GPTBatch", "GPTConfig", "GPTOutput", "Prompt", "TeacherForced", "UnifiedVoice"]

IGNORE = -100  # target id excluded from the losses


class LearnedPositions(nn.Module):
    """A learned position table (``emb.weight``: positions × D); too long a sequence raises ``error``."""

    def __init__(self, positions: int, dim: int, what: str, error: type[VoxsmithError]):
        super().__init__()
        self.emb = nn.Embedding(positions, dim)
        nn.init.normal_(self.emb.weight, std=0.02)
        self.what = what
        self.error = error

    def forward(self, length: int) -> torch.Tensor:
        """Rows ``0 … length-1``: ``(length, D)``."""
        if length > self.emb.num_embeddings:
            raise self.error(
                f"{self.what}: {length} positions (start and stop included) exceed the model's "
                f"{self.emb.num_embeddings}; split the input"
            )
        return self.emb.weight[:length]


@dataclass
class GPTBatch:
    """One training batch (padded; lengths say what is real)."""

    text_ids: torch.Tensor  # (B, Lt) text ids without start/stop
    text_lengths: torch.Tensor  # (B,)
    codes: torch.Tensor  # (B, Lc) semantic codes without start/stop
    code_lengths: torch.Tensor  # (B,)
    spk_feats: torch.Tensor  # (B, T, F) features of the speaker reference
    spk_lengths: torch.Tensor  # (B,) frames
    emo_feats: torch.Tensor | None = None  # (B, T', F) emotion reference; None: the speaker reference
    emo_lengths: torch.Tensor | None = None  # (B,)


@dataclass
class GPTOutput:
    """Losses and what the training recipes need besides them."""

    loss: torch.Tensor  # mel_loss + text_loss_weight · text_loss
    text_loss: torch.Tensor
    mel_loss: torch.Tensor
    mel_logits: torch.Tensor  # (B, Lc+2, V) logits of the code positions
    mel_targets: torch.Tensor  # (B, Lc+2) next codes, IGNORE after the stop
    emo_vec: torch.Tensor  # (B, D) emotion vector (feed it to a speaker adversary through a GRL)
    spk_latents: torch.Tensor  # (B, N, D)
    latents: torch.Tensor  # (B, Lc, D) the latents S2M reads (state predicting each code)


@dataclass
class Prompt:
    """Generation prompt in the official left-padded layout."""

    embeds: torch.Tensor  # (B, S, D) [pad][conditioning][start text … stop]
    valid: torch.Tensor  # (B, S) bool, False on left padding
    input_ids: torch.Tensor  # (B, S+1) placeholder ids (1) + start code, as the official generate sees

    @property
    def attention_mask(self) -> torch.Tensor:
        """``(B, S+1)`` int64: the official mask, the start code included."""
        return F.pad(self.valid.long(), (0, 1), value=1)


@dataclass
class TeacherForced:
    """Final-normed hidden states of one teacher-forced pass."""

    text_hidden: torch.Tensor  # (B, Lt+2, D)
    mel_hidden: torch.Tensor  # (B, Lc+2, D)
    text_inputs: torch.Tensor  # (B, Lt+2) [start, ids…, stop, pad…]
    text_targets: torch.Tensor  # (B, Lt+2) next ids, IGNORE after the stop
    mel_inputs: torch.Tensor  # (B, Lc+2)
    mel_targets: torch.Tensor  # (B, Lc+2)


def _hits(inputs: torch.Tensor, lengths: torch.Tensor, share: float) -> torch.Tensor:
    """A random ``share`` of the real code positions ``1 … length`` of ``inputs`` (B, Lc+2)."""
    pos = torch.arange(inputs.size(1), device=inputs.device)[None, :]
    real = (pos >= 1) & (pos <= lengths.to(inputs.device)[:, None])
    return real & (torch.rand(inputs.shape, device=inputs.device) < share)


def _corrupt(inputs: torch.Tensor, lengths: torch.Tensor, share: float, codebook: int) -> torch.Tensor:
    """``inputs`` (B, Lc+2) with a ``share`` of positions ``1 … length`` set to random codes."""
    return torch.where(_hits(inputs, lengths, share), torch.randint_like(inputs, codebook), inputs)


def _self_fed(
    inputs: torch.Tensor, logits: torch.Tensor, lengths: torch.Tensor, share: float
) -> torch.Tensor:
    """``inputs`` (B, Lc+2) with a ``share`` of positions ``1 … length`` set to draws from
    ``logits`` (B, Lc+2, V): position t takes a draw from the prediction made at t − 1.

    Draws are plain samples over the content codes (start and stop excluded, temperature 1),
    so they are at least as varied as what the tuned sampler makes at inference.
    """
    codebook = logits.size(-1) - 2
    probs = torch.softmax(logits[:, :-1, :codebook].float(), dim=-1)
    draws = torch.multinomial(probs.reshape(-1, codebook), 1).reshape(probs.shape[:2])
    draws = F.pad(draws, (1, 0), value=0).to(inputs.dtype)
    return torch.where(_hits(inputs, lengths, share), draws, inputs)


def _aligned(ids: torch.Tensor, lengths: torch.Tensor, start: int, stop: int) -> tuple[torch.Tensor, ...]:
    """``[start, ids…, stop]`` inputs and ``[ids…, stop, …]`` targets, padding replaced by stop."""
    ids = ids.long()
    b, n = ids.shape
    pos = torch.arange(n + 1, device=ids.device)[None, :]
    lengths = lengths.to(ids.device).long()[:, None]
    body = torch.cat([ids, ids.new_full((b, 1), stop)], dim=1)
    body = torch.where(pos < lengths, body, torch.full_like(body, stop))
    inputs = F.pad(body, (1, 0), value=start)
    targets = F.pad(body, (0, 1), value=stop)
    tpos = torch.arange(n + 2, device=ids.device)[None, :]
    targets = torch.where(tpos <= lengths, targets, torch.full_like(targets, IGNORE))
    valid = tpos <= lengths + 1  # start, ids, first stop
    return inputs, targets, valid


class UnifiedVoice(nn.Module):
    """The semantic GPT with its speaker and emotion conditioners (official key names)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        d = cfg.model_dim
        self.conditioning_encoder = ConformerEncoder(cfg.speaker)
        self.perceiver_encoder = PerceiverResampler(
            d,
            depth=cfg.perceiver_depth,
            dim_context=cfg.speaker.output_size,
            num_latents=cfg.condition_num_latent,
            dim_head=cfg.perceiver_dim_head,
            heads=cfg.speaker.attention_heads,
            ff_mult=cfg.speaker_perceiver_mult,
        )
        self.speed_emb = nn.Embedding(2, d)
        nn.init.zeros_(self.speed_emb.weight)  # official init: the free-length slots start at zero
        self.emo_conditioning_encoder = ConformerEncoder(cfg.emotion)
        self.emo_perceiver_encoder = PerceiverResampler(
            cfg.emo_dim,
            depth=cfg.perceiver_depth,
            dim_context=cfg.emotion.output_size,
            num_latents=1,
            dim_head=cfg.perceiver_dim_head,
            heads=cfg.emotion.attention_heads,
            ff_mult=cfg.emotion_perceiver_mult,
        )
        self.text_embedding = nn.Embedding(cfg.number_text_tokens * cfg.text_types + 1, d)
        self.emo_layer = nn.Linear(d, d)
        self.emovec_layer = nn.Linear(cfg.emo_dim, d)
        self.mel_embedding = nn.Embedding(cfg.number_mel_codes, d)
        nn.init.normal_(self.text_embedding.weight, std=0.02)
        nn.init.normal_(self.mel_embedding.weight, std=0.02)
        positions = cfg.mel_positions + cfg.max_text_tokens + 2
        self.gpt = build_gpt2(cfg.layers, d, cfg.heads, positions, cfg.dropout)
        self.mel_pos_embedding = LearnedPositions(cfg.mel_positions, d, "semantic codes", DataError)
        self.text_pos_embedding = LearnedPositions(cfg.max_text_tokens + 2, d, "text", TextError)
        self.final_norm = nn.LayerNorm(d)
        self.text_head = nn.Linear(d, cfg.number_text_tokens * cfg.text_types + 1)
        self.mel_head = nn.Linear(d, cfg.number_mel_codes)

    # ----- conditioning -------------------------------------------------------------------
    def speaker_latents(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Speaker conditioning ``feats (B, T, F)`` → ``(B, N, D)`` (official ``get_conditioning``)."""
        x, valid = self.conditioning_encoder(feats, lengths)
        return self.perceiver_encoder(x, self._latent_mask(valid, self.config.condition_num_latent))

    def emotion_features(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Emotion conditioner output before the projections: ``(B, emo_dim)``."""
        x, valid = self.emo_conditioning_encoder(feats, lengths)
        return self.emo_perceiver_encoder(x, self._latent_mask(valid, 1)).squeeze(1)

    def emotion_vector(self, feats: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The emotion vector added to the speaker latents: ``(B, D)`` (official ``get_emovec``)."""
        return self.emo_layer(self.emovec_layer(self.emotion_features(feats, lengths)))

    def merge_emotion(
        self,
        spk_feats: torch.Tensor,
        emo_feats: torch.Tensor,
        spk_lengths: torch.Tensor | None = None,
        emo_lengths: torch.Tensor | None = None,
        alpha: float = 1.0,
    ) -> torch.Tensor:
        """``base + alpha·(emo − base)`` with base the speaker clip's own emotion: ``(B, D)``."""
        emo = self.emotion_vector(emo_feats, emo_lengths)
        base = self.emotion_vector(spk_feats, spk_lengths)
        return base + alpha * (emo - base)

    @staticmethod
    def _latent_mask(valid: torch.Tensor, latents: int) -> torch.Tensor | None:
        """Perceiver key mask ``(B, latents + T')`` (latents always visible); None if all valid."""
        if bool(valid.all()):
            return None
        ones = torch.ones(valid.size(0), latents, dtype=torch.bool, device=valid.device)
        return torch.cat([ones, valid.squeeze(1)], dim=1)

    def duration_embedding(self, n: torch.Tensor) -> torch.Tensor:
        """``W_sem[n]`` for ``n (B,)`` code counts: the duration table is the code position table."""
        return self.mel_pos_embedding.emb(n.long().clamp(0, self.config.mel_positions - 1))

    def conditioning(
        self, spk_latents: torch.Tensor, emo_vec: torch.Tensor, duration: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``[spk + emo (N)][duration][free]``: ``(B, N+2, D)``.

        ``duration (B,)``: exact code counts, a negative entry (or None) meaning free length.
        """
        lat = spk_latents + emo_vec.unsqueeze(1)
        if duration is not None:
            duration = duration.to(lat.device).long().reshape(-1)
            lat = lat.expand(max(lat.size(0), duration.numel()), -1, -1)
            duration = duration.expand(lat.size(0))
        b, _, d = lat.shape
        free_len = self.speed_emb.weight[1].expand(b, d)
        if duration is None:
            slot = free_len
        else:
            slot = torch.where((duration >= 0)[:, None], self.duration_embedding(duration), free_len)
        free = self.speed_emb.weight[0].expand(b, d)
        return torch.cat([lat, slot.unsqueeze(1), free.unsqueeze(1)], dim=1)

    # ----- teacher forcing -----------------------------------------------------------------
    def teacher_forced(
        self,
        conds: torch.Tensor,
        text_ids: torch.Tensor,
        text_lengths: torch.Tensor,
        codes: torch.Tensor,
        code_lengths: torch.Tensor,
        code_noise: float = 0.0,
        self_feed: float = 0.0,
    ) -> TeacherForced:
        """One pass over ``[conds][text][codes]`` with the training position layout 0, 1, 2, …

        ``code_noise``: share of the real input codes replaced by random codes (targets kept),
        so the model learns to continue from imperfect histories as it must when sampling.
        ``self_feed``: share of the real input codes replaced by the model's own draws from a
        first, gradient-free pass (two-pass scheduled sampling; targets kept): the histories it
        meets when sampling are its own mistakes, not random ones.
        """
        cfg = self.config
        t_in, t_tar, t_valid = _aligned(text_ids, text_lengths, cfg.start_text_token, cfg.stop_text_token)
        m_in, m_tar, _ = _aligned(codes, code_lengths, cfg.start_mel_token, cfg.stop_mel_token)
        if code_noise > 0:
            m_in = _corrupt(m_in, code_lengths, code_noise, cfg.number_mel_codes - 2)
        text = self.text_embedding(t_in) + self.text_pos_embedding(t_in.size(1))
        b = text.size(0)
        conds = conds.expand(b, -1, -1)
        key_valid = None
        if not bool(t_valid.all()):
            # text padding sits between text and codes: hide it so rows look as at inference
            ones = torch.ones(b, conds.size(1), dtype=torch.bool, device=text.device)
            key_valid = torch.cat([ones, t_valid, torch.ones_like(m_in, dtype=torch.bool)], dim=1)

        def run(m: torch.Tensor) -> torch.Tensor:
            mel = self.mel_embedding(m) + self.mel_pos_embedding(m.size(1))
            x = torch.cat([conds, text, mel], dim=1)
            return self.final_norm(run_stack(self.gpt, x, key_valid=key_valid)[:, conds.size(1) :])

        lt = t_in.size(1)
        if self_feed > 0:
            with torch.no_grad():
                m_in = _self_fed(m_in, self.mel_head(run(m_in)[:, lt:]), code_lengths, self_feed)
        h = run(m_in)
        return TeacherForced(h[:, :lt], h[:, lt:], t_in, t_tar, m_in, m_tar)

    def latents(
        self,
        spk_latents: torch.Tensor,
        emo_vec: torch.Tensor,
        text_ids: torch.Tensor,
        codes: torch.Tensor,
        text_lengths: torch.Tensor | None = None,
        code_lengths: torch.Tensor | None = None,
        duration: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """GPT latents for S2M: ``(B, Lc, D)``, one per code (official ``forward``, ``[:, :-2]``)."""
        b = text_ids.size(0)
        if text_lengths is None:
            text_lengths = torch.full((b,), text_ids.size(1), dtype=torch.long, device=text_ids.device)
        if code_lengths is None:
            code_lengths = torch.full((b,), codes.size(1), dtype=torch.long, device=codes.device)
        conds = self.conditioning(spk_latents, emo_vec, duration)
        return self.teacher_forced(conds, text_ids, text_lengths, codes, code_lengths).mel_hidden[:, :-2]

    def forward(
        self,
        batch: GPTBatch,
        *,
        text_loss_weight: float = 0.01,
        duration_drop: float | None = None,
        code_noise: float = 0.0,
        self_feed: float = 0.0,
        text_drop: float = 0.0,
    ) -> GPTOutput:
        """Training pass: conditioners, duration slot (dropped with ``duration_drop``), losses.

        ``code_noise``, ``self_feed``: shares of input codes replaced by random ones and by the
        model's own draws (see :meth:`teacher_forced`).
        ``text_drop``: share of rows whose text is emptied (start, stop): the unguided half of
        ``SamplingConfig.text_guidance``.
        """
        spk = self.speaker_latents(batch.spk_feats, batch.spk_lengths)
        emo_feats = batch.spk_feats if batch.emo_feats is None else batch.emo_feats
        emo_lengths = batch.spk_lengths if batch.emo_feats is None else batch.emo_lengths
        emo_vec = self.emotion_vector(emo_feats, emo_lengths)
        if duration_drop is None:
            duration_drop = self.config.duration_drop_prob if self.training else 0.0
        duration = batch.code_lengths.to(spk.device).long().clone()
        drop = torch.rand(duration.shape, device=duration.device) < duration_drop
        duration[drop] = -1
        conds = self.conditioning(spk, emo_vec, duration)
        text_lengths = batch.text_lengths
        if text_drop > 0:
            empty = torch.rand(text_lengths.shape, device=text_lengths.device) < text_drop
            text_lengths = text_lengths.masked_fill(empty, 0)
        tf = self.teacher_forced(
            conds, batch.text_ids, text_lengths, batch.codes, batch.code_lengths, code_noise, self_feed
        )
        text_logits = self.text_head(tf.text_hidden)
        mel_logits = self.mel_head(tf.mel_hidden)
        text_loss = F.cross_entropy(text_logits.transpose(1, 2), tf.text_targets, ignore_index=IGNORE)
        mel_loss = F.cross_entropy(mel_logits.transpose(1, 2), tf.mel_targets, ignore_index=IGNORE)
        return GPTOutput(
            loss=mel_loss + text_loss_weight * text_loss,
            text_loss=text_loss,
            mel_loss=mel_loss,
            mel_logits=mel_logits,
            mel_targets=tf.mel_targets,
            emo_vec=emo_vec,
            spk_latents=spk,
            latents=tf.mel_hidden[:, :-2],
        )

    # ----- generation ----------------------------------------------------------------------
    def prompt(
        self, conds: torch.Tensor, text_ids: torch.Tensor, text_lengths: torch.Tensor | None = None
    ) -> Prompt:
        """Official ``prepare_gpt_inputs``: per row strip start/stop ids, wrap, left-pad to Lt+2."""
        cfg = self.config
        b, lt = text_ids.shape
        conds = conds.expand(b, -1, -1)
        width = conds.size(1) + lt + 2
        embeds = conds.new_zeros((b, width, conds.size(2)))
        valid = torch.zeros(b, width, dtype=torch.bool, device=conds.device)
        for i in range(b):
            row = text_ids[i] if text_lengths is None else text_ids[i, : int(text_lengths[i])]
            row = row[(row != cfg.stop_text_token) & (row != cfg.start_text_token)].long()
            row = F.pad(F.pad(row, (1, 0), value=cfg.start_text_token), (0, 1), value=cfg.stop_text_token)
            text = self.text_embedding(row) + self.text_pos_embedding(row.numel())
            n = conds.size(1) + row.numel()
            embeds[i, width - n :] = torch.cat([conds[i], text], dim=0)
            valid[i, width - n :] = True
        input_ids = torch.ones(b, width + 1, dtype=torch.long, device=conds.device)
        input_ids[:, -1] = cfg.start_mel_token
        return Prompt(embeds, valid, input_ids)

    @torch.inference_mode()
    def generate(
        self,
        spk_latents: torch.Tensor,
        emo_vec: torch.Tensor,
        text_ids: torch.Tensor,
        text_lengths: torch.Tensor | None = None,
        *,
        sampling: SamplingConfig | None = None,
        target_tokens: int | torch.Tensor | None = None,
        max_new_tokens: int | None = None,
        generator: torch.Generator | None = None,
        return_scores: bool = False,
        samples: int = 1,
    ) -> DecodeResult:
        """Semantic codes for ``text_ids (B, Lt)``; ``target_tokens`` = exactly that many codes.

        ``samples``: rows drawn per input (row i·samples + j is input i's draw j, ``B·samples``
        rows in all); the prompt is computed once per input and its cache shared."""
        if samples < 1:
            raise ConfigError(f"samples must be at least 1, got {samples}")
        targets = None
        if target_tokens is not None:
            targets = (
                torch.as_tensor(target_tokens, dtype=torch.long, device=text_ids.device)
                .reshape(-1)
                .expand(text_ids.size(0))
            )
            limit = self.config.max_mel_tokens
            if bool((targets < 1).any()) or bool((targets > limit).any()):
                raise ConfigError(f"target_tokens must be in [1, {limit}], got {targets.tolist()}")
        conds = self.conditioning(spk_latents, emo_vec, targets)
        guided = sampling is not None and sampling.text_guidance > 0
        if guided:
            # the unguided rows: the same conditioning before an empty text (start, stop)
            b = text_ids.size(0)
            lengths = text_lengths if text_lengths is not None else torch.full((b,), text_ids.size(1))
            lengths = lengths.to(text_ids.device)
            conds = torch.cat([conds.expand(b, -1, -1), conds.expand(b, -1, -1)])
            text_ids, text_lengths = (
                torch.cat([text_ids, text_ids]),
                torch.cat([lengths, torch.zeros_like(lengths)]),
            )
        return self.generate_from_prompt(
            self.prompt(conds, text_ids, text_lengths),
            sampling=sampling,
            targets=targets,
            max_new_tokens=max_new_tokens,
            generator=generator,
            return_scores=return_scores,
            guided=guided,
            samples=samples,
        )

    @torch.inference_mode()
    def generate_from_prompt(
        self,
        prompt: Prompt,
        *,
        sampling: SamplingConfig | None = None,
        targets: torch.Tensor | None = None,
        max_new_tokens: int | None = None,
        generator: torch.Generator | None = None,
        return_scores: bool = False,
        guided: bool = False,
        samples: int = 1,
    ) -> DecodeResult:
        """KV-cached decoding from a prepared prompt (one prefill, then one position per step).

        ``guided``: the prompt's rows are ``[B with text; the same B without]`` and the codes are
        drawn with ``sampling.text_guidance`` (:class:`_GuidedStepper`); B rows come back.
        ``samples``: each input's prefilled cache is repeated that many times before decoding
        (guided: both halves, which stay contiguous), so ``B·samples`` rows come back."""
        cfg = self.config
        sampling = sampling or SamplingConfig()
        first_pos = 2 if cfg.official_decode_quirks else 1
        # the last sampled code is never fed, so codes reach position first_pos + steps - 2
        limit = cfg.mel_positions + 1 - first_pos
        max_new = min(max_new_tokens or sampling.max_new_tokens, limit)
        if targets is not None:
            if int(targets.max()) + 1 > limit:
                raise ConfigError(f"target_tokens {int(targets.max())} exceeds the code position table")
            max_new = max(max_new, int(targets.max()) + 1)
        b, s, d = prompt.embeds.shape
        start = self.mel_embedding.weight[cfg.start_mel_token] + self.mel_pos_embedding.emb.weight[0]
        x = torch.cat([prompt.embeds, start.expand(b, 1, d)], dim=1)
        capacity = s + 1 + max_new
        key_valid = None
        if not bool(prompt.valid.all()):
            key_valid = torch.ones(b, capacity, dtype=torch.bool, device=x.device)
            key_valid[:, :s] = prompt.valid
        cache = KVCache(cfg.layers, b, cfg.heads, d // cfg.heads, capacity, like=x)
        h = run_stack(
            self.gpt, x, cache=cache, key_valid=None if key_valid is None else key_valid[:, : s + 1]
        )
        # voxsmith's own models never emit the start code (the official decoder allows it)
        ban = None if cfg.official_decode_quirks else cfg.start_mel_token
        logits = _banned(self.mel_head(self.final_norm(h[:, -1])), ban)
        stepper: _CodeStepper | _GuidedStepper = _CodeStepper(self, cache, key_valid, first_pos, ban)
        # the official prompt ids are placeholders (1) plus the start code; the penalty sees them all
        seen = prompt.input_ids if cfg.official_decode_quirks else prompt.input_ids[:, -1:]
        if guided:
            stepper = _GuidedStepper(stepper, sampling.text_guidance)
            logits = stepper.combine(logits)
            seen = seen[: b // 2]
        if samples > 1:  # identical prompts: prefilled once, the cache repeated per draw
            stepper.expand(samples)
            logits, seen = logits.repeat_interleave(samples, dim=0), seen.repeat_interleave(samples, dim=0)
            if targets is not None:
                targets = targets.repeat_interleave(samples)
        return decode(
            stepper,
            logits,
            seen,
            sampling,
            stop=cfg.stop_mel_token,
            max_new_tokens=max_new,
            targets=targets,
            generator=generator,
            return_scores=return_scores,
        )


def _banned(logits: torch.Tensor, code: int | None) -> torch.Tensor:
    if code is not None:
        logits[:, code] = float("-inf")
    return logits


class _CodeStepper:
    """Feeds one code per row through the cached stack (implements ``sampling.Stepper``)."""

    def __init__(
        self,
        model: UnifiedVoice,
        cache: KVCache,
        key_valid: torch.Tensor | None,
        position: int,
        ban: int | None = None,
    ):
        self.model = model
        self.ban = ban  # a code that is never generated (None: any)
        self.cache = cache
        self.key_valid = key_valid  # (rows, capacity) or None when nothing is padded
        self.position = position  # code position of the next fed code

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        m = self.model
        x = m.mel_embedding(tokens).unsqueeze(1) + m.mel_pos_embedding.emb.weight[self.position]
        valid = None if self.key_valid is None else self.key_valid[:, : self.cache.length + 1]
        h = m.final_norm(run_stack(m.gpt, x, cache=self.cache, key_valid=valid)[:, -1])
        self.position += 1
        return _banned(linear(m.mel_head, h, small_matmuls(h)), self.ban)

    def expand(self, repeats: int) -> None:
        self.cache.expand(repeats)
        if self.key_valid is not None:
            self.key_valid = self.key_valid.repeat_interleave(repeats, dim=0)

    def reorder(self, index: torch.Tensor) -> None:
        self.cache.reorder(index)  # prompt padding is identical within a beam group


class _GuidedStepper:
    """Classifier-free guidance on the text over a :class:`_CodeStepper` whose rows are
    ``[N with text; the same N without]``: both halves are fed the same codes and the loops see
    N rows of ``log p_text + w·(log p_text − log p_none)`` (implements ``sampling.Stepper``)."""

    def __init__(self, inner: _CodeStepper, weight: float):
        self.inner = inner
        self.weight = weight

    def combine(self, logits: torch.Tensor) -> torch.Tensor:
        """``(2N, V)`` logits of both halves → ``(N, V)`` guided log-probabilities."""
        text, none = logits.float().log_softmax(dim=-1).chunk(2)
        guided = text + self.weight * (text - none)
        return guided.masked_fill(torch.isinf(text), float("-inf"))  # banned codes stay banned

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.combine(self.inner.step(torch.cat([tokens, tokens])))

    def expand(self, repeats: int) -> None:
        # repeat_interleave keeps the two halves contiguous: [N·r with text; N·r without]
        self.inner.expand(repeats)

    def reorder(self, index: torch.Tensor) -> None:
        self.inner.reorder(torch.cat([index, index + self.inner.cache.batch // 2]))
