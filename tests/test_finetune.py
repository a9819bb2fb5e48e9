"""Few-shot fine-tuning on a small random model and a tiny fake corpus: methods, resume, adapters at
inference (load / switch / merge), the stored voice, the glossary, and clear errors."""

from __future__ import annotations

import json
import os
import shutil
import signal

import numpy as np
import pytest
import torch

from tests.helpers import make_fake_corpus, make_random_model, make_tone
from voxsmith.audio import Audio
from voxsmith.cli.main import main
from voxsmith.embeddings import SpeakerEmbedding
from voxsmith.errors import CheckpointError, ConfigError, DataError
from voxsmith.finetune.config import GPT_TARGETS, S2M_TARGETS, FinetuneConfig
from voxsmith.finetune.data import FinetuneData
from voxsmith.finetune.speaker import medoid_index
from voxsmith.finetune.train import finetune
from voxsmith.finetune.tuning import Tuning
from voxsmith.pipeline import IndexTTSModel
from voxsmith.text.frontend import TextFrontend
from voxsmith.text.glossary import Glossary

GLOSSARY = "银行\tyin2 xing2\n"  # a deliberately unusual reading, so applying it is visible
FAST = {"s2m_batch": 2, "s2m_crop_codes": 16, "gpt_batch_codes": 200, "threads": 1}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("ft")
    model_dir = make_random_model(root / "model")
    data = root / "data"
    make_fake_corpus(data, n_speakers=1, clips_per_speaker=6)
    rows = [json.loads(x) for x in (data / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    for r in rows[:2]:  # two clips whose text holds the glossary term
        r["text"] = r["normalized"] = "银行来了"
    (data / "manifest.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8"
    )
    (root / "glossary.tsv").write_text(GLOSSARY, encoding="utf-8")
    return {"root": root, "model": model_dir, "data": data, "glossary": root / "glossary.tsv", "runs": {}}


def _model(env) -> IndexTTSModel:
    return IndexTTSModel.from_pretrained(env["model"])


def _cfg(method: str, **kw) -> FinetuneConfig:
    # both stages' layers (the tiny default adapts S2M only): the tests cover the GPT path too
    return FinetuneConfig.tiny(method, **{**FAST, "targets": GPT_TARGETS + S2M_TARGETS, **kw})


def trained(env, method: str):
    """One short run per method (shared by the tests that need an adapter)."""
    if method not in env["runs"]:
        out = env["root"] / f"adapter_{method}"
        glossary = env["glossary"] if method == "lora" else None
        every = 4 if method == "full" else 2  # full: one validation (each writes the whole GPT + S2M)
        res = finetune(env["data"], out, model=_model(env), cfg=_cfg(method, steps=4, val_every=every),
                       glossary=glossary, progress=False)  # fmt: skip
        env["runs"][method] = (out, res)
    return env["runs"][method]


def _voice() -> Audio:
    x = make_tone(3.0, freq=170.0) + 0.02 * np.random.default_rng(3).standard_normal(3 * 22050)
    return Audio(x.astype(np.float32), 22050)


def _mel(model: IndexTTSModel, spk: SpeakerEmbedding) -> torch.Tensor:
    return model.tts("你好世界", spk, target_tokens=8, seed=0)


# ----- training --------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["lora", "ia3", "partial", "full"])
def test_each_method_lowers_validation_loss(env, method):
    out, res = trained(env, method)
    assert res.finished and res.steps == 4
    assert res.best_val < res.base_val  # fixed validation batches and noise: a real improvement
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    assert (out / "speaker.safetensors").is_file() and (out / "train" / "losses.png").is_file()
    spec = json.loads((out / "adapter_config.json").read_text(encoding="utf-8"))
    assert spec["method"] == method and spec["base_model_id"] == _model(env).model_id
    assert set(spec["stages"]) == {"gpt", "s2m"}


def test_lora_share_is_under_one_percent(env):
    _, res = trained(env, "lora")
    assert 0 < res.share["of_gpt_s2m"] < 0.01
    # and at the built-in model's size (GPT 256-d x 4, S2M 6 x 128)
    from voxsmith.models.gpt import GPTConfig, UnifiedVoice
    from voxsmith.models.s2m import S2M, S2MConfig
    from voxsmith.text.tokenizer import PhoneTokenizer

    class Parts:  # only what Tuning touches (fresh modules each: Tuning wraps them in place)
        def __init__(self):
            self.gpt = UnifiedVoice(
                GPTConfig.tiny(number_text_tokens=PhoneTokenizer().vocab_size, codebook_size=512)
            )
            self.s2m = S2M(S2MConfig.tiny(content_dim=128, gpt_dim=None))

        def modules(self):
            return {"gpt": self.gpt, "s2m": self.s2m}

    share = Tuning(Parts(), FinetuneConfig.tiny("lora")).share()
    assert 0.001 < share["of_gpt_s2m"] < 0.01
    both = Tuning(Parts(), FinetuneConfig.tiny("lora", targets=GPT_TARGETS + S2M_TARGETS)).share()
    assert share["of_gpt_s2m"] < both["of_gpt_s2m"] < 0.01


def test_tiny_default_adapts_s2m_only_and_the_official_size_both():
    assert FinetuneConfig.tiny("lora").targets == S2M_TARGETS
    assert FinetuneConfig.for_model(256, "ia3").targets == S2M_TARGETS
    assert FinetuneConfig.for_model(1280, "lora").targets == GPT_TARGETS + S2M_TARGETS
    assert FinetuneConfig.tiny("lora", targets=("c_attn",)).targets == ("c_attn",)


def test_resume_after_interruption_continues_the_step_count(env):
    cfg = _cfg("lora", steps=4, val_every=2, targets=("c_attn", "c_fc"))  # GPT only: fast

    def interrupt(step: int) -> None:
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: finish the step, checkpoint, stop

    out = env["root"] / "resume"
    first = finetune(env["data"], out, model=_model(env), cfg=cfg, on_step=interrupt, progress=False)
    assert not first.finished and first.steps == 3
    assert not (out / "adapter_config.json").exists()
    with pytest.raises(CheckpointError, match="--resume"):
        _model(env).load_adapter(out)
    with pytest.raises(ConfigError, match="--resume"):
        finetune(env["data"], out, model=_model(env), cfg=cfg, progress=False)
    second = finetune(env["data"], out, model=_model(env), cfg=cfg, resume=True, progress=False)
    assert second.finished and second.steps == 4
    steps = [r["step"] for r in map(json.loads, (out / "train" / "losses.jsonl").read_text().splitlines())]
    assert [s for s in steps if s > 0] == sorted(s for s in steps if s > 0) and max(steps) == 4
    # the same weights as a run that was never interrupted
    straight = env["root"] / "straight"
    finetune(env["data"], straight, model=_model(env), cfg=cfg, progress=False)
    a = torch.load(out / "train" / "state.pt", weights_only=False)["modules"]["adapter"]
    b = torch.load(straight / "train" / "state.pt", weights_only=False)["modules"]["adapter"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="rank"):
        finetune(
            env["data"], out, model=_model(env), cfg=cfg.replace(rank=4, steps=6), resume=True, progress=False
        )


# ----- adapters at inference -------------------------------------------------------------------
def test_adapters_switch_without_reloading(env):
    lora, _ = trained(env, "lora")
    partial, _ = trained(env, "partial")
    model = _model(env)
    spk = model.speaker_encoder(_voice())
    base = _mel(model, spk)
    assert model.load_adapter(lora, name="a") == "a" and model.active_adapter is None
    assert torch.equal(_mel(model, spk), base)  # loading alone changes nothing
    model.set_adapter("a")
    with_a = _mel(model, spk)
    assert (with_a - base).abs().max() > 1e-3
    model.load_adapter(partial, name="b")
    model.set_adapter("b")
    with_b = _mel(model, spk)
    assert (with_b - with_a).abs().max() > 1e-3
    model.set_adapter("a")
    assert torch.equal(_mel(model, spk), with_a)
    model.set_adapter(None)
    assert torch.equal(_mel(model, spk), base) and model.info()["adapter"] is None
    with pytest.raises(ConfigError, match="unknown adapter"):
        model.set_adapter("c")


def test_merged_weights_equal_the_unmerged_peft_layers(env):
    lora, _ = trained(env, "lora")
    from voxsmith.checkpoints import load_safetensors

    model = _model(env)
    g = torch.Generator().manual_seed(0)
    spk, emo = torch.randn(1, 32, 64, generator=g), torch.randn(1, 64, generator=g)
    text, codes = torch.randint(0, 50, (1, 7), generator=g), torch.randint(0, 64, (1, 9), generator=g)
    x, prompt = torch.randn(1, 80, 40, generator=g), torch.zeros(1, 80, 40)
    style, cond, t = (
        torch.randn(1, 192, generator=g),
        torch.randn(1, 40, 128, generator=g),
        torch.tensor([0.3]),
    )
    est = model.parts.s2m.cfm.estimator

    def outputs():
        with torch.no_grad():
            return model.parts.gpt.latents(spk, emo, text, codes), est(
                x, prompt, torch.tensor([40]), t, style, cond
            )

    tuning = Tuning(model.parts, _cfg("lora"))  # the training-time (unmerged) layers
    tuning.load_state_dict(load_safetensors(lora / "adapter_model.safetensors")[0])
    unmerged = outputs()
    tuning.detach()
    model.set_adapter(model.load_adapter(lora))
    merged = outputs()
    for u, m in zip(unmerged, merged, strict=True):
        assert torch.allclose(u, m, atol=1e-5)


def test_merge_writes_a_model_equal_to_base_plus_adapter(env, capsys):
    lora, _ = trained(env, "lora")
    out = env["root"] / "merged"
    assert main(["merge", str(lora), "--out", str(out), "--model", str(env["model"])]) == 0
    tuned = IndexTTSModel.from_pretrained(env["model"], adapter=lora)
    merged = IndexTTSModel.from_pretrained(out)
    voice = _voice()
    a = _mel(tuned, tuned.speaker_encoder(voice))
    b = _mel(merged, merged.speaker_encoder(voice))
    assert (a - b).abs().max() < 1e-4
    # the merged model carries the stored voice and the glossary
    assert torch.equal(merged.default_speaker.spk_latents, tuned.default_speaker.spk_latents)
    assert [s.pinyin for s in merged.frontend.process("银行").syllables] == ["yin2", "xing2"]
    assert (
        merged.synthesize("你好", target_tokens=5).audio.samples
        == tuned.synthesize("你好", target_tokens=5).audio.samples
    ).all()


def test_stored_voice_speaks_without_a_reference(env, capsys, tmp_path):
    lora, _ = trained(env, "lora")
    model = IndexTTSModel.from_pretrained(env["model"], adapter=lora)
    stored = SpeakerEmbedding.load(lora / "speaker.safetensors")
    assert stored.meta["source"] == "finetune medoid"
    rows = [json.loads(x) for x in (env["data"] / "manifest.jsonl").read_text("utf-8").splitlines()]
    assert stored.meta["clip"] in {r["id"] for r in rows if r["split"] == "train"}
    auto = model.synthesize("你好", target_tokens=6, seed=1)
    given = model.synthesize("你好", speaker_embedding=stored, target_tokens=6, seed=1)
    assert np.array_equal(auto.audio.samples, given.audio.samples)
    model.set_adapter(None)
    with pytest.raises(ConfigError, match="reference"):
        model.synthesize("你好", target_tokens=6)
    out = tmp_path / "a.wav"
    code = main(
        [
            "speak",
            "你好",
            "--adapter",
            str(lora),
            "--model",
            str(env["model"]),
            "--target-tokens",
            "6",
            "-o",
            str(out),
        ]
    )
    assert code == 0 and out.is_file()
    code = main(["speak", "你好", "--model", str(env["model"]), "-o", str(tmp_path / "b.wav")])
    assert code == 2 and "--ref" in capsys.readouterr().err


def test_medoid_is_the_most_central_clip():
    pts = torch.tensor([0.0, 1.0, 2.0, 3.0, 10.0]).reshape(5, 1, 1)
    assert medoid_index(pts) == 2


def test_glossary_pinyin_is_trained_and_applied(env):
    lora, res = trained(env, "lora")
    assert res.data["glossary_clips"] == 2 and (lora / "glossary.tsv").is_file()
    model = _model(env)
    plain = model.frontend.process("银行来了")
    # the training text ids carry the glossary's reading
    data = FinetuneData(env["data"], model, _cfg("lora"), Glossary.load(env["glossary"]))
    forced = [c for c in data.train + data.valid if c.glossary_forced]
    glossed = TextFrontend(glossary=Glossary.load(env["glossary"])).process("银行来了")
    assert len(forced) == 2 and all(c.text == glossed.tokens for c in forced)
    assert glossed.tokens != plain.tokens
    # and the adapter applies it at inference, without inline pinyin
    model.set_adapter(model.load_adapter(lora))
    assert [s.pinyin for s in model.frontend.process("银行来了").syllables][:2] == ["yin2", "xing2"]
    model.set_adapter(None)
    assert [s.pinyin for s in model.frontend.process("银行来了").syllables][:2] == ["yin2", "hang2"]


# ----- errors -----------------------------------------------------------------------------------
def test_bad_inputs_are_clear_errors(env, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="manifest"):
        finetune(empty, tmp_path / "o1", model=_model(env), cfg=_cfg("lora"), progress=False)
    (empty / "manifest.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="no clips"):
        finetune(empty, tmp_path / "o2", model=_model(env), cfg=_cfg("lora"), progress=False)
    with pytest.raises(ConfigError, match="unknown fine-tuning method"):
        FinetuneConfig(method="dora")
    code = main(["finetune", str(env["data"]), "--out", str(tmp_path / "o3"), "--model", str(env["model"]),
                 "--targets", "c_attn,nonesuch", "--steps", "1"])  # fmt: skip
    assert code == 2 and "nonesuch" in capsys.readouterr().err
    lora, _ = trained(env, "lora")
    with pytest.raises(ConfigError, match="already holds"):
        finetune(env["data"], lora, model=_model(env), cfg=_cfg("lora"), progress=False)
    model = _model(env)
    with pytest.raises(CheckpointError, match="not found"):
        model.load_adapter(tmp_path / "nowhere")
    for missing in ("adapter_model.safetensors", "adapter_config.json", "speaker.safetensors"):
        broken = tmp_path / f"no_{missing}"
        shutil.copytree(lora, broken, ignore=shutil.ignore_patterns("train"))
        (broken / missing).unlink()
        with pytest.raises(CheckpointError, match=missing):
            model.load_adapter(broken)
    foreign = tmp_path / "foreign"  # an adapter made on another base model
    shutil.copytree(lora, foreign, ignore=shutil.ignore_patterns("train"))
    spec = json.loads((foreign / "adapter_config.json").read_text(encoding="utf-8"))
    (foreign / "adapter_config.json").write_text(json.dumps({**spec, "base_model_id": "other-123"}), "utf-8")
    with pytest.raises(CheckpointError, match="trained on model"):
        model.load_adapter(foreign)


def test_cli_finetune_prints_the_share_and_writes_an_adapter(env, capsys, tmp_path):
    out = tmp_path / "cli_adapter"
    argv = ["finetune", str(env["data"]), "--method", "ia3", "--out", str(out), "--model", str(env["model"]),
            "--targets", "c_attn", "--steps", "2", "--threads", "1", "--no-progress", "--json"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    assert res["finished"] and res["steps"] == 2 and res["method"] == "ia3"
    assert "trainable parameters" in captured.err and "% of GPT + S2M" in captured.err
    spec = json.loads((out / "adapter_config.json").read_text(encoding="utf-8"))
    assert set(spec["stages"]) == {"gpt"} and spec["stages"]["gpt"]["targets"] == [
        "h.0.attn.c_attn",
        "h.1.attn.c_attn",
    ]


def test_a_contour_reading_model_fine_tunes_on_the_contour_its_head_predicts(env, tmp_path):
    model = IndexTTSModel.from_pretrained(
        make_random_model(tmp_path / "m", gpt_latents=True, prosody=True, contour=True)
    )
    head, seen = model.parts.contour, []

    def spy(latent: torch.Tensor) -> torch.Tensor:
        seen.append(tuple(latent.shape))
        return head(latent)

    model.parts.contour = type("Spy", (), {"__call__": staticmethod(spy)})()
    res = finetune(
        env["data"], tmp_path / "ad", model=model, cfg=_cfg("lora", steps=2, val_every=2), progress=False
    )
    model.parts.contour = head
    assert (
        res.finished and seen and all(len(s) == 3 and s[-1] == model.parts.gpt.config.model_dim for s in seen)
    )
    model.load_adapter(tmp_path / "ad", name="v")
    assert model.tts("你好世界", model.speaker_encoder(_voice()), target_tokens=8, seed=0).shape[-1] == 32
