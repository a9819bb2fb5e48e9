"""The tiny built-in model's parts and the glue between them (``PartsBase`` at the tiny size).

A voxsmith model directory holds ``model.json`` (name, size, which file is which part)
and one self-describing safetensors file per part::

    content.safetensors   CTC content encoder (prompt codes)      kind "content"
    codec.safetensors     k-means semantic codec                  kind "kmeans_codec"
    gpt.safetensors       semantic GPT (UnifiedVoice)             kind "gpt"
    s2m.safetensors       flow-matching S2M                       kind "s2m"
    style.safetensors     style encoder                           kind "style"
    vocoder.safetensors   Vocos-type vocoder                      kind "vocos"
    reader.safetensors    code reader (optional; picks the best-read GPT candidate)
                                                                  kind "code_reader"
    emotion.safetensors   emotion matrix (feat1 / feat2 / counts) kind "emotion_matrix"
                          (+ prosody_weight / prosody_bias: the prosody head, when S2M reads offsets;
                           + contour_weight / contour_bias / contour_spread: the contour head,
                           when S2M reads a per-code contour;
                           + rate_log_tempo: each emotion's speaking rate)

Shapes: codes (N,) at 21.5 Hz; mel (80, 4N); conditioning features (T, 80) log-mel.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch

from voxsmith.audio import Audio, AudioProcessor
from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.errors import CheckpointError
from voxsmith.fileio import atomic_write_text
from voxsmith.models.code_reader import CodeReader, CodeReaderConfig
from voxsmith.models.content import ContentEncoder, ContentEncoderConfig
from voxsmith.models.emotion import EmotionMatrix
from voxsmith.models.emotion_rate import EmotionRates
from voxsmith.models.envelope import match_envelope
from voxsmith.models.gpt import GPTConfig, UnifiedVoice
from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
from voxsmith.models.parts_base import PartsBase
from voxsmith.models.prosody import ContourHead, ProsodyHead, render_output, s2m_share
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.models.s2m.cfm import SWAY_RANGE
from voxsmith.models.sampling import SamplingConfig
from voxsmith.models.vocoder import VocosConfig, VocosVocoder
from voxsmith.text.frontend import TextFrontend

log = logging.getLogger(__name__)

PART_FILES = {
    "content": "content.safetensors",
    "codec": "codec.safetensors",
    "gpt": "gpt.safetensors",
    "s2m": "s2m.safetensors",
    "style": "style.safetensors",
    "vocoder": "vocoder.safetensors",
    "emotion": "emotion.safetensors",
    "reader": "reader.safetensors",
}
OPTIONAL_PARTS = ("emotion", "reader")
FRAMES_PER_CODE = 4
HOP = 256


@dataclass
class ModelParts(PartsBase):
    """Every trained module of the tiny model, in eval mode."""

    name: str
    content: ContentEncoder
    codec: KMeansCodec
    gpt: UnifiedVoice
    s2m: S2M
    style: torch.nn.Module
    vocoder: VocosVocoder
    emotion: EmotionMatrix | None
    s2m_steps: int = 10  # Euler steps at inference
    cfg_rate: float = 0.7  # classifier-free guidance strength
    temperature: float = 0.8  # GPT sampling temperature when the caller does not give one
    s2m_noise: float = 1.0  # scale of S2M's starting noise (flow-matching sampling temperature)
    s2m_sway: float = 0.0  # S2M time grid: 0 uniform, < 0 denser near the noise end
    timbre_match: float = (
        0.0  # share of the reference's spectral envelope put onto S2M's output (envelope.py)
    )
    timbre_match_tilt: float | None = (
        None  # share of the reference's spectral tilt taken (None: timbre_match)
    )
    code_candidates: int = 1  # GPT samples per segment, the best read (score_codes) kept
    listen_candidates: int = 0  # see PartsBase: candidates heard when the user set a reading
    listen_confidence: float = 0.0  # see PartsBase: the checker's confidence that takes one at once
    text_guidance: float = 0.0  # GPT guidance towards the text (SamplingConfig; needs a text-drop GPT)
    duration_token_share: float = 1.0  # see PartsBase: a duration_ratio's share taken in tokens
    duration_token_share_slow: float | None = None  # see PartsBase: the same for ratios above 1
    emotion_mix_cap: float | None = None  # see PartsBase: the most emotion weight the GPT mixes in
    voice_hold: float | None = None  # see PartsBase: the most of a category's pitch/tilt change asked
    card: dict = field(default_factory=dict)
    prosody: ProsodyHead | None = None  # emotion → utterance prosody, for an S2M that reads offsets
    contour: ContourHead | None = None  # GPT latents → per-code prosody, for an S2M that reads a contour
    rates: EmotionRates | None = None  # emotion weights → speaking rate (token count)
    reader: CodeReader | None = None  # reads candidates' codes with context (else the content CTC head)

    @property
    def samples_per_token(self) -> int:
        return FRAMES_PER_CODE * HOP

    def modules(self) -> dict[str, torch.nn.Module]:
        out = {"content": self.content, "codec": self.codec, "gpt": self.gpt, "s2m": self.s2m,
               "style": self.style, "vocoder": self.vocoder}  # fmt: skip
        return out | ({"reader": self.reader} if self.reader is not None else {})

    def default_sampling(self) -> SamplingConfig:
        return SamplingConfig(do_sample=True, temperature=self.temperature, top_k=30, top_p=0.8, repetition_penalty=1.0,
                              num_beams=1, max_new_tokens=self.gpt.config.max_mel_tokens,
                              text_guidance=self.text_guidance)  # fmt: skip

    def frontend(self) -> TextFrontend:
        # segments no longer than the utterances the model was trained on
        return TextFrontend(max_tokens=int(self.card.get("max_segment_tokens", 60)))

    # ----- reference analysis ----------------------------------------------------------
    def conditioning_features(self, ref: Audio) -> torch.Tensor:
        """(T, 80) log-mel frames: the GPT conditioners' input at the tiny size."""
        return AudioProcessor.mel(ref.samples)[0].T.contiguous()

    @torch.inference_mode()
    def prompt_codes(self, mel: torch.Tensor, feats: torch.Tensor | None = None) -> torch.Tensor:
        """(80, T) log-mel → (ceil(T/4),) codes (the tiny size reads the mel, not ``feats``)."""
        feats, _, _ = self.content(mel.unsqueeze(0))
        return self.codec.quantize(feats)[0]

    @torch.inference_mode()
    def style_vector(self, ref: Audio) -> torch.Tensor:
        return self.style.embed(ref)

    # ----- generation ------------------------------------------------------------------
    @torch.inference_mode()
    def score_codes(self, candidates: list[torch.Tensor], units: list[int]) -> list[float]:
        """Per candidate, the CTC loss of ``units`` read from its codes: what the sampled codes
        still say of the text, before S2M renders them. The code reader reads them with context
        where the model has one; else the content encoder's CTC head reads each code's k-means
        centroid alone. A sum over the frames, not a mean, so trailing silence (confidently
        blank frames) does not lower a candidate's loss."""
        if self.reader is not None:
            return self.reader.score(candidates, units)
        targets = torch.tensor(units, dtype=torch.long)
        out = []
        for codes in candidates:
            if codes.numel() == 0:
                out.append(float("inf"))
                continue
            logp = torch.log_softmax(self.content.ctc_head(self.codec.vq2emb(codes.long())).float(), dim=-1)
            # too few frames for the units: an infinite loss, the worst
            loss = torch.nn.functional.ctc_loss(
                logp[:, None],
                targets[None],
                torch.tensor([codes.numel()]),
                torch.tensor([len(units)]),
                blank=0,
                reduction="sum",
                zero_infinity=False,
            )
            out.append(float(loss))
        return out

    @torch.inference_mode()
    def codes_to_mel(self, codes: torch.Tensor, spk, *, text_ids=None, emo_vec=None, target=None,
                     n_steps: int | None = None, seed: int | None = None,
                     emo_weights: torch.Tensor | None = None, stretch: float = 1.0) -> torch.Tensor:  # fmt: skip
        """(N,) codes → (80, 4N) mel, the speaker's reference as in-context prompt.

        ``text_ids``, ``emo_vec`` and ``target`` matter only to an S2M that reads GPT latents
        (``PartsBase.gpt_latent``); an S2M trained without them ignores them. ``emo_weights``
        (8,): the emotion's weights, for the prosody head's measured table. ``stretch``: the
        codes read over that many times their frames (an emotion's speaking rate).
        """
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        codes = codes.long().unsqueeze(0)
        latent = self.gpt_latent(codes, spk, text_ids, emo_vec, target)
        offset = self.prosody_offset(spk, emo_vec, emo_weights)  # S2M gets its pitch share
        mel = self.s2m.infer(
            self.codec.vq2emb(codes),
            spk.prompt_mel.unsqueeze(0),
            # a S2M trained before the style stage existed saw zero style vectors only
            (spk.style if self.card.get("s2m_style", True) else torch.zeros_like(spk.style)).unsqueeze(0),
            ref_emb=self.codec.vq2emb(spk.prompt_codes.long()).unsqueeze(0),
            gpt_latent=latent,
            prosody=s2m_share(offset),
            contour=self.prosody_contour(latent, spk, emo_vec, emo_weights),
            stretch=stretch,
            n_steps=n_steps or self.s2m_steps,
            cfg_rate=self.cfg_rate,
            temperature=self.s2m_noise,
            sway=self.s2m_sway,
            generator=gen,
        )
        # the reference's broad envelope, then the emotion's loudness and tilt, go onto S2M's output
        return render_output(
            match_envelope(mel[0], spk.prompt_mel, self.timbre_match, tilt=self.timbre_match_tilt), offset
        )

    @torch.inference_mode()
    def vocode(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, frames) → (B, frames · 256)."""
        return self.vocoder(mel)


def save_parts(
    parts: ModelParts, root: str | Path, dtype: torch.dtype = torch.float16, **card: object
) -> Path:
    """Write a model directory (``model.json`` + one safetensors per part) that ``load_parts`` reads.

    Each file is written atomically; ``model.json`` goes last, so a directory interrupted
    halfway never looks complete.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    save_safetensors(parts.content.state_dict(), root / PART_FILES["content"], kind="content",
                     config=parts.content.cfg.to_dict(), dtype=dtype)  # fmt: skip
    # the codebook stays fp32: nearest-centre search is sensitive to rounding
    save_safetensors(parts.codec.state_dict(), root / PART_FILES["codec"], kind="kmeans_codec",
                     config=parts.codec.cfg.to_dict())  # fmt: skip
    save_safetensors(parts.gpt.state_dict(), root / PART_FILES["gpt"], kind="gpt",
                     config=parts.gpt.config.to_dict(), dtype=dtype)  # fmt: skip
    save_safetensors(parts.s2m.state_dict(), root / PART_FILES["s2m"], kind="s2m",
                     config=parts.s2m.cfg.to_dict(), dtype=dtype)  # fmt: skip
    parts.style.save(root / PART_FILES["style"], dtype=dtype)
    save_safetensors(parts.vocoder.state_dict(), root / PART_FILES["vocoder"], kind="vocos",
                     config=parts.vocoder.cfg.to_dict(), dtype=dtype)  # fmt: skip
    if parts.reader is not None:
        save_safetensors(parts.reader.state_dict(), root / PART_FILES["reader"], kind="code_reader",
                         config=parts.reader.cfg.to_dict(), dtype=dtype)  # fmt: skip
    else:  # no file the card does not list is left behind from an earlier save
        (root / PART_FILES["reader"]).unlink(missing_ok=True)
    if parts.emotion is not None:
        head = parts.prosody.tensors() if parts.prosody is not None else {}
        head |= parts.contour.tensors() if parts.contour is not None else {}
        head |= parts.rates.tensors() if parts.rates is not None else {}
        save_safetensors(
            {"feat1": parts.emotion.style_rows, "feat2": parts.emotion.emotion_rows, **head},
            root / PART_FILES["emotion"], kind="emotion_matrix", config={"counts": parts.emotion.counts},
        )  # fmt: skip
    info = {**parts.card, **card, "name": parts.name, "s2m_steps": parts.s2m_steps, "cfg_rate": parts.cfg_rate,
            "s2m_noise": parts.s2m_noise, "s2m_sway": parts.s2m_sway, "timbre_match": parts.timbre_match,
            "temperature": parts.temperature, "parameters": parts.parameter_counts()}  # fmt: skip
    info["parts"] = {
        k: f for k, f in PART_FILES.items() if k not in OPTIONAL_PARTS or getattr(parts, k) is not None
    }
    info["code_candidates"] = parts.code_candidates
    info["listen_candidates"] = parts.listen_candidates
    info["listen_confidence"] = parts.listen_confidence
    info["text_guidance"] = parts.text_guidance
    info["duration_token_share"] = parts.duration_token_share
    # an unset optional setting has no key, not even a stale one carried over from the loaded card
    for key in ("timbre_match_tilt", "duration_token_share_slow", "emotion_mix_cap", "voice_hold"):
        info.pop(key, None)
        if getattr(parts, key) is not None:
            info[key] = getattr(parts, key)
    atomic_write_text(root / "model.json", json.dumps(info, ensure_ascii=False, indent=1) + "\n")
    return root


