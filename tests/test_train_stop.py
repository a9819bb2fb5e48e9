"""A kill signal during training checkpoints the current step; the run resumes from it."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from tests.helpers import make_fake_corpus
from voxsmith.models.content import ContentEncoderConfig
from voxsmith.models.units import UNITS
from voxsmith.train.content import ContentTrainConfig, train_content
from voxsmith.train.state import RunDir, StopRequest


def test_stop_request_catches_sigterm_and_restores_handler():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
    assert signal.getsignal(signal.SIGTERM) == before


def test_sigterm_mid_run_checkpoints_that_step_and_resume_finishes(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus)
    cfg = ContentTrainConfig(steps=12, max_batch_frames=800, warmup=1, log_every=1, val_every=100)
    size = ContentEncoderConfig.debug(len(UNITS))
    real_log = RunDir.log

    def log_and_kill(self, step, **values):
        real_log(self, step, **values)
        if step == 5 and "ctc" in values:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(RunDir, "log", log_and_kill)
    train_content(corpus, tmp_path / "run", cfg, size)
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=False)
    assert state["step"] == 5  # stopped early, not at val_every or the end
    assert (tmp_path / "run" / "content.safetensors").is_file()
    monkeypatch.setattr(RunDir, "log", real_log)
    train_content(corpus, tmp_path / "run", cfg, size)
    assert torch.load(tmp_path / "run" / "state.pt", weights_only=False)["step"] == 12


def test_init_starts_a_fresh_run_from_exported_weights(tmp_path):
    from voxsmith.checkpoints import load_safetensors

    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus)
    cfg = ContentTrainConfig(steps=3, max_batch_frames=800, warmup=1, log_every=1, val_every=3)
    size = ContentEncoderConfig.debug(len(UNITS))
    first = train_content(corpus, tmp_path / "a", cfg, size)
    cfg1 = ContentTrainConfig(steps=1, max_batch_frames=800, warmup=1, log_every=1, val_every=1, lr=0.0)
    out = train_content(corpus, tmp_path / "c", cfg1, size, init=first)
    a, _, _ = load_safetensors(first)
    c, _, _ = load_safetensors(out)
    assert all(torch.equal(a[k], c[k]) for k in a)  # lr 0: one step keeps the init weights exactly


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """RunDir's monotonic clock, set by hand: ``clock[0] = seconds``."""
    import voxsmith.train.state as state_mod

    now = [0.0]
    monkeypatch.setattr(state_mod.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def model_opt() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = torch.nn.Linear(2, 2)
    return model, torch.optim.SGD(model.parameters(), lr=0.1)


def test_training_time_adds_up_across_resumes(tmp_path, clock, model_opt):
    now = clock
    now[0] = 100.0
    model, opt = model_opt
    run = RunDir(tmp_path / "run", "x")
    now[0] = 130.0
    run.save(1, {"model": model}, {"opt": opt})
    # another process, much later: the gap between the runs is not training time
    now[0] = 500.0
    again = RunDir(tmp_path / "run", "x")
    step, extra = again.resume({"model": model}, {"opt": opt})
    assert (step, extra["train_seconds"]) == (1, 30.0)
    now[0] = 520.0
    again.save(2, {"model": model}, {"opt": opt})
    assert torch.load(tmp_path / "run" / "state.pt", weights_only=False)["extra"]["train_seconds"] == 50.0


def test_a_run_started_from_trained_weights_counts_their_history(tmp_path, clock, model_opt):
    from voxsmith.train.state import run_totals

    now = clock
    model, opt = model_opt
    first = RunDir(tmp_path / "a", "x")
    now[0] = 3600.0
    first.save(1900, {"model": model}, {"opt": opt})
    weights = tmp_path / "a" / "x.safetensors"  # an export beside the state
    second = RunDir(tmp_path / "b", "x")
    second.started_from(weights)
    now[0] = 5400.0
    second.save(600, {"model": model}, {"opt": opt})
    assert run_totals(tmp_path / "b" / "state.pt") == (2500, 5400.0)
    # a resume keeps the history; a third generation adds up all three
    again = RunDir(tmp_path / "b", "x")
    again.resume({"model": model}, {"opt": opt})
    again.save(700, {"model": model}, {"opt": opt})
    assert run_totals(tmp_path / "b" / "state.pt")[0] == 2600
    third = RunDir(tmp_path / "c", "x")
    third.started_from(tmp_path / "b" / "x.safetensors")
    third.save(1, {"model": model}, {"opt": opt})
    assert run_totals(tmp_path / "c" / "state.pt")[0] == 2601
    assert run_totals(tmp_path / "missing.pt") is None


def test_model_card_reports_steps_time_hardware_and_quality(tmp_path):
    from voxsmith.train.bundle import hardware, write_model_card

    card = {
        "name": "voxsmith-tiny",
        "size": "tiny",
        "created": "2026-12-01",
        "parameters": {"gpt": 6128636, "s2m": 3667280, "total": 9795916},
        "training": {
            "corpus_minutes": 138.1,
            "corpus_speakers": 46,
            "steps": {"gpt": 1500, "s2m": None},
            "hours": {"gpt": 2.5, "s2m": None},
            "hardware": hardware(),
        },
    }
    quality = {"summary": {"gen": {"sim": 0.68, "cer_zh": 0.9, "wer_en": 1.0, "dnsmos": 2.5}}}
    text = write_model_card(tmp_path, card, quality).read_text()
    assert "| gpt | 6,128,636 | 1500 | 2.5 |" in text and "at least" in text
    assert "| s2m | 3,667,280 | — | — |" in text
    assert "138.1 min, 46 speakers" in text and "CPU cores" in text
    assert "| generated | 0.68 | 0.9 | 1.0 | 2.5 |" in text
    quality.update(items=[{"kind": "gen"}] * 3 + [{"kind": "real"}], speakers=["a", "b"],
                   sampling={"temperature": 0.7}, cfg_rate=0.7)  # fmt: skip
    text = write_model_card(tmp_path, card, quality).read_text()
    assert "3 items; 2 speakers; GPT temperature 0.7; S2M guidance 0.7)" in text
    quality["s2m_noise"] = 0.3
    text = write_model_card(tmp_path, card, quality).read_text()
    assert "S2M guidance 0.7; S2M starting noise 0.3)" in text and "Measured with" not in text
    card["quality"] = {"note": "seeds 0 and 1 pooled: SIM 0.75"}
    text = write_model_card(tmp_path, card, quality).read_text()
    assert "Measured with: seeds 0 and 1 pooled: SIM 0.75." in text
    assert "Not measured" in write_model_card(tmp_path, card).read_text()


def test_a_run_started_from_a_shipped_part_takes_its_history_from_the_model_card(tmp_path, clock, model_opt):
    import json

    from voxsmith.train.state import run_totals

    model, opt = model_opt
    shipped = tmp_path / "model"
    shipped.mkdir()
    (shipped / "model.json").write_text(json.dumps({"training": {"steps": {"x": 3000}, "hours": {"x": 1.5}}}))
    run = RunDir(tmp_path / "run", "x")
    run.started_from(shipped / "x.safetensors")
    clock[0] = 60.0
    run.save(10, {"model": model}, {"opt": opt})
    assert run_totals(tmp_path / "run" / "state.pt") == (3010, 5460.0)
    other = RunDir(tmp_path / "other", "y")  # the card says nothing of stage y
    other.started_from(shipped / "y.safetensors")
    other.save(10, {"model": model}, {"opt": opt})
    assert run_totals(tmp_path / "other" / "state.pt")[0] == 10


def test_bundle_on_a_base_model_takes_missing_parts_and_settings_from_it(tmp_path):
    import json
    import shutil

    from tests.helpers import make_random_model
    from voxsmith.checkpoints import load_safetensors
    from voxsmith.embeddings import EMOTIONS
    from voxsmith.errors import CheckpointError
    from voxsmith.models.parts import load_parts
    from voxsmith.train.bundle import assemble

    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus)  # give its train clips every style, as a real corpus has
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"]
    styles = (*EMOTIONS, "neutral")  # and one neutral clip: the speaking rates' reference
    for i, r in enumerate(train):
        style = styles[i % len(styles)]
        r.update(style=style, style_strength=0.0 if style == "neutral" else 1.0)
    (corpus / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = make_random_model(tmp_path / "base", seed=0)
    other = make_random_model(tmp_path / "other", seed=1)
    card = json.loads((base / "model.json").read_text())
    card.update(s2m_noise=0.6, temperature=0.7, training={"steps": {"gpt": 6111}, "hours": {"gpt": 5.3}})
    (base / "model.json").write_text(json.dumps(card))
    (tmp_path / "runs" / "s2m").mkdir(parents=True)
    shutil.copy(other / "s2m.safetensors", tmp_path / "runs" / "s2m" / "s2m.safetensors")

    out = assemble(tmp_path / "runs", corpus, tmp_path / "out", base=base, cfg_rate=0.5)
    parts = load_parts(out)
    assert (parts.s2m_noise, parts.temperature, parts.cfg_rate) == (0.6, 0.7, 0.5)  # an argument wins
    assert parts.rates is not None and parts.rates.log_tempo.abs().sum() > 0  # fitted, not defaulted
    for part, source in (("s2m", other), ("gpt", base), ("vocoder", base)):
        got, _, _ = load_safetensors(out / f"{part}.safetensors")
        want, _, _ = load_safetensors(source / f"{part}.safetensors")
        fp16 = {k: v.half().to(v.dtype) if v.is_floating_point() else v for k, v in want.items()}
        assert all(torch.equal(got[k], fp16[k]) for k in want), part  # the bundle stores fp16
    training = json.loads((out / "model.json").read_text())["training"]
    assert training["steps"]["gpt"] == 6111 and training["hours"]["gpt"] == 5.3
    with pytest.raises(CheckpointError, match="no model.json"):
        assemble(tmp_path / "runs", corpus, tmp_path / "out2", base=tmp_path / "runs")
