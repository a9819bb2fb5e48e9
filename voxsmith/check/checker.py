"""``PronunciationChecker``: listen to a clip and say which syllables of the text were misread.

    audio ─► Whisper encoder states (or log-mel) + pitch ─► PronRecognizer
          ─► CTC log-posteriors (T', U) at 50 Hz (43 Hz on log-mel)
    text ─► TextFrontend ─► expected tokens (syllables with readings and alternatives)
    ─► Viterbi alignment of the intended units ─► per-syllable candidate likelihoods
    ─► calibrated decision per syllable;  ASR judge ─► CER, skipped/repeated spans

The built-in recogniser reads the ASR judge's own Whisper encoder states: one encoder pass
per clip serves both checks (``WhisperBackend.encoder_output``).

Polyphones are always judged (intended reading against the character's other readings);
other syllables are judged against their other tones only with ``check_all``. It works
on any audio and text, not only voxsmith's output.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from voxsmith.audio import SAMPLE_RATE, Audio
from voxsmith.check.align import token_spans, viterbi_align
from voxsmith.check.config import Calibration
from voxsmith.check.content import ContentChecker, ContentResult
from voxsmith.check.expected import (
    ExpectedToken,
    expected_tokens,
    glossary_rivals,
    tone_variants,
    with_rivals,
)
from voxsmith.check.gop import TokenScore, confidence, score_tokens
from voxsmith.check.model import PronRecognizer, load_checker
from voxsmith.check.report import CheckReport, SyllableCheck
from voxsmith.check.tone import ToneJudge, token_features
from voxsmith.errors import CheckpointError
from voxsmith.eval.common import AudioInput, load_audio
from voxsmith.models.units import units_to_ids
from voxsmith.text.frontend import TextFrontend

log = logging.getLogger(__name__)

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "checker" / "checker.safetensors"
TRAIN_HINT = (
    "train it with `voxsmith train checker --data CORPUS --out runs/checker` and copy "
    f"runs/checker/checker.safetensors to {DEFAULT_MODEL}, or pass --model PATH"
)


class PronunciationChecker:
    """Checks clips against texts with one loaded recogniser (and, lazily, one ASR judge)."""

    def __init__(
        self,
        model: PronRecognizer,
        calibration: Calibration,
        *,
        frontend: TextFrontend | None = None,
        content: ContentChecker | None = None,
        check_all: bool = False,
        tone_judge: ToneJudge | None = None,
    ) -> None:
        self.model = model.eval()
        self.calibration = calibration
        self.tone_judge = tone_judge
        self.frontend = frontend or TextFrontend()
        self.content = content or ContentChecker()
        self.check_all = check_all
        if model.cfg.frontend == "whisper" and model.whisper is None:
            self._share_encoder()

    def _share_encoder(self) -> None:
        """Give the recogniser the content check's Whisper backend when it has one: one encoder
        pass per clip then serves both checks (``WhisperBackend.encoder_output`` keeps it)."""
        from voxsmith.eval.whisper import WhisperBackend

        backend = getattr(getattr(self.content, "judge", None), "backend", None)
        if isinstance(backend, WhisperBackend):
            self.model.whisper = backend

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, **kwargs) -> PronunciationChecker:
        """Load a checker file (default: the built-in ``assets/checker/checker.safetensors``)."""
        p = Path(path) if path is not None else DEFAULT_MODEL
        if not p.is_file():
            what = "the built-in pronunciation checker is not installed" if path is None else "file not found"
            raise CheckpointError(f"{p}: {what}; {TRAIN_HINT}")
        model, calibration, judge = load_checker(p)
        if not calibration.fitted:
            log.warning("%s: calibration was not fitted on data; decisions use default thresholds", p)
        return cls(model, calibration, tone_judge=judge, **kwargs)

    def log_probs(self, audio: AudioInput, pitch: torch.Tensor | None = None) -> torch.Tensor:
        """(T', n_units) CTC log-posteriors of a clip (a path or ``Audio``, any sample rate);
        ``pitch``: the clip's ``model.pitch_track`` when the caller has it already."""
        return self.model.log_probs(self.model.features(load_audio(audio, SAMPLE_RATE), pitch))

    @property
    def judges_tone(self) -> bool:
        return self.tone_judge is not None and bool(self.calibration.tone_weight)

    def tone_log_probs(
        self, pitch: torch.Tensor, spans: np.ndarray, n_frames: int, tokens: list[ExpectedToken]
    ) -> np.ndarray | None:
        """(K, 5) tone judgement of aligned tokens from the clip's ``model.pitch_track``, or None
        without a judge (or weight 0)."""
        if self.tone_judge is None or not self.judges_tone:
            return None
        return self.tone_judge.log_probs(token_features(pitch, spans, n_frames, tokens))

    def pronunciation(
        self, audio: AudioInput, text: str, rivals: dict[int, tuple[str, ...]] | None = None
    ) -> tuple[str, list[SyllableCheck]]:
        """The normalised text and one ``SyllableCheck`` per Chinese syllable of ``text``.

        ``rivals``: syllable index -> readings to weigh against the intended one besides the
        character's own other readings (e.g. a glossary term's everyday reading, which the
        polyphone table may not list: 月氏 rou4 against yue4); such syllables are judged. The
        syllables the frontend's glossary reads otherwise than the plain frontend get that
        plain reading as a rival without asking.
        """
        result, tokens = expected_tokens(text, self.frontend)
        rivals = {**glossary_rivals(self.frontend, text, result.syllables), **(rivals or {})}
        if rivals:
            tokens = [with_rivals(t, rivals.get(t.syllable, ())) if t.kind == "zh" else t for t in tokens]
        return result.normalized, self.hear(audio, tokens)

    def hear(self, audio: AudioInput, tokens: list[ExpectedToken]) -> list[SyllableCheck]:
        """One ``SyllableCheck`` per Chinese token of ``tokens`` (what ``audio`` should say, in
        order, rivals already added), indexed as the tokens' syllables are."""
        zh = [t for t in tokens if t.kind == "zh"]
        if not zh:
            return []
        # decoded, resampled and pitch-tracked once for the recogniser and the tone judge
        clip = Audio(load_audio(audio, SAMPLE_RATE), SAMPLE_RATE)
        pitch = self.model.pitch_track(clip.samples) if self.model.cfg.pitch or self.judges_tone else None
        lp = self.log_probs(clip, pitch)
        alignment = viterbi_align(lp.numpy(), units_to_ids([u for t in tokens for u in t.units]))
        if alignment is None:  # the clip is too short for the text: nothing can be heard as meant
            log.info("no alignment of %d tokens in %d frames", len(tokens), lp.shape[0])
            return [self._unaligned(t) for t in zh]
        spans = token_spans(alignment, [len(t.units) for t in tokens])
        tone_lp = None if pitch is None else self.tone_log_probs(pitch, spans, lp.shape[0], tokens)
        scores = score_tokens(lp, tokens, spans, True, tone_lp, self.calibration.tone_weight)
        return [self._decide(t, s) for t, s in zip(tokens, scores, strict=True) if s is not None]

    def check(self, audio: AudioInput, text: str, content: bool = True) -> CheckReport:
        """Pronunciation of every syllable and (``content``) the ASR content check."""
        clip = Audio(load_audio(audio, SAMPLE_RATE), SAMPLE_RATE)  # decode once for both checks
        normalized, syllables = self.pronunciation(clip, text)
        result = self.content.check(clip, normalized) if content else ContentResult(None)
        return CheckReport(syllables, result)

    def _decide(self, tok: ExpectedToken, score: TokenScore) -> SyllableCheck:
        cal = self.calibration
        tones = tone_variants(tok.reading)
        candidates: list[str] = [tok.reading, *tok.alternatives]
        confs: list[float] = []
        margin = score.margin(tok.reading, tok.alternatives) if tok.polyphone else None
        if margin is not None:
            confs.append(confidence(margin, cal.poly_threshold, cal.poly_scale))
        tone_conf = confidence(score.tone_margin, cal.syl_threshold, cal.syl_scale)
        if self.check_all or not tok.polyphone:
            candidates += tones
        if self.check_all:
            confs.append(tone_conf)
        judged = bool(confs)
        conf = min(confs) if confs else tone_conf
        return SyllableCheck(
            text=tok.text,
            expected=tok.reading,
            heard=score.best(list(dict.fromkeys(candidates))),
            confidence=conf,
            ok=conf >= 0.5 if judged else True,
            index=tok.syllable,
            polyphone=tok.polyphone,
            alternatives=tok.alternatives,
            judged=judged,
            margin=margin,
        )

    @staticmethod
    def _unaligned(tok: ExpectedToken) -> SyllableCheck:
        return SyllableCheck(
            tok.text, tok.reading, "", 0.0, False, tok.syllable, tok.polyphone, tok.alternatives
        )
