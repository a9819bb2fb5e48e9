"""The semantic GPT at a tiny random size, and the full size on the meta device."""

from __future__ import annotations

import json

import pytest
import torch

from voxsmith.checkpoints import strict_load
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.conformer import ConformerConfig
from voxsmith.models.gpt import GPTBatch, GPTConfig, UnifiedVoice
from voxsmith.models.gpt_stack import run_stack
from voxsmith.models.sampling import SamplingConfig

F_IN = 12  # feature size of the tiny conditioners


def _cfg(**kw) -> GPTConfig:
    base = dict(
        model_dim=32,
        layers=2,
        heads=2,
        max_text_tokens=20,
        max_mel_tokens=40,
        number_text_tokens=30,
        number_mel_codes=40,
        start_mel_token=38,
        stop_mel_token=39,
        condition_num_latent=4,
        speaker=ConformerConfig(
            input_size=F_IN, output_size=16, attention_heads=2, linear_units=32, num_blocks=1
        ),
        emotion=ConformerConfig(
            input_size=F_IN, output_size=8, attention_heads=1, linear_units=16, num_blocks=1
        ),
        emo_dim=24,
        perceiver_dim_head=8,
        official_decode_quirks=False,
    )
    base.update(kw)
    return GPTConfig(**base)


def _model(**kw) -> UnifiedVoice:
    torch.manual_seed(0)
    model = UnifiedVoice(_cfg(**kw)).eval()
    with torch.no_grad():
        model.speed_emb.weight.normal_(std=0.1)  # official init is zero; make the slots matter here
        model.mel_head.bias[model.config.stop_mel_token] -= 20.0  # random weights: do not stop early
    return model


def _refs(model: UnifiedVoice, b: int = 1):
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(b, 15, F_IN, generator=g)
    with torch.no_grad():
        return model.speaker_latents(feats), model.emotion_vector(feats)


def _batch(b: int = 2) -> GPTBatch:
    g = torch.Generator().manual_seed(2)
    return GPTBatch(
        text_ids=torch.randint(2, 30, (b, 7), generator=g),
        text_lengths=torch.tensor([7, 4])[:b],
        codes=torch.randint(0, 38, (b, 9), generator=g),
        code_lengths=torch.tensor([9, 6])[:b],
        spk_feats=torch.randn(b, 15, F_IN, generator=g),
        spk_lengths=torch.tensor([15, 11])[:b],
    )


