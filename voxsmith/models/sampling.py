"""Autoregressive decoding of semantic codes: greedy, sampling and beam search over a KV cache.

The loops here reproduce the semantics of transformers' ``generate`` (4.52) that the official
IndexTTS2 inference runs through, so the official checkpoints decode the same codes:

- logits processors in the same order and with the same formulas: repetition penalty over
  every id seen so far (prompt ids included), then temperature, top-k, top-p; beam search
  applies them to log-probabilities and keeps at least 2 candidates per filter;
- greedy / sampling: a finished row keeps emitting the pad (= stop) token;
- beam search: 2·beams candidates per step, finished hypotheses scored with
  ``length_penalty``, the same stopping rule and tie-breaking (``torch.topk``).

The loops only ask a :class:`Stepper` for the next logits, so they never recompute the prefix:
the model keeps its own cache. Randomness comes from an explicit ``torch.Generator``.

Shapes: B inputs, K beams, N = B·K rows, V vocabulary, P prompt ids, T generated steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from voxsmith.errors import ConfigError

_NEG = -1.0e9  # transformers' "impossible" score in beam bookkeeping


@dataclass
class SamplingConfig:
    """How codes are chosen. Defaults are the official IndexTTS2 inference settings."""

    do_sample: bool = True  # False: greedy (or plain beam search when num_beams > 1)
    temperature: float = 0.8  # divides the logits before top-k / top-p (sampling only)
    top_k: int = 30  # keep the k most likely codes (0 = off; sampling only)
    top_p: float = 0.8  # keep the smallest set with this probability mass (1.0 = off; sampling only)
    repetition_penalty: float = 10.0  # transformers semantics: divide positive / multiply negative scores
    num_beams: int = 3  # 1 = no beam search
    length_penalty: float = 0.0  # beam score = sum log p / length**length_penalty
    max_new_tokens: int = 1500  # hard cap on generated codes (the stop code included)
    # classifier-free guidance on the text (0 = off): log p_text + w·(log p_text − log p_none),
    # p_none from the same conditioning with no text; costs a second row per input
    text_guidance: float = 0.0
    seed: int | None = None  # seeds a private torch.Generator when no generator is passed

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigError(f"sampling: temperature must be > 0, got {self.temperature}")
        if self.top_k < 0:
            raise ConfigError(f"sampling: top_k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"sampling: top_p must be in (0, 1], got {self.top_p}")
        if not self.repetition_penalty > 0:
            raise ConfigError(f"sampling: repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.num_beams < 1:
            raise ConfigError(f"sampling: num_beams must be >= 1, got {self.num_beams}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"sampling: max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0.0 <= self.text_guidance <= 10.0:
            raise ConfigError(f"sampling: text_guidance must be in [0, 10], got {self.text_guidance}")

    @classmethod
    def official(cls) -> SamplingConfig:
        """infer_v2 defaults: beam sampling with 3 beams, top-p 0.8, top-k 30, T 0.8, penalty 10."""
        return cls()

    @classmethod
    def greedy(cls, repetition_penalty: float = 1.0, num_beams: int = 1) -> SamplingConfig:
        """Deterministic decoding (optionally penalised, optionally beam search)."""
        return cls(do_sample=False, repetition_penalty=repetition_penalty, num_beams=num_beams)

    def generator(self, device: torch.device | str = "cpu") -> torch.Generator | None:
        """A fresh generator seeded with ``seed`` (None when unseeded: the global RNG is used)."""
        if self.seed is None:
            return None
        return torch.Generator(device=device).manual_seed(int(self.seed))


class Stepper(Protocol):
    """What the loops need from a model that holds its own KV cache."""

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        """Feed ``tokens (N,)`` one position further; return next-token logits ``(N, V)``."""
        ...

    def expand(self, repeats: int) -> None:
        """Repeat every cached row ``repeats`` times (one per beam)."""
        ...

    def reorder(self, index: torch.Tensor) -> None:
        """Row ``index[j]`` of the cache becomes row j."""
        ...


@dataclass
class DecodeResult:
    """Generated codes. ``tokens`` holds the stop code and stop-padding after it, as transformers does."""

    tokens: torch.Tensor  # (B, T) int64
    lengths: torch.Tensor  # (B,) codes before the first stop code
    scores: torch.Tensor | None = None  # (B, T, V) processed scores per step (greedy/sampling only)

    def codes(self, row: int = 0) -> torch.Tensor:
        """The codes of one row without the stop code: ``(lengths[row],)``."""
        return self.tokens[row, : int(self.lengths[row])]


def repetition_penalty(scores: torch.Tensor, ids: torch.Tensor, penalty: float) -> torch.Tensor:
    """``scores (N, V)``; every id in ``ids (N, P)``: score/penalty if > 0, else score·penalty."""
    picked = torch.gather(scores, 1, ids)
    picked = torch.where(picked < 0, picked * penalty, picked / penalty)
    return scores.scatter(1, ids, picked)


def top_k_filter(scores: torch.Tensor, k: int, min_keep: int = 1) -> torch.Tensor:
    """Scores below the k-th largest become -inf."""
    k = min(max(k, min_keep), scores.size(-1))
    kth = torch.topk(scores, k)[0][..., -1:]
    return scores.masked_fill(scores < kth, float("-inf"))


def top_p_filter(scores: torch.Tensor, p: float, min_keep: int = 1) -> torch.Tensor:
    """Keep the most likely codes whose probability mass reaches ``p`` (transformers' rule)."""
    sorted_scores, order = torch.sort(scores, descending=False)
    cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
    remove = cumulative <= (1 - p)
    remove[..., -min_keep:] = False
    remove = remove.scatter(1, order, remove)
    return scores.masked_fill(remove, float("-inf"))


def control_stop(scores: torch.Tensor, step: int, targets: torch.Tensor | None, stop: int) -> torch.Tensor:
    """Duration control: before step ``targets[i]`` the stop code is impossible, at it forced."""
    if targets is None:
        return scores
    scores = scores.clone()
    scores[targets > step, stop] = float("-inf")
    forced = targets == step
    if bool(forced.any()):
        keep = scores[forced, stop].clone()
        scores[forced] = float("-inf")
        scores[forced, stop] = keep
    return scores


def process(
    scores: torch.Tensor,
    ids: torch.Tensor,
    cfg: SamplingConfig,
    *,
    step: int,
    targets: torch.Tensor | None,
    stop: int,
    min_keep: int,
) -> torch.Tensor:
    """transformers' processor order: penalty, (duration control), temperature, top-k, top-p."""
    if cfg.repetition_penalty != 1.0:
        scores = repetition_penalty(scores, ids, cfg.repetition_penalty)
    scores = control_stop(scores, step, targets, stop)
    if cfg.do_sample:
        if cfg.temperature != 1.0:
            scores = scores / cfg.temperature
        if cfg.top_k:
            scores = top_k_filter(scores, cfg.top_k, min_keep)
        if cfg.top_p < 1.0:
            scores = top_p_filter(scores, cfg.top_p, min_keep)
    return scores


def decode(
    stepper: Stepper,
    logits: torch.Tensor,
    prompt_ids: torch.Tensor,
    cfg: SamplingConfig,
    *,
    stop: int,
    max_new_tokens: int,
    targets: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    return_scores: bool = False,
) -> DecodeResult:
    """Decode from the prompt's next-token ``logits (B, V)``.

    ``prompt_ids (B, P)``: ids the repetition penalty counts as already seen.
    ``targets (B,)``: exact number of codes per row (stop suppressed before, forced at it);
    ``max_new_tokens`` grows to fit them.
    """
    if generator is None:
        generator = cfg.generator(logits.device)
    if targets is not None:
        max_new_tokens = max(max_new_tokens, int(targets.max()) + 1)  # room for N codes and the stop
    if cfg.num_beams > 1:
        return _beam_search(stepper, logits, prompt_ids, cfg, stop, max_new_tokens, targets, generator)
    return _sample(stepper, logits, prompt_ids, cfg, stop, max_new_tokens, targets, generator, return_scores)


def _first_stop(tokens: torch.Tensor, stop: int) -> torch.Tensor:
    """Index of the first stop code per row, or the row length when there is none."""
    is_stop = tokens == stop
    first = is_stop.int().argmax(dim=1)
    return torch.where(is_stop.any(dim=1), first, torch.full_like(first, tokens.size(1)))


def _sample(
    stepper: Stepper,
    logits: torch.Tensor,
    prompt_ids: torch.Tensor,
    cfg: SamplingConfig,
    stop: int,
    max_new: int,
    targets: torch.Tensor | None,
    generator: torch.Generator | None,
    return_scores: bool,
) -> DecodeResult:
    b = logits.size(0)
    p = prompt_ids.size(1)
    ids = prompt_ids.new_full((b, p + max_new), stop)
    ids[:, :p] = prompt_ids
    finished = torch.zeros(b, dtype=torch.bool, device=logits.device)
    all_scores = []
    steps = 0
    for step in range(max_new):
        scores = process(
            logits.float(), ids[:, : p + step], cfg, step=step, targets=targets, stop=stop, min_keep=1
        )
        if return_scores:
            all_scores.append(scores)
        if cfg.do_sample:
            probs = scores.softmax(dim=-1)
            token = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        else:
            token = scores.argmax(dim=-1)
        token = torch.where(finished, torch.full_like(token, stop), token)
        ids[:, p + step] = token
        finished |= token == stop
        steps = step + 1
        if bool(finished.all()) or steps == max_new:
            break
        logits = stepper.step(token)
    tokens = ids[:, p : p + steps].clone()
    scores_out = torch.stack(all_scores, dim=1) if return_scores else None
    return DecodeResult(tokens=tokens, lengths=_first_stop(tokens, stop), scores=scores_out)


def _pick(
    scores: torch.Tensor, count: int, do_sample: bool, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top ``count`` candidates of ``scores (B, K·V)``, or ``count`` samples without replacement."""
    if not do_sample:
        return torch.topk(scores, count)
    probs = scores.softmax(dim=-1)
    if int((probs > 0).sum(dim=-1).min()) < count:
        # too few candidates survived the filters for a draw without replacement (transformers
        # raises here); impossible ones come last, in the order the draw leaves them
        probs = probs + torch.finfo(probs.dtype).tiny
    index = torch.multinomial(probs, count, generator=generator)
    return torch.gather(scores, 1, index), index


def _beam_search(
    stepper: Stepper,
    logits: torch.Tensor,
    prompt_ids: torch.Tensor,
    cfg: SamplingConfig,
    stop: int,
    max_new: int,
    targets: torch.Tensor | None,
    generator: torch.Generator | None,
) -> DecodeResult:
    b, v = logits.shape
    k = cfg.num_beams
    keep = 2 * k  # candidates per step: enough to continue k beams even if k of them stop
    dev = logits.device
    stepper.expand(k)
    logits = logits.repeat_interleave(k, dim=0)
    prompt_ids = prompt_ids.repeat_interleave(k, dim=0)
    beam_targets = None if targets is None else targets.repeat_interleave(k)
    offsets = (torch.arange(b, device=dev) * k)[:, None]
    in_top = torch.cat([torch.ones(k, dtype=torch.bool), torch.zeros(keep - k, dtype=torch.bool)]).to(dev)

    running = prompt_ids.new_full((b, k, max_new), stop)  # generated ids of the live beams
    running_scores = torch.zeros(b, k, device=dev)
    running_scores[:, 1:] = _NEG  # only the first beam may start: the beams are identical
    done_seq = running.clone()
    done_scores = torch.full((b, k), _NEG, device=dev)
    done_len = torch.zeros(b, k, dtype=torch.long, device=dev)
    done_flag = torch.zeros(b, k, dtype=torch.bool, device=dev)

    for step in range(max_new):
        log_probs = F.log_softmax(logits.float(), dim=-1)
        seen = torch.cat([prompt_ids, running.view(b * k, max_new)[:, :step]], dim=1)
        log_probs = process(log_probs, seen, cfg, step=step, targets=beam_targets, stop=stop, min_keep=2)
        total = (log_probs.view(b, k, v) + running_scores[:, :, None]).view(b, k * v)
        cand_scores, cand_index = _pick(total, keep, cfg.do_sample, generator)
        cand_beam = cand_index // v
        cand_token = cand_index % v
        cand_seq = torch.take_along_dim(running, cand_beam[:, :, None], dim=1)
        cand_seq[:, :, step] = cand_token
        hits = (cand_token == stop) | (step + 1 >= max_new)

        # live beams for the next step: the best candidates that did not stop
        live_scores = cand_scores + hits.float() * _NEG
        pick = torch.topk(live_scores, k)[1]
        running = torch.take_along_dim(cand_seq, pick[:, :, None], dim=1)
        running_scores = torch.take_along_dim(live_scores, pick, dim=1)
        parent = torch.take_along_dim(cand_beam, pick, dim=1)

        # finished hypotheses: only candidates among the top k may enter
        new_done = hits & in_top[None, :]
        fin = cand_scores / float(step + 1) ** cfg.length_penalty
        fin = fin + (~new_done).float() * _NEG
        merged_scores = torch.cat([done_scores, fin], dim=1)
        best = torch.topk(merged_scores, k)[1]
        done_seq = torch.take_along_dim(torch.cat([done_seq, cand_seq], dim=1), best[:, :, None], dim=1)
        done_scores = torch.take_along_dim(merged_scores, best, dim=1)
        new_len = torch.full((b, keep), step + 1, dtype=torch.long, device=dev)
        done_len = torch.take_along_dim(torch.cat([done_len, new_len], dim=1), best, dim=1)
        done_flag = torch.take_along_dim(torch.cat([done_flag, new_done], dim=1), best, dim=1)

        stepper.reorder((parent + offsets).view(-1))
        best_live = running_scores[:, :1] / float(step + 1) ** cfg.length_penalty
        worst_done = torch.where(done_flag, done_scores.min(dim=1, keepdim=True)[0], _NEG)
        improvable = bool((best_live > worst_done).any())
        if not improvable or bool(hits.all()):
            break
        logits = stepper.step(running[:, :, step].reshape(-1))

    width = int(done_len[:, 0].max())
    tokens = done_seq[:, 0, :width].clone()
    return DecodeResult(tokens=tokens, lengths=_first_stop(tokens, stop))
