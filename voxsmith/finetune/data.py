"""Fine-tuning data: a prepared dataset's clips with everything the two losses need.

Per clip (train and valid splits of ``DATASET/manifest.jsonl``, read through ``CorpusData``):

- ``codes (N,)``: computed with *the model's own* content encoder + codec (``prompt_codes``),
  so the GPT learns the codes its S2M reads (never the codes of another model);
- ``style (S,)``: the style vector; ``spk_latents (L, D)`` and ``emo_feats (E,)``: the frozen
  speaker and emotion conditioners' outputs for the first ``max_ref_frames`` conditioning
  frames (``ref (T, F)``, kept only for ``full``, where the conditioners train and run live);
- ``text``: token ids; with a glossary, a clip whose text contains a term is tokenised with
  the term's fixed pinyin (pinyin-guided fine-tuning), otherwise the manifest's phones are used.

Model-dependent arrays are cached once per model in ``DATASET/cache/finetune_<model>_<split>.npz``
(rebuilt when the clip list or the reference length changes).
No valid split in the manifest: every 10th training clip is held out instead.

Shapes: B clips, N codes, T mel frames (``frames_per_code`` per code), F conditioning-feature
width, L speaker latents, D GPT width, S style width.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.audio import SAMPLE_RATE, SILENCE_LOG_MEL, Audio
from voxsmith.errors import DataError, TextError
from voxsmith.fileio import atomic_path
from voxsmith.finetune.config import FinetuneConfig
from voxsmith.text.frontend import TextFrontend
from voxsmith.text.glossary import Glossary
from voxsmith.text.tokenizer import PhoneTokenizer, Segment
from voxsmith.train.data import HOP, CorpusData, pad, read_manifest

log = logging.getLogger(__name__)

MIN_CODES = 4  # shorter clips teach nothing


@dataclass
class FtClip:
    """One clip, ready for both losses."""

    id: str
    speaker: str
    text_raw: str
    mel: torch.Tensor  # (80, T)
    codes: torch.Tensor  # (N,) int64
    text: list[int]  # token ids (no start/stop)
    style: torch.Tensor  # (S,)
    ref: torch.Tensor | None  # (T_ref, F) conditioning features (only when the conditioners train)
    spk_latents: torch.Tensor  # (L, D) frozen speaker conditioner on ref
    emo_feats: torch.Tensor  # (E,) frozen emotion conditioner on ref, before the projections
    glossary_forced: bool  # the text was tokenised with glossary pinyin
    source: tuple[CorpusData, int]  # where its audio lives

    @property
    def seconds(self) -> float:
        return self.mel.shape[1] * HOP / SAMPLE_RATE

    def audio(self) -> Audio:
        data, k = self.source
        return Audio(data.clip_audio(k), SAMPLE_RATE)


@dataclass
class GPTRows:
    """A padded GPT batch; ``partners[i]`` is the clip whose conditioning row ``i`` uses."""

    text_ids: torch.Tensor  # (B, Lt)
    text_lengths: torch.Tensor  # (B,)
    codes: torch.Tensor  # (B, N)
    code_lengths: torch.Tensor  # (B,)
    partners: list[FtClip]


@dataclass
class S2MCrops:
    codes: torch.Tensor  # (B, N)
    mel: torch.Tensor  # (B, 80, T) with T = int(N · frames_per_code)
    mel_lens: torch.Tensor  # (B,)
    prompt_lens: torch.Tensor  # (B,)
    style: torch.Tensor  # (B, S)
    picks: list[tuple[FtClip, int, int]]  # (clip, first code, codes) per row


class TextIds:
    """Token ids of a manifest row, with the glossary's pinyin forced where its terms occur."""

    def __init__(self, frontend: TextFrontend, glossary: Glossary | None):
        self.tokenizer = frontend.tokenizer
        if glossary is not None and frontend.glossary is not None:  # the model's own (a merged voice) after
            glossary = Glossary(glossary.entries + frontend.glossary.entries)
        glossary = glossary or frontend.glossary
        # the model's own frontend (tokenizer, normaliser), one segment per clip: a clip is one row
        self.plain = dataclasses.replace(frontend, glossary=None, max_tokens=1_000_000)
        self.forced = dataclasses.replace(frontend, glossary=glossary, max_tokens=1_000_000)
        self.pattern = glossary.pattern() if glossary is not None else None

    def __call__(self, row: dict) -> tuple[list[int], bool]:
        text = str(row.get("text") or row.get("normalized") or "")
        if self.pattern is not None and self.pattern.search(text):
            return self.forced.process(text).tokens, True
        if isinstance(self.tokenizer, PhoneTokenizer) and row.get("phones"):
            return self.tokenizer.encode(Segment(row.get("normalized", text), list(row["phones"]))), False
        return self.plain.process(text).tokens, False


