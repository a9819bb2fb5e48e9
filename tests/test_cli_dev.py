from __future__ import annotations

import json
import shutil

from voxsmith.cli.main import main
from voxsmith.parity import CHECKERS


def test_dev_parity_reports_every_fixture_module(official_fixtures, capsys):
    rc = main(["dev", "parity", str(official_fixtures), "--json"])
    report = json.loads(capsys.readouterr().out)
    expected = {name for name in CHECKERS if (official_fixtures / name / "spec.json").exists()}
    assert expected == {"gpt", "s2mel", "bigvgan", "campplus", "semantic_codec"}
    assert set(report) == expected
    for name, r in report.items():
        # ok applies the parity rule, 1e-4 relative to the reference's size: float32 kernels of
        # other CPUs (Intel against AMD) move CAMPPlus's style vector (|x| up to 3) by 3e-4
        assert r["ok"], (name, r["failures"])
        assert r["checks"] > 0 and r["max_abs_err"] < 2e-3
    assert rc == 0


def test_dev_parity_detects_a_corrupted_fixture(official_fixtures, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    shutil.copytree(official_fixtures / "s2mel", tmp_path / "s2mel")
    io = load_file(tmp_path / "s2mel" / "io.safetensors")
    key = next(k for k in io if k.startswith("out.") and io[k].is_floating_point())
    io[key] = io[key] + 0.01
    save_file(io, tmp_path / "s2mel" / "io.safetensors")
    rc = main(["dev", "parity", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1 and not report["s2mel"]["ok"]
    assert any(key.removeprefix("out.") in f for f in report["s2mel"]["failures"])


def test_dev_parity_missing_dir_is_a_clear_error(tmp_path, capsys):
    assert main(["dev", "parity", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err