def test_forward_returns_losses_and_trains():
    model = _model().train()
    out = model(_batch())
    assert out.loss.isfinite() and out.mel_loss > 0 and out.text_loss > 0
    assert out.mel_logits.shape == (2, 11, 40) and out.emo_vec.shape == (2, 32)
    out.loss.backward()
    for name in ("gpt.h.0.attn.c_attn.weight", "conditioning_encoder.embed.out.0.weight", "emo_layer.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_code_noise_corrupts_only_real_input_codes():
    from voxsmith.models.gpt import _corrupt

    torch.manual_seed(0)
    inputs = torch.full((64, 12), 7)
    inputs[:, 0] = 38  # start
    lengths = torch.randint(1, 11, (64,))
    out = _corrupt(inputs, lengths, 0.5, 6)
    pos = torch.arange(12)[None, :]
    real = (pos >= 1) & (pos <= lengths[:, None])
    changed = out != inputs
    assert not changed[~real].any()  # start, stop and padding untouched
    assert 0.4 < changed[real].float().mean() < 0.6
    assert out[changed].max() < 6 and out[changed].min() >= 0  # random codes of the codebook
    model = _model().eval()
    with torch.no_grad():
        clean, noisy = model(_batch()), model(_batch(), code_noise=0.5)
    torch.testing.assert_close(clean.mel_targets, noisy.mel_targets)  # targets stay the real codes
    assert not torch.allclose(clean.mel_logits, noisy.mel_logits)


def test_self_feed_puts_the_models_own_draws_into_real_input_codes():
    from voxsmith.models.gpt import _self_fed

    torch.manual_seed(0)
    b, n, codebook = 64, 12, 6
    inputs = torch.full((b, n), 7)
    inputs[:, 0] = 6  # start
    lengths = torch.randint(1, n - 1, (b,))
    # the prediction made at t is sharply (t + 1) % codebook; start/stop logits are huge but
    # must never be drawn
    logits = torch.full((b, n, codebook + 2), -30.0)
    for t in range(n):
        logits[:, t, (t + 1) % codebook] = 30.0
    logits[:, :, codebook:] = 60.0
    out = _self_fed(inputs, logits, lengths, 0.5)
    pos = torch.arange(n)[None, :]
    real = (pos >= 1) & (pos <= lengths[:, None])
    changed = out != inputs
    assert not changed[~real].any()  # start, stop and padding untouched
    assert 0.4 < changed[real].float().mean() < 0.6
    # position t holds the draw of the prediction made at t - 1
    assert (out[changed] == (pos.expand(b, n)[changed] % codebook)).all()
    model = _model().eval()
    with torch.no_grad():
        clean, fed = model(_batch()), model(_batch(), self_feed=1.0)
    torch.testing.assert_close(clean.mel_targets, fed.mel_targets)  # targets stay the real codes
    assert not torch.allclose(clean.mel_logits, fed.mel_logits)


def test_padding_content_is_ignored():
    model = _model()
    a = _batch()
    b = _batch()
    b.text_ids[1, 4:] = 3  # beyond text_lengths[1]
    b.codes[1, 6:] = 5  # beyond code_lengths[1]
    with torch.no_grad():
        oa, ob = model(a), model(b)
    torch.testing.assert_close(oa.mel_loss, ob.mel_loss)
    torch.testing.assert_close(oa.text_loss, ob.text_loss)


def test_text_padding_is_invisible_to_codes():
    model = _model()
    spk, emo = _refs(model)
    text = torch.tensor([[5, 6, 7, 8]])
    codes = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        plain = model.latents(spk, emo, text, codes)
        padded = model.latents(
            spk, emo, torch.tensor([[5, 6, 7, 8, 1, 1, 1]]), codes, text_lengths=torch.tensor([4])
        )
    torch.testing.assert_close(plain, padded, atol=1e-5, rtol=1e-5)


def _scores_without_cache(model, spk, emo, text, codes, positions):
    """Logits after each fed code, recomputed from scratch with the given code positions."""
    conds = model.conditioning(spk, emo)
    prompt = model.prompt(conds, text)
    feed = torch.cat([torch.tensor([[model.config.start_mel_token]]), codes], dim=1)
    mel = model.mel_embedding(feed) + model.mel_pos_embedding.emb.weight[positions]
    h = run_stack(model.gpt, torch.cat([prompt.embeds, mel], dim=1))
    return model.mel_head(model.final_norm(h[:, prompt.embeds.size(1) :]))


@pytest.mark.parametrize("quirk", [False, True])
def test_kv_cache_decoding_equals_full_forward(quirk):
    model = _model(official_decode_quirks=quirk)
    spk, emo = _refs(model)
    text = torch.tensor([[4, 9, 11, 12, 3]])
    res = model.generate(
        spk, emo, text, sampling=SamplingConfig.greedy(), max_new_tokens=10, return_scores=True
    )
    codes = res.tokens[:, :-1]  # the last code was never fed
    n = codes.size(1) + 1
    layout = [0, *range(2, n + 1)] if quirk else list(range(n))
    with torch.no_grad():
        full = _scores_without_cache(model, spk, emo, text, codes, layout)
        other = _scores_without_cache(
            model, spk, emo, text, codes, list(range(n)) if quirk else [0, *range(2, n + 1)]
        )
        start = model.config.start_mel_token
        if not quirk:  # voxsmith's own decoder never emits the start code
            assert torch.isneginf(res.scores[..., start]).all()
            full[..., start] = float("-inf")
            other[..., start] = float("-inf")
        torch.testing.assert_close(full, res.scores, atol=1e-5, rtol=1e-5)
        keep = [i for i in range(full.size(-1)) if i != start]
        assert (other - res.scores)[..., keep].abs().max() > 1e-3  # the layout matters
        if not quirk:  # the training layout is the teacher-forced pass itself
            tf = model.teacher_forced(
                model.conditioning(spk, emo), text, torch.tensor([5]), codes, torch.tensor([9])
            )
            tf_scores = model.mel_head(tf.mel_hidden[:, :n])
            tf_scores[..., start] = float("-inf")
            torch.testing.assert_close(tf_scores, res.scores, atol=1e-5, rtol=1e-5)


def test_batched_generation_with_left_padding_matches_single_rows():
    model = _model()
    spk, emo = _refs(model, 2)
    texts = [torch.tensor([[4, 9, 11, 12, 3, 5]]), torch.tensor([[7, 8]])]
    batch = torch.tensor([[4, 9, 11, 12, 3, 5], [7, 8, 1, 1, 1, 1]])  # 1 = stop: padding
    for beams in (1, 3):
        cfg = SamplingConfig.greedy(repetition_penalty=2.0, num_beams=beams)
        both = model.generate(spk, emo, batch, sampling=cfg, max_new_tokens=8)
        for i, text in enumerate(texts):
            alone = model.generate(spk[i : i + 1], emo[i : i + 1], text, sampling=cfg, max_new_tokens=8)
            assert both.tokens[i, : alone.tokens.size(1)].tolist() == alone.tokens[0].tolist()


def test_duration_table_is_the_code_position_table():
    model = _model()
    n = torch.tensor([3, 17])
    assert torch.equal(model.duration_embedding(n), model.mel_pos_embedding.emb.weight[n])
    spk, emo = _refs(model)
    text, codes = torch.tensor([[4, 9, 11]]), torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        free = model.latents(spk, emo, text, codes)
        timed = model.latents(spk, emo, text, codes, duration=torch.tensor([12]))
        assert (free - timed).abs().max() > 1e-3
        # a negative count means free length: the same as no duration at all
        torch.testing.assert_close(
            model.conditioning(spk, emo, torch.tensor([-1])), model.conditioning(spk, emo)
        )
    # the duration slot trains the shared table
    model.train()
    out = model(_batch(), duration_drop=0.0)
    out.loss.backward()
    assert model.mel_pos_embedding.emb.weight.grad[9].abs().sum() > 0


def test_duration_drop_switches_to_the_free_slot():
    model = _model()
    batch = _batch()
    with torch.no_grad():
        kept = model(batch, duration_drop=0.0).mel_loss
        dropped = model(batch, duration_drop=1.0).mel_loss
        spk = model.speaker_latents(batch.spk_feats, batch.spk_lengths)
        emo = model.emotion_vector(batch.spk_feats, batch.spk_lengths)
        conds = model.conditioning(spk, emo)  # free length for every row
        tf = model.teacher_forced(conds, batch.text_ids, batch.text_lengths, batch.codes, batch.code_lengths)
        manual = torch.nn.functional.cross_entropy(
            model.mel_head(tf.mel_hidden).transpose(1, 2), tf.mel_targets
        )
    torch.testing.assert_close(dropped, manual)
    assert abs(float(kept - dropped)) > 1e-5


@pytest.mark.parametrize(
    "sampling",
    [SamplingConfig.greedy(), SamplingConfig(seed=3), SamplingConfig(do_sample=True, num_beams=1, seed=3)],
    ids=["greedy", "beam_sample", "sample"],
)
def test_target_tokens_generate_exactly_n_codes(sampling):
    model = _model()
    with torch.no_grad():
        model.mel_head.bias[model.config.stop_mel_token] += 40.0  # now it would stop at once
    spk, emo = _refs(model)
    text = torch.tensor([[4, 9, 11, 12]])
    for n in (1, 5, 13):
        res = model.generate(spk, emo, text, sampling=sampling, target_tokens=n, max_new_tokens=2)
        assert int(res.lengths[0]) == n
        assert res.tokens[0, n] == model.config.stop_mel_token
        assert model.config.stop_mel_token not in res.codes().tolist()
    with pytest.raises(ConfigError):
        model.generate(spk, emo, text, target_tokens=0)


def test_seeded_generation_is_repeatable():
    model = _model()
    spk, emo = _refs(model)
    text = torch.tensor([[4, 9, 11, 12]])
    cfg = SamplingConfig(temperature=1.5, top_k=0, top_p=1.0, max_new_tokens=12)
    runs = [
        model.generate(spk, emo, text, sampling=cfg, generator=torch.Generator().manual_seed(s))
        for s in (1, 1, 2)
    ]
    assert runs[0].tokens.tolist() == runs[1].tokens.tolist()
    assert runs[0].tokens.tolist() != runs[2].tokens.tolist()


@pytest.mark.parametrize("target, guidance", [(None, 0.0), (6, 0.0), (None, 1.0)])
def test_samples_share_one_prefill_and_draw_as_repeated_inputs(target, guidance):
    """``samples=n`` on one input draws what n copies of the input draw with the same generator
    (one prefill, its cache repeated; guided, both halves of it)."""
    model = _model()
    spk, emo = _refs(model)
    text = torch.tensor([[4, 9, 11, 12]])
    cfg = SamplingConfig(do_sample=True, num_beams=1, temperature=1.5, top_k=0, top_p=1.0, max_new_tokens=12,
                         text_guidance=guidance)  # fmt: skip
    shared = model.generate(spk, emo, text, sampling=cfg, target_tokens=target, samples=5,
                            generator=torch.Generator().manual_seed(7), return_scores=True)  # fmt: skip
    copies = model.generate(
        spk.expand(5, -1, -1), emo.expand(5, -1), text.expand(5, -1), sampling=cfg, target_tokens=target,
        generator=torch.Generator().manual_seed(7), return_scores=True,
    )  # fmt: skip
    assert shared.tokens.shape[0] == 5
    assert shared.tokens.tolist() == copies.tokens.tolist()
    assert len({tuple(shared.codes(i).tolist()) for i in range(5)}) > 1  # the draws differ
    finite = torch.isfinite(copies.scores)
    assert torch.allclose(shared.scores[finite], copies.scores[finite], atol=1e-4)
    with pytest.raises(ConfigError, match="samples"):
        model.generate(spk, emo, text, sampling=cfg, samples=0)


def test_merge_emotion_interpolates():
    model = _model()
    g = torch.Generator().manual_seed(4)
    a, b = torch.randn(1, 15, F_IN, generator=g), torch.randn(1, 12, F_IN, generator=g)
    with torch.no_grad():
        base, emo = model.emotion_vector(a), model.emotion_vector(b)
        torch.testing.assert_close(model.merge_emotion(a, b, alpha=0.0), base)
        torch.testing.assert_close(model.merge_emotion(a, b, alpha=1.0), emo)
        torch.testing.assert_close(model.merge_emotion(a, b, alpha=0.25), base + 0.25 * (emo - base))


def test_full_size_matches_official_keys_and_counts(official_fixtures):
    ref = json.loads((official_fixtures / "full_keys" / "gpt.json").read_text())
    counts = json.loads((official_fixtures / "full_keys" / "param_counts.json").read_text())["num_parameters"]
    with torch.device("meta"):
        model = UnifiedVoice(GPTConfig.indextts2())
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {e["key"]: tuple(e["shape"]) for e in ref["state_dict"]}
    assert ours == theirs
    total = sum(p.numel() for p in model.parameters())
    assert abs(total - counts["gpt"]) <= 0.01 * counts["gpt"]
    stack = sum(p.numel() for p in model.gpt.parameters())
    assert abs(stack - 472e6) <= 0.01 * 472e6


def test_tiny_builder_is_small_and_runs():
    torch.manual_seed(0)
    model = UnifiedVoice(GPTConfig.tiny(number_text_tokens=100, codebook_size=64, feature_size=F_IN)).eval()
    assert sum(p.numel() for p in model.parameters()) < 10e6
    spk, emo = _refs(model)
    res = model.generate(
        spk, emo, torch.tensor([[5, 6, 7]]), sampling=SamplingConfig(seed=0), target_tokens=6
    )
    assert int(res.lengths[0]) == 6


def test_from_official_rejects_what_it_cannot_build():
    good = {
        "model_dim": 32,
        "heads": 2,
        "layers": 1,
        "condition_type": "conformer_perceiver",
        "condition_module": dict(
            output_size=16,
            linear_units=32,
            attention_heads=2,
            num_blocks=1,
            input_layer="conv2d2",
            perceiver_mult=2,
        ),
        "emo_condition_module": dict(
            output_size=8,
            linear_units=16,
            attention_heads=1,
            num_blocks=1,
            input_layer="conv2d2",
            perceiver_mult=2,
        ),
    }
    cfg = GPTConfig.from_official(good)
    assert cfg.max_mel_tokens == 250 and cfg.official_decode_quirks  # official class defaults
    with pytest.raises(ConfigError, match="unknown keys"):
        GPTConfig.from_official({**good, "bogus": 1})
    with pytest.raises(ConfigError, match="condition_type"):
        GPTConfig.from_official({**good, "condition_type": "perceiver"})
    with pytest.raises(ConfigError, match="emo_condition_module"):
        GPTConfig.from_official({k: v for k, v in good.items() if k != "emo_condition_module"})


def test_strict_load_fails_loudly():
    model = _model()
    state = model.state_dict()
    state.pop("mel_head.bias")
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="missing.*mel_head.bias.*unexpected.*extra.weight"):
        strict_load(_model(), state, "tiny gpt")