class FinetuneData:
    """Train and valid clips of a prepared dataset for one model (see the module doc)."""

    def __init__(
        self, dataset: str | os.PathLike, model, cfg: FinetuneConfig, glossary: Glossary | None = None
    ):
        self.root = Path(dataset)
        rows = read_manifest(self.root)  # DataError: missing or empty manifest
        splits = {r.get("split") for r in rows}
        if "train" not in splits:
            raise DataError(
                f"{self.root}: no clips in the train split (splits found: {sorted(map(str, splits))})"
            )
        self.model = model
        self.cfg = cfg
        self.need_refs = cfg.method == "full"  # the conditioners train: their input is kept
        self.frames_per_code = float(model.parts.s2m.cfg.frames_per_code)
        texts = TextIds(model.frontend, glossary)
        train = self._split("train", texts)
        if "valid" in splits:
            valid = self._split("valid", texts)
        else:
            if len(train) < 2:
                raise DataError(
                    f"{self.root}: one usable clip; fine-tuning needs at least two (train + valid)"
                )
            valid = train[::10]
            train = [c for i, c in enumerate(train) if i % 10]
            log.warning("%s: no valid split; holding out %d of the training clips", self.root, len(valid))
        if not train:
            raise DataError(f"{self.root}: no usable training clips (all shorter than {MIN_CODES} codes?)")
        if not valid:
            raise DataError(f"{self.root}: no usable validation clips")
        self.train, self.valid = train, valid
        self.by_speaker: dict[str, list[FtClip]] = {}
        for c in train:
            self.by_speaker.setdefault(c.speaker, []).append(c)

    # ----- building ----------------------------------------------------------------------
    def _split(self, split: str, texts: TextIds) -> list[FtClip]:
        data = CorpusData(self.root, split)
        arrays = self._model_arrays(data)
        clips = []
        for k, clip in enumerate(data.clips):
            codes = arrays["codes"][k]
            if len(codes) < MIN_CODES:
                continue
            try:
                ids, forced = texts(clip.row)
            except TextError as exc:
                log.warning("%s: clip %s skipped (%s)", self.root, clip.row["id"], exc)
                continue
            if not ids:
                continue
            ref = None
            if self.need_refs:
                with torch.no_grad():  # not inference mode: these feed autograd later
                    audio = Audio(data.clip_audio(k), SAMPLE_RATE)
                    ref = self.model.parts.conditioning_features(audio)[: self.cfg.max_ref_frames].clone()
            clips.append(
                FtClip(
                    id=clip.row["id"], speaker=str(clip.row.get("speaker", "speaker")),
                    text_raw=str(clip.row.get("text", "")), mel=data.clip_mel(k), codes=torch.from_numpy(codes.astype(np.int64)),
                    text=list(map(int, ids)), style=torch.from_numpy(arrays["style"][k]),
                    ref=ref,
                    spk_latents=torch.from_numpy(arrays["spk_latents"][k]),
                    emo_feats=torch.from_numpy(arrays["emo_feats"][k]), glossary_forced=forced, source=(data, k),
                )
            )  # fmt: skip
        return clips

    def _model_arrays(self, data: CorpusData) -> dict[str, list[np.ndarray] | np.ndarray]:
        """Codes, style, speaker latents and emotion features of every clip (cached per model)."""
        model_id = self.model.model_id
        h = hashlib.sha1(f"{model_id}|{self.cfg.max_ref_frames}|{data._cache_key()}".encode()).hexdigest()[
            :16
        ]
        path = self.root / "cache" / f"finetune_{model_id}_{data.split}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    if str(z["key"]) == h:
                        offsets = np.concatenate([[0], np.cumsum(z["lens"])])
                        codes = [z["codes"][offsets[i] : offsets[i + 1]] for i in range(len(z["lens"]))]
                        return {"codes": codes, "style": z["style"], "spk_latents": z["spk_latents"],
                                "emo_feats": z["emo_feats"]}  # fmt: skip
            except (OSError, KeyError, ValueError) as exc:
                log.warning("%s: unreadable cache, rebuilding (%s)", path, exc)
        p = self.model.parts
        codes, style, lat, emo = [], [], [], []
        with torch.inference_mode():
            for k in tqdm(range(len(data.clips)), desc=f"codes {data.split}", unit="clip", leave=False):
                audio = Audio(data.clip_audio(k), SAMPLE_RATE)
                feats = p.conditioning_features(audio)  # (T, F)
                codes.append(p.prompt_codes(data.clip_mel(k), feats).numpy().astype(np.int32))
                style.append(p.style_vector(audio).numpy().astype(np.float32))
                ref = feats[: self.cfg.max_ref_frames].unsqueeze(0)
                lat.append(p.gpt.speaker_latents(ref)[0].numpy().astype(np.float32))
                emo.append(p.gpt.emotion_features(ref)[0].numpy().astype(np.float32))
        arrays = {
            "codes": codes,
            "style": np.stack(style),
            "spk_latents": np.stack(lat),
            "emo_feats": np.stack(emo),
        }
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, key=np.asarray(h), codes=np.concatenate(codes), lens=np.array([len(c) for c in codes]),
                     style=arrays["style"], spk_latents=arrays["spk_latents"], emo_feats=arrays["emo_feats"])  # fmt: skip
        return arrays

    # ----- facts -------------------------------------------------------------------------
    @property
    def train_codes(self) -> int:
        return sum(len(c.codes) for c in self.train)

    @property
    def minutes(self) -> float:
        return sum(c.seconds for c in self.train) / 60

    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self.train_codes / self.cfg.gpt_batch_codes))

    @property
    def main_speaker(self) -> str:
        return max(self.by_speaker, key=lambda s: len(self.by_speaker[s]))

    # ----- batches -----------------------------------------------------------------------
    def _partner(self, clip: FtClip, rng: np.random.Generator | None) -> FtClip:
        """Another clip of the same speaker (conditioning never comes from the target itself)."""
        pool = [c for c in self.by_speaker.get(clip.speaker, []) if c.id != clip.id] or [clip]
        return (
            pool[int(rng.integers(len(pool)))]
            if rng is not None
            else pool[zlib.crc32(clip.id.encode()) % len(pool)]
        )

    def gpt_rows(self, clips: list[FtClip], rng: np.random.Generator | None) -> GPTRows:
        return GPTRows(
            text_ids=pad([torch.tensor(c.text) for c in clips]),
            text_lengths=torch.tensor([len(c.text) for c in clips]),
            codes=pad([c.codes for c in clips]),
            code_lengths=torch.tensor([len(c.codes) for c in clips]),
            partners=[self._partner(c, rng) for c in clips],
        )

    def gpt_batch(self, rng: np.random.Generator) -> GPTRows:
        """Random training clips up to ``gpt_batch_codes`` padded codes."""
        picks: list[FtClip] = []
        longest = 0
        while len(picks) < len(self.train) * 4:
            c = self.train[int(rng.integers(len(self.train)))]
            if picks and (len(picks) + 1) * max(longest, len(c.codes)) > self.cfg.gpt_batch_codes:
                break
            picks.append(c)
            longest = max(longest, len(c.codes))
        return self.gpt_rows(picks, rng)

    def valid_gpt_batches(self) -> list[GPTRows]:
        """Every valid clip once, in fixed batches with fixed partners."""
        out, cur = [], []
        for c in sorted(self.valid, key=lambda c: len(c.codes)):
            if cur and (len(cur) + 1) * len(c.codes) > self.cfg.gpt_batch_codes:
                out.append(self.gpt_rows(cur, None))
                cur = []
            cur.append(c)
        if cur:
            out.append(self.gpt_rows(cur, None))
        return out

    def s2m_crops(self, clips: list[FtClip], rng: np.random.Generator) -> S2MCrops:
        """Code-aligned random crops with an in-context prompt share (as the S2M recipe)."""
        cfg, f = self.cfg, self.frames_per_code
        codes_b, mels, lens, prompts, styles, picks = [], [], [], [], [], []
        for _ in range(cfg.s2m_batch):
            c = clips[int(rng.integers(len(clips)))]
            n_codes = min(len(c.codes), int(c.mel.shape[1] / f))
            n = min(cfg.s2m_crop_codes, n_codes)
            s = int(rng.integers(0, n_codes - n + 1))
            start, frames = int(round(s * f)), int(n * f)  # official truncation: int(n × frames_per_code)
            frames = min(frames, c.mel.shape[1] - start)
            codes_b.append(c.codes[s : s + n])
            mels.append(c.mel[:, start : start + frames])
            lens.append(frames)
            share = rng.uniform(*cfg.prompt_share)
            prompts.append(min(frames - 1, int(max(1, int(share * n)) * f)))
            styles.append(c.style)
            picks.append((c, s, n))
        n_max = max(len(c) for c in codes_b)
        codes = torch.zeros(len(codes_b), n_max, dtype=torch.long)
        mel = torch.full((len(mels), mels[0].shape[0], max(lens)), SILENCE_LOG_MEL)
        for i, (c, m) in enumerate(zip(codes_b, mels, strict=True)):
            codes[i, : len(c)] = c
            mel[i, :, : m.shape[1]] = m
        return S2MCrops(codes, mel, torch.tensor(lens), torch.tensor(prompts), torch.stack(styles), picks)
