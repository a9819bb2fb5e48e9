"""Pronunciation checker (voxsmith.check): alignment, GOP decisions, content spans, JSON
contract, the debug training recipe, the CLI (the check loop: test_check_loop.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers import make_fake_corpus, make_tone
from voxsmith.audio import Audio
from voxsmith.check.align import token_spans, viterbi_align
from voxsmith.check.checker import PronunciationChecker
from voxsmith.check.config import Calibration, CheckerConfig
from voxsmith.check.content import ContentChecker, ContentResult, Span, find_spans
from voxsmith.check.expected import expected_tokens
from voxsmith.check.gop import fit_threshold
from voxsmith.check.model import PronRecognizer, load_checker, save_checker
from voxsmith.check.report import CheckReport, SyllableCheck
from voxsmith.cli.main import main
from voxsmith.errors import CheckpointError, DataError
from voxsmith.eval.asr import AsrBackend, AsrJudge, Transcript
from voxsmith.models.units import UNITS, split_syllable, units_to_ids
from voxsmith.text.frontend import TextFrontend
from voxsmith.train.checker import CheckerTrainConfig, train_checker

U = len(UNITS)


def posteriors(segments: list[tuple[int, int]], n_units: int = U, peak: float = 0.9) -> torch.Tensor:
    """(T, n_units) log-posteriors: each (unit, frames) segment peaked on that unit."""
    rows = []
    for unit, frames in segments:
        row = np.full(n_units, (1 - peak) / (n_units - 1))
        row[unit] = peak
        rows += [row] * frames
    return torch.log(torch.tensor(np.array(rows), dtype=torch.float32))


def said(readings: list[str]) -> torch.Tensor:
    """Posteriors of a clip that says these toned syllables (3 frames a unit, blanks around)."""
    segs = [(0, 3)]
    for r in readings:
        for u in units_to_ids(split_syllable(r)):
            segs += [(u, 3), (0, 2)]
    return posteriors(segs)


# --- alignment ---------------------------------------------------------------------------


def test_viterbi_recovers_the_spans_of_a_known_path():
    segs = [(0, 2), (2, 3), (0, 1), (3, 2), (0, 1), (3, 2), (4, 3), (0, 2)]
    lp = posteriors(segs, n_units=6).numpy()
    al = viterbi_align(lp, [2, 3, 3, 4])
    assert al is not None and al.n_frames == 16
    assert al.spans.tolist() == [[2, 4], [6, 7], [9, 10], [11, 13]]
    assert token_spans(al, [1, 2, 1]).tolist() == [[2, 4], [6, 10], [11, 13]]
    # a repeated unit needs a blank between its copies: 3 frames fit "3 3", 2 do not
    assert viterbi_align(posteriors([(3, 3)], n_units=6).numpy(), [3, 3]) is not None
    assert viterbi_align(posteriors([(3, 2)], n_units=6).numpy(), [3, 3]) is None
    assert viterbi_align(lp, []) is None


# --- GOP decisions -----------------------------------------------------------------------


class PosteriorChecker(PronunciationChecker):
    """A checker whose recogniser output is given (no audio model needed)."""

    def __init__(self, lp: torch.Tensor, **kwargs):
        cal = Calibration(poly_threshold=0.0, poly_scale=1.0, syl_threshold=0.0, syl_scale=1.0, fitted=True)
        super().__init__(PronRecognizer(CheckerConfig.debug()), cal, **kwargs)
        self.lp = lp

    def log_probs(self, audio, pitch=None):
        return self.lp


def test_gop_flags_the_wrong_polyphone_reading_and_passes_the_right_one():
    clip = Audio(make_tone(1.0), 22050)
    good = PosteriorChecker(said(["yin2", "hang2"])).check(clip, "银行", content=False)
    assert good.ok and [s.heard for s in good.syllables] == ["yin2", "hang2"]
    assert good.syllables[1].polyphone and good.syllables[1].confidence > 0.99
    bad = PosteriorChecker(said(["yin2", "xing2"])).check(clip, "银行", content=False)
    s = bad.syllables[1]
    assert not bad.ok and (s.text, s.expected, s.heard, s.ok) == ("行", "hang2", "xing2", False)
    assert s.confidence < 0.01 and bad.misread == [s]


def test_tones_of_plain_syllables_are_judged_only_with_check_all():
    clip = Audio(make_tone(1.0), 22050)
    lp = said(["ta3", "hen3", "gao1"])
    loose = PosteriorChecker(lp).check(clip, "他很高", content=False)
    assert loose.ok and loose.syllables[0].heard == "ta3" and not loose.syllables[0].judged
    strict = PosteriorChecker(lp, check_all=True).check(clip, "他很高", content=False)
    assert not strict.ok and [s.ok for s in strict.syllables] == [False, True, True]


def test_glossary_readings_are_judged_against_the_everyday_reading():
    """月 has one reading in the polyphone table: under a glossary (月氏 rou4 zhi1) the checker
    must still weigh rou4 against the yue4 the plain frontend would say, and judge it."""
    from voxsmith.text.glossary import Glossary

    clip = Audio(make_tone(1.0), 22050)
    gloss = TextFrontend(glossary=Glossary.from_dict({"月氏": "rou4 zhi1"}))
    plain_said = said(["yue4", "zhi1", "lai2", "le5"])
    rep = PosteriorChecker(plain_said, frontend=gloss).check(clip, "月氏来了", content=False)
    yue = rep.syllables[0]
    assert (yue.expected, yue.heard, yue.judged, yue.ok) == ("rou4", "yue4", True, False)
    assert "yue4" in yue.alternatives and rep.misread == [yue]
    good = PosteriorChecker(said(["rou4", "zhi1", "lai2", "le5"]), frontend=gloss).check(
        clip, "月氏来了", content=False
    )
    assert good.ok and good.syllables[0].heard == "rou4" and good.syllables[0].judged
    # without a glossary 月 is plain: not judged, nothing to weigh it against
    none = PosteriorChecker(plain_said).check(clip, "月氏来了", content=False)
    assert none.ok and not none.syllables[0].judged
    # explicit rivals work on any syllable
    _, checks = PosteriorChecker(plain_said).pronunciation(clip, "月氏来了", rivals={2: ("lei2",)})
    assert checks[2].judged and checks[2].heard == "lai2" and "lei2" in checks[2].alternatives


def test_a_clip_too_short_for_the_text_fails_every_syllable():
    clip = Audio(make_tone(1.0), 22050)
    rep = PosteriorChecker(said(["ni3"])).check(clip, "你好吗我很好谢谢你", content=False)
    assert not rep.ok and all(s.heard == "" and s.confidence == 0.0 for s in rep.syllables)


def test_fit_threshold_keeps_false_alarms_under_target():
    rng = np.random.default_rng(0)
    thr, slope, st = fit_threshold(rng.normal(6, 1, 300), rng.normal(-6, 1, 300), 0.02)
    assert -4 < thr < 4 and slope > 0.5 and st["detection"] == 1.0 and st["false_alarm"] == 0.0
    pos, neg = rng.normal(1, 1, 500), rng.normal(-1, 1, 500)  # overlapping
    thr, _, st = fit_threshold(pos, neg, 0.05)
    assert (pos < thr).mean() <= 0.05 and st["false_alarm"] <= 0.05 and 0.2 < st["detection"] < 0.9
    # perfectly separated: the threshold sits mid-gap, the confidence slope stays finite
    thr, slope, st = fit_threshold(np.array([5.0, 8.0, 9.0]), np.array([-5.0, -7.0, -9.0]), 0.02)
    assert thr == 0.0 and slope < 5 and st["detection"] == 1.0 and st["false_alarm"] == 0.0
    # slack: wrong readings far below the boundary let the threshold drop, losing at most that share
    pos, neg = rng.normal(5, 3, 400), rng.normal(-12, 3, 400)
    plain, _, st0 = fit_threshold(pos, neg, 0.02)
    low, _, st1 = fit_threshold(pos, neg, 0.02, slack=0.02)
    assert (
        low < plain - 1
        and st1["detection"] >= st0["detection"] - 0.02
        and st1["false_alarm"] <= st0["false_alarm"]
    )


# --- content check -----------------------------------------------------------------------


def test_content_spans_skips_repeats_and_pinyin_wildcards():
    ref = list("我们今天去公园散步")
    skipped, repeated, edits = find_spans(ref, list("我们去公园散步"))
    assert skipped == [Span("今天", 2)] and not repeated and edits == 2
    skipped, repeated, _ = find_spans(ref, list("我们今天今天去公园散步"))
    assert repeated and repeated[0].text == "今天" and not skipped
    skipped, repeated, edits = find_spans(["他", "在", "银", "hang2"], list("他在银行"))
    assert (skipped, repeated, edits) == ([], [], 0)
    skipped, _, edits = find_spans(ref, list("我们今天去公园散布"))  # one wrong character: no span
    assert not skipped and edits == 1


class FixedAsr(AsrBackend):
    name = "fixed"

    def __init__(self, text: str):
        self.text = text

    def transcribe(self, samples, lang=None):
        return Transcript(self.text, lang or "zh")


def test_content_checker_with_a_fake_judge():
    clip = Audio(make_tone(1.0), 22050)
    checker = ContentChecker(AsrJudge(FixedAsr("他在工作，头发很长")))
    res = checker.check(clip, "他在银行工作，头发很长。")
    assert res.skipped == [Span("银行", 2)] and not res.ok
    assert res.cer == pytest.approx(2 / 10)
    assert (
        ContentChecker(AsrJudge(FixedAsr("他在银行工作头发很长"))).check(clip, "他在银行工作，头发很长。").ok
    )


# --- JSON contract -----------------------------------------------------------------------


def test_report_json_has_exactly_the_issue_schema():
    rep = CheckReport(
        [
            SyllableCheck("银", "yin2", "yin2", 0.97, True, 0),
            SyllableCheck("行", "hang2", "xing2", 0.01, False, 1),
        ],
        ContentResult(0.1, [Span("很长", 5)], []),
    )
    d = json.loads(json.dumps(rep.to_dict(), ensure_ascii=False))
    assert set(d) == {"ok", "syllables", "content"} and d["ok"] is False
    assert all(set(s) == {"text", "expected", "heard", "confidence", "ok"} for s in d["syllables"])
    assert d["syllables"][1] == {
        "text": "行",
        "expected": "hang2",
        "heard": "xing2",
        "confidence": 0.01,
        "ok": False,
    }
    assert set(d["content"]) == {"cer", "skipped", "repeated"} and d["content"]["cer"] == 0.1
    assert d["content"]["skipped"] == [{"text": "很长", "index": 5}]


def test_syllables_follow_the_frontend_order_with_alternatives():
    result, tokens = expected_tokens("他在银HANG2工作，Hello 头发很长。")
    zh = [t for t in tokens if t.kind == "zh"]
    assert [(t.text, t.reading) for t in zh] == [(s.text, s.pinyin) for s in result.syllables]
    assert any(t.kind == "en" for t in tokens)
    chang = zh[-1]
    assert chang.text == "长" and chang.reading == "chang2" and "zhang3" in chang.alternatives


# --- overrides and the loop --------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A debug checker trained 12 steps, then resumed to 18 (module-wide)."""
    root = tmp_path_factory.mktemp("checker")
    make_fake_corpus(root / "corpus")
    cfg = CheckerTrainConfig(
        steps=12,
        max_batch_frames=1200,
        warmup=1,
        log_every=2,
        val_every=6,
        threads=1,
        swap_minutes=0,
        voice_minutes=0,
    )
    train_checker(root / "corpus", root / "run", cfg, CheckerConfig.debug())
    first = (root / "run" / "losses.jsonl").read_text().splitlines()
    cfg.steps = 18
    path = train_checker(root / "corpus", root / "run", cfg, CheckerConfig.debug())
    return root, path, first


