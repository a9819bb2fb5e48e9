"""Speaking rate per emotion: fitting, storage, and the token count it sets in synthesis."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import make_random_model, make_tone
from voxsmith.audio import Audio
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.emotion import EMOTIONS
from voxsmith.models.emotion_rate import EmotionRates
from voxsmith.pipeline import IndexTTSModel


def test_fit_recovers_each_categorys_tempo_through_the_strengths():
    rng = np.random.default_rng(0)
    truth = np.log([1.08, 1.12, 0.82, 1.12, 0.86, 0.85, 1.05, 0.92])
    cats = np.repeat(np.arange(8), 60)
    strengths = np.tile([0.33, 0.67, 1.0], 160)
    ratios = strengths * truth[cats] + rng.normal(0, 0.02, cats.shape)  # tempo ** strength, with noise
    ratios[5] = np.nan  # an unmeasurable clip is left out, not propagated
    rates = EmotionRates.fit(cats, strengths, ratios)
    assert np.allclose(rates.log_tempo.numpy(), truth, atol=0.01)
    assert rates.named()["sad"] == pytest.approx(0.82, abs=0.01)


def test_fit_needs_every_category():
    with pytest.raises(ConfigError, match="afraid"):
        EmotionRates.fit(np.array([0, 1, 2]), np.ones(3), np.zeros(3))


def test_duration_factor_follows_the_weights_and_is_bounded():
    rates = EmotionRates(torch.log(torch.tensor([1.1, 1.2, 0.8, 1.0, 0.9, 0.85, 1.05, 0.95])))
    sad = torch.zeros(8)
    sad[2] = 1.0
    assert rates.duration_factor(sad) == pytest.approx(1 / 0.8)  # slower speech: more tokens
    assert rates.duration_factor(0.5 * sad) == pytest.approx(1 / 0.8**0.5)  # weights scale the log
    assert rates.duration_factor(torch.zeros(8)) == 1.0
    mix = torch.tensor([0.5, 0, 0.5, 0, 0, 0, 0, 0])
    assert rates.duration_factor(mix) == pytest.approx(float(np.exp(-0.5 * np.log(1.1) - 0.5 * np.log(0.8))))
    assert (
        rates.duration_factor(2 * sad) == 1.25
    )  # intensity 2 would ask 1.56: held at duration control's range
    with pytest.raises(ConfigError, match="8 values"):
        rates.duration_factor(torch.zeros(7))


@pytest.mark.parametrize("bad", [torch.zeros(7), torch.tensor([float("nan")] * 8), torch.full((8,), 1.0)])
def test_bad_stored_rates_are_checkpoint_errors(bad):
    with pytest.raises(CheckpointError, match="emotion rates"):
        EmotionRates.from_tensors({"rate_log_tempo": bad})
    assert EmotionRates.from_tensors({}) is None


@pytest.fixture(scope="module")
def rated(tmp_path_factory):
    """A random model with stored speaking rates (happy 1.25 × faster, sad 0.8 ×)."""
    from voxsmith.checkpoints import load_safetensors, save_safetensors

    root = make_random_model(tmp_path_factory.mktemp("rated"))
    tensors, config, _ = load_safetensors(root / "emotion.safetensors")
    tempo = torch.tensor([1.25, 1.0, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0])  # happy faster, sad slower
    save_safetensors(
        {**tensors, "rate_log_tempo": torch.log(tempo)},
        root / "emotion.safetensors",
        kind="emotion_matrix",
        config=config,
    )
    model = IndexTTSModel.from_pretrained(root)
    x = make_tone(4.0, freq=180.0) + 0.02 * np.random.default_rng(0).standard_normal(4 * 22050)
    return model, model.speaker_encoder(Audio(x.astype(np.float32), 22050))


def test_emotion_weights_stretch_the_neutral_length(rated):
    model, spk = rated
    assert model.parts.rates is not None
    spt = model.samples_per_token
    neutral = model.synthesize("Hello there.", speaker_embedding=spk, seed=3)
    n = neutral.tokens
    assert n >= 8  # long enough for the factors below to round to distinct lengths
    assert len(neutral.audio.samples) == n * spt
    # the GPT reads the neutral count; S2M spreads it over the emotion's length (happy 1.25 × faster)
    happy = model.synthesize("Hello there.", speaker_embedding=spk, emotion="happy", seed=3)
    assert happy.tokens == n
    assert len(happy.audio.samples) == round(n * spt // 256 / 1.25) * 256
    sad = model.synthesize("Hello there.", speaker_embedding=spk, emotion="sad", seed=3)
    assert len(sad.audio.samples) == round(n * spt // 256 / 0.8) * 256 > len(neutral.audio.samples)
    # duration_ratio scales the neutral count, the emotion's rate multiplies in
    both = model.synthesize(
        "Hello there.", speaker_embedding=spk, emotion="happy", duration_ratio=0.8, seed=3
    )
    assert both.tokens == round(0.8 * n)
    assert len(both.audio.samples) == round(round(0.8 * n) * spt // 256 / 1.25) * 256
    # target_tokens stays exact: N tokens, N × samples-per-token samples
    exact = model.synthesize("Hello there.", speaker_embedding=spk, emotion="happy", target_tokens=17, seed=3)
    assert exact.tokens == 17 and len(exact.audio.samples) == 17 * spt
    # an emotion whose rate is neutral's, or one from a clip (no weights), keeps the GPT's length
    angry = model.synthesize("Hello there.", speaker_embedding=spk, emotion="angry", seed=3)
    assert angry.tokens == n and len(angry.audio.samples) == n * spt
    clip = model.emotion_encoder(Audio(make_tone(3.0, freq=300.0).astype(np.float32), 22050))
    assert model.synthesize("Hello there.", speaker_embedding=spk, emotion=clip, seed=3).tokens == n


def test_duration_token_share_splits_a_ratio_between_tokens_and_stretch(rated):
    model, spk = rated
    spt = model.samples_per_token
    n = model.synthesize("Hello there.", speaker_embedding=spk, seed=3).tokens
    model.parts.duration_token_share = 0.5
    try:
        # the GPT takes sqrt(1.25) of the ratio in tokens, S2M reads them over the whole 1.25 × length
        slow = model.synthesize("Hello there.", speaker_embedding=spk, duration_ratio=1.25, seed=3)
        t = round(1.25**0.5 * n)
        assert slow.tokens == t != round(1.25 * n)
        assert len(slow.audio.samples) == round(4 * t * (1.25 * n / t)) * 256
        # an emotion's rate multiplies in (happy reads 1.25 × faster)
        happy = model.synthesize(
            "Hello there.", speaker_embedding=spk, emotion="happy", duration_ratio=0.8, seed=3
        )
        t = round(0.8**0.5 * n)
        assert happy.tokens == t
        assert abs(len(happy.audio.samples) / 256 - 4 * 0.8 * n / 1.25) <= 1
        # target_tokens is not a ratio: exact as ever
        exact = model.synthesize("Hello there.", speaker_embedding=spk, target_tokens=17, seed=3)
        assert exact.tokens == 17 and len(exact.audio.samples) == 17 * spt
        # slower speech may take its own share: all of 1.25 read by S2M, none in tokens; faster
        # speech keeps the general share
        model.parts.duration_token_share_slow = 0.0
        slow = model.synthesize("Hello there.", speaker_embedding=spk, duration_ratio=1.25, seed=3)
        assert slow.tokens == n and len(slow.audio.samples) == round(4 * 1.25 * n) * 256
        fast = model.synthesize("Hello there.", speaker_embedding=spk, duration_ratio=0.8, seed=3)
        assert fast.tokens == round(0.8**0.5 * n)
    finally:
        model.parts.duration_token_share, model.parts.duration_token_share_slow = 1.0, None


def test_emotion_mix_cap_limits_what_the_gpt_mixes_in(rated):
    model, spk = rated
    parts = model.parts
    w = torch.tensor([2.0, 0, 0, 0, 0, 0, 0, 0])  # happy at intensity 2
    full = parts.mix_emotion(w, spk.style, spk.emo_vec)
    parts.emotion_mix_cap = 1.0
    try:
        capped = parts.mix_emotion(w, spk.style, spk.emo_vec)
        assert torch.allclose(capped, parts.mix_emotion(w / 2, spk.style, spk.emo_vec))
        assert not torch.allclose(capped, full)
        half = torch.tensor([0.5, 0, 0, 0, 0, 0, 0, 0])  # under the cap: unchanged
        parts.emotion_mix_cap = None
        plain = parts.mix_emotion(half, spk.style, spk.emo_vec)
        parts.emotion_mix_cap = 1.0
        assert torch.equal(parts.mix_emotion(half, spk.style, spk.emo_vec), plain)
    finally:
        parts.emotion_mix_cap = None


def test_dev_presets_measures_and_stores_them_in_a_model_directory(tmp_path, capsys):
    import json

    from tests.helpers import make_fake_corpus
    from voxsmith.cli.main import main as cli
    from voxsmith.models.parts import load_parts

    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus, n_speakers=2, clips_per_speaker=10)
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"]
    for i, r in enumerate(train):  # one neutral reading per speaker, then one clip per category
        k = i % 9
        r.update(style="neutral" if k == 0 else EMOTIONS[k - 1], style_strength=0.0 if k == 0 else 1.0)
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    root = make_random_model(tmp_path / "m", prosody=True)
    assert load_parts(root).rates is None and load_parts(root).prosody.table is None
    assert cli(["dev", "presets", str(root), "--data", str(corpus)]) == 0
    printed = json.loads(capsys.readouterr().out)
    parts = load_parts(root)
    rates, table = parts.rates, parts.prosody.table
    assert rates is not None and table is not None and table.shape == (8, 4)
    assert printed["tempo"] == rates.named() and set(printed["prosody"]) == set(EMOTIONS)
    from voxsmith.train.bundle import write_model_card

    card = write_model_card(root, json.loads((root / "model.json").read_text())).read_text()
    sad = next(line for line in card.splitlines() if line.startswith("| sad |"))
    assert f"{rates.named()['sad']:.3f}" in sad and len(sad.split("|")) == 8  # tempo + four measures
    assert "## Controls" not in card  # every setting the official behaviour: nothing to say
    split = json.loads((root / "model.json").read_text()) | {"duration_token_share": 0.5}
    card = write_model_card(root, split).read_text()
    assert "r^0.5 × the neutral number of tokens" in card and "| sad |" in card
    assert "voice_hold" not in card
    card = write_model_card(root, split | {"voice_hold": 1.0}).read_text()
    assert "no more mean-pitch or spectral-tilt change than each category makes at 1" in card
    # the fake clips are tones of growing length reading two units: longer clip = slower rate
    assert float(rates.log_tempo.abs().max()) > 0.01
    assert cli(["dev", "presets", str(tmp_path / "nowhere"), "--data", str(corpus)]) != 0
    assert "emotion.safetensors: not found" in capsys.readouterr().err


def test_a_slower_emotion_on_a_sentence_that_fills_the_gpt_stays_within_its_table(tmp_path):
    from voxsmith.checkpoints import load_safetensors, save_safetensors

    root = make_random_model(tmp_path / "m", max_tokens=12)
    tensors, config, _ = load_safetensors(root / "emotion.safetensors")
    tempo = torch.tensor([1.0, 1.0, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0])
    save_safetensors({**tensors, "rate_log_tempo": torch.log(tempo)}, root / "emotion.safetensors",
                     kind="emotion_matrix", config=config)  # fmt: skip
    model = IndexTTSModel.from_pretrained(root)
    spk = model.speaker_encoder(Audio(make_tone(4.0, freq=180.0).astype(np.float32), 22050))
    text = "这是一个很长的句子，用来测试生成长度的上限。"
    full = [s for s in range(6) if model.synthesize(text, speaker_embedding=spk, seed=s).tokens == 12]
    assert full, "no seed ran the random GPT to its limit"
    res = model.synthesize(text, speaker_embedding=spk, emotion="sad", seed=full[0])
    assert res.tokens == 12  # the neutral count, read 1.25 × slower by S2M
    assert len(res.audio.samples) == round(12 * model.samples_per_token // 256 * 1.25) * 256
    assert model.synthesize(text, speaker_embedding=spk, duration_ratio=1.25, seed=full[0]).tokens == 12
