"""``voxsmith prepare``: slicing, transcript pairing, filters with reasons, resume, errors, CLI.

Speech is synthesised with espeak-ng (fast, deterministic). Most tests trust the given
transcripts (``max_cer=None``) or pass a fake ASR judge; one test runs the real Whisper judge
(alignment of a long transcript and the disagreement filter).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxsmith.errors import ConfigError, DataError, TextError
from voxsmith.eval.asr import Transcript
from voxsmith.prepare import FilterConfig, PrepareConfig, SliceConfig, prepare
from voxsmith.prepare.align import split_transcript
from voxsmith.prepare.process import SourceProcessor
from voxsmith.prepare.quality import level_dbfs, signal_problem
from voxsmith.prepare.slicing import plan_clips
from voxsmith.prepare.transcripts import TranscriptIndex
from voxsmith.prepare.vad import Span

SENTENCES = [
    "The library is the oldest building in the town.",
    "Every morning the baker opens his shop at six.",
    "Children walk past on their way to school.",
    "In the spring the fields turn green again.",
]
LONG_TEXT = " ".join(SENTENCES)


def espeak(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> np.ndarray:
    """Synthesise ``text`` into ``path`` (22050 Hz wav); returns the samples."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return sf.read(path, dtype="float32")[0]


@pytest.fixture(scope="module")
def voice(tmp_path_factory) -> dict[str, np.ndarray]:
    """Speech pieces at 22050 Hz: each sentence, a 'Hi.' that is too short, and a Mandarin line."""
    d = tmp_path_factory.mktemp("espeak")
    out = {f"s{k}": espeak(t, d / f"s{k}.wav") for k, t in enumerate(SENTENCES)}
    out["hi"] = espeak("Hi.", d / "hi.wav")
    out["zh"] = espeak("我们在重庆见面。", d / "zh.wav", voice="cmn")
    return out


def write(path: Path, x: np.ndarray, sr: int = 22050, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr, **kw)
    return path


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 22050), dtype=np.float32)


def long_recording(voice: dict[str, np.ndarray], pause: float = 1.2) -> np.ndarray:
    parts = [silence(0.5)]
    for k in range(len(SENTENCES)):
        parts += [voice[f"s{k}"], silence(pause)]
    return np.concatenate(parts)


def config(raw: Path, out: Path, **kw) -> PrepareConfig:
    """A fast configuration: no DNSMOS, given texts trusted, no feature caches, no progress bar."""
    filters = kw.pop("filters", FilterConfig(dnsmos_floor=0.0, max_cer=None))
    kw = {"lang": "en", "features": False, "progress": False, **kw}
    return PrepareConfig(raw=raw, out=out, filters=filters, **kw)


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


class FakeAsr:
    """Stands in for the ASR judge: the same transcript for every clip, and a call count."""

    def __init__(self, text: str) -> None:
        self.text, self.calls, self.hints = text, 0, []

    def transcribe(self, clip, lang=None) -> Transcript:
        self.calls += 1
        self.hints.append(lang)
        return Transcript(self.text, lang or "en")


# -- units: slicing, alignment, signal checks ------------------------------------------------------


def test_plan_clips_groups_regions_within_limits_and_pads_into_gaps():
    cfg = SliceConfig(min_s=2.0, max_s=8.0, target_s=4.0, max_gap_s=1.0, pad_s=0.2)
    regions = [
        Span(1.0, 2.5),
        Span(2.8, 4.6),
        Span(5.0, 7.0),
        Span(9.5, 12.0),
        Span(12.3, 12.8),
        Span(20.0, 20.6),
    ]
    clips = plan_clips(regions, 30.0, cfg)
    # a 2.5 s silence (7.0 -> 9.5) always splits; the lone 0.6 s region stays alone (too short later)
    assert [(c.start, c.end) for c in clips] == [(0.8, 7.2), (9.3, 13.0), (19.8, 20.8)]
    for a, b in zip(clips, clips[1:], strict=False):
        assert a.end <= b.start  # no audio shared between clips
    # a short source is one clip, trimmed to its speech plus padding
    assert [(c.start, c.end) for c in plan_clips([Span(0.5, 1.0), Span(3.0, 4.0)], 5.0, cfg)] == [(0.3, 4.2)]
    assert plan_clips([], 30.0, cfg) == []


