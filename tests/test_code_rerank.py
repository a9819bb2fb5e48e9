"""Code candidates: several GPT samples per segment, the one whose codes the content encoder's
CTC head reads closest to the text kept (``code_candidates``, ``score_codes``)."""

from __future__ import annotations

import torch

from voxsmith import pipeline
from voxsmith.check.expected import segment_units
from voxsmith.models.units import split_syllable
from voxsmith.text.frontend import TextFrontend


def test_the_content_head_scores_codes_that_say_the_units_best(short_model):
    """Centroid ``c`` pointing along feature ``c``, which the CTC head reads as unit ``c``: codes
    that spell the units score better than codes that spell something else."""
    p = short_model.parts
    k, dim = p.codec.centroids.shape
    units = [5, 7, 9]
    assert max(units) < min(k, dim, p.content.ctc_head.out_features)
    saved = p.codec.centroids.clone(), p.content.ctc_head.weight.clone(), p.content.ctc_head.bias.clone()
    try:
        p.codec.centroids.zero_()
        p.codec.centroids[torch.arange(min(k, dim)), torch.arange(min(k, dim))] = 1.0
        with torch.no_grad():
            p.content.ctc_head.weight.zero_()
            p.content.ctc_head.bias.zero_()
            p.content.ctc_head.weight[torch.arange(min(dim, 12)), torch.arange(min(dim, 12))] = 10.0
        right = torch.tensor([5, 5, 7, 9, 9])
        wrong = torch.tensor([5, 5, 7, 7, 7])  # the last unit never said
        short = torch.tensor([5])
        scores = p.score_codes([right, wrong, short, torch.tensor([], dtype=torch.long)], units)
        assert scores[0] < scores[1] and scores[0] < scores[2] and scores[3] == float("inf")
    finally:
        p.codec.centroids.copy_(saved[0])
        with torch.no_grad():
            p.content.ctc_head.weight.copy_(saved[1])
            p.content.ctc_head.bias.copy_(saved[2])


def test_the_best_scored_candidate_is_kept_and_one_candidate_is_plain_sampling(
    short_model, short_spk, monkeypatch
):
    p = short_model.parts
    ids = p.frontend().process("你好").segment_tokens[0]

    def codes(n, units=None):
        p.code_candidates = n
        g = torch.Generator().manual_seed(3)
        return p.generate_codes(ids, short_spk, short_spk.emo_vec, p.default_sampling(), 12, g, units)

    try:
        single = codes(1, [5, 7])
        assert torch.equal(codes(4, None), single)  # no units to score: one plain sample, as with 1
        seen = []

        def score(candidates, units):
            seen.append([c.clone() for c in candidates])
            return [float(-i) for i in range(len(candidates))]  # the last candidate is best

        monkeypatch.setattr(p, "score_codes", score)
        best = codes(4, [5, 7])
        assert len(seen[0]) == 4 and torch.equal(best, seen[0][-1])
        assert all(len(c) == 12 for c in seen[0])  # an exact count holds for every candidate
        assert any(not torch.equal(seen[0][0], c) for c in seen[0][1:])  # they are different samples
        p.generate_codes(
            ids, short_spk, short_spk.emo_vec, p.default_sampling(), 12, None, [5, 7], candidates=2
        )
        assert len(seen[1]) == 2  # a pass that asks for fewer draws gets that many
    finally:
        p.code_candidates = 1


def test_the_readings_a_user_set_have_their_everyday_rivals():
    """A glossary term and an inline reading pin their syllables; the rival is what the frontend
    reads without them, and segment_units says the rival in its place."""
    from voxsmith.check.expected import pinned_rivals
    from voxsmith.text.glossary import Glossary

    fe = TextFrontend(glossary=Glossary.from_dict({"会稽": "kuai4 ji1"}))
    text = "他在会稽读书，‹还|hai2›书了。"
    result = fe.process(text)
    rivals = pinned_rivals(fe, text, result.syllables)
    readings = [s.pinyin for s in result.syllables]
    assert {readings[k]: r for k, r in rivals.items()} == {"kuai4": "hui4", "hai2": "huan2"}
    k = readings.index("kuai4")
    said, alt = segment_units(result), segment_units(result, {k: "hui4"})
    flat_said, flat_alt = sum(said, []), sum(alt, [])
    assert flat_said != flat_alt and len(flat_said) == len(flat_alt)
    assert [(a, b) for a, b in zip(flat_said, flat_alt, strict=True) if a != b] == [
        ("k", "h"),
        ("uai4", "ui4"),
    ]
    assert pinned_rivals(TextFrontend(), "他在银‹行|hang2›工作。") == {}  # what it reads anyway


def test_synthesis_with_candidates_repeats_with_its_seed(short_model, short_spk):
    p = short_model.parts
    try:
        p.code_candidates = 3
        a = short_model.synthesize("你好，世界。Hello there.", speaker_embedding=short_spk, seed=5)
        b = short_model.synthesize("你好，世界。Hello there.", speaker_embedding=short_spk, seed=5)
        assert a.audio.samples.size > 0 and (a.audio.samples == b.audio.samples).all()
    finally:
        p.code_candidates = 1


def test_segment_units_follow_the_segments():
    fe = TextFrontend(max_tokens=12)
    result = fe.process("我们班一共有二十一个学生，其中六个是新来的。")
    per = segment_units(result)
    assert len(per) == len(result.segments) > 1
    assert per[0][:4] == ["w", "o3", "m", "en5"]
    assert sum(map(len, per)) == sum(len(split_syllable(s.pinyin)) for s in result.syllables)


def test_a_length_control_starts_from_the_best_read_lengths(short_model, short_spk, monkeypatch):
    """Plain synthesis keeps the best-read of free-length candidates; a duration ratio (or an
    emotion's rate) measures its neutral length the same way, then draws candidates at exactly the
    scaled count, so a control is measured against the length a plain take would have."""
    p = short_model.parts
    calls = []
    original = p.generate_codes

    def logged(ids, spk_, emo_vec, sampling, target, gen, units=None, candidates=None):
        out = original(ids, spk_, emo_vec, sampling, target, gen, units, candidates=candidates)
        calls.append((bool(units), target, len(out)))
        asked.append(candidates)
        return out

    asked = []

    monkeypatch.setattr(p, "generate_codes", logged)
    try:
        p.code_candidates = 3
        short_model.synthesize("你好", speaker_embedding=short_spk, seed=2)
        assert [(u, t) for u, t, _ in calls] == [(True, None)]  # one scored, free-length batch
        calls.clear()
        short_model.synthesize("你好", speaker_embedding=short_spk, seed=2, duration_ratio=0.8)
        (u0, t0, n0), (u1, t1, n1) = calls
        assert u0 and t0 is None and u1 and t1 == n1 == round(0.8 * n0)
        # the length pass draws no more than it needs for a length, the take the full count
        assert asked[-2:] == [pipeline.LENGTH_PASS_CANDIDATES, None]
        calls.clear()
        short_model.synthesize("你好", speaker_embedding=short_spk, seed=2, target_tokens=7)
        assert calls == [(True, 7, 7)]  # an exact count needs no length pass
    finally:
        p.code_candidates = 1
