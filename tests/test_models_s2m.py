"""S2M stage at tiny random sizes: shapes, masks, guidance, sampler, training loss, official layout."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.s2m import (
    S2M,
    DiTConfig,
    LengthRegulatorConfig,
    S2MConfig,
    WaveNetConfig,
    official_state_dict,
)
from voxsmith.models.s2m.cfm import sway_schedule
from voxsmith.models.s2m.config import swiglu_width


def small_cfg(**kw) -> S2MConfig:
    """A few-thousand-parameter S2M: content 24-d, GPT 20-d, DiT 3×16, WaveNet 2×16, style 12."""
    cfg = S2MConfig(
        length_regulator=LengthRegulatorConfig(in_channels=24, channels=16, blocks=2, codebook_size=8),
        dit=DiTConfig(
            in_channels=10,
            hidden_dim=16,
            num_heads=2,
            depth=3,
            content_dim=16,
            content_codebook_size=8,
            style_dim=12,
            intermediate_size=32,
            max_positions=512,
        ),
        wavenet=WaveNetConfig(hidden_dim=16, num_layers=2, kernel_size=5, p_dropout=0.0),
        gpt_layer_dims=(20, 12, 24),
        frames_per_code=1.72,
        default_steps=3,
    )
    return dataclasses.replace(cfg, **kw)


def batch(cfg: S2MConfig, b: int = 2, n: int = 9, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = int(n * cfg.frames_per_code)
    return {
        "codes_emb": torch.randn(b, n, cfg.content_dim, generator=g),
        "gpt_latent": torch.randn(b, n, cfg.gpt_dim, generator=g),
        "mel": torch.randn(b, cfg.n_mels, t, generator=g),
        "style": torch.randn(b, cfg.dit.style_dim, generator=g),
        "ref_emb": torch.randn(b, 6, cfg.content_dim, generator=g),
        "ref_mel": torch.randn(b, cfg.n_mels, 10, generator=g),
    }


def test_builders_and_dict_round_trip():
    tiny = S2MConfig.tiny()
    assert tiny.dit.intermediate_size == swiglu_width(tiny.dit.hidden_dim)
    assert S2MConfig.from_dict(json.loads(json.dumps(tiny.to_dict()))) == tiny
    assert S2MConfig.indextts2().dit.intermediate_size == swiglu_width(512) == 1536
    n_tiny = sum(p.numel() for p in S2M(tiny).parameters())
    assert 1e6 < n_tiny < 8e6  # fits the built-in model's size budget
    assert S2MConfig.tiny(gpt_dim=None).gpt_layer_dims == ()


def test_config_rejects_inconsistent_sizes():
    with pytest.raises(ConfigError, match="wavenet.hidden_dim"):
        S2MConfig(wavenet=WaveNetConfig(hidden_dim=256))
    with pytest.raises(ConfigError, match="gpt_layer output"):
        S2MConfig(gpt_layer_dims=(1280, 512))
    with pytest.raises(ConfigError, match="unknown keys"):
        S2MConfig.from_dict({"bogus": 1})
    official = {
        "length_regulator": {"channels": 8, "in_channels": 1024, "sampling_ratios": [1]},
        "DiT": {"hidden_dim": 8, "num_heads": 2, "depth": 1, "content_dim": 8, "f0_condition": True},
        "wavenet": {"hidden_dim": 8, "num_layers": 1, "kernel_size": 3},
        "style_encoder": {"dim": 4},
    }
    with pytest.raises(ConfigError, match="f0_condition"):
        S2MConfig.from_official(official)
    official["DiT"]["f0_condition"] = False
    assert S2MConfig.from_official(official).dit.depth == 1


def test_indextts2_on_meta_matches_official_keys_and_count(official_fixtures):
    full = json.loads((official_fixtures / "full_keys" / "s2mel.json").read_text())
    with torch.device("meta"):
        model = S2M(S2MConfig.indextts2())
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    theirs = {e["key"]: e["shape"] for e in full["state_dict"]}
    assert ours == theirs
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - full["num_parameters"]) <= 0.01 * full["num_parameters"]
    assert n == 103_668_688


def test_length_regulator_shapes_and_mask():
    cfg = small_cfg()
    lr = S2M(cfg).length_regulator.eval()
    x = torch.randn(2, 7, cfg.content_dim)
    out, lens = lr(x, torch.tensor([12, 9]))
    assert out.shape == (2, 12, cfg.dit.content_dim) and lens.tolist() == [12, 9]
    assert out[1, 9:].abs().max() == 0 and out[1, :9].abs().max() > 0
    with pytest.raises(ConfigError, match="expected features"):
        lr(torch.randn(2, 7, cfg.content_dim + 1), torch.tensor([12, 9]))


def test_target_lengths_truncate_like_official():
    model = S2M(small_cfg())
    assert model.target_lengths(torch.tensor([15, 250])).tolist() == [25, 430]


def test_dit_shapes_masks_and_padding_isolation():
    cfg = small_cfg()
    est = S2M(cfg).cfm.estimator.eval()
    b, t, m = 2, 40, cfg.n_mels
    x, prompt = torch.randn(b, m, t), torch.randn(b, m, t)
    cond, style, tt = torch.randn(b, t, cfg.dit.content_dim), torch.randn(b, cfg.dit.style_dim), torch.rand(b)
    with torch.no_grad():
        v = est(x, prompt, torch.tensor([t, 25]), tt, style, cond)
        assert v.shape == (b, m, t)
        # a one-element length broadcasts over the batch like the official CFG call
        assert torch.allclose(
            est(x, prompt, torch.tensor([t]), tt, style, cond),
            est(x, prompt, torch.tensor([t, t]), tt, style, cond),
            atol=1e-6,
        )
        # frames past item 1's length cannot reach its valid frames (except through the WaveNet's
        # right-hand context at the boundary, as in the official model)
        x2, c2 = x.clone(), cond.clone()
        x2[1, :, 25:] = torch.randn(m, t - 25)
        c2[1, 25:] = torch.randn(t - 25, cfg.dit.content_dim)
        v2 = est(x2, prompt, torch.tensor([t, 25]), tt, style, c2)
    reach = sum(layer.pad_right for layer in est.wavenet.in_layers)
    assert torch.allclose(v[1, :, : 25 - reach], v2[1, :, : 25 - reach], atol=1e-5)
    assert not torch.allclose(v[1, :, 25:], v2[1, :, 25:])
    assert torch.equal(v[0], v2[0])


def test_cfg_formula_and_prompt_zeroing():
    cfg = small_cfg()
    cfm = S2M(cfg).cfm.eval()
    est = cfm.estimator
    t_all, p, r = 30, 8, 0.7
    noise = torch.randn(1, cfg.n_mels, t_all)
    prompt = torch.randn(1, cfg.n_mels, p)
    mu, style = torch.randn(1, t_all, cfg.dit.content_dim), torch.randn(1, cfg.dit.style_dim)
    lens = torch.tensor([t_all])
    out = cfm.solve(noise, lens, prompt, mu, style, 2, r)
    # by hand: two separate (unbatched) estimator calls per step, v = (1 + r)·v_cond − r·v_uncond
    x = noise.clone()
    x[..., :p] = 0
    px = torch.zeros_like(x)
    px[..., :p] = prompt
    with torch.no_grad():
        for t0, dt in ((0.0, 0.5), (0.5, 0.5)):
            tt = torch.tensor([t0])
            v_c = est(x, px, lens, tt, style, mu)
            v_u = est(x, torch.zeros_like(px), lens, tt, torch.zeros_like(style), torch.zeros_like(mu))
            x = x + dt * ((1 + r) * v_c - r * v_u)
            x[..., :p] = 0
    assert torch.allclose(out, x, atol=1e-5)
    assert out[..., :p].abs().max() == 0 and out[..., p:].abs().max() > 0
    unguided = cfm.solve(noise, lens, prompt, mu, style, 2, 0.0)
    assert not torch.allclose(unguided, out)


def test_infer_shapes_determinism_and_cached_prompt():
    cfg = small_cfg()
    model = S2M(cfg).eval()
    d = batch(cfg, b=1)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    mel = model.infer(
        d["codes_emb"],
        d["ref_mel"],
        d["style"],
        ref_emb=d["ref_emb"],
        gpt_latent=d["gpt_latent"],
        generator=g(),
    )
    assert mel.shape == (1, cfg.n_mels, int(9 * 1.72))
    prompt_cond = model.prompt_condition(d["ref_emb"], d["ref_mel"].shape[-1])
    again = model.infer(
        d["codes_emb"],
        d["ref_mel"],
        d["style"],
        prompt_cond=prompt_cond,
        gpt_latent=d["gpt_latent"],
        generator=g(),
    )
    assert torch.equal(mel, again)
    no_latent = model.infer(d["codes_emb"], d["ref_mel"], d["style"], ref_emb=d["ref_emb"], generator=g())
    assert not torch.allclose(mel, no_latent)
    with pytest.raises(ConfigError, match="ref_emb"):
        model.infer(d["codes_emb"], d["ref_mel"], d["style"])


def test_infer_stretch_spreads_the_codes_over_more_or_fewer_frames():
    cfg = small_cfg()
    model = S2M(cfg).eval()
    d = batch(cfg, b=1)
    args = (d["codes_emb"], d["ref_mel"], d["style"])
    kw = {"ref_emb": d["ref_emb"], "gpt_latent": d["gpt_latent"]}
    plain = model.infer(*args, **kw, generator=torch.Generator().manual_seed(3))
    same = model.infer(*args, **kw, stretch=1.0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(plain, same)
    for stretch in (0.8, 1.25):
        mel = model.infer(*args, **kw, stretch=stretch, generator=torch.Generator().manual_seed(3))
        assert mel.shape[-1] == round(int(9 * 1.72) * stretch)
    for bad in (0.4, 2.5):
        with pytest.raises(ConfigError, match="stretch"):
            model.infer(*args, **kw, stretch=bad)


def test_sway_schedule_runs_zero_to_one_and_crowds_the_noise_end():
    assert torch.equal(sway_schedule(8, 0.0), torch.linspace(0, 1, 9))
    t = sway_schedule(8, -1.0)
    assert t[0] == 0 and torch.isclose(t[-1], torch.tensor(1.0))
    steps = t.diff()
    assert bool((steps > 0).all())
    assert steps[0] < 1 / 8 < steps[-1]  # small steps near the noise end, large near the data
    with pytest.raises(ConfigError, match="sway"):
        sway_schedule(8, 0.5)


def test_weight_norm_cache_follows_weight_updates():
    cfg = small_cfg()
    est = S2M(cfg).cfm.estimator.eval()
    args = (torch.randn(1, cfg.n_mels, 20), torch.randn(1, cfg.n_mels, 20), torch.tensor([20]), torch.rand(1))
    rest = (torch.randn(1, cfg.dit.style_dim), torch.randn(1, 20, cfg.dit.content_dim))
    with torch.no_grad():
        before = est(*args, *rest)
        est.wavenet.in_layers[0].conv.conv.weight_g.mul_(3.0)
        after = est(*args, *rest)
    assert not torch.allclose(before, after)


def test_training_loss_decreases_on_a_toy_batch():
    torch.manual_seed(0)
    cfg = small_cfg(dit=dataclasses.replace(small_cfg().dit, class_dropout_prob=0.0))
    model = S2M(cfg).train()
    d = batch(cfg, b=2, n=12)
    lens = torch.tensor([d["mel"].shape[-1], d["mel"].shape[-1] - 3])
    prompts = torch.tensor([5, 4])
    kw = {"gpt_latent": d["gpt_latent"], "prompt_lens": prompts}

    def eval_loss() -> float:  # the same 8 draws of (t, noise) before and after training
        with torch.no_grad():
            return (
                sum(
                    float(
                        model.loss(
                            d["codes_emb"],
                            d["mel"],
                            lens,
                            d["style"],
                            generator=torch.Generator().manual_seed(s),
                            **kw,
                        )
                    )
                    for s in range(8)
                )
                / 8
            )

    start = eval_loss()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model.loss(d["codes_emb"], d["mel"], lens, d["style"], **kw)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert eval_loss() < 0.8 * start
    with pytest.raises(ConfigError, match="prompt_lens"):
        model.loss(d["codes_emb"], d["mel"], lens, d["style"], prompt_lens=lens)


def test_checkpoint_round_trip_and_loud_loading(tmp_path):
    cfg = small_cfg()
    model = S2M(cfg).eval()
    path = save_safetensors(
        model.state_dict(), tmp_path / "s2m.safetensors", kind="s2m", config=cfg.to_dict()
    )
    tensors, config, _ = load_safetensors(path, kind="s2m")
    other = S2M(S2MConfig.from_dict(config)).eval()
    strict_load(other, tensors, "s2m")
    d = batch(cfg, b=1)
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    kw = {"ref_emb": d["ref_emb"], "gpt_latent": d["gpt_latent"], "n_steps": 2}
    assert torch.equal(
        model.infer(d["codes_emb"], d["ref_mel"], d["style"], generator=g(), **kw),
        other.infer(d["codes_emb"], d["ref_mel"], d["style"], generator=g(), **kw),
    )
    tensors.pop("models.cfm.estimator.input_pos")
    with pytest.raises(CheckpointError, match="missing"):
        strict_load(other, tensors, "s2m")


def test_official_net_layout_flattens_to_our_keys():
    model = S2M(small_cfg())
    sd = model.state_dict()
    net: dict[str, dict[str, torch.Tensor]] = {"cfm": {}, "length_regulator": {}, "gpt_layer": {}}
    for key, value in sd.items():
        _, sub, rest = key.split(".", 2)
        net[sub][rest] = value
    flat = official_state_dict(net)
    assert set(flat) == set(sd)
    strict_load(S2M(small_cfg()), flat, "s2mel.pth")
    with pytest.raises(CheckpointError):
        official_state_dict({"other": {}})


def test_class_dropout_trains_the_unconditional_branch():
    cfg = small_cfg(dit=dataclasses.replace(small_cfg().dit, class_dropout_prob=1.0))
    model = S2M(cfg).train()
    d = batch(cfg, b=2, n=12)
    lens = torch.full((2,), d["mel"].shape[-1])
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    with torch.no_grad():
        a = model.loss(d["codes_emb"], d["mel"], lens, d["style"], gpt_latent=d["gpt_latent"], generator=g())
        b = model.loss(
            d["codes_emb"], d["mel"], lens, -d["style"], gpt_latent=-d["gpt_latent"], generator=g()
        )
    assert torch.equal(a, b)  # every item dropped: style and content cannot matter
    with pytest.raises(ConfigError, match="mel_lens"):
        model.loss(d["codes_emb"], d["mel"], lens + 1, d["style"])


def test_lora_adapters_on_the_dit_are_honoured_by_the_fast_sampler():
    peft = pytest.importorskip("peft")
    cfg = small_cfg()
    model = S2M(cfg).eval()
    d = batch(cfg, b=1)
    g = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    kw = {"ref_emb": d["ref_emb"], "gpt_latent": d["gpt_latent"], "n_steps": 2}
    base = model.infer(d["codes_emb"], d["ref_mel"], d["style"], generator=g(), **kw)
    targets = ["wqkv", "wo", "w1", "w2", "w3", "cond_x_merge_linear", "skip_linear"]
    lora = peft.LoraConfig(r=2, lora_alpha=4, target_modules=targets, init_lora_weights=False)
    est = peft.inject_adapter_in_model(lora, model.cfm.estimator)
    adapted = model.infer(d["codes_emb"], d["ref_mel"], d["style"], generator=g(), **kw)
    assert not torch.allclose(adapted, base, atol=1e-4)
    # merge every adapter and put the plain nn.Linear back: the sampler then takes its split fast path
    wrapped = [(n, m) for n, m in est.named_modules() if isinstance(m, peft.tuners.lora.LoraLayer)]
    assert len(wrapped) == 5 * cfg.dit.depth + 2
    with torch.no_grad():
        for name, module in wrapped:
            module.merge()
            parent = est.get_submodule(name.rsplit(".", 1)[0]) if "." in name else est
            setattr(parent, name.rsplit(".", 1)[-1], module.get_base_layer())
    merged = model.infer(d["codes_emb"], d["ref_mel"], d["style"], generator=g(), **kw)
    assert torch.allclose(adapted, merged, atol=1e-5)


def test_loss_without_prompt_latents_gives_the_prompt_codes_bare_embeddings(monkeypatch):
    torch.manual_seed(0)
    cfg = small_cfg()
    model = S2M(cfg).eval()
    d = batch(cfg, b=2, n=12)
    lens = torch.full((2,), d["mel"].shape[-1])
    prompts = torch.tensor([int(5 * cfg.frames_per_code), int(3 * cfg.frames_per_code)])
    emb, lat = d["codes_emb"], d["gpt_latent"]
    with torch.no_grad():
        mask = torch.arange(12)[None] >= torch.tensor([[4], [2]])
        plain, masked = model.content(emb, lat), model.content(emb, lat, mask)
    assert torch.equal(masked[0, :4], emb[0, :4]) and torch.equal(masked[1, :2], emb[1, :2])
    assert torch.equal(masked[0, 4:], plain[0, 4:]) and not torch.equal(plain[0, :4], emb[0, :4])
    seen = []
    content = model.content
    monkeypatch.setattr(model, "content", lambda *a: seen.append(a[2]) or content(*a))

    def loss(prompt_latent):
        with torch.no_grad():
            return float(model.loss(emb, d["mel"], lens, d["style"], gpt_latent=lat, prompt_lens=prompts,
                                    generator=torch.Generator().manual_seed(0), prompt_latent=prompt_latent))  # fmt: skip

    assert loss(False) != loss(True)
    assert torch.equal(seen[0], torch.arange(12)[None] >= torch.tensor([[4], [2]])) and seen[1] is None