def test_split_transcript_follows_the_asr_of_each_slice():
    text = "The town sits by the river, where it bends twice. Every morning the baker opens at six!"
    hyps = ["the town sits by the liver", "", "where it bends twice every", "morning the maker opens at 6"]
    assert split_transcript(text, hyps) == [
        "The town sits by the river,",
        "",
        "where it bends twice. Every",
        "morning the baker opens at six!",
    ]
    zh = split_transcript(
        "今天天气很好，我们去公园散步吧。明天會下雨。", ["今天天气很好", "我们去公园散步吧", "明天会下鱼"]
    )
    assert zh == ["今天天气很好，", "我们去公园散步吧。", "明天會下雨。"]


def test_signal_checks_name_each_reason():
    sl, fl = SliceConfig(), FilterConfig()
    speech = 0.3 * np.sin(np.linspace(0, 2000, 22050 * 3)).astype(np.float32)
    assert signal_problem(speech, 3.0, sl, fl) is None
    assert signal_problem(speech, 1.0, sl, fl)[0] == "too_short"
    assert signal_problem(speech, 16.0, sl, fl)[0] == "too_long"
    assert signal_problem(np.clip(speech * 10, -1, 1), 3.0, sl, fl)[0] == "clipping"
    assert signal_problem(speech * 0.001, 3.0, sl, fl)[0] == "too_quiet"
    assert level_dbfs(np.zeros(10)) < -150


# -- whole runs --------------------------------------------------------------------------------------


def test_long_recording_is_sliced_into_clips_of_the_allowed_length(tmp_path, voice):
    raw, out = tmp_path / "alice", tmp_path / "ds"
    rec = long_recording(voice)
    write(raw / "session.flac", np.stack([rec, rec], axis=1), 22050)  # stereo flac: mixed down
    fake = FakeAsr("words")
    cfg = config(raw, out, lang="auto", slicing=SliceConfig(max_s=6.0, target_s=2.0))
    report = prepare(cfg, processor=SourceProcessor(cfg, asr=fake))
    rows = manifest(out)
    assert len(rows) == len(SENTENCES)  # one clip per sentence: the pauses are the cuts
    for r in rows:
        assert 2.0 <= r["duration_s"] <= 6.0 and r["text"] == "words" and r["text_origin"] == "asr"
        assert r["speaker"] == "alice" and r["lang"] == "en" and r["phones"] and r["units"]
        info = sf.info(out / r["path"])
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        x = sf.read(out / r["path"], dtype="float32")[0]
        assert abs(level_dbfs(x) - (-20.0)) < 1.0  # loudness-normalised
    assert {r["split"] for r in rows} == {"train", "valid"}
    assert report["minutes_found"] == pytest.approx(len(rec) / 22050 / 60, abs=1e-3)
    assert report["clips_kept"] == 4 and report["dropped"] == {}
    assert fake.hints == [None, "en", "en", "en"]  # language detected once per source


def test_transcripts_pair_from_txt_lab_and_csv(tmp_path, voice):
    raw, out = tmp_path / "raw", tmp_path / "ds"
    write(raw / "a.wav", voice["s0"])
    (raw / "a.txt").write_text(SENTENCES[0] + "\n", encoding="utf-8")
    write(raw / "sub" / "b.ogg", voice["s1"], format="OGG", subtype="VORBIS")
    (raw / "sub" / "b.lab").write_text(SENTENCES[1], encoding="utf-8")
    write(raw / "sub" / "c.wav", voice["s2"], sr=22050)
    (raw / "transcripts.csv").write_text(f'file,text\nsub/c.wav,"{SENTENCES[2]}"\n', encoding="utf-8")
    cfg = config(raw, out, features=True)
    prepare(cfg)
    rows = {r["source"]: r for r in manifest(out)}
    assert {k: (r["text"], r["text_origin"]) for k, r in rows.items()} == {
        "a.wav": (SENTENCES[0], "file"),
        "sub/b.ogg": (SENTENCES[1], "file"),
        "sub/c.wav": (SENTENCES[2], "csv"),
    }
    assert rows["sub/c.wav"]["normalized"].startswith("Children walk")
    # the data set reads like a corpus: training code can pack it
    from voxsmith.train.data import CorpusData, read_manifest

    assert len(read_manifest(out)) == 3
    data = CorpusData(out, "train")
    assert len(data) == 2 and data.speakers == ["raw"] and data.clip_mel(0).shape[0] == 80
    with pytest.raises(DataError, match="line 2"):
        (tmp_path / "bad.csv").write_text("file,text\na.wav,one,two\n", encoding="utf-8")
        TranscriptIndex.build(raw, tmp_path / "bad.csv")


