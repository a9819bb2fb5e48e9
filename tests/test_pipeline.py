"""The IndexTTSModel facade on a small random model: controls, caching, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import make_random_model, make_tone
from voxsmith.audio import Audio, AudioProcessor
from voxsmith.embeddings import EmotionEmbedding, SpeakerEmbedding
from voxsmith.errors import AudioError, CheckpointError, ConfigError, TextError
from voxsmith.pipeline import IndexTTSModel


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> IndexTTSModel:
    root = make_random_model(tmp_path_factory.mktemp("model"))
    return IndexTTSModel.from_pretrained(root)


def _voice(seconds: float = 4.0, freq: float = 180.0, seed: int = 0) -> Audio:
    x = make_tone(seconds, freq=freq) + 0.02 * np.random.default_rng(seed).standard_normal(
        int(seconds * 22050)
    )
    return Audio(x.astype(np.float32), 22050)


@pytest.fixture(scope="module")
def spk(model) -> SpeakerEmbedding:
    return model.speaker_encoder(_voice())


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="model.json"):
        IndexTTSModel.from_pretrained(tmp_path)


def test_missing_part_is_named(tmp_path):
    root = make_random_model(tmp_path / "m")
    (root / "s2m.safetensors").unlink()
    with pytest.raises(CheckpointError, match="s2m.safetensors"):
        IndexTTSModel.from_pretrained(root)


def test_guidance_strength_travels_in_model_json(tmp_path):
    import json

    root = make_random_model(tmp_path / "m")
    assert IndexTTSModel.from_pretrained(root).parts.cfg_rate == 0.7  # the official default
    card = json.loads((root / "model.json").read_text())
    (root / "model.json").write_text(json.dumps({**card, "cfg_rate": 1.5}))
    assert IndexTTSModel.from_pretrained(root).parts.cfg_rate == 1.5


def test_default_temperature_travels_in_model_json(tmp_path):
    import json

    root = make_random_model(tmp_path / "m")
    assert IndexTTSModel.from_pretrained(root).parts.default_sampling().temperature == 0.8
    card = json.loads((root / "model.json").read_text())
    (root / "model.json").write_text(json.dumps({**card, "temperature": 0.7}))
    assert IndexTTSModel.from_pretrained(root).parts.default_sampling().temperature == 0.7


def test_s2m_noise_and_sway_travel_in_model_json_and_change_the_mel(tmp_path):
    import json

    root = make_random_model(tmp_path / "m")
    base = IndexTTSModel.from_pretrained(root)
    assert (base.parts.s2m_noise, base.parts.s2m_sway) == (1.0, 0.0)
    card = json.loads((root / "model.json").read_text())
    (root / "model.json").write_text(json.dumps({**card, "s2m_noise": 0.5, "s2m_sway": -1.0}))
    tuned = IndexTTSModel.from_pretrained(root)
    assert (tuned.parts.s2m_noise, tuned.parts.s2m_sway) == (0.5, -1.0)
    spk = base.speaker_encoder(_voice())
    codes = torch.arange(12) % base.parts.codec.cfg.codebook_size
    mels = [m.parts.codes_to_mel(codes, spk, seed=1) for m in (base, tuned)]
    assert mels[0].shape == mels[1].shape
    assert not torch.allclose(mels[0], mels[1])


@pytest.mark.parametrize(
    "key,value",
    [
        ("s2m_noise", 0.0),
        ("s2m_noise", -1),
        ("s2m_sway", 0.5),
        ("s2m_sway", "fast"),
        ("s2m_steps", 2.5),
        ("s2m_steps", 0),
        ("temperature", float("nan")),
        ("cfg_rate", True),
    ],
)
def test_bad_sampling_settings_in_model_json_are_refused_at_load(tmp_path, key, value):
    import json

    root = make_random_model(tmp_path / "m")
    card = json.loads((root / "model.json").read_text())
    (root / "model.json").write_text(json.dumps({**card, key: value}))
    with pytest.raises(CheckpointError, match=key):
        IndexTTSModel.from_pretrained(root)


def test_info_reports_rates_and_parameters(model):
    info = model.info()
    assert info["sample_rate"] == 22050 and info["samples_per_token"] == 1024
    assert abs(info["token_rate_hz"] - 22050 / 1024) < 1e-9
    assert info["parameters"]["total"] == sum(v for k, v in info["parameters"].items() if k != "total")


def test_target_tokens_is_exact(model, spk):
    for n in (7, 19, 33):
        res = model.synthesize("今天天气不错。", speaker_embedding=spk, target_tokens=n, seed=n)
        assert res.tokens == n
        assert len(res.audio.samples) == n * model.samples_per_token


def test_duration_ratio_scales_the_natural_length(model, spk):
    natural = model.synthesize("Hello there.", speaker_embedding=spk, seed=3).tokens
    short = model.synthesize("Hello there.", speaker_embedding=spk, seed=3, duration_ratio=0.75).tokens
    assert short == round(0.75 * natural)


@pytest.mark.parametrize("ratio", [0.5, 1.3, 0.74])
def test_duration_ratio_out_of_range(model, spk, ratio):
    with pytest.raises(ConfigError, match="duration_ratio"):
        model.synthesize("你好", speaker_embedding=spk, duration_ratio=ratio)


def test_bad_inputs_are_clear_errors(model, spk, tmp_path):
    with pytest.raises(TextError):
        model.synthesize("   ", speaker_embedding=spk)
    with pytest.raises(ConfigError, match="not both"):
        model.synthesize("你好", speaker_embedding=spk, duration_ratio=1.0, target_tokens=10)
    with pytest.raises(ConfigError):
        model.synthesize("你好", speaker_embedding=spk, emotion="furious")
    with pytest.raises(ConfigError):
        model.synthesize("你好", speaker_embedding=spk, emotion_vector=[0.1, 0.2])
    with pytest.raises(ConfigError, match="intensity"):
        model.emotion_encoder.preset("happy", intensity=2.5)
    with pytest.raises(AudioError):
        model.speaker_encoder(tmp_path / "missing.wav")
    with pytest.raises(AudioError):
        model.speaker_encoder(Audio(np.zeros(22050 * 3, np.float32), 22050))  # silence
    with pytest.raises(ConfigError):
        model.synthesize("你好")  # no reference at all


def test_cached_speaker_embedding_gives_bit_identical_audio(model, tmp_path):
    ref = _voice(seed=5)
    AudioProcessor.save(ref, tmp_path / "ref.wav")
    direct = model.synthesize("我们明天见。", tmp_path / "ref.wav", target_tokens=12, seed=11)
    emb = model.speaker_encoder(tmp_path / "ref.wav")
    emb.save(tmp_path / "voice.safetensors")
    cached = SpeakerEmbedding.load(tmp_path / "voice.safetensors")
    again = model.synthesize("我们明天见。", speaker_embedding=cached, target_tokens=12, seed=11)
    assert np.array_equal(direct.audio.samples, again.audio.samples)


def test_model_id_is_exact_and_independent_of_threads(tmp_path):
    root = make_random_model(tmp_path / "m")
    before = torch.get_num_threads()
    try:
        ids = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            ids.append(IndexTTSModel.from_pretrained(root).model_id)
    finally:
        torch.set_num_threads(before)
    assert ids[0] == ids[1]
    model = IndexTTSModel.from_pretrained(root)
    fp = model.parts.fingerprint()
    with torch.no_grad():  # one weight moved by one ulp: another model
        w = next(model.parts.gpt.parameters())
        w.view(-1)[0] = torch.nextafter(w.view(-1)[0], torch.tensor(float("inf")))
    moved = model.parts.fingerprint()
    assert moved["gpt"] != fp["gpt"] and moved["s2m"] == fp["s2m"]


def test_embedding_from_another_model_is_refused(model, spk):
    other = SpeakerEmbedding(**{**spk.__dict__, "model_id": "someone-else"})
    with pytest.raises(ConfigError, match="model"):
        model.synthesize("你好", speaker_embedding=other)


def test_seed_repeats_and_changes(model, spk):
    a = model.synthesize("Good morning.", speaker_embedding=spk, seed=1).audio.samples
    b = model.synthesize("Good morning.", speaker_embedding=spk, seed=1).audio.samples
    c = model.synthesize("Good morning.", speaker_embedding=spk, seed=2).audio.samples
    assert np.array_equal(a, b) and not (len(a) == len(c) and np.array_equal(a, c))


def test_emotion_sources_change_the_emotion_vector(model, spk):
    base = model._emotion_vector(spk, None)
    happy = model._emotion_vector(spk, model.emotion_encoder.preset("happy"))
    strong = model._emotion_vector(spk, model.emotion_encoder.preset("happy", intensity=1.8))
    zero = model._emotion_vector(spk, model.emotion_encoder.from_vector([0] * 8))
    assert torch.allclose(zero, base.reshape(zero.shape), atol=1e-6)  # no weight: the speaker's own emotion
    assert not torch.allclose(happy, base.reshape(happy.shape))
    # intensity scales the step away from the speaker's own emotion vector
    assert torch.allclose(strong - base.reshape(-1), 1.8 * (happy - base.reshape(-1)), atol=1e-4)
    clip = model.emotion_encoder(_voice(freq=300.0, seed=9), alpha=0.5)
    assert isinstance(clip, EmotionEmbedding)
    mixed = model._emotion_vector(spk, clip)
    assert torch.allclose(mixed, spk.emo_vec + 0.5 * (clip.emo_vec - spk.emo_vec), atol=1e-6)


def test_long_text_is_segmented_with_pauses(model, spk):
    text = "第一句话在这里。第二句话也在这里。" * 4
    res = model.synthesize(text, speaker_embedding=spk, seed=0, pause_ms=300)
    assert len(res.segments) >= 2 and len(res.codes) == len(res.segments)
    pause = int(0.3 * 22050 / 256) * 256
    assert len(res.audio.samples) == sum(len(c) for c in res.codes) * 1024 + (len(res.codes) - 1) * pause


def test_emotion_from_text_feeds_the_mix(model, spk):
    emo = model.emotion_encoder.from_text("愤怒地质问", intensity=1.5)
    assert emo.weights is not None and int(emo.weights.argmax()) == 1  # angry
    assert abs(float(emo.weights.sum()) - 1.5) < 1e-5  # normalised weights × intensity
    res = model.synthesize("你竟然敢骗我！", speaker_embedding=spk, emotion="愤怒地质问", target_tokens=8)
    assert res.tokens == 8


def test_verify_without_a_checker_is_a_clear_error(model, spk, monkeypatch, tmp_path):
    import voxsmith.check.checker as checker_mod

    monkeypatch.setattr(checker_mod, "DEFAULT_MODEL", tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="pronunciation checker"):
        model.synthesize("你好", speaker_embedding=spk, verify=True)


def test_verify_checks_against_the_models_own_glossary(model, spk, monkeypatch):
    """With a glossary (the user's or an adapter's) the checker must expect the glossary
    reading, or the loop would flag the reading it was asked for and force it again."""
    import voxsmith.check.checker as checker_mod
    from voxsmith.check.content import ContentResult
    from voxsmith.check.report import CheckReport
    from voxsmith.text.glossary import Glossary

    seen = []

    class Listening:
        def __init__(self, frontend):
            self.frontend = frontend

        def check(self, audio, text):
            syl = self.frontend.process(text).syllables
            seen.append([s.pinyin for s in syl])
            return CheckReport([], ContentResult(None))

    monkeypatch.setattr(
        checker_mod.PronunciationChecker, "load", classmethod(lambda cls, **kw: Listening(kw["frontend"]))
    )
    before = model.frontend.glossary
    model.frontend.glossary = Glossary.from_dict({"会稽": "kuai4 ji1"})
    try:
        res = model.synthesize("他在会稽读书。", speaker_embedding=spk, verify=True, target_tokens=8)
    finally:
        model.frontend.glossary = before
    assert res.verify["ok"] and seen == [["ta1", "zai4", "kuai4", "ji1", "du2", "shu1"]]


def test_tiny_s2m_reading_gpt_latents_hears_the_text(tmp_path):
    model = IndexTTSModel.from_pretrained(make_random_model(tmp_path / "m", gpt_latents=True))
    parts = model.parts
    assert "gpt_layer" in parts.s2m.models
    spk = model.speaker_encoder(_voice())
    res = model.synthesize("今天天气不错。", speaker_embedding=spk, target_tokens=12, seed=1)
    assert res.tokens == 12 and np.isfinite(res.audio.samples).all()
    codes = torch.arange(12) % 64
    mel_a = parts.codes_to_mel(codes, spk, text_ids=[5, 6, 7, 8], seed=0)
    mel_b = parts.codes_to_mel(codes, spk, text_ids=[9, 10, 11, 12], seed=0)
    assert mel_a.shape == mel_b.shape == (80, 48)
    assert not torch.allclose(mel_a, mel_b)  # same codes, other text: the latents differ
    with pytest.raises(ConfigError, match="text_ids"):
        parts.codes_to_mel(codes, spk, seed=0)


def test_the_readme_imports_work():
    # the API of the README and issue 5: `from voxsmith import IndexTTSModel, AudioProcessor`
    import voxsmith
    from voxsmith import AudioProcessor, IndexTTSModel, SpeakerEmbedding

    assert IndexTTSModel.__module__ == "voxsmith.pipeline" and AudioProcessor.__module__ == "voxsmith.audio"
    assert SpeakerEmbedding.__module__ == "voxsmith.embeddings"
    assert set(voxsmith._EXPORTS) <= set(voxsmith.__all__)
    with pytest.raises(AttributeError):
        voxsmith.NoSuchName  # noqa: B018
