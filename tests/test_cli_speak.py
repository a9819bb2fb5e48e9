"""speak / info / speaker / batch on a small random model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import make_random_model, make_tone
from voxsmith.audio import Audio, AudioProcessor
from voxsmith.cli.main import main


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    model = make_random_model(root / "model")
    ref = root / "ref.wav"
    x = make_tone(4.0, freq=200.0) + 0.02 * np.random.default_rng(1).standard_normal(4 * 22050)
    AudioProcessor.save(Audio(x.astype(np.float32), 22050), ref)
    return {"model": model, "ref": ref, "root": root}


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_speak_json_with_target_tokens(env, capsys, tmp_path):
    out = tmp_path / "a.wav"
    code, stdout, _ = _run(capsys, "speak", "你好世界", "--ref", env["ref"], "--model", env["model"],
                           "--target-tokens", 15, "-o", out, "--json")  # fmt: skip
    assert code == 0
    rep = json.loads(stdout)
    assert set(rep) >= {"path", "seconds", "tokens", "sample_rate", "rtf"}
    assert rep["tokens"] == 15 and rep["sample_rate"] == 22050
    data, sr = sf.read(out)
    assert sr == 22050 and len(data) == 15 * 1024 and abs(rep["seconds"] - len(data) / sr) < 1e-3


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--duration-ratio", "1.4"], "duration_ratio"),
        (["--emotion", "furious"], "unknown emotion"),
        (["--emotion-vector", "1,2,3"], "8 values"),
        (["--intensity", "3", "--emotion", "happy"], "intensity"),
        (["--text-guidance", "-1"], "text_guidance"),
    ],
)
def test_speak_bad_input_leaves_no_file(env, capsys, tmp_path, extra, needle):
    out = tmp_path / "bad.wav"
    code, _, err = _run(
        capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"], "-o", out, *extra
    )
    assert code == 2 and needle in err and not out.exists()
    assert "Traceback" not in err


def test_speak_text_guidance_changes_the_codes(env, capsys, tmp_path):
    wavs = []
    for w in ("0", "3"):
        out = tmp_path / f"g{w}.wav"
        code, _, _ = _run(capsys, "speak", "你好世界", "--ref", env["ref"], "--model", env["model"],
                          "--target-tokens", 15, "--text-guidance", w, "-o", out)  # fmt: skip
        assert code == 0
        wavs.append(sf.read(out)[0])
    assert wavs[0].shape == wavs[1].shape and not np.allclose(wavs[0], wavs[1])


def test_speak_unreadable_reference(env, capsys, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    code, _, err = _run(
        capsys, "speak", "你好", "--ref", bad, "--model", env["model"], "-o", tmp_path / "o.wav"
    )
    assert code == 2 and "bad.wav" in err and not (tmp_path / "o.wav").exists()


def test_info_json(env, capsys):
    code, stdout, _ = _run(capsys, "info", "--model", env["model"], "--json")
    info = json.loads(stdout)
    assert code == 0 and info["samples_per_token"] == 1024 and info["parameters"]["total"] > 0
    assert {"sample_rate", "token_rate_hz"} <= set(info)


def test_voice_library_add_list_speak_remove(env, capsys, tmp_path):
    voices = tmp_path / "voices"
    code, _, _ = _run(
        capsys, "speaker", "--voices", voices, "add", "alice", env["ref"], "--model", env["model"]
    )
    assert code == 0 and (voices / "alice" / "reference.wav").is_file()
    assert len(list((voices / "alice").glob("*.safetensors"))) == 1  # embedding cached for the model
    code, _, err = _run(capsys, "speaker", "--voices", voices, "add", "alice", env["ref"], "--no-embed")
    assert code == 2 and "already exists" in err
    code, stdout, _ = _run(capsys, "speaker", "--voices", voices, "list", "--json")
    assert [v["name"] for v in json.loads(stdout)] == ["alice"]
    out = tmp_path / "lib.wav"
    code, stdout, _ = _run(capsys, "speak", "早上好", "--speaker", "alice", "--voices", voices,
                           "--model", env["model"], "--target-tokens", 9, "-o", out, "--json")  # fmt: skip
    assert code == 0 and json.loads(stdout)["tokens"] == 9
    # the cached embedding file used directly gives the same audio as the library name
    cached = next((voices / "alice").glob("*.safetensors"))
    emb_out = tmp_path / "emb.wav"
    _run(
        capsys,
        "speak",
        "早上好",
        "--speaker",
        cached,
        "--model",
        env["model"],
        "--target-tokens",
        9,
        "-o",
        emb_out,
    )
    assert np.array_equal(sf.read(out)[0], sf.read(emb_out)[0])
    code, _, err = _run(capsys, "speak", "早上好", "--speaker", "bob", "--voices", voices,
                        "--model", env["model"], "-o", tmp_path / "x.wav")  # fmt: skip
    assert code == 2 and "bob" in err and "alice" in err
    assert _run(capsys, "speaker", "--voices", voices, "remove", "alice")[0] == 0
    assert not (voices / "alice").exists()


def test_batch_roles_resume_and_bad_line(env, capsys, tmp_path):
    script = tmp_path / "script.jsonl"
    lines = [
        {"roles": {"narrator": {"ref": str(env["ref"]), "target_tokens": 6}}},
        {"text": "第一行。", "role": "narrator"},
        {"text": "", "role": "narrator"},
        {"text": "Second line.", "role": "narrator", "emotion": "happy", "target_tokens": 8, "pause_ms": 100},
        {"text": "第三行。", "role": "narrator", "bogus": 1},
    ]
    script.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n{broken\n")
    out = tmp_path / "out"
    code, stdout, _ = _run(capsys, "batch", script, "--out", out, "--model", env["model"], "--json",
                           "--no-progress")  # fmt: skip
    rep = json.loads(stdout)
    assert code == 1 and rep["done"] == 2 and rep["failed"] == 3 and rep["skipped"] == 0
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "failed", "ok", "failed", "failed"]
    assert sf.info(out / rows[0]["path"]).frames == 6 * 1024
    assert sf.info(out / rows[2]["path"]).frames == 8 * 1024
    joined = sf.info(out / "joined.wav").frames
    assert joined == 6 * 1024 + int(0.3 * 22050) + 8 * 1024
    code, stdout, _ = _run(capsys, "batch", script, "--out", out, "--model", env["model"], "--json",
                           "--no-progress")  # fmt: skip
    rep = json.loads(stdout)
    assert rep["skipped"] == 2 and rep["done"] == 0


def test_batch_yaml_script_and_missing_script(env, capsys, tmp_path):
    script = tmp_path / "s.yaml"
    script.write_text(
        f"roles:\n  a: {{ref: {env['ref']}}}\nlines:\n  - {{text: 你好, role: a, target_tokens: 5}}\n",
        encoding="utf-8",
    )
    code, stdout, _ = _run(capsys, "batch", script, "--out", tmp_path / "o", "--model", env["model"], "--json",
                           "--no-progress")  # fmt: skip
    assert code == 0 and json.loads(stdout)["done"] == 1
    code, _, err = _run(capsys, "batch", tmp_path / "nope.yaml", "--out", tmp_path / "o2")
    assert code == 2 and "not found" in err


def test_speak_with_a_glossary_and_a_bad_glossary(env, capsys, tmp_path):
    terms = tmp_path / "terms.tsv"
    terms.write_text("会稽\tkuai4 ji1\n", encoding="utf-8")
    out = tmp_path / "g.wav"
    code, stdout, _ = _run(capsys, "speak", "他在会稽读书。", "--ref", env["ref"], "--model", env["model"],
                           "--glossary", terms, "--target-tokens", 12, "-o", out, "--json")  # fmt: skip
    assert code == 0 and json.loads(stdout)["tokens"] == 12 and out.is_file()
    bad = tmp_path / "bad.wav"
    code, _, err = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"],
                        "--glossary", tmp_path / "missing.tsv", "-o", bad)  # fmt: skip
    assert code == 2 and "missing.tsv" in err and not bad.exists() and "Traceback" not in err


def test_set_glossary_reads_terms_first_and_none_drops_them(env, tmp_path):
    from voxsmith.pipeline import IndexTTSModel
    from voxsmith.text.glossary import Glossary

    model = IndexTTSModel.from_pretrained(env["model"])

    def reading(text: str) -> list[str]:
        return [s.pinyin for s in model.frontend.process(text).syllables]

    plain = reading("他在会稽读书。")
    assert plain[2] == "hui4"
    model._base_glossary = Glossary.from_dict({"会稽": "hui4 qi3"})  # as a merged voice's own terms
    model._apply_glossary()
    assert reading("他在会稽读书。")[2:4] == ["hui4", "qi3"]
    terms = tmp_path / "terms.tsv"
    terms.write_text("会稽\tkuai4 ji1\n", encoding="utf-8")
    model.set_glossary(terms)  # the user's terms before the model's own
    assert reading("他在会稽读书。")[2:4] == ["kuai4", "ji1"]
    model.set_glossary(None)
    assert reading("他在会稽读书。")[2:4] == ["hui4", "qi3"]


def _spy_settings(monkeypatch, **names: str) -> dict:
    """Records the model settings ``names`` (label -> attribute of ``model.parts``) as the CLI
    leaves them after its flags, each time ``speak`` loads a model."""
    import voxsmith.cli.speak as speak_cli

    seen: dict = {}
    real = speak_cli.load_model

    def spy(args):
        model = real(args)
        seen.update({label: getattr(model.parts, attr) for label, attr in names.items()})
        return model

    monkeypatch.setattr(speak_cli, "load_model", spy)
    return seen


def test_listen_sets_the_candidates_heard_and_refuses_a_bad_count_or_confidence(
    env, capsys, tmp_path, monkeypatch
):
    seen = _spy_settings(monkeypatch, listen="listen_candidates", confidence="listen_confidence")
    out = tmp_path / "l.wav"
    code, _, _ = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"], "--listen", 0,
                      "--target-tokens", 10, "-o", out)  # fmt: skip
    assert code == 0 and seen["listen"] == 0 and out.is_file()
    code, _, _ = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"], "--listen", 5,
                      "--target-tokens", 10, "-o", out)  # fmt: skip
    assert code == 0 and seen["listen"] == 5
    bad = tmp_path / "bad.wav"
    code, _, err = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"], "--listen", 65,
                        "-o", bad)  # fmt: skip
    assert code == 2 and "--listen" in err and "listen_candidates" in err and not bad.exists()
    assert "Traceback" not in err
    code, _, _ = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"],
                      "--listen-confidence", 0.9, "--target-tokens", 10, "-o", out)  # fmt: skip
    assert code == 0 and seen["confidence"] == 0.9
    code, _, err = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"],
                        "--listen-confidence", 1.5, "-o", bad)  # fmt: skip
    assert code == 2 and "--listen-confidence" in err and "listen_confidence" in err and not bad.exists()


def test_candidates_sets_the_gpt_samples_per_segment_and_refuses_a_bad_count(
    env, capsys, tmp_path, monkeypatch
):
    seen = _spy_settings(monkeypatch, n="code_candidates")
    code, _, _ = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"],
                      "--target-tokens", 10, "-o", tmp_path / "d.wav")  # fmt: skip
    assert code == 0
    default = seen["n"]
    out = tmp_path / "c.wav"
    code, _, _ = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"], "--candidates", 3,
                      "--target-tokens", 10, "-o", out)  # fmt: skip
    assert code == 0 and seen["n"] == 3 != default and out.is_file()
    bad = tmp_path / "bad.wav"
    for n in (0, 65):
        code, _, err = _run(capsys, "speak", "你好", "--ref", env["ref"], "--model", env["model"],
                            "--candidates", n, "-o", bad)  # fmt: skip
        assert code == 2 and "--candidates" in err and "code_candidates" in err and not bad.exists()
        assert "Traceback" not in err