def test_glossary_readings_reach_the_manifest(tmp_path, voice):
    raw, out = tmp_path / "raw", tmp_path / "ds"
    write(raw / "zh.wav", voice["zh"])
    (raw / "zh.txt").write_text("我们在重庆见面。", encoding="utf-8")
    glossary = tmp_path / "g.tsv"
    glossary.write_text("重庆\tzhong4 qing4\n", encoding="utf-8")
    prepare(replace(config(raw, out, glossary=glossary), lang="zh"))
    (row,) = manifest(out)
    assert row["lang"] == "zh" and row["syllables"][3:5] == ["zhong4", "qing4"]
    prepare(replace(config(raw, tmp_path / "plain"), lang="zh"))
    assert manifest(tmp_path / "plain")[0]["syllables"][3:5] == ["chong2", "qing4"]


def test_each_filter_reason_is_counted(tmp_path, voice):
    raw, out = tmp_path / "raw", tmp_path / "ds"
    s0 = voice["s0"]
    write(raw / "good.wav", s0)
    write(raw / "clipped.wav", np.clip(s0 * 12, -1, 1))
    write(raw / "quiet.wav", s0 * 0.002)
    write(raw / "short.wav", voice["hi"])
    rng = np.random.default_rng(0)
    write(raw / "hum.wav", (0.01 * rng.standard_normal(22050 * 3)).astype(np.float32))
    write(raw / "symbols.wav", voice["s1"])
    (raw / "symbols.txt").write_text("!!! ???", encoding="utf-8")
    write(raw / "mute.wav", voice["s2"])
    write(raw / "wrong.wav", voice["s3"])
    (raw / "wrong.txt").write_text("Bananas are yellow and grow in warm countries.", encoding="utf-8")
    (raw / "good.txt").write_text(SENTENCES[0], encoding="utf-8")

    class PerFileAsr(FakeAsr):  # "mute" is heard as nothing, everything else as sentence 3/0
        def transcribe(self, clip, lang=None) -> Transcript:
            self.calls += 1
            return Transcript(self.answers.pop(0), "en")

    cfg = config(raw, out, filters=FilterConfig(dnsmos_floor=0.0, max_cer=0.3))
    asr = PerFileAsr("")
    # sources run in sorted order: good, mute, symbols, wrong need the ASR (others fail earlier)
    asr.answers = [SENTENCES[0], "", "anything", SENTENCES[3]]
    report = prepare(cfg, processor=SourceProcessor(cfg, asr=asr))
    drops = {
        d["source"]: d["reason"] for d in map(json.loads, (out / "dropped.jsonl").read_text().splitlines())
    }
    assert drops == {
        "clipped.wav": "clipping",
        "quiet.wav": "too_quiet",
        "short.wav": "too_short",
        "hum.wav": "no_speech",
        "symbols.wav": "text_unusable",
        "mute.wav": "no_text",
        "wrong.wav": "asr_mismatch",
    }
    assert [r["source"] for r in manifest(out)] == ["good.wav"]
    assert {k: v["clips"] for k, v in report["dropped"].items()} == {v: 1 for v in drops.values()}
    assert report["clips_dropped"] == 6  # no_speech is a whole source, not a clip


def test_nothing_usable_is_a_data_error_listing_reasons(tmp_path, voice):
    raw, out = tmp_path / "raw", tmp_path / "ds"
    write(raw / "a.wav", voice["s0"])
    (raw / "a.txt").write_text(SENTENCES[0], encoding="utf-8")
    write(raw / "b.wav", voice["s1"] * 0.002)
    write(raw / "c.wav", np.clip(voice["s2"] * 12, -1, 1))
    with pytest.raises(DataError, match="nothing usable") as err:
        prepare(config(raw, out, filters=FilterConfig(dnsmos_floor=4.9, max_cer=None)))
    for reason in ("dnsmos 1", "clipping 1", "too_quiet 1"):
        assert reason in str(err.value)
    report = json.loads((out / "report.json").read_text())
    assert report["clips_kept"] == 0 and report["dropped"]["dnsmos"]["clips"] == 1
    assert report["minutes_kept"] == 0 and report["minutes_found"] > 0.05


