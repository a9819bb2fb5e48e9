"""Corpus builder on tiny builds with fast engines: schema, splits, resume, determinism, failures."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import soundfile as sf

from voxsmith.data.corpus import BuildConfig, build, make_row
from voxsmith.data.manifest import MANIFEST, REQUIRED, read_rows
from voxsmith.data.plan import Job, PlanConfig, PoolSentence, plan_jobs
from voxsmith.data.pool import load_or_make_pool
from voxsmith.data.render import ClipRenderer, RenderConfig, stretches
from voxsmith.data.speakers import Roster, Speaker, SpeakerPart, voice_group
from voxsmith.data.styles import STYLES
from voxsmith.data.texts import TextConfig
from voxsmith.data.timbre import Timbre
from voxsmith.errors import ConfigError, EngineError

VOICES = ("flite:slt", "flite:awb", "flite:rms", "flite:kal16", "espeak:en-us", "espeak:en-us+f3")


def write_roster(path: Path, extra: list[dict] | None = None) -> str:
    speakers = [
        {"id": f"en-{i}", "kind": "engine", "parts": {"en": {"voice": v}}} for i, v in enumerate(VOICES)
    ]
    warped = {"voice": "flite:slt", "timbre": Timbre(warp=0.1, f0_scale=0.7).to_dict()}
    speakers.append({"id": "en-0-x", "kind": "warped", "parts": {"en": warped}})
    path.write_text(json.dumps({"speakers": speakers + (extra or [])}))
    return str(path)


def config(out: Path, roster: str, **kw) -> BuildConfig:
    plan = PlanConfig(
        minutes=1.0,
        langs=("en",),
        seed=1,
        valid_sentences=6,
        test_sentences=6,
        test_share=0.2,
        valid_share=0.2,
    )
    base = BuildConfig(
        out=out,
        plan=plan,
        render=RenderConfig(f0_method="dio"),
        text=TextConfig(n_sentences=36),
        roster=roster,
        workers=0,
        progress=False,
    )
    return replace(base, **kw)


def wav_hashes(root: Path) -> dict[str, str]:
    return {r["id"]: hashlib.md5((root / r["path"]).read_bytes()).hexdigest() for r in read_rows(root)}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[BuildConfig, Path]:
    tmp = tmp_path_factory.mktemp("corpus")
    cfg = config(tmp / "full", write_roster(tmp / "roster.json"))
    report = build(cfg)
    assert report.failed == 0 and report.rendered == report.planned > 10
    return cfg, cfg.out


def test_manifest_schema_and_audio_format(built):
    _, root = built
    rows = read_rows(root)
    assert rows == sorted(rows, key=lambda r: r["id"])
    for r in rows:
        assert all(k in r for k in REQUIRED)
        info = sf.info(str(root / r["path"]))
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        assert abs(info.duration - r["duration_s"]) < 0.01
        assert r["style"] in STYLES and len(r["emotion"]) == 8
        assert r["path"].startswith(f"wavs/{r['speaker']}/") and r["lang"] == "en"
        assert r["units"] and r["phones"] and r["normalized"]
    styles_of: dict[tuple[str, str], set[str]] = {}
    for r in rows:  # each speaker's stream opens with one sentence read in every style
        styles_of.setdefault((r["speaker"], r["sentence"]), set()).add(r["style"])
    assert max(len(v) for v in styles_of.values()) >= 2
    assert len({r["style"] for r in rows}) >= 5
    summary = json.loads((root / "summary.json").read_text())
    assert summary["clips"] == len(rows) and summary["by_split"].keys() == {"train", "valid", "test"}


def test_splits_are_disjoint(built):
    cfg, root = built
    rows = read_rows(root)
    by = {s: [r for r in rows if r["split"] == s] for s in ("train", "valid", "test")}
    assert all(by.values())
    assert not {r["speaker"] for r in by["test"]} & {r["speaker"] for r in by["train"] + by["valid"]}
    train_sentences = {r["sentence"] for r in by["train"]} | {r["normalized"] for r in by["train"]}
    assert not {r["sentence"] for r in by["valid"]} & train_sentences
    assert not {r["normalized"] for r in by["valid"]} & train_sentences
    train_groups = {voice_group(r["voice"]) for r in by["train"]}
    assert not {voice_group(r["voice"]) for r in by["test"]} & train_groups


def test_resume_after_interruption_gives_the_same_corpus(built, tmp_path):
    cfg, root = built
    cfg2 = replace(cfg, out=tmp_path / "resumed")
    first = build(replace(cfg2, limit=4))  # stopped after 4 clips
    assert first.rendered == 4 and len(read_rows(cfg2.out)) == 4
    with open(cfg2.out / MANIFEST, "a", encoding="utf-8") as f:
        f.write('{"id": "torn line of a killed build", "pa')  # a write cut short
    second = build(cfg2)
    assert second.already_done == 4 and second.failed == 0
    ids = [r["id"] for r in read_rows(cfg2.out)]
    assert len(ids) == len(set(ids))
    assert wav_hashes(cfg2.out) == wav_hashes(root)  # same clips, same audio: deterministic
    again = build(cfg2)
    assert again.rendered == 0 and again.already_done == len(ids)


def test_parallel_workers_build_the_same_corpus(built, tmp_path):
    cfg, root = built
    par = replace(cfg, out=tmp_path / "parallel", workers=2)
    build(par)
    assert (par.out / MANIFEST).read_text() == (root / MANIFEST).read_text()
    assert wav_hashes(par.out) == wav_hashes(root)


def test_other_seed_in_the_same_directory_is_refused(built, tmp_path):
    cfg, _ = built
    out = tmp_path / "c"
    build(replace(cfg, out=out, limit=1))
    with pytest.raises(ConfigError, match="other settings"):
        build(replace(cfg, out=out, plan=replace(cfg.plan, seed=2)))


def test_more_minutes_plan_a_superset(built):
    cfg, root = built
    roster = Roster.load(cfg.roster)
    pool = load_or_make_pool(root, cfg.plan, cfg.text)
    small = plan_jobs(roster, pool, cfg.plan)
    large = plan_jobs(roster, pool, replace(cfg.plan, minutes=1.5))
    assert {j.id for j in small} < {j.id for j in large}
    assert plan_jobs(roster, pool, cfg.plan) == small


def test_held_out_only_plan_extends_the_held_out_speakers_material(built):
    # --test-share 1 --valid-share 0: more minutes of the same held-out speakers, same clips first
    cfg, root = built
    roster = Roster.load(cfg.roster)
    pool = load_or_make_pool(root, cfg.plan, cfg.text)
    normal = [j for j in plan_jobs(roster, pool, cfg.plan) if j.split == "test"]
    held = plan_jobs(roster, pool, replace(cfg.plan, test_share=1.0, valid_share=0.0))
    assert {j.split for j in held} == {"test"}
    assert {j.speaker for j in held} == {j.speaker for j in normal}
    assert {j.id for j in normal} <= {j.id for j in held}
    assert sum(j.est_s for j in held) > 3 * sum(j.est_s for j in normal)
    for shares in ((0.0, 0.05), (0.9, 0.2), (0.5, 1.0)):
        with pytest.raises(ConfigError, match="test-share"):
            plan_jobs(roster, pool, replace(cfg.plan, test_share=shares[0], valid_share=shares[1]))


def test_failing_clip_is_logged_and_skipped(tmp_path):
    bad = {"id": "en-bad", "kind": "engine", "parts": {"en": {"voice": "flite:nobody"}}}
    cfg = config(tmp_path / "c", write_roster(tmp_path / "r.json", [bad]), limit=16)
    report = build(cfg)
    rows = read_rows(cfg.out)
    failures = [json.loads(x) for x in (cfg.out / "failures.jsonl").read_text().splitlines()]
    assert report.failed == len(failures) > 0
    assert all(f["id"].startswith("en-bad_") and "no voice" in f["error"] for f in failures)
    assert rows and not any(r["speaker"] == "en-bad" for r in rows)


def test_missing_engine_stops_the_build_before_any_work(tmp_path, monkeypatch):
    roster = write_roster(tmp_path / "r.json")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(EngineError, match="apt-get install (flite|espeak-ng)"):
        build(config(tmp_path / "c", roster))
    assert not (tmp_path / "c" / MANIFEST).exists()


def test_code_switched_sentence_uses_both_parts():
    spk = Speaker(
        "bi-x",
        "bilingual",
        (("zh", SpeakerPart("espeak:cmn")), ("en", SpeakerPart("flite:slt", Timbre(f0_scale=1.1)))),
    )
    text = "我今天用Python写了一个小程序。"
    assert [lg for lg, _ in stretches(text, spk, "zh")] == ["zh", "en", "zh"]
    audio = ClipRenderer(RenderConfig(f0_method="dio")).render(spk, text, "zh", "happy", 0.67, 3)
    assert audio.sample_rate == 22050 and audio.seconds > 1.0

    sent = PoolSentence("zh-0001", "zh", text, "mixed", "train", text, ("wo3",), ("<zh>",), ("wo3",))
    assert sent.code_switch
    row = make_row(Job("i", "zh", "bi-x", "zh-0001", "happy", 0.67, "train", 1.0), sent, spk, 2.0, "p.wav")
    assert row["code_switch"] and row["engine"] == "espeak+flite"


def test_cli_build_and_summary(tmp_path, capsys):
    from voxsmith.cli.main import main

    roster = write_roster(tmp_path / "r.json")
    out = tmp_path / "cli"
    args = ["corpus", "build", "--out", str(out), "--minutes", "0.3", "--langs", "en", "--workers", "0"]
    args += ["--seed", "5", "--roster", roster, "--f0-method", "dio", "--sentences", "60", "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "min of audio per minute" in printed and "by style" in printed
    assert main(["corpus", "summary", str(out)]) == 0
    assert "clips" in capsys.readouterr().out
    assert main(["corpus", "summary", str(tmp_path / "nothing")]) == 2


def test_a_second_builder_on_the_same_directory_is_refused(built, tmp_path):
    import os

    cfg, _ = built
    out = tmp_path / "locked"
    out.mkdir()
    (out / "build.lock").write_text(str(os.getpid()))  # a live process holds it
    with pytest.raises(ConfigError, match="another build"):
        build(replace(cfg, out=out, limit=1))
    (out / "build.lock").write_text("999999999")  # stale: no such process
    assert build(replace(cfg, out=out, limit=1)).rendered == 1
    assert not (out / "build.lock").exists()


def test_repeated_manifest_lines_are_dropped_on_resume(built, tmp_path):
    cfg, _ = built
    out = tmp_path / "dup"
    build(replace(cfg, out=out, limit=2))
    lines = (out / MANIFEST).read_text().splitlines()
    (out / MANIFEST).write_text("\n".join(lines + lines[:1]) + "\n")
    with pytest.raises(Exception, match="duplicate"):
        read_rows(out)
    assert len(read_rows(out, repair=True)) == 2


def test_check_styles_reports_shifts_against_neutral(built, capsys):
    from voxsmith.cli.main import main
    from voxsmith.data.check import MEASURES, style_shifts

    _, root = built
    result = style_shifts(root, max_per_style=3)
    present = {s: r for s, r in result.items() if r["clips"]}
    assert present
    for r in present.values():
        assert set(r["expected"]) == set(MEASURES) == set(r["agrees"])
        assert r["agrees"]["energy"]  # loudness is set exactly: its direction always holds
    assert main(["corpus", "check-styles", str(root), "--per-style", "1"]) == 0
    assert "expected sign" in capsys.readouterr().out


def test_extra_voices_train_only_build_and_merge_keep_the_held_out_voices_unheard(built, tmp_path, capsys):
    import numpy as np

    from voxsmith.cli.main import main
    from voxsmith.data.extra import extra_roster, merge
    from voxsmith.errors import DataError

    cfg, root = built
    base = tmp_path / "base"
    shutil.copytree(root, base)
    info = json.loads((base / "speakers.json").read_text())
    info["voices"] = {v: {"f0": 100.0 + 20 * i} for i, v in enumerate(VOICES)}  # as screening records
    # voices the screening measured that no roster speaker reads: one passed, one failed
    info["voices"]["ttskit:Unread"] = {"f0": 210.0, "lang": "zh", "ok": True}
    info["voices"]["ttskit:Failed"] = {"f0": 230.0, "lang": "zh", "ok": False}
    (base / "speakers.json").write_text(json.dumps(info))
    (base / "cache").mkdir(exist_ok=True)
    np.savez(base / "cache" / "codes_train.npz", ids=np.array(["x"]), lens=np.array([1]), codes=np.zeros(1))
    held = {voice_group(p["voice"]) for s in info["speakers"] if info["splits"][s["id"]] != "train"
            for p in s["parts"].values()}  # fmt: skip
    assert held  # the base corpus holds some voices out
    assert (
        main(["corpus", "voices", "--base", str(base), "--per-voice", "2", "--out", str(tmp_path / "x.json")])
        == 0
    )
    roster = Roster.load(tmp_path / "x.json")
    assert roster.to_dict() == extra_roster(base, 2).to_dict()  # seeded: the same voices again
    other = extra_roster(base, 2, seed=1)  # another batch: other timbres under other ids
    assert not {s.id for s in other.speakers} & {s.id for s in roster.speakers}
    assert {s.parts[0][1].timbre for s in other.speakers}.isdisjoint(
        s.parts[0][1].timbre for s in roster.speakers
    )
    voices = {p.voice for s in roster.speakers for _, p in s.parts}
    assert voices and not {voice_group(v) for v in voices} & held
    assert len(roster.speakers) == 2 * len(voices) and len({s.id for s in roster.speakers}) == len(
        roster.speakers
    )
    assert "ttskit:Unread" not in voices  # by default only the training speakers' voices vary
    # --source unused: the screened voices nobody reads (new persons); both: the two together
    new = extra_roster(base, 3, source="unused")
    assert [p.voice for s in new.speakers for _, p in s.parts] == ["ttskit:Unread"] * 3
    assert {s.langs[0] for s in new.speakers} == {"zh"} and new.info["source"] == "unused"
    both = extra_roster(base, 1, source="both")
    assert {p.voice for s in both.speakers for _, p in s.parts} == voices | {"ttskit:Unread"}
    with pytest.raises(DataError, match="unknown voice source"):
        extra_roster(base, 1, source="elsewhere")
    # a Mandarin-only roster built for English: a clear error, and the directory stays unbound
    new.save(tmp_path / "new.json")
    with pytest.raises(DataError, match="--langs zh"):
        build(
            config(tmp_path / "zh_only", str(tmp_path / "new.json"), plan=replace(cfg.plan, train_only=True))
        )
    assert not (tmp_path / "zh_only" / "build.json").exists()
    timbres = [s.parts[0][1].timbre for s in roster.speakers]
    assert len({t.warp for t in timbres}) == len(timbres) and all(len(t.eq_db) == 15 for t in timbres)
    # a train-only build: every speaker trains, no test split, valid only if asked
    extra = tmp_path / "extra"
    xcfg = config(
        extra, str(tmp_path / "x.json"), plan=replace(cfg.plan, minutes=0.4, valid_share=0.0, train_only=True)
    )
    report = build(xcfg)
    assert report.failed == 0 and report.rendered > 4
    rows = read_rows(extra)
    assert {r["split"] for r in rows} == {"train"} and {r["speaker"] for r in rows} <= {
        s.id for s in roster.speakers
    }
    assert json.loads((extra / "build.json").read_text())["plan"]["train_only"] is True
    assert "train_only" not in json.loads((root / "build.json").read_text())["plan"]  # old builds resume
    # the merge: both corpora's clips, paths absolute, per-clip caches carried, held-out voices still out
    summary = merge(base, extra, tmp_path / "merged")
    merged = read_rows(tmp_path / "merged")
    assert len(merged) == len(read_rows(base)) + len(rows) == summary["clips"]
    assert all(Path(r["path"]).is_absolute() and Path(r["path"]).is_file() for r in merged)
    assert (tmp_path / "merged" / "cache" / "codes_train.npz").is_file()
    splits = json.loads((tmp_path / "merged" / "speakers.json").read_text())["splits"]
    assert all(splits[s.id] == "train" for s in roster.speakers) and splits == {**info["splits"], **splits}
    # an extra corpus reading a held-out voice is refused, and so is merging into a corpus merged
    leak = json.loads((extra / "speakers.json").read_text())
    test_voice = next(p["voice"] for s in info["speakers"] if info["splits"][s["id"]] == "test"
                      for p in s["parts"].values())  # fmt: skip
    leak["speakers"][0]["parts"] = {"en": {"voice": test_voice}}
    (extra / "speakers.json").write_text(json.dumps(leak))
    with pytest.raises(DataError, match="holds out"):
        merge(base, extra, tmp_path / "merged2")
    assert not (tmp_path / "merged2").exists()
    capsys.readouterr()
    assert main(["corpus", "merge", str(base), str(extra), "--out", str(tmp_path / "merged3")]) == 2
    assert "holds out for testing" in capsys.readouterr().err and not (tmp_path / "merged3").exists()


def test_sigterm_stops_a_parallel_build_with_many_queued_clips(tmp_path):
    # The builder queues every task up front; killed mid-build, its queue's feeder thread must not
    # keep the process alive writing tasks no worker will read (it hung there after `kill PID`).
    import os
    import signal
    import subprocess
    import sys
    import time

    roster = write_roster(tmp_path / "roster.json")
    code = (
        "import sys; sys.path.insert(0, {!r})\n"
        "from dataclasses import replace\n"
        "from pathlib import Path\n"
        "from test_data_corpus import config\n"
        "from voxsmith.data.texts import TextConfig\n"
        "cfg = config(Path({!r}), {!r}, workers=1, text=TextConfig(n_sentences=400))\n"
        "from voxsmith.data.corpus import build\n"
        "build(replace(cfg, plan=replace(cfg.plan, minutes=30.0)))\n"
    ).format(str(Path(__file__).parent), str(tmp_path / "c"), roster)
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    manifest = tmp_path / "c" / MANIFEST
    deadline = time.monotonic() + 120
    while not (manifest.exists() and manifest.stat().st_size) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    assert manifest.exists(), "no clip rendered within 120 s"
    os.kill(proc.pid, signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the builder did not exit within 30 s of SIGTERM") from None
    assert rc != 0
    assert "KeyboardInterrupt" in proc.stderr.read()
    assert len(read_rows(tmp_path / "c")) >= 1  # what was rendered stays, for the resume
