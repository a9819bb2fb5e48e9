"""The code reader: reads what GPT codes say with their context, picks the best-read candidate
(``models/code_reader.py``, ``train/reader.py``, the optional ``reader`` part)."""

from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import make_coded_corpus, make_random_model
from voxsmith.errors import CheckpointError, DataError
from voxsmith.models.code_reader import CodeReader, CodeReaderConfig


def _reader(codebook_size: int = 16, vocab: int = 12, seed: int = 0) -> CodeReader:
    torch.manual_seed(seed)
    return CodeReader(CodeReaderConfig.debug(vocab, codebook_size)).eval()


def test_a_row_reads_the_same_alone_and_beside_a_longer_one():
    """Packed sequences: the padding of a short row never reaches its backward pass."""
    r = _reader()
    short, long = torch.tensor([1, 2, 3, 4]), torch.tensor([5, 6, 7, 8, 9, 10, 11])
    alone = r(short[None])[0]
    batch = torch.zeros(2, 7, dtype=torch.long)
    batch[0, :4], batch[1] = short, long
    both = r(batch, torch.tensor([4, 7]))
    assert both.shape == (2, 7, 12)
    assert torch.allclose(both[0, :4], alone, atol=1e-5)
    assert r.score([short, long], [3, 4]) == pytest.approx(
        [r.score([short], [3, 4])[0], r.score([long], [3, 4])[0]]
    )


def test_codes_out_of_the_codebook_are_refused():
    with pytest.raises(ValueError, match=r"\[0, 16\)"):
        _reader()(torch.tensor([[3, 16]]))


def test_a_trained_reader_prefers_the_codes_that_say_the_units():
    """Codes 2..9 say units 2..9 (each held 2-3 frames); after a little CTC training the codes
    that spell the asked units score better than codes that skip or swap one, and codes too
    few for the units (or none) score infinity."""
    g = torch.Generator().manual_seed(0)
    r = _reader()
    r.train()
    opt = torch.optim.Adam(r.parameters(), 1e-2)
    for _ in range(150):
        rows, units = [], []
        for _ in range(16):
            u = torch.randint(2, 10, (4,), generator=g)
            rows.append(u.repeat_interleave(torch.randint(2, 4, (4,), generator=g)))
            units.append(u)
        lengths = torch.tensor([len(x) for x in rows])
        codes = torch.zeros(len(rows), int(lengths.max()), dtype=torch.long)
        for i, x in enumerate(rows):
            codes[i, : len(x)] = x
        loss = r.ctc_loss(codes, lengths, torch.cat(units), torch.full((16,), 4))
        opt.zero_grad()
        loss.backward()
        opt.step()
    r.eval()
    right, skip, swap = (
        torch.tensor([3, 3, 5, 5, 7, 7, 8, 8]),
        torch.tensor([3, 3, 5, 5, 5, 8, 8, 8]),
        torch.tensor([3, 3, 5, 5, 6, 6, 8, 8]),
    )
    scores = r.score(
        [right, skip, swap, torch.tensor([3, 5]), torch.tensor([], dtype=torch.long)], [3, 5, 7, 8]
    )
    assert scores[0] < scores[1] and scores[0] < scores[2]
    assert scores[3] == scores[4] == float("inf")
    assert r.read(right) == [3, 5, 7, 8]


def test_the_recipe_trains_exports_and_resumes(tmp_path, capsys):
    from voxsmith.checkpoints import load_safetensors
    from voxsmith.models.units import UNITS
    from voxsmith.train.reader import ReaderTrainConfig, train_reader

    corpus, _, codec = make_coded_corpus(tmp_path, codebook_size=16)
    cfg = ReaderTrainConfig(steps=3, batch_size=4, warmup=1, val_every=3, val_clips=4, log_every=1)
    out = tmp_path / "reader"
    path = train_reader(corpus, 16, out, cfg, CodeReaderConfig.debug(len(UNITS), 16))
    tensors, config, _ = load_safetensors(path, kind="code_reader")
    assert config["codebook_size"] == 16 and tensors["embedding.weight"].shape == (16, 16)
    log = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    assert any("val_valid_all" in row for row in log)
    cfg.steps = 5
    train_reader(corpus, 16, out, cfg, CodeReaderConfig.debug(len(UNITS), 16))
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert max(steps) == 5 and steps.count(3) <= 2  # resumed at 3, not started again
    # codes another (larger) codec wrote are refused before anything is written
    with pytest.raises(DataError, match="past the codec's 8 codes"):
        train_reader(corpus, 8, tmp_path / "small", cfg, CodeReaderConfig.debug(len(UNITS), 8))
    assert not (tmp_path / "small").exists()
    # the CLI: the stage needs the codec whose codes it reads
    from voxsmith.cli.main import main

    assert main(["train", "reader", "--data", str(corpus), "--out", str(tmp_path / "bad")]) == 2
    assert "needs --codec" in capsys.readouterr().err
    assert main(["train", "reader", "--config", "debug", "--data", str(corpus), "--codec", str(codec),
                 "--out", str(tmp_path / "cli"), "--steps", "2", "--val-every", "2"]) == 0  # fmt: skip
    assert (tmp_path / "cli" / "reader.safetensors").is_file()


def test_a_model_with_a_reader_scores_with_it_and_loads_it_loudly(tmp_path):
    from voxsmith.models.parts import load_parts, save_parts
    from voxsmith.models.units import UNITS

    parts = load_parts(make_random_model(tmp_path / "m", codebook_size=16))
    assert (
        parts.reader is None
        and "reader" not in json.loads((tmp_path / "m" / "model.json").read_text())["parts"]
    )
    parts.reader = _reader(16, len(UNITS), seed=1)
    root = save_parts(parts, tmp_path / "r", dtype=torch.float32)
    card = json.loads((root / "model.json").read_text())
    assert card["parts"]["reader"] == "reader.safetensors" and "reader" in card["parameters"]
    again = load_parts(root)
    cands, units = [torch.tensor([1, 2, 3, 4, 5]), torch.tensor([6, 7, 8, 9, 9])], [5, 6, 7]
    assert again.score_codes(cands, units) == pytest.approx(parts.reader.score(cands, units), rel=1e-5)
    # saved without it, the directory loses the file and the card the entry
    again.reader = None
    plain = load_parts(save_parts(again, root, dtype=torch.float32))
    assert plain.reader is None and not (root / "reader.safetensors").exists()
    # listed but missing, or reading another codebook: refused with the file named
    save_parts(parts, root, dtype=torch.float32)
    (root / "reader.safetensors").unlink()
    with pytest.raises(CheckpointError, match="reader.safetensors"):
        load_parts(root)
    # the emotion file stays optional even where the card lists it (cards before the reader did)
    save_parts(parts, root, dtype=torch.float32)
    (root / "emotion.safetensors").unlink()
    assert "emotion" in json.loads((root / "model.json").read_text())["parts"]
    assert load_parts(root).emotion is None
    parts.reader = _reader(32, len(UNITS))
    with pytest.raises(CheckpointError, match="reads 32 codes"):
        load_parts(save_parts(parts, root, dtype=torch.float32))