def test_peft_lora_wraps_the_gpt2_modules():
    peft = pytest.importorskip("peft")
    model = _model()
    spk, emo = _refs(model)
    text, codes = torch.tensor([[4, 9, 11]]), torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        before = model.latents(spk, emo, text, codes)
    cfg = peft.LoraConfig(r=2, lora_alpha=4, target_modules=["c_attn", "c_proj", "c_fc"], fan_in_fan_out=True)
    lora = peft.get_peft_model(model, cfg)
    wrapped = [n for n, _ in lora.named_modules() if n.endswith("c_attn.lora_A")]
    assert len(wrapped) == 2
    with torch.no_grad():
        for n, p in lora.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.5)
        after = lora.base_model.model.latents(spk, emo, text, codes)
    assert (after - before).abs().max() > 1e-3
    res = lora.base_model.model.generate(spk, emo, text, sampling=SamplingConfig.greedy(), target_tokens=4)
    assert int(res.lengths[0]) == 4


def test_config_dict_round_trip():
    cfg = GPTConfig.tiny()
    again = GPTConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    with pytest.raises(ConfigError, match="unknown keys"):
        GPTConfig.from_dict({**cfg.to_dict(), "nope": 1})


def test_checkpoint_round_trip(tmp_path):
    from voxsmith.checkpoints import load_safetensors, save_safetensors

    model = _model()
    path = save_safetensors(
        model.state_dict(), tmp_path / "gpt.safetensors", kind="gpt", config=model.config.to_dict()
    )
    tensors, config, _ = load_safetensors(path, kind="gpt")
    again = UnifiedVoice(GPTConfig.from_dict(config)).eval()
    strict_load(again, tensors, "round trip")
    spk, emo = _refs(model)
    text, codes = torch.tensor([[4, 9, 11]]), torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        torch.testing.assert_close(again.latents(spk, emo, text, codes), model.latents(spk, emo, text, codes))