def test_debug_recipe_reduces_loss_and_resumes(trained):
    root, path, first = trained
    rows = [json.loads(x) for x in (root / "run" / "losses.jsonl").read_text().splitlines()]
    ctc = [r["ctc"] for r in rows if "ctc" in r]
    assert ctc[-1] < ctc[0]
    assert rows[: len(first)] == [json.loads(x) for x in first]  # resumed: the old log kept as it was
    steps = [r["step"] for r in rows if "ctc" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 18
    assert torch.load(root / "run" / "state.pt", weights_only=False)["step"] == 18
    model, cal, _ = load_checker(path)
    assert model.cfg == CheckerConfig.debug() and cal.stats["split"] == "valid"
    assert (root / "run" / "losses.png").is_file()


def test_recalibrate_fits_the_tone_judge_without_training(trained, tmp_path):
    import shutil

    root, _, _ = trained
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    cfg = CheckerTrainConfig(
        steps=18,
        max_batch_frames=1200,
        warmup=1,
        threads=1,
        swap_minutes=0,
        voice_minutes=0,
        tone_min_syllables=4,
    )
    path = train_checker(root / "corpus", run, cfg, CheckerConfig.debug(), recalibrate=True)
    _, cal, judge = load_checker(path)
    assert judge is not None and cal.stats["tone_judge"]["syllables"] >= 4
    assert torch.load(run / "state.pt", weights_only=False)["step"] == 18  # no training, no new state
    last = json.loads((run / "losses.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 18 and "tone_weight" in last and "val_unit_error" in last
    with pytest.raises(DataError, match="no trained checker"):
        train_checker(root / "corpus", tmp_path / "empty", cfg, CheckerConfig.debug(), recalibrate=True)


def test_checker_file_round_trip_and_kind_check(tmp_path):
    model = PronRecognizer(CheckerConfig.debug())
    cal = Calibration(poly_threshold=-1.5, fitted=True)
    path = save_checker(model, cal, tmp_path / "c.safetensors")
    loaded, cal2, _ = load_checker(path)
    assert cal2.poly_threshold == -1.5 and cal2.fitted
    mel = torch.randn(1, CheckerConfig.debug().in_channels, 41)
    logits, lens = loaded(mel)
    assert logits.shape == (1, 21, U) and lens.tolist() == [21]
    padded, _ = loaded(torch.cat([mel, torch.randn(1, mel.shape[1], 9)], -1), torch.tensor([41]))
    assert torch.allclose(padded[:, :21], logits, atol=1e-3)  # padding does not leak
    conv_only = PronRecognizer(CheckerConfig(conv_dim=16, conv_layers=3, rnn_layers=0, pitch=False)).eval()
    a, _ = conv_only(mel[:, :80])
    b, _ = conv_only(torch.cat([mel[:, :80], torch.randn(1, 80, 9)], -1), torch.tensor([41]))
    assert a.shape == (1, 21, U) and torch.allclose(a, b[:, :21], atol=1e-4)
    from voxsmith.checkpoints import save_safetensors

    other = save_safetensors(model.state_dict(), tmp_path / "x.safetensors", kind="content")
    with pytest.raises(CheckpointError, match="expected 'pron_checker'"):
        load_checker(other)


def test_calibration_voices_are_held_out_of_training():
    from types import SimpleNamespace

    from voxsmith.train.checker import hold_out_voices

    rows = [{"voice": f"ttskit:V{i % 10}", "speaker": f"s{i % 20}"} for i in range(200)]
    data = SimpleNamespace(clips=[SimpleNamespace(row=r) for r in rows])
    train, calib, held = hold_out_voices(data, list(range(200)), 2, seed=0)
    assert len(held) == 2 and len(train) == 160 and len(calib) == 40
    assert {rows[i]["voice"] for i in calib} == set(held)
    assert not {rows[i]["voice"] for i in train} & set(held)
    assert hold_out_voices(data, list(range(30)), 4, seed=0) == (list(range(30)), [], [])  # too few voices


def test_pitch_features_follow_a_glide_on_the_mel_grid():
    from voxsmith.audio import AudioProcessor
    from voxsmith.check.pitch import pitch_features

    sr = 22050
    t = np.arange(sr) / sr
    phase = 2 * np.pi * np.cumsum(150 * 2**t) / sr  # 150 -> 300 Hz: one octave up
    x = (0.3 * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(np.float32)
    x = np.concatenate([x, 0.01 * np.random.default_rng(0).standard_normal(sr // 2).astype(np.float32)])
    p = pitch_features(x)
    assert p.shape == (3, AudioProcessor.mel(x).shape[-1])
    voiced = p[2] > 0.45
    assert voiced[5:80].all() and not voiced[-30:].any()
    rise = p[0, 80] - p[0, 10]  # ~70 frames of a one-octave-per-second glide
    assert 0.7 < float(rise) / (70 * 256 / sr) < 1.3
    assert abs(float(p[0][voiced].mean())) < 1e-5  # speaker-normalised: mean 0 over voiced frames


def test_swap_set_helpers():
    from voxsmith.train.checker_data import annotate, clauses_of, third_tone_sandhi

    assert third_tone_sandhi(["ni3", "hao3"]) == ["ni2", "hao3"]
    assert third_tone_sandhi(["wo3", "hen3", "hao3", "ma1"]) == ["wo3", "hen2", "hao3", "ma1"]
    assert clauses_of("你好，银行。", ["ni3", "hao3", "yin2", "hang2"]) == [
        ["ni3", "hao3"],
        ["yin2", "hang2"],
    ]
    text = annotate("他在银行工作。", ["ta1", "zai4", "yin2", "xing2", "gong1", "zuo4"], {3})
    assert text == "他在银‹行|xing2›工作。"
    assert [s.pinyin for s in TextFrontend().process(text).syllables][3] == "xing2"  # labels = the text


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_check_json_and_errors(trained, capsys, tmp_path, monkeypatch):
    root, path, _ = trained
    wav = str(root / "corpus" / "wavs" / "spk0_000.wav")
    code, out, _ = _cli(
        capsys, "check", wav, "--text", "你好", "--model", str(path), "--no-content", "--json"
    )
    d = json.loads(out)
    assert code == (0 if d["ok"] else 1) and set(d) == {"ok", "syllables", "content"}
    assert [s["text"] for s in d["syllables"]] == ["你", "好"] and d["content"]["cer"] is None
    code, out, err = _cli(
        capsys, "check", wav, "--text", "你好", "--model", str(tmp_path / "none.safetensors")
    )
    assert code == 2 and out == "" and "file not found" in err and len(err.strip().splitlines()) == 1
    import voxsmith.check.checker as checker_mod

    monkeypatch.setattr(checker_mod, "DEFAULT_MODEL", tmp_path / "assets" / "checker.safetensors")
    code, _, err = _cli(capsys, "check", wav, "--text", "你好")
    assert code == 2 and "not installed" in err and "voxsmith train checker" in err
    code, _, err = _cli(
        capsys, "check", str(tmp_path / "missing.wav"), "--text", "你好", "--model", str(path)
    )
    assert code == 2 and "missing.wav: file not found" in err


def test_cli_train_checker_stage(trained, capsys):
    root, _, _ = trained
    out = root / "cli-run"
    argv = ["train", "checker", "--config", "debug", "--data", str(root / "corpus"), "--out", str(out)]
    code, stdout, _ = _cli(
        capsys, *argv, "--steps", "3", "--swap-minutes", "0", "--voice-minutes", "0", "--threads", "1"
    )
    assert code == 0 and json.loads(stdout) == {
        "stage": "checker",
        "weights": str(out / "checker.safetensors"),
    }
    assert load_checker(out / "checker.safetensors")[0].cfg == CheckerConfig.debug()
    code, _, err = _cli(capsys, *argv, "--recalibrate", "--fresh")
    assert code == 2 and "drop --fresh" in err


def _extra_voice_corpus(tmp_path):
    import json

    from tests.helpers import make_fake_corpus
    from voxsmith.data.speakers import Roster, Speaker, SpeakerPart

    make_fake_corpus(tmp_path, n_speakers=2, clips_per_speaker=4)
    used = [
        Speaker("spk0", "engine", (("zh", SpeakerPart("ttskit:Aijia")),)),
        Speaker("spk1", "engine", (("zh", SpeakerPart("ttskit:Aiyue")),)),
    ]
    (tmp_path / "speakers.json").write_text(
        json.dumps({"speakers": [s.to_dict() for s in used], "splits": {"spk0": "train", "spk1": "test"}}),
        encoding="utf-8",
    )
    voices = {
        "ttskit:Aijia": {"lang": "zh", "ok": True, "f0": 228.0},  # a train speaker's voice
        "ttskit:Aiyue": {"lang": "zh", "ok": True, "f0": 204.0},  # a test speaker's voice
        "ttskit:Aina": {"lang": "zh", "ok": True, "f0": 237.0},  # unused: an extra reader
        "ttskit:Xiaowei": {"lang": "zh", "ok": False, "f0": 228.0},  # failed the screening
        "flite:slt": {"lang": "en", "ok": True, "f0": 180.0},  # not Mandarin
    }
    return Roster(used, {"voices": voices})


def test_extra_readers_are_unused_screened_mandarin_voices(tmp_path):
    from voxsmith.train.checker_data import extra_readers

    readers = extra_readers(tmp_path, _extra_voice_corpus(tmp_path))
    assert [r.id for r in readers] == ["xv-aina", "xv-aina-x", "xv-aina-y", "xv-aina-z"]
    assert {r.part("zh").voice for r in readers} == {"ttskit:Aina"}
    assert readers[1].part("zh").timbre.f0_scale < 1.0  # a high voice's other register is lower


def test_swap_set_with_extra_readers_labels_clips_by_reader(tmp_path, monkeypatch):
    import json

    from voxsmith.audio import Audio
    from voxsmith.train import checker_data
    from voxsmith.train.checker_data import build_swap_set, extra_readers

    readers = extra_readers(tmp_path, _extra_voice_corpus(tmp_path))
    rendered: list[str] = []

    def render(self, clauses, seed=0):
        rendered.append(self.speaker.id)
        return Audio(np.zeros(22050, dtype=np.float32), 22050)

    monkeypatch.setattr(checker_data, "PinyinTtskit", lambda: None)
    monkeypatch.setattr(checker_data.PinyinSpeaker, "render", render)
    monkeypatch.setattr(checker_data, "surface_readings", lambda s, r: list(r))
    monkeypatch.setattr(checker_data, "swap_readings", lambda c, r, rng, p, q: ["ni2", *r[1:]])
    out = build_swap_set(tmp_path, tmp_path / "voices", minutes=0.05, seed=1, readers=readers)
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 and len(rendered) == 3  # 3 s of clips reach 0.05 min
    by_id = {r.id: r for r in readers}
    for row in rows:
        assert row["id"].startswith("voice-spk") and row["speaker"] in by_id
        assert row["voice"] == "ttskit:Aina" and row["swapped"] == [0] and row["text"].startswith("‹你|ni2›")
    assert build_swap_set(tmp_path, tmp_path / "voices", minutes=0.05, seed=1, readers=readers) == out
    assert len(rendered) == 3  # resumed: nothing rendered twice