def _load(path: Path, kind: str) -> tuple[dict, dict]:
    tensors, config, _ = load_safetensors(path, kind=kind)
    return tensors, config


# model.json sampling settings: (type, lowest allowed, highest allowed, lowest is exclusive)
CARD_SETTINGS: dict[str, tuple[type, float, float, bool]] = {
    "s2m_steps": (int, 1, 1000, False),
    "cfg_rate": (float, 0.0, 10.0, False),
    "temperature": (float, 0.0, 10.0, True),
    "s2m_noise": (float, 0.0, 10.0, True),
    "s2m_sway": (float, *SWAY_RANGE, False),
    "timbre_match": (float, 0.0, 1.0, False),
    "timbre_match_tilt": (float, 0.0, 1.0, False),
    "code_candidates": (int, 1, 64, False),  # past 64 a batch outruns real time on 2 cores
    "listen_candidates": (int, 0, 64, False),  # each one heard is a render and a check
    "listen_confidence": (float, 0.0, 1.0, False),
    "text_guidance": (float, 0.0, 10.0, False),
    "duration_token_share": (float, 0.0, 1.0, False),
    "duration_token_share_slow": (float, 0.0, 1.0, False),
    "emotion_mix_cap": (float, 0.0, 2.0, True),
    "voice_hold": (float, 0.0, 2.0, True),
}


