"""Utterance prosody offsets: the measures, the emotion → prosody head, S2M's prosody input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import make_coded_corpus, make_random_model, make_tone, s2m_from_plain
from voxsmith.audio import Audio
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.prosody import (
    MEASURES,
    SCALES,
    VOICE_MEASURES,
    ProsodyHead,
    scaled_offset,
    utterance_prosody,
)


def test_utterance_prosody_reads_pitch_range_loudness_and_tilt():
    per_code = np.array([[10.0, -20.0], [14.0, -22.0], [np.nan, -80.0], [12.0, -21.0]])
    freqs = np.arange(80, dtype=np.float64)
    bright = np.tile((0.05 * freqs)[:, None], (1, 16))  # more energy up the spectrum
    m = utterance_prosody(per_code, bright)
    assert m.shape == (len(MEASURES),)
    assert m[0] == pytest.approx(12.0) and m[1] == pytest.approx(np.std([10.0, 14.0, 12.0]))
    assert m[2] == pytest.approx(-21.0)  # the silent code (60 dB down) is not speech
    dark = utterance_prosody(per_code, bright[::-1].copy())
    assert m[3] > 0 > dark[3]  # the spectral slope's sign follows the spectrum
    unvoiced = utterance_prosody(np.array([[np.nan, -20.0]]), bright)
    assert np.isnan(unvoiced[0]) and np.isnan(unvoiced[1])
    off = scaled_offset(m, unvoiced)
    assert off[0] == 0.0 and off[2] == pytest.approx((m[2] - unvoiced[2]) / SCALES[2])
    with pytest.raises(ConfigError):
        utterance_prosody(np.zeros((4, 3)), bright)


def test_prosody_head_recovers_a_linear_map_and_is_zero_for_the_speakers_own_emotion():
    g = torch.Generator().manual_seed(0)
    x = 30.0 * torch.randn(400, 6, generator=g) + 100.0  # unstandardised, like GPT emotion vectors
    w = torch.randn(len(MEASURES), 6, generator=g) / 30.0
    y = x @ w.T + torch.tensor([1.0, -2.0, 0.5, 0.0])
    y[::7, 0] = float("nan")  # unvoiced clips: no f0 measure
    head = ProsodyHead.fit(x, y, ridge=1e-6)
    assert torch.allclose(head(x[:5]), (x[:5] @ w.T + torch.tensor([1.0, -2.0, 0.5, 0.0])), atol=1e-3)
    assert torch.count_nonzero(head.offset(x[3], x[3])) == 0
    assert torch.allclose(head.offset(x[1], x[2]), (x[1] - x[2]) @ w.T, atol=1e-3)
    again = ProsodyHead.from_tensors(head.tensors())
    assert again is not None and torch.equal(again(x[:2]), head(x[:2]))
    assert ProsodyHead.from_tensors({"feat1": torch.zeros(1)}) is None
    with pytest.raises(ConfigError):
        head(torch.zeros(1, 5))
    with pytest.raises(CheckpointError):
        ProsodyHead(torch.zeros(3, 6), torch.zeros(3))


def test_s2m_prosody_input_shifts_the_target_only_and_starts_from_zero(tmp_path):

    torch.manual_seed(0)
    plain, model = s2m_from_plain(tmp_path, prosody_dim=len(MEASURES))
    emb, off = torch.randn(2, 6, 32), torch.randn(2, len(MEASURES))
    assert torch.equal(model.content(emb, prosody=off), emb)
    torch.nn.init.normal_(model.models["prosody_layer"].weight)
    mask = torch.tensor([[False, False, True, True, True, True]] * 2)
    out = model.content(emb, latent_mask=mask, prosody=off)
    assert torch.equal(out[:, :2], emb[:, :2]) and not torch.allclose(out[:, 2:], emb[:, 2:])
    assert torch.equal(model.content(emb, prosody=torch.zeros_like(off)), emb)  # zero offset = none
    mel, lens = torch.randn(2, 80, 24), torch.tensor([24, 20])
    style = torch.randn(2, 8)
    g = [torch.Generator().manual_seed(1) for _ in range(2)]
    prompts = torch.tensor([8, 8])
    a = model.loss(emb, mel, lens, style, prompt_lens=prompts, generator=g[0], prosody=off)
    b = model.loss(emb, mel, lens, style, prompt_lens=prompts, generator=g[1], prosody=2 * off)
    assert a.item() != b.item()
    with pytest.raises(ConfigError, match="prosody"):
        model.content(emb, prosody=torch.zeros(2, 3))
    with pytest.raises(ConfigError, match="prosody"):
        plain.content(emb, prosody=off)


def test_cross_prompted_batches_carry_the_measured_prosody_offset(tmp_path):
    from voxsmith.train.s2m import S2MData, S2MTrainConfig

    corpus, _, _ = make_coded_corpus(tmp_path)
    data = S2MData(corpus, "train", prosody=True)
    assert set(data.measures) == set(data.keep)
    f0 = {k: m[0] for k, m in data.measures.items()}
    assert len({round(v, 1) for v in f0.values()}) > 3  # the tones differ in pitch
    cfg = S2MTrainConfig(batch_size=6, crop_codes=12, cross_prompt=1.0)
    prosody = data.batch(np.random.default_rng(1), cfg, 8).prosody
    assert prosody.shape == (6, len(MEASURES)) and bool((prosody[:, 0] != 0).all())
    expected = {
        tuple(np.round(scaled_offset(data.measures[k], data.measures[j]), 4))
        for k in data.keep
        for j in data.keep
        if k != j and data.data.clips[k].row["speaker"] == data.data.clips[j].row["speaker"]
    }
    assert all(tuple(np.round(p.numpy(), 4)) in expected for p in prosody)
    cfg.cross_prompt = 0.0  # prompted by their own start: no offset
    prosody = data.batch(np.random.default_rng(1), cfg, 8).prosody
    assert torch.count_nonzero(prosody) == 0
    assert S2MData(corpus, "train").batch(np.random.default_rng(1), cfg, 8).prosody is None


def test_emotion_moves_the_mel_through_the_prosody_head_and_neutral_stays_unshifted(tmp_path):
    from voxsmith.pipeline import IndexTTSModel

    root = make_random_model(tmp_path / "m", prosody=True)
    model = IndexTTSModel.from_pretrained(root)
    p = model.parts
    assert p.prosody is not None and p.s2m.cfg.prosody_dim == len(MEASURES)
    torch.nn.init.normal_(p.s2m.models["prosody_layer"].weight)
    spk = model.speaker_encoder(Audio(make_tone(4.0, freq=180.0), 22050))
    assert p.prosody_offset(spk, spk.emo_vec) is not None
    assert torch.count_nonzero(p.prosody_offset(spk, spk.emo_vec)) == 0
    happy = model._emotion_vector(spk, model.emotion_encoder.preset("happy"))
    assert torch.count_nonzero(p.prosody_offset(spk, happy)) == len(MEASURES)
    codes = torch.arange(12) % p.codec.cfg.codebook_size
    neutral = p.codes_to_mel(codes, spk, emo_vec=spk.emo_vec, seed=1)
    assert torch.equal(neutral, p.codes_to_mel(codes, spk, seed=1))
    moved = p.codes_to_mel(codes, spk, emo_vec=happy, seed=1)
    head, p.prosody = p.prosody, None  # the same emotion without the head: S2M gets no offset
    unshifted = p.codes_to_mel(codes, spk, emo_vec=happy, seed=1)
    p.prosody = head
    assert not torch.allclose(moved, unshifted)


def test_a_prosody_reading_s2m_without_its_head_fails_to_load(tmp_path):
    from voxsmith.checkpoints import load_safetensors, save_safetensors
    from voxsmith.pipeline import IndexTTSModel

    root = make_random_model(tmp_path / "m", prosody=True)
    tensors, config, _ = load_safetensors(root / "emotion.safetensors", kind="emotion_matrix")
    assert "prosody_weight" in tensors
    save_safetensors(
        {"feat1": tensors["feat1"], "feat2": tensors["feat2"]}, root / "emotion.safetensors",
        kind="emotion_matrix", config=config,
    )  # fmt: skip
    with pytest.raises(CheckpointError, match="prosody head"):
        IndexTTSModel.from_pretrained(root)


def test_the_table_gives_presets_their_measured_offset():
    from voxsmith.models.emotion import EMOTIONS

    w, b = torch.randn(len(MEASURES), 8), torch.zeros(len(MEASURES))
    table = torch.randn(len(EMOTIONS), len(MEASURES))
    head = ProsodyHead(w, b, table)
    weights = torch.zeros(len(EMOTIONS))
    weights[0], weights[2] = 0.5, 0.25  # half of happy mixed with a quarter of sad
    assert torch.allclose(head.preset_offset(weights), (0.5 * table[0] + 0.25 * table[2]).reshape(1, -1))
    for k in range(len(EMOTIONS)):  # at full weight, each category is exactly its row
        one = torch.zeros(len(EMOTIONS))
        one[k] = 1.0
        assert torch.allclose(head.preset_offset(one), table[k].reshape(1, -1))
    # beyond that, no measure goes past the strongest category's (intensity 2)
    limit = table.abs().amax(dim=0)
    strong = head.preset_offset(2.0 * torch.ones(len(EMOTIONS)))
    assert bool((strong.abs() <= limit + 1e-6).all()) and bool((strong.abs() >= limit - 1e-6).any())
    back = ProsodyHead.from_tensors(head.tensors())
    assert back is not None and torch.equal(back.table, table)
    assert ProsodyHead(w, b).preset_offset(weights) is None  # a head without a table
    assert ProsodyHead.from_tensors(ProsodyHead(w, b).tensors()).table is None
    with pytest.raises(CheckpointError, match="table"):
        ProsodyHead(w, b, torch.randn(7, len(MEASURES)))
    with pytest.raises(CheckpointError, match="table"):
        ProsodyHead(w, b, torch.full((len(EMOTIONS), len(MEASURES)), float("nan")))
    with pytest.raises(ConfigError, match="8 values"):
        head.preset_offset(torch.zeros(3))


def test_a_voice_hold_stops_the_pitch_at_the_categorys_own_change_and_nothing_else():
    from voxsmith.models.emotion import EMOTIONS

    w, b = torch.randn(len(MEASURES), 8), torch.zeros(len(MEASURES))
    table = 0.1 * torch.randn(len(EMOTIONS), len(MEASURES))  # small: the range hold never binds
    head = ProsodyHead(w, b, table)
    happy = torch.zeros(len(EMOTIONS))
    happy[0] = 1.0
    free, held = head.preset_offset(1.8 * happy), head.preset_offset(1.8 * happy, voice_hold=1.0)
    voice = [MEASURES.index(m) for m in VOICE_MEASURES]
    other = [k for k in range(len(MEASURES)) if k not in voice]
    assert torch.allclose(held[0, voice], table[0, voice]) and torch.allclose(
        free[0, voice], 1.8 * table[0, voice]
    )
    assert torch.allclose(held[0, other], free[0, other])  # range and loudness still exaggerated
    mixed = 0.5 * happy
    mixed[2] = 0.25  # weights under the hold: unchanged
    assert torch.allclose(head.preset_offset(mixed, voice_hold=1.0), head.preset_offset(mixed))


def test_emotion_weights_ask_s2m_for_the_table_and_clips_for_the_head(tmp_path):
    from voxsmith.models.emotion import EMOTIONS
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(make_random_model(tmp_path / "m", prosody=True))
    p = model.parts
    torch.nn.init.normal_(p.s2m.models["prosody_layer"].weight)
    spk = model.speaker_encoder(Audio(make_tone(4.0, freq=180.0), 22050))
    preset = model.emotion_encoder.preset("sad", intensity=1.5)
    sad_vec = model._emotion_vector(spk, preset)
    head_offset = p.prosody_offset(spk, sad_vec)
    assert torch.equal(p.prosody_offset(spk, sad_vec, preset.weights), head_offset)  # no table yet
    p.prosody.table = torch.randn(len(EMOTIONS), len(MEASURES))
    limit = p.prosody.table.abs().amax(dim=0)
    want = torch.clamp(1.5 * p.prosody.table[2], -limit, limit)
    assert torch.allclose(p.prosody_offset(spk, sad_vec, preset.weights), want.reshape(1, -1))
    assert torch.equal(p.prosody_offset(spk, sad_vec), head_offset)  # an emotion from a clip: the head
    # the pipeline hands the weights down: a preset's mel follows the table
    a = model.tts("你好", spk, preset, seed=2)
    p.prosody.table = torch.zeros_like(p.prosody.table)
    b = model.tts("你好", spk, preset, seed=2)
    assert a.shape == b.shape and not torch.allclose(a, b)


def test_tilt_mel_changes_the_measured_slope_by_exactly_the_ask():
    from voxsmith.models.prosody import LOGMEL_DB, TILT_LIMIT, _tilt_bins, tilt_mel

    mel = torch.randn(80, 50)
    band, logf = _tilt_bins(80)

    def slope(m):
        return float(np.polyfit(logf, LOGMEL_DB * m[band].mean(dim=1).numpy(), 1)[0])

    assert slope(tilt_mel(mel, 2.5)) - slope(mel) == pytest.approx(2.5, abs=1e-3)
    assert slope(tilt_mel(mel, -1.0)) - slope(mel) == pytest.approx(-1.0, abs=1e-3)
    assert torch.equal(tilt_mel(mel, 0.0), mel)
    assert torch.equal(tilt_mel(mel, 9.0), tilt_mel(mel, TILT_LIMIT))  # no more than the corpus ever had
    gain = tilt_mel(mel, 3.0) - mel  # held flat below 0.5 kHz and above 4 kHz
    assert torch.allclose(gain[:3], gain[0:1].expand(3, -1)) and torch.allclose(
        gain[-3:], gain[-1:].expand(3, -1)
    )
    assert torch.allclose(gain, gain[:, :1].expand_as(gain), atol=1e-5)  # the same in every frame
    for tilt in (3.0, -2.0):  # the total power stays: loudness is not the tilt's to change
        assert torch.logsumexp(2 * tilt_mel(mel, tilt), (0, 1)) == pytest.approx(
            float(torch.logsumexp(2 * mel, (0, 1))), abs=1e-4
        )


def test_a_presets_loudness_and_tilt_go_onto_the_mel_not_into_s2m(tmp_path):
    from voxsmith.models.emotion import EMOTIONS
    from voxsmith.models.prosody import LOGMEL_DB, s2m_share, tilt_mel
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(make_random_model(tmp_path / "m", prosody=True))
    p = model.parts
    spk = model.speaker_encoder(Audio(make_tone(4.0, freq=180.0), 22050))
    p.prosody.table = torch.zeros(len(EMOTIONS), len(MEASURES))
    p.prosody.table[2, MEASURES.index("tilt")] = -2.0 / SCALES[MEASURES.index("tilt")]  # sad: -2 dB/oct
    p.prosody.table[2, MEASURES.index("energy")] = -3.0 / SCALES[MEASURES.index("energy")]  # and -3 dB
    sad = model.emotion_encoder.preset("sad")
    vec = model._emotion_vector(spk, sad)
    codes = torch.arange(12) % p.codec.cfg.codebook_size
    # S2M (which reads offsets: its prosody layer is random, not zero) is asked for none of it
    assert torch.count_nonzero(s2m_share(p.prosody_offset(spk, vec, sad.weights))) == 0
    quiet = p.codes_to_mel(codes, spk, emo_vec=vec, seed=1, emo_weights=sad.weights)
    p.prosody.table.zero_()
    flat = p.codes_to_mel(codes, spk, emo_vec=vec, seed=1, emo_weights=sad.weights)
    assert torch.allclose(quiet, tilt_mel(flat, -2.0) - 3.0 / LOGMEL_DB, atol=1e-5)
    # exactly 3 dB less power, the tilt keeping it
    power = lambda m: torch.logsumexp(2 * m, dim=(-2, -1)) * LOGMEL_DB / 2  # noqa: E731
    assert float(power(flat) - power(quiet)) == pytest.approx(3.0, abs=1e-3)
    # a pitch change still goes to S2M
    p.prosody.table[0, MEASURES.index("f0_mean")] = 0.5
    happy = model.emotion_encoder.preset("happy")
    share = s2m_share(p.prosody_offset(spk, model._emotion_vector(spk, happy), happy.weights))
    assert float(share[0, MEASURES.index("f0_mean")]) == pytest.approx(0.5)


def test_calibrated_asks_replace_the_table_within_their_range_and_round_trip():
    from voxsmith.models.emotion import EMOTIONS

    w, b = torch.randn(len(MEASURES), 8), torch.zeros(len(MEASURES))
    table = torch.randn(len(EMOTIONS), len(MEASURES))
    ask = 0.5 * table
    head = ProsodyHead(w, b, table, ask)
    one = torch.zeros(len(EMOTIONS))
    one[3] = 1.0
    assert torch.allclose(head.preset_offset(one), ask[3].reshape(1, -1))  # the ask, not the table
    # the hold is the asks' own range (the strongest category's ask), not the table's
    assert torch.allclose(head.preset_offset(2.0 * one).abs().reshape(-1),
                          torch.minimum(2.0 * ask[3].abs(), ask.abs().amax(dim=0)))  # fmt: skip
    big = ProsodyHead(w, b, table, 3.0 * table).preset_offset(one)
    assert torch.allclose(big.reshape(-1), 3.0 * table[3])  # an ask past the table is asked
    back = ProsodyHead.from_tensors(head.tensors())
    assert back is not None and torch.equal(back.ask, ask) and torch.equal(back.table, table)
    assert ProsodyHead.from_tensors(ProsodyHead(w, b, table).tensors()).ask is None
    with pytest.raises(CheckpointError, match="without a table"):
        ProsodyHead(w, b, None, ask)
    with pytest.raises(CheckpointError, match="asks"):
        ProsodyHead(w, b, table, torch.full_like(table, float("nan")))


def test_calibration_moves_each_ask_until_the_rendered_change_matches_the_corpus(monkeypatch):
    """A renderer that delivers 0.6 of an ask plus a fixed bias (the GPT's own pitch, S2M's
    brightening): the loop finds the asks that deliver the targets, within their bounds."""
    import voxsmith.train.calibrate as cal
    from voxsmith.models.emotion import EMOTIONS

    g = torch.Generator().manual_seed(0)
    table = torch.randn(len(EMOTIONS), len(MEASURES), generator=g)
    bias = 0.3 * torch.randn(len(EMOTIONS), len(MEASURES), generator=g)
    head = ProsodyHead(torch.zeros(len(MEASURES), 8), torch.zeros(len(MEASURES)), table)
    targets = 0.8 * table  # reachable: (target - bias) / 0.6 stays mostly inside the range
    calls = []

    def render(model, items, seed, progress=True):
        calls.append(head.ask.clone())
        return 0.6 * head.ask + bias

    monkeypatch.setattr(cal, "delivered", render)
    ask, report = cal.calibrate(None, head, [], targets, rounds=12, progress=False)
    assert torch.equal(calls[0], table)  # starts from the table
    limit = table.abs().amax(dim=0)
    assert bool((ask.abs() <= cal.REACH * limit + 1e-6).all())
    want = (targets - bias) / 0.6
    upper, lower = cal.ask_bounds(table, targets)
    # the loop converges on what delivers the target, held within the bounds
    assert torch.allclose(ask, torch.maximum(torch.minimum(want, upper), lower), atol=1e-3)
    clear = targets.abs() >= cal.SIGN_FLOOR
    floor = clear & (want * table > 0) & (want.abs() < table.abs())  # would ask less than the table
    assert bool(floor.any()) and torch.allclose(ask[floor], table[floor])  # never lowered below it
    past = ~clear & (want.abs() > cal.REACH * limit)
    inside = (want >= lower) & (want <= upper)
    assert bool(inside.any()) and bool(((want.abs() > limit) & inside).any())  # asks past the table
    assert not bool((ask[past].abs() > cal.REACH * limit.expand_as(ask)[past] + 1e-6).any())
    assert torch.equal(head.ask, ask) and len(report.rounds) == 12
    first = max(
        abs(report.shares(0)[e][m] - 0.8)
        for e in EMOTIONS
        for m in MEASURES
        if report.shares(0)[e][m] == report.shares(0)[e][m]
    )
    assert first > 0.05  # the table itself missed
    with pytest.raises(ConfigError, match="rounds"):
        cal.calibrate(None, head, [], targets, rounds=0)
    with pytest.raises(CheckpointError, match="table"):
        cal.calibrate(
            None, ProsodyHead(torch.zeros(len(MEASURES), 8), torch.zeros(len(MEASURES))), [], targets
        )


def test_corpus_targets_read_the_full_strength_shift_scaled():
    from voxsmith.models.emotion import EMOTIONS
    from voxsmith.train.calibrate import corpus_targets

    shifts = {e: {"shift_by_strength": {"1.0": {m: float(i + k) for k, m in enumerate(MEASURES)}}}
              for i, e in enumerate(EMOTIONS)}  # fmt: skip
    shifts["calm"]["shift_by_strength"]["1.0"]["tilt"] = float("nan")
    t = corpus_targets(shifts)
    assert t.shape == (len(EMOTIONS), len(MEASURES))
    assert t[1, 2] == pytest.approx((1 + 2) / SCALES[2])
    assert t[EMOTIONS.index("calm"), MEASURES.index("tilt")] == 0.0
    del shifts["sad"]
    with pytest.raises(ConfigError, match="sad"):
        corpus_targets(shifts)


def test_calibrate_model_renders_the_presets_and_stores_the_asks(tmp_path):
    from tests.helpers import make_fake_corpus
    from voxsmith.checkpoints import load_safetensors, save_safetensors
    from voxsmith.models.emotion import EMOTIONS
    from voxsmith.models.parts import PART_FILES
    from voxsmith.pipeline import IndexTTSModel
    from voxsmith.train.calibrate import calibrate_model, pick_items

    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus, n_speakers=2, clips_per_speaker=3)
    items = pick_items(corpus, speakers=5, sentences=1)
    assert sorted(it.speaker for it in items) == ["spk0", "spk1"] and all(len(it.texts) == 1 for it in items)
    model_dir = make_random_model(tmp_path / "m", prosody=True, max_tokens=12)
    emo = model_dir / PART_FILES["emotion"]
    shifts = {e: {"shift_by_strength": {"1.0": {m: 1.0 for m in MEASURES}}} for e in EMOTIONS}
    before = emo.read_bytes()
    with pytest.raises(CheckpointError, match="no prosody table"):
        calibrate_model(model_dir, corpus, shifts, speakers=1, sentences=1, rounds=1)
    assert emo.read_bytes() == before  # nothing written
    tensors, config, _ = load_safetensors(emo, kind="emotion_matrix")
    table = torch.randn(len(EMOTIONS), len(MEASURES), generator=torch.Generator().manual_seed(1))
    save_safetensors({**tensors, "prosody_table": table}, emo, kind="emotion_matrix", config=config)
    (model_dir / "MODEL_CARD.md").write_text("# card\n\n## Data\n\nkept\n\n## Emotion presets\n\nstale\n")
    report = calibrate_model(model_dir, corpus, shifts, speakers=1, sentences=1, rounds=1, threads=1)
    assert len(report.rounds) == 1 and set(report.ask) == set(EMOTIONS)
    head = IndexTTSModel.from_pretrained(model_dir).parts.prosody
    assert head.ask is not None and torch.equal(head.table, table)
    assert not torch.equal(head.ask, table)  # moved by what the render missed
    assert bool((head.ask.abs() <= table.abs().amax(dim=0) + 1e-6).all())
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert card.startswith("# card\n\n## Data\n\nkept\n") and "stale" not in card
    assert card.count("## Emotion presets") == 1 and "dev calibrate" in card
    assert f"| happy | {head.named_table(asks=True)['happy']['f0_mean']:+.2f} |" in card