def test_too_long_inputs_raise_typed_errors():
    from voxsmith.errors import DataError, TextError

    model = _model()
    spk, emo = _refs(model)
    with pytest.raises(TextError, match="text: 23 positions"):
        model.latents(spk, emo, torch.randint(2, 30, (1, 21)), torch.tensor([[1, 2]]))
    with pytest.raises(DataError, match="semantic codes"):
        model.latents(spk, emo, torch.tensor([[4, 5]]), torch.randint(0, 38, (1, 42)))
    with pytest.raises(TextError):
        model.generate(spk, emo, torch.randint(2, 30, (1, 21)), max_new_tokens=2)


def test_text_guidance_scores_follow_the_guidance_formula():
    model = _model()
    spk, emo = _refs(model)
    text = torch.tensor([[4, 9, 11, 12, 3]])
    w = 1.5
    cfg = SamplingConfig(do_sample=False, repetition_penalty=1.0, num_beams=1, text_guidance=w)
    res = model.generate(spk, emo, text, sampling=cfg, max_new_tokens=8, return_scores=True)
    codes = res.tokens[:, :-1]
    positions = list(range(codes.size(1) + 1))
    start = model.config.start_mel_token
    with torch.no_grad():  # the start code is banned before either half is normalised
        with_text = _scores_without_cache(model, spk, emo, text, codes, positions)
        without = _scores_without_cache(model, spk, emo, text[:, :0], codes, positions)
    with_text[..., start] = without[..., start] = float("-inf")
    with_text, without = with_text.log_softmax(-1), without.log_softmax(-1)
    keep = [i for i in range(with_text.size(-1)) if i != start]
    expected = with_text + w * (with_text - without)
    torch.testing.assert_close(res.scores[..., keep], expected[..., keep], atol=1e-4, rtol=1e-4)
    assert torch.isneginf(res.scores[..., start]).all()
    plain = model.generate(
        spk, emo, text, sampling=SamplingConfig.greedy(), max_new_tokens=8, return_scores=True
    )
    assert (plain.scores.log_softmax(-1) - res.scores)[..., keep].abs().max() > 1e-3