def card_settings(card: dict, where: str | Path = "model.json") -> dict[str, int | float]:
    """The sampling settings a model card sets, checked before any weights are read, so a
    mistyped value is refused at load with the file and key named (not at the first synthesis)."""
    out: dict[str, int | float] = {}
    for key, (kind, lo, hi, open_lo) in CARD_SETTINGS.items():
        if key not in card:
            continue
        value = card[key]
        ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind is int and ok_type and float(value) != int(value):
            ok_type = False
        if not ok_type or not (lo < value if open_lo else lo <= value) or value > hi:
            bound = f"({lo}, {hi}]" if open_lo else f"[{lo}, {hi}]"
            raise CheckpointError(
                f"{where}: {key} must be a{'n integer' if kind is int else ' number'} in {bound}, got {value!r}"
            )
        out[key] = kind(value)
    return out


def override_settings(parts: ModelParts, given: dict, where: str) -> dict[str, int | float]:
    """Set the card settings in ``given`` (None values skipped) on ``parts``, checked as a model
    card's are (a :class:`CheckpointError` naming ``where`` and the key on a bad one, nothing set);
    returns what was set."""
    settings = card_settings({k: v for k, v in given.items() if v is not None}, where)
    for name, value in settings.items():
        setattr(parts, name, value)
    return settings


