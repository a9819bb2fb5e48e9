"""Decoding loops: transformers' semantics, seeding, duration control, the KV cache."""

from __future__ import annotations

import pytest
import torch
from transformers import DynamicCache, GPT2Config, GPT2LMHeadModel
from transformers.generation.logits_process import (
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from voxsmith.errors import ConfigError
from voxsmith.models.gpt_stack import KVCache
from voxsmith.models.sampling import (
    SamplingConfig,
    decode,
    repetition_penalty,
    top_k_filter,
    top_p_filter,
)

STOP = 7


class HFStepper:
    """A transformers GPT-2 LM behind the Stepper protocol (its own DynamicCache)."""

    def __init__(self, model: GPT2LMHeadModel, prompt: torch.Tensor):
        self.model = model
        out = model(prompt, past_key_values=DynamicCache(), use_cache=True)
        self.past = out.past_key_values
        self.first = out.logits[:, -1]

    def step(self, tokens: torch.Tensor) -> torch.Tensor:
        out = self.model(tokens[:, None], past_key_values=self.past, use_cache=True)
        self.past = out.past_key_values
        return out.logits[:, -1]

    def expand(self, repeats: int) -> None:
        self.past.batch_repeat_interleave(repeats)

    def reorder(self, index: torch.Tensor) -> None:
        self.past.reorder_cache(index)


@pytest.fixture(scope="module")
def lm() -> GPT2LMHeadModel:
    torch.manual_seed(3)
    cfg = GPT2Config(vocab_size=40, n_positions=64, n_embd=32, n_layer=2, n_head=2)
    return GPT2LMHeadModel(cfg).eval()


def _ours(lm, prompt, cfg: SamplingConfig, max_new: int, seed: int) -> torch.Tensor:
    with torch.no_grad():
        stepper = HFStepper(lm, prompt)
        torch.manual_seed(seed)
        return decode(stepper, stepper.first, prompt, cfg, stop=STOP, max_new_tokens=max_new).tokens


def _theirs(lm, prompt, cfg: SamplingConfig, max_new: int, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    out = lm.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        do_sample=cfg.do_sample,
        num_beams=cfg.num_beams,
        temperature=cfg.temperature,
        top_k=cfg.top_k,
        top_p=cfg.top_p,
        repetition_penalty=cfg.repetition_penalty,
        length_penalty=cfg.length_penalty,
        max_new_tokens=max_new,
        eos_token_id=STOP,
        pad_token_id=STOP,
    )
    return out[:, prompt.size(1) :]


@pytest.mark.parametrize(
    "cfg",
    [
        SamplingConfig.greedy(),
        SamplingConfig.greedy(repetition_penalty=10.0),
        SamplingConfig.greedy(repetition_penalty=10.0, num_beams=3),
        SamplingConfig(
            do_sample=True, num_beams=1, temperature=0.8, top_k=10, top_p=0.8, repetition_penalty=2.0
        ),
        SamplingConfig(
            do_sample=True, num_beams=3, temperature=0.8, top_k=10, top_p=0.9, repetition_penalty=2.0
        ),
    ],
    ids=["greedy", "greedy_rep", "beam3_rep", "sample", "beam_sample"],
)
def test_decode_reproduces_transformers_generate(lm, cfg):
    prompt = torch.tensor([[1, 5, 9, 2, 11, 3]])
    for seed in (0, 1):
        ours = _ours(lm, prompt, cfg, 12, seed)
        theirs = _theirs(lm, prompt, cfg, 12, seed)
        assert ours.tolist() == theirs.tolist()


def test_processors_match_transformers():
    torch.manual_seed(0)
    scores = torch.randn(3, 40)
    ids = torch.randint(0, 40, (3, 9))
    torch.testing.assert_close(
        repetition_penalty(scores, ids, 3.0), RepetitionPenaltyLogitsProcessor(3.0)(ids, scores)
    )
    torch.testing.assert_close(
        top_k_filter(scores, 5, 2), TopKLogitsWarper(5, min_tokens_to_keep=2)(ids, scores)
    )
    torch.testing.assert_close(top_p_filter(scores, 0.7, 1), TopPLogitsWarper(0.7)(ids, scores))
    torch.testing.assert_close(scores / 0.7, TemperatureLogitsWarper(0.7)(ids, scores))


def test_seeded_sampling_is_repeatable(lm):
    prompt = torch.tensor([[1, 5, 9, 2]])
    cfg = SamplingConfig(
        do_sample=True, num_beams=1, temperature=1.2, top_k=0, top_p=1.0, repetition_penalty=1.0
    )

    def run(seed: int) -> list[int]:
        stepper = HFStepper(lm, prompt)
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            return decode(
                stepper, stepper.first, prompt, cfg, stop=-1, max_new_tokens=16, generator=g
            ).tokens.tolist()

    assert run(5) == run(5)
    assert run(5) != run(6)


@pytest.mark.parametrize("num_beams", [1, 3])
@pytest.mark.parametrize("do_sample", [False, True])
def test_targets_give_exactly_n_codes(lm, num_beams, do_sample):
    prompt = torch.tensor([[1, 5, 9, 2], [3, 3, 4, 8]])
    cfg = SamplingConfig(do_sample=do_sample, num_beams=num_beams, top_k=5, top_p=0.9, repetition_penalty=1.5)
    targets = torch.tensor([4, 9])
    with torch.no_grad():
        # a large stop bias: unconstrained decoding would stop at once
        stepper = HFStepper(lm, prompt)
        first = stepper.first.clone()
        first[:, STOP] += 50.0
        res = decode(stepper, first, prompt, cfg, stop=STOP, max_new_tokens=3, targets=targets)
    assert res.lengths.tolist() == [4, 9]
    for row, n in enumerate(targets.tolist()):
        assert res.tokens[row, n] == STOP
        assert STOP not in res.codes(row).tolist()


def test_kv_cache_expand_and_reorder():
    like = torch.zeros(1)
    cache = KVCache(layers=2, batch=2, heads=1, head_dim=3, capacity=6, like=like)
    k = torch.arange(2 * 1 * 2 * 3, dtype=torch.float32).view(2, 1, 2, 3)
    for layer in range(2):
        cache.write(layer, k + layer, -k)
    cache.advance(2)
    cache.expand(3)  # rows: a a a b b b
    assert cache.batch == 6 and cache.shared == 2
    torch.testing.assert_close(cache.data[0, 0, 2, :, :2], k[0])
    torch.testing.assert_close(cache.data[1, 0, 4, :, :2], k[1] + 1)
    new = torch.arange(6, dtype=torch.float32).view(6, 1, 1, 1).expand(6, 1, 1, 3)
    for layer in range(2):
        cache.write(layer, new, new)
    cache.advance(1)
    cache.reorder(torch.tensor([2, 2, 0, 5, 3, 3]))
    assert cache.data[0, 0, :, 0, 2, 0].tolist() == [2, 2, 0, 5, 3, 3]
    torch.testing.assert_close(cache.data[0, 0, 3, :, :2], k[1])  # the prompt part is untouched


def test_sampling_config_validation():
    with pytest.raises(ConfigError):
        SamplingConfig(temperature=0)
    with pytest.raises(ConfigError):
        SamplingConfig(top_p=1.5)
    with pytest.raises(ConfigError):
        SamplingConfig(num_beams=0)
    assert SamplingConfig(seed=4).generator() is not None and SamplingConfig().generator() is None