def test_guided_beam_search_keeps_rows_apart():
    model = _model()
    spk, emo = _refs(model, 2)
    texts = [torch.tensor([[4, 9, 11, 12, 3, 5]]), torch.tensor([[7, 8]])]
    batch = torch.tensor([[4, 9, 11, 12, 3, 5], [7, 8, 1, 1, 1, 1]])
    lengths = torch.tensor([6, 2])
    for beams in (1, 3):
        cfg = SamplingConfig(do_sample=False, repetition_penalty=2.0, num_beams=beams, text_guidance=2.0)
        both = model.generate(spk, emo, batch, lengths, sampling=cfg, max_new_tokens=8)
        for i, text in enumerate(texts):
            alone = model.generate(spk[i : i + 1], emo[i : i + 1], text, sampling=cfg, max_new_tokens=8)
            assert both.tokens[i, : alone.tokens.size(1)].tolist() == alone.tokens[0].tolist()


def test_text_drop_empties_the_text_of_dropped_rows():
    model = _model().eval()
    batch = _batch()
    empty = _batch()
    empty.text_lengths = torch.zeros_like(empty.text_lengths)
    with torch.no_grad():
        dropped, blank, kept = model(batch, text_drop=0.999999), model(empty), model(batch, text_drop=0.0)
    torch.testing.assert_close(dropped.mel_logits, blank.mel_logits)
    assert not torch.allclose(kept.mel_logits, blank.mel_logits)
    with pytest.raises(ConfigError, match="text_guidance"):
        SamplingConfig(text_guidance=-1.0)