def load_parts(root: str | Path) -> ModelParts:
    """Load a voxsmith model directory; a missing part is a clear error naming it."""
    root = Path(root)
    card_path = root / "model.json"
    if not card_path.is_file():
        raise CheckpointError(
            f"{root}: not a voxsmith model directory (no model.json); the built-in model ships in "
            "voxsmith/assets/tiny, official checkpoints are converted with `voxsmith convert`"
        )
    card = json.loads(card_path.read_text(encoding="utf-8"))
    # the reader is required only when the card lists it; the emotion file was never required
    listed = card.get("parts") or {}
    required = [k for k in PART_FILES if k not in OPTIONAL_PARTS] + (["reader"] if "reader" in listed else [])
    missing = [PART_FILES[k] for k in required if not (root / PART_FILES[k]).is_file()]
    if missing:
        raise CheckpointError(f"{root}: model directory is missing {', '.join(missing)}")
    settings = card_settings(card, card_path)
    t, c = _load(root / PART_FILES["content"], "content")
    content = ContentEncoder(ContentEncoderConfig(**c))
    strict_load(content, t, "content")
    t, c = _load(root / PART_FILES["codec"], "kmeans_codec")
    codec = KMeansCodec(KMeansCodecConfig(**c))
    strict_load(codec, t, "codec")
    t, c = _load(root / PART_FILES["gpt"], "gpt")
    gpt = UnifiedVoice(GPTConfig.from_dict(c))
    strict_load(gpt, t, "gpt")
    t, c = _load(root / PART_FILES["s2m"], "s2m")
    s2m = S2M(S2MConfig.from_dict(c))
    strict_load(s2m, t, "s2m")
    from voxsmith.models.style import load_style_encoder

    style = load_style_encoder(root / PART_FILES["style"])
    t, c = _load(root / PART_FILES["vocoder"], "vocos")
    vocoder = VocosVocoder(VocosConfig(**c))
    strict_load(vocoder, t, "vocoder")
    emotion, prosody, contour, rates = None, None, None, None
    if (root / PART_FILES["emotion"]).is_file():
        t, c = _load(root / PART_FILES["emotion"], "emotion_matrix")
        emotion = EmotionMatrix(t["feat1"], t["feat2"], c["counts"])
        prosody = ProsodyHead.from_tensors(t)
        contour = ContourHead.from_tensors(t)
        rates = EmotionRates.from_tensors(t)
        extras = [name for name, part in (("prosody head", prosody), ("contour head", contour),
                                          ("speaking rates", rates)) if part is not None]  # fmt: skip
        if prosody is not None and prosody.table is not None:
            extras.append("prosody table")
        log.info("emotion: %d matrix rows%s", len(emotion.emotion_rows), "".join(f", {x}" for x in extras))
    if s2m.cfg.prosody_dim and prosody is None:
        raise CheckpointError(
            f"{root}: its S2M reads prosody offsets but {PART_FILES['emotion']} has no prosody head "
            "(prosody_weight, prosody_bias); rebuild the model with `voxsmith dev bundle`"
        )
    if s2m.cfg.contour_dim and contour is None:
        raise CheckpointError(
            f"{root}: its S2M reads a prosody contour but {PART_FILES['emotion']} has no contour head "
            "(contour_weight, contour_bias, contour_spread); rebuild the model with `voxsmith dev bundle`"
        )
    reader = None
    if "reader" in listed:
        t, c = _load(root / PART_FILES["reader"], "code_reader")
        reader = CodeReader(CodeReaderConfig(**c))
        strict_load(reader, t, "reader")
        if reader.cfg.codebook_size != codec.cfg.codebook_size:
            raise CheckpointError(
                f"{root}: {PART_FILES['reader']} reads {reader.cfg.codebook_size} codes, the codec has "
                f"{codec.cfg.codebook_size}; retrain it with `voxsmith train reader --codec ...`"
            )
    parts = ModelParts(
        card.get("name", root.name), content, codec, gpt, s2m, style, vocoder, emotion, card=card,
        prosody=prosody, contour=contour, rates=rates, reader=reader,
    )  # fmt: skip
    for name, value in settings.items():
        setattr(parts, name, value)
    for m in parts.modules().values():
        m.eval()
    return parts
