"""End to end on a miniature official IndexTTS-2 directory assembled from the parity fixtures.

The directory has the official layout (config.yaml, bpe.model, gpt.pth, s2mel.pth,
wav2vec2bert_stats.pt, feat1.pt, feat2.pt + w2v-bert-2.0/, semantic_codec/, campplus/, bigvgan/):
the module weights are the fixtures' (official key names), w2v-BERT is a tiny random
transformers model saved with ``save_pretrained``, the SentencePiece model is trained here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import make_tone
from voxsmith.audio import Audio
from voxsmith.cli.main import main
from voxsmith.errors import CheckpointError
from voxsmith.models.official import OfficialParts
from voxsmith.pipeline import IndexTTSModel

COUNTS = [1, 2, 1, 1, 1, 1, 1, 2]  # emo_num of the miniature emotion matrix
TEXT = "HELLO WORLD, THIS IS A SMALL TEST."


def _spec(fixtures: Path, module: str) -> dict:
    return json.loads((fixtures / module / "spec.json").read_text())


def _bpe(root: Path) -> None:
    import sentencepiece as spm

    lines = ["HELLO WORLD , THIS IS A SMALL TEST .", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG .",
             "WE MEET AGAIN TOMORROW MORNING ?", "GOOD NIGHT AND GOOD LUCK !"] * 20  # fmt: skip
    corpus = root / "bpe_corpus.txt"
    corpus.write_text("\n".join(lines), encoding="utf-8")
    # the miniature GPT's text table has 100 ids (+1)
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(root / "bpe"), vocab_size=60,
                                   model_type="bpe", character_coverage=1.0, hard_vocab_limit=False,
                                   minloglevel=2)  # fmt: skip
    corpus.unlink()
    (root / "bpe.vocab").unlink()


def _w2v_bert(root: Path) -> None:
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

    torch.manual_seed(3)
    # the GPT conformers and the codec read 1024-wide features; one layer keeps it small
    cfg = Wav2Vec2BertConfig(
        hidden_size=1024, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    Wav2Vec2BertModel(cfg).save_pretrained(root / "w2v-bert-2.0")
    SeamlessM4TFeatureExtractor().save_pretrained(root / "w2v-bert-2.0")


def build_official_dir(root: Path, fixtures: Path) -> Path:
    """The miniature official directory (see the module docstring)."""
    root.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    gpt_cfg = _spec(fixtures, "gpt")["constructor"]["gpt_cfg"]
    torch.save(load_file(str(fixtures / "gpt" / "weights.safetensors")), root / "gpt.pth")
    net: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in load_file(str(fixtures / "s2mel" / "weights.safetensors")).items():
        _, sub, rest = key.split(".", 2)  # models.<sub>.<key>, stored per sub-model as s2mel.pth does
        net.setdefault(sub, {})[rest] = value
    # the fixture's gpt_layer reads the release GPT's 1280-wide latents; this GPT is narrower
    net["gpt_layer"]["0.weight"] = torch.randn(256, gpt_cfg["model_dim"], generator=gen) * 0.05
    torch.save({"net": net}, root / "s2mel.pth")
    (root / "semantic_codec").mkdir()
    shutil.copy(
        fixtures / "semantic_codec" / "weights.safetensors", root / "semantic_codec" / "model.safetensors"
    )
    (root / "campplus").mkdir()
    ctor = _spec(fixtures, "campplus")["constructor"]
    (root / "campplus" / "config.json").write_text(json.dumps({**ctor["defaults_kept"], **ctor["kwargs"]}))
    torch.save(
        load_file(str(fixtures / "campplus" / "weights.safetensors")),
        root / "campplus" / "campplus_cn_common.bin",
    )
    (root / "bigvgan").mkdir()
    (root / "bigvgan" / "config.json").write_text(json.dumps(_spec(fixtures, "bigvgan")["constructor"]["h"]))
    torch.save({"generator": load_file(str(fixtures / "bigvgan" / "weights.safetensors"))},
               root / "bigvgan" / "bigvgan_generator.pt")  # fmt: skip
    _w2v_bert(root)
    torch.save({"mean": torch.randn(1024, generator=gen) * 0.1, "var": torch.rand(1024, generator=gen) + 0.5},
               root / "wav2vec2bert_stats.pt")  # fmt: skip
    torch.save(torch.randn(sum(COUNTS), 192, generator=gen), root / "feat1.pt")
    torch.save(torch.randn(sum(COUNTS), gpt_cfg["model_dim"], generator=gen), root / "feat2.pt")
    _bpe(root)
    import yaml

    config = {
        "dataset": {"bpe_model": "bpe.model"},
        "gpt": gpt_cfg,
        "semantic_codec": _spec(fixtures, "semantic_codec")["constructor"]["cfg"],
        "s2mel": _spec(fixtures, "s2mel")["constructor"]["s2mel_cfg"],
        "gpt_checkpoint": "gpt.pth", "w2v_stat": "wav2vec2bert_stats.pt", "s2mel_checkpoint": "s2mel.pth",
        "emo_matrix": "feat2.pt", "spk_matrix": "feat1.pt", "emo_num": COUNTS,
        "qwen_emo_path": "qwen0.6bemo4-merge/", "version": 2.0,
        "w2v_layer": 1,  # voxsmith extension: the one-layer w2v-BERT above
    }  # fmt: skip
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return root


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # small modules run fastest single-threaded, above all on a shared, loaded CPU
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def official_dir(tmp_path_factory, official_fixtures) -> Path:
    return build_official_dir(tmp_path_factory.mktemp("official") / "checkpoints", official_fixtures)


@pytest.fixture(scope="module")
def model(official_dir) -> IndexTTSModel:
    return IndexTTSModel.from_pretrained(official_dir)


@pytest.fixture(scope="module")
def spk(model):
    x = make_tone(3.0, freq=190.0) + 0.02 * np.random.default_rng(4).standard_normal(3 * 22050)
    return model.speaker_encoder(Audio(x.astype(np.float32), 22050))


def test_official_directory_loads_as_official_parts(model, spk):
    p = model.parts
    assert isinstance(p, OfficialParts) and p.s2m_steps == 25 and p.cfg_rate == 0.7
    s = p.default_sampling()
    assert (s.num_beams, s.top_k, s.top_p, s.temperature, s.repetition_penalty) == (3, 30, 0.8, 0.8, 10.0)
    # w2v-BERT features at 50 Hz, RepCodec codes of them, the GPT's latents and emotion vector
    assert spk.cond_feats.shape[1] == 1024 and abs(spk.cond_feats.shape[0] - 150) <= 2
    assert spk.prompt_codes.shape == (spk.cond_feats.shape[0],) and int(spk.prompt_codes.max()) < 128
    assert spk.spk_latents.shape == (32, 32) and spk.emo_vec.shape == (32,) and spk.style.shape == (192,)
    assert model.frontend.tokenizer.vocab_size <= 100 and model.frontend.max_tokens == 32
    from voxsmith.emotion_text import DefaultBackend

    assert isinstance(p.text_emotion_backend(), DefaultBackend)  # no qwen0.6bemo4-merge/: offline fallback


def test_target_tokens_duration_ratio_and_emotion(model, spk):
    res = model.synthesize(TEXT, speaker_embedding=spk, target_tokens=23, seed=1)
    assert res.tokens == 23 and len(res.codes[0]) == 23
    assert len(res.audio.samples) == int(23 * 1.72) * 256  # S2M frames int(N × 1.72), BigVGAN 256×
    assert np.isfinite(res.audio.samples).all() and float(np.abs(res.audio.samples).max()) > 1e-4
    natural = model.synthesize(TEXT, speaker_embedding=spk, seed=2).tokens
    short = model.synthesize(TEXT, speaker_embedding=spk, seed=2, duration_ratio=0.8).tokens
    assert natural >= 1 and short == max(1, round(0.8 * natural))
    happy = model.synthesize(TEXT, speaker_embedding=spk, target_tokens=23, seed=1, emotion="happy")
    assert happy.tokens == 23
    base = model._emotion_vector(spk, None)
    mixed = model._emotion_vector(spk, model.emotion_encoder.preset("happy"))
    assert not torch.allclose(base, mixed)
    assert not np.array_equal(happy.audio.samples, res.audio.samples)


def test_convert_gives_the_same_outputs(model, spk, official_dir, tmp_path, capsys):
    out = tmp_path / "converted"
    assert main(["convert", str(official_dir), "--out", str(out), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["architecture"] == "indextts2" and (out / "bpe.model").is_file()
    converted = IndexTTSModel.from_pretrained(out)
    assert converted.model_id == model.model_id  # same weights: cached voices carry over
    a = model.synthesize(TEXT, speaker_embedding=spk, target_tokens=17, seed=5)
    b = converted.synthesize(TEXT, speaker_embedding=spk, target_tokens=17, seed=5)
    assert torch.equal(a.codes[0], b.codes[0])
    assert np.array_equal(a.audio.samples, b.audio.samples)
    x = make_tone(3.0, freq=190.0) + 0.02 * np.random.default_rng(4).standard_normal(3 * 22050)
    again = converted.speaker_encoder(Audio(x.astype(np.float32), 22050))
    assert torch.equal(again.cond_feats, spk.cond_feats) and torch.equal(again.style, spk.style)


def test_convert_fp16_is_smaller_and_loads(official_dir, tmp_path):
    out = tmp_path / "half"
    assert main(["convert", str(official_dir), "--out", str(out), "--dtype", "fp16"]) == 0
    full = (official_dir / "gpt.pth").stat().st_size
    assert (out / "gpt.safetensors").stat().st_size < 0.6 * full
    half = IndexTTSModel.from_pretrained(out)
    assert (
        isinstance(half.parts, OfficialParts)
        and json.loads((out / "model.json").read_text())["dtype"] == "float16"
    )


def test_missing_files_are_listed_with_their_source(official_dir, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(official_dir / "config.yaml", partial / "config.yaml")
    shutil.copy(official_dir / "gpt.pth", partial / "gpt.pth")
    with pytest.raises(CheckpointError) as err:
        IndexTTSModel.from_pretrained(partial)
    msg = str(err.value)
    for name in ("s2mel.pth", "bpe.model", "feat1.pt", "wav2vec2bert_stats.pt", "w2v-bert-2.0/model.safetensors",
                 "semantic_codec/model.safetensors", "campplus/campplus_cn_common.bin", "bigvgan/bigvgan_generator.pt"):  # fmt: skip
        assert name in msg
    assert "gpt.pth" not in msg.split("missing", 1)[1]  # present files are not listed
    assert (
        "IndexTeam/IndexTTS-2" in msg
        and "nvidia/bigvgan_v2_22khz_80band_256x" in msg
        and "funasr/campplus" in msg
    )
    only_weights = tmp_path / "no_config"
    only_weights.mkdir()
    shutil.copy(official_dir / "gpt.pth", only_weights / "gpt.pth")
    with pytest.raises(CheckpointError, match="config.yaml"):
        IndexTTSModel.from_pretrained(only_weights)


def test_w2v_features_are_the_normalised_hidden_state_of_the_layer():
    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertConfig, Wav2Vec2BertModel

    from voxsmith.models.official import W2VBertFeatures

    torch.manual_seed(0)
    cfg = Wav2Vec2BertConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=16)
    model, fe = Wav2Vec2BertModel(cfg).eval(), SeamlessM4TFeatureExtractor()
    mean, std = torch.randn(32), torch.rand(32) + 0.5
    feats = W2VBertFeatures(model, fe, mean, std, layer=2)
    wave = make_tone(1.0, sr=16000, freq=150.0)
    inputs = fe(wave, sampling_rate=16000, return_tensors="pt")
    with torch.inference_mode():
        want = model(**inputs, output_hidden_states=True).hidden_states[2][0]  # infer_v2's get_emb
    got = feats(wave)
    assert got.shape == (inputs["input_features"].shape[1], 32)
    assert torch.allclose(got, (want - mean) / std, atol=1e-5)
    assert len(model.encoder.layers) == 3  # the skipped layers are restored


def test_codes_to_mel_follows_the_official_order(model, spk):
    """infer_v2: latent = gpt(...); S = vq2emb(codes) + gpt_layer(latent); cond = LR(S, int(1.72 N));
    prompt = LR(quantized ref, ref mel frames); CFM over [prompt; cond]; keep the frames after the prompt."""
    p = model.parts
    ids = model.frontend.process(TEXT).segment_tokens[0]
    codes = torch.randint(0, 128, (19,), generator=torch.Generator().manual_seed(7))
    emo = model._emotion_vector(spk, model.emotion_encoder.preset("sad"))
    ours = p.codes_to_mel(codes, spk, text_ids=ids, emo_vec=emo, seed=9)
    with torch.inference_mode():
        latent = p.gpt.latents(spk.spk_latents[None], emo[None], torch.tensor([ids]), codes[None])
        s_infer = p.codec.quantizer.vq2emb(codes[None, None]).transpose(1, 2) + p.s2m.models["gpt_layer"](
            latent
        )
        cond = p.s2m.length_regulator(s_infer, (torch.tensor([19]) * 1.72).long())[0]
        _, s_ref = p.codec.quantize_with_embedding(spk.cond_feats[None])
        ref_mel = spk.prompt_mel[None]
        prompt = p.s2m.length_regulator(s_ref, torch.tensor([ref_mel.shape[-1]]))[0]
        cat = torch.cat([prompt, cond], dim=1)
        noise = torch.randn((1, 80, cat.shape[1]), generator=torch.Generator().manual_seed(9))
        mel = p.s2m.cfm.inference(
            cat, torch.tensor([cat.shape[1]]), ref_mel, spk.style[None], 25, noise=noise
        )
    want = mel[0, :, ref_mel.shape[-1] :]
    assert ours.shape == want.shape == (80, int(19 * 1.72))
    assert torch.allclose(ours, want, atol=1e-4)