def test_corrupt_file_is_reported_and_skipped(tmp_path, voice):
    raw, out = tmp_path / "raw", tmp_path / "ds"
    write(raw / "good.wav", voice["s0"])
    (raw / "good.txt").write_text(SENTENCES[0], encoding="utf-8")
    (raw / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    (raw / "empty.mp3").write_bytes(b"")
    report = prepare(config(raw, out))
    assert [r["source"] for r in manifest(out)] == ["good.wav"]
    assert sorted(e["source"] for e in report["errors"]) == ["broken.wav", "empty.mp3"]
    assert report["dropped"]["unreadable"]["clips"] == 2
    assert "cannot decode" in next(e["error"] for e in report["errors"] if e["source"] == "broken.wav")


def test_rerun_skips_finished_sources_and_redoes_changed_ones(tmp_path, voice):
    raw, out = tmp_path / "raw", tmp_path / "ds"
    for k in range(3):
        write(raw / f"take{k}.wav", voice[f"s{k}"])
        (raw / f"take{k}.txt").write_text(SENTENCES[k], encoding="utf-8")
    cfg = config(raw, out)
    seen: list[str] = []

    def stop_after_first(res) -> None:
        seen.append(res.rel)
        raise KeyboardInterrupt  # a kill right after the first source was recorded

    with pytest.raises(KeyboardInterrupt):
        prepare(cfg, on_source=stop_after_first)
    seen.clear()
    first = prepare(cfg, on_source=lambda r: seen.append(r.rel))
    assert seen == ["take1.wav", "take2.wav"] and first["clips_kept"] == 3
    assert first["this_run"]["sources_skipped"] == 1
    before = (out / "manifest.jsonl").read_text()
    seen.clear()
    again = prepare(cfg, on_source=lambda r: seen.append(r.rel))
    assert seen == [] and again["this_run"]["sources_skipped"] == 3
    assert (out / "manifest.jsonl").read_text() == before
    # a changed transcript redoes that source only; a removed source leaves the data set
    (raw / "take2.txt").write_text("In the spring the fields turn green.", encoding="utf-8")
    (raw / "take0.wav").unlink()
    prepare(cfg, on_source=lambda r: seen.append(r.rel))
    assert seen == ["take2.wav"]
    rows = manifest(out)
    assert [r["source"] for r in rows] == ["take1.wav", "take2.wav"]
    assert rows[1]["text"] == "In the spring the fields turn green."
    assert len(list((out / "wavs").rglob("*.wav"))) == 2  # the removed source's wav is gone


def test_bad_options_are_config_errors(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with pytest.raises(ConfigError, match="--min-s"):
        prepare(config(raw, tmp_path / "ds", slicing=SliceConfig(min_s=5, max_s=4)))
    with pytest.raises(ConfigError, match="--lang"):
        prepare(replace(config(raw, tmp_path / "ds"), lang="fr"))
    with pytest.raises(DataError, match="no audio files"):
        prepare(config(raw, tmp_path / "ds"))
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tab on this line\n", encoding="utf-8")
    write(raw / "a.wav", np.zeros(22050, dtype=np.float32))
    with pytest.raises(TextError, match="line 1"):
        prepare(config(raw, tmp_path / "ds", glossary=bad))


def test_cli_prepare_prints_the_report(tmp_path, voice, capsys):
    from voxsmith.cli.main import main

    raw, out = tmp_path / "raw", tmp_path / "ds"
    write(raw / "a.wav", voice["s0"])
    (raw / "a.txt").write_text(SENTENCES[0], encoding="utf-8")
    argv = ["prepare", str(raw), "--out", str(out), "--lang", "en", "--no-asr-check", "--dnsmos-floor", "0"]
    assert main([*argv, "--no-progress", "--no-features", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["clips_kept"] == 1 and report["text_origins"] == {
        "file": {"clips": 1, "minutes": pytest.approx(report["minutes_kept"])}
    }
    (raw / "a.wav").unlink()
    write(raw / "b.wav", voice["s1"] * 0.002)
    assert main([*argv, "--no-progress", "--no-features"]) == 2
    assert "too_quiet 1" in capsys.readouterr().err


def test_whisper_aligns_a_long_transcript_and_flags_a_wrong_one(tmp_path, voice):
    raw, out = tmp_path / "raw", tmp_path / "ds"
    rec = np.concatenate([silence(0.5), voice["s0"], silence(1.0), voice["s1"], silence(0.8)])
    write(raw / "long.wav", rec)
    (raw / "long.txt").write_text(" ".join(SENTENCES[:2]), encoding="utf-8")
    write(raw / "wrong.wav", voice["s3"])
    (raw / "wrong.txt").write_text("Bananas are yellow and grow in warm countries.", encoding="utf-8")
    cfg = config(raw, out, slicing=SliceConfig(max_s=6.0, target_s=2.0), filters=FilterConfig(dnsmos_floor=0))
    report = prepare(cfg)
    rows = manifest(out)
    assert len(rec) / 22050 > 6.0  # a long recording: sliced, and its one transcript cut to the slices
    assert [r["text"] for r in rows] == SENTENCES[:2]
    assert all(r["text_origin"] == "aligned" and r["asr_error"] <= 0.3 for r in rows)
    assert report["dropped"] == {"asr_mismatch": {"clips": 1, "minutes": pytest.approx(0.045, abs=0.02)}}
