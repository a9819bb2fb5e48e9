"""``IndexTTSModel``: the inference facade that the CLI, the server and users call.

Data flow (DESIGN.md §1): text → frontend segments → phone ids; reference clip →
conditioning features → speaker latents + its own emotion vector, style vector, prompt
mel and prompt codes (a ``SpeakerEmbedding``, computed once); emotion from a clip, text,
preset or 8 weights (an ``EmotionEmbedding``); the GPT generates codes per segment
(free length, ``duration_ratio`` × natural length, or exactly ``target_tokens``; emotion
weights on a model with ``EmotionRates`` set the natural length to the neutral one × the
emotion's speaking-rate factor, through the same exact-count generation); S2M
turns codes into mel with the reference as in-context prompt; the vocoder makes audio.

The facade holds a ``PartsBase``: ``ModelParts`` (the tiny built-in model) or ``OfficialParts``
(the official IndexTTS-2 checkpoints, read in place or converted); it owns no training code.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from voxsmith.audio import SAMPLE_RATE, SILENCE_LOG_MEL, Audio, AudioProcessor
from voxsmith.embeddings import EmotionEmbedding, SpeakerEmbedding, parse_emotion_vector, preset_weights
from voxsmith.errors import CheckpointError, ConfigError, TextError
from voxsmith.models.emotion_rate import FACTOR_RANGE
from voxsmith.models.loader import load_model_dir
from voxsmith.models.parts_base import PartsBase
from voxsmith.models.sampling import SamplingConfig
from voxsmith.text.glossary import Glossary

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).parent / "assets" / "tiny"
DURATION_RATIO_RANGE = FACTOR_RANGE  # where duration control is measured (BENCHMARKS.md)
LENGTH_PASS_CANDIDATES = 8  # GPT samples for a pass that only measures the neutral length


@dataclass
class SynthesisResult:
    """Audio plus what was generated, for reports and the CLI's ``--json``."""

    audio: Audio
    tokens: int  # semantic codes generated over all segments
    segments: list[str]
    codes: list[torch.Tensor] = field(default_factory=list)  # (N_i,) per segment
    seconds_compute: float = 0.0
    verify: dict | None = None  # the pronunciation check report when verify=True
    # per segment with readings the user set: {"segment", "rendered", "heard_as_set", "confidence"}
    # (listen_candidates, listen_confidence)
    listened: list[dict] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.audio.seconds

    @property
    def rtf(self) -> float:
        return self.seconds_compute / max(self.seconds, 1e-9)


class EmotionEncoder:
    """``model.emotion_encoder``: emotion from a clip, text, preset or vector."""

    def __init__(self, model: IndexTTSModel):
        self._model = model

    def __call__(self, audio: Audio | str | os.PathLike, alpha: float = 1.0) -> EmotionEmbedding:
        """Emotion of a reference clip (its emotion vector; timbre is not taken from it)."""
        m = self._model
        feats = m.parts.conditioning_features(m._reference(audio, "emotion reference"))
        with torch.inference_mode():
            vec = m.parts.gpt.emotion_vector(feats.unsqueeze(0))[0]
        return EmotionEmbedding(emo_vec=vec, alpha=alpha, source="audio", model_id=m.model_id)

    def from_vector(self, weights, intensity: float = 1.0) -> EmotionEmbedding:
        """Eight weights (happy, angry, sad, afraid, disgusted, melancholic, surprised, calm) × intensity."""
        if not 0.0 <= intensity <= 2.0:
            raise ConfigError(f"intensity must be in [0, 2], got {intensity}")
        w = parse_emotion_vector(weights) * intensity
        return EmotionEmbedding(weights=w, source="vector", model_id=self._model.model_id)

    def preset(self, name: str, intensity: float = 1.0) -> EmotionEmbedding:
        return self.from_vector(preset_weights(name), intensity)

    def from_text(self, text: str, intensity: float = 1.0) -> EmotionEmbedding:
        """Emotion from a description or emotional content ("愤怒地质问", "say it gently")."""
        weights = self._model.parts.text_emotion_backend()(text)
        w = torch.as_tensor(getattr(weights, "weights", weights), dtype=torch.float32).flatten()
        emb = self.from_vector(w, intensity)
        emb.source = f"text:{text}"
        return emb


def set_readings_heard(checker, audio: Audio, tokens: list, pinned: frozenset[int]) -> tuple[int, float]:
    """How many of the ``pinned`` syllables (readings the user set) ``checker`` hears otherwise in
    ``audio``, and its lowest confidence in them (1.0 with none): one take as ``keep_take`` reads it."""
    checks = [c for c in checker.hear(audio, tokens) if c.index in pinned]
    return sum(c.heard != c.expected for c in checks), min((c.confidence for c in checks), default=1.0)


def keep_take(takes: Iterable[tuple[int, float]], need: float) -> tuple[int, int, bool]:
    """Which listened candidate to keep (``listen_candidates``, ``listen_confidence``).

    ``takes``: per candidate in rank order (best-read first), how many set syllables the checker
    heard otherwise and its lowest confidence in them; consumed lazily, so rendering stops at the
    first take with none heard otherwise and confidence >= ``need``. Otherwise the fewest heard
    otherwise wins, then the surest (a take heard as set but not surely is a weak one: the surer,
    the likelier another ear hears it too; BENCHMARKS, "Which take the checker keeps"), then the
    best-read. Returns (index kept, how many were heard, whether it was heard as set)."""
    best, n = None, 0
    for n, (wrong, sure) in enumerate(takes, 1):
        if best is None or (wrong, -sure, n) < best:
            best = (wrong, -sure, n)
        if wrong == 0 and sure >= need:
            break
    if best is None:
        raise ValueError("no candidates to listen to")
    return best[2] - 1, n, best[0] == 0


class IndexTTSModel:
    """Zero-shot, emotion- and duration-controllable TTS (the IndexTTS 2.0 design)."""

    def __init__(self, parts: PartsBase, model_id: str):
        self.parts = parts
        self.model_id = model_id
        self.emotion_encoder = EmotionEncoder(self)
        self.frontend = parts.frontend()
        self._adapters = None  # voxsmith.finetune.runtime.AdapterRuntime, made by the first load_adapter
        self._stored_speaker: SpeakerEmbedding | None = None  # the voice a merged model directory carries
        self._base_glossary = self.frontend.glossary
        self._user_glossary: Glossary | None = None  # set_glossary
        self._checker = None  # PronunciationChecker for set readings (_listener); False: cannot load

    # ----- loading -----------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike | None = None,
        *,
        threads: int | None = None,
        adapter: str | os.PathLike | None = None,
    ) -> IndexTTSModel:
        """The built-in model (``path=None``), a voxsmith model directory, or an official IndexTTS-2
        directory (``config.yaml``, ``gpt.pth``, …; see ``voxsmith.models.official.layout``). Local paths only.

        ``adapter``: a fine-tuned adapter directory (``voxsmith finetune``), loaded and made active.
        """
        if threads:
            torch.set_num_threads(threads)
        root = Path(path) if path is not None else BUILTIN_DIR
        parts = load_model_dir(root)
        digest = hashlib.sha1(str(sorted(parts.fingerprint().items())).encode()).hexdigest()[:12]
        model = cls(parts, f"{parts.name}-{digest}")
        if parts.card.get("speaker") or parts.card.get("glossary"):  # a merged adapter's voice and glossary
            from voxsmith.finetune.runtime import bundled_voice

            model._stored_speaker, glossary = bundled_voice(root, parts.card, model.model_id)
            model._base_glossary = model.frontend.glossary = glossary
        if adapter is not None:
            model.set_adapter(model.load_adapter(adapter))
        return model

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def samples_per_token(self) -> int:
        return self.parts.samples_per_token

    def info(self) -> dict:
        return {
            "model_id": self.model_id,
            "sample_rate": self.sample_rate,
            "samples_per_token": self.samples_per_token,
            "token_rate_hz": self.sample_rate / self.samples_per_token,
            "parameters": self.parts.parameter_counts(),
            "adapter": self.active_adapter,
        }

    # ----- adapters (voxsmith finetune) ----------------------------------------------------
    def load_adapter(self, path: str | os.PathLike, name: str | None = None) -> str:
        """Load a fine-tuned adapter directory under ``name`` (default: the directory name).

        As in peft, loading does not activate it: ``set_adapter(name)`` does. Returns the name.
        """
        if self._adapters is None:
            from voxsmith.finetune.runtime import AdapterRuntime

            self._adapters = AdapterRuntime(self)
        return self._adapters.load(path, name)

    def set_adapter(self, name: str | None) -> None:
        """Switch voices without reloading: merge adapter ``name``, or ``None`` for the base model.

        The adapter's stored voice becomes the default speaker and its glossary is applied.
        """
        if name is not None and self._adapters is None:
            raise ConfigError(
                f"unknown adapter {name!r} (none loaded); load it with load_adapter(DIR, name=...)"
            )
        if self._adapters is not None:
            self._adapters.activate(name)
        self._apply_glossary()

    def set_glossary(self, glossary: Glossary | str | os.PathLike | None) -> None:
        """Read the terms of ``glossary`` (a ``Glossary`` or a .tsv/.yaml file) their way from now
        on, before an adapter's and the model's own terms; ``None`` drops them again."""
        if glossary is not None and not isinstance(glossary, Glossary):
            glossary = Glossary.load(glossary)  # TextError naming the file when it is missing or bad
        self._user_glossary = glossary
        self._apply_glossary()

    def _apply_glossary(self) -> None:
        """The frontend's glossary: the user's terms, then the active adapter's, then the model's
        own (a merged voice's); the first entry of a term wins."""
        active = self._adapters.current() if self._adapters is not None else None
        layers = [self._user_glossary, active.glossary if active is not None else None, self._base_glossary]
        layers = [g for g in layers if g is not None]
        if len(layers) > 1:
            layers = [Glossary([e for g in layers for e in g.entries])]
        self.frontend.glossary = layers[0] if layers else None

    @property
    def active_adapter(self) -> str | None:
        return self._adapters.active if self._adapters is not None else None

    @property
    def adapters(self) -> list[str]:
        return sorted(self._adapters.loaded) if self._adapters is not None else []

    @property
    def default_speaker(self) -> SpeakerEmbedding | None:
        """The voice used when no reference is given: the active adapter's, or a merged model's."""
        active = self._adapters.current() if self._adapters is not None else None
        if active is not None and active.speaker is not None:
            return active.speaker
        return self._stored_speaker

    def _speaker_or_default(self, reference, spk: SpeakerEmbedding | None) -> SpeakerEmbedding:
        if spk is not None:
            return spk
        if reference is not None:
            return self.speaker_encoder(reference)
        if self.default_speaker is None:
            raise ConfigError(
                "give a reference clip or a speaker_embedding (or use an adapter with a stored voice)"
            )
        return self.default_speaker

    # ----- references --------------------------------------------------------------------
    def _reference(self, audio: Audio | str | os.PathLike, what: str) -> Audio:
        name = str(audio) if not isinstance(audio, Audio) else what
        if not isinstance(audio, Audio):
            audio = AudioProcessor.load(audio)
        return AudioProcessor.prepare_reference(audio, SAMPLE_RATE, name=name)

    def speaker_encoder(self, audio: Audio | str | os.PathLike) -> SpeakerEmbedding:
        """Extract a reusable ``SpeakerEmbedding`` from ~5 s of reference audio."""
        ref = self._reference(audio, "speaker reference")
        p = self.parts
        with torch.inference_mode():
            feats = p.conditioning_features(ref)
            spk = p.gpt.speaker_latents(feats.unsqueeze(0))[0]
            emo = p.gpt.emotion_vector(feats.unsqueeze(0))[0]
            mel = AudioProcessor.mel(ref.samples)[0]
            codes = p.prompt_codes(mel, feats)
            style = p.style_vector(ref)
        meta = {"seconds": round(ref.seconds, 3)}
        if not isinstance(audio, Audio):
            meta["source"] = str(audio)
        return SpeakerEmbedding(feats, spk, emo, style, mel, codes, self.model_id, meta)

    # ----- synthesis ---------------------------------------------------------------------
    def _emotion_vector(self, spk: SpeakerEmbedding, emotion: EmotionEmbedding | None) -> torch.Tensor:
        if emotion is None:
            return spk.emo_vec
        if emotion.emo_vec is not None:
            return spk.emo_vec + emotion.alpha * (emotion.emo_vec - spk.emo_vec)
        return self.parts.mix_emotion(emotion.weights, spk.style, spk.emo_vec)

    def tts(
        self,
        text: str,
        speaker_embedding: SpeakerEmbedding,
        emotion_embedding: EmotionEmbedding | None = None,
        *,
        duration_ratio: float | None = None,
        target_tokens: int | None = None,
        sampling: SamplingConfig | None = None,
        seed: int | None = 0,
        pause_ms: float = 200.0,
        n_steps: int | None = None,
    ) -> torch.Tensor:
        """Mel ``(1, 80, frames)`` of ``text`` in the speaker's voice (see ``synthesize``)."""
        return self._generate(
            text,
            speaker_embedding,
            emotion_embedding,
            duration_ratio,
            target_tokens,
            sampling,
            seed,
            pause_ms,
            n_steps,
        )[0]

    def _generate(self, text, spk, emotion, duration_ratio, target_tokens, sampling, seed, pause_ms, n_steps):
        if duration_ratio is not None and target_tokens is not None:
            raise ConfigError("give duration_ratio or target_tokens, not both")
        if (
            duration_ratio is not None
            and not DURATION_RATIO_RANGE[0] <= duration_ratio <= DURATION_RATIO_RANGE[1]
        ):
            raise ConfigError(
                f"duration_ratio must be in [{DURATION_RATIO_RANGE[0]}, {DURATION_RATIO_RANGE[1]}], got {duration_ratio}"
            )
        if target_tokens is not None and target_tokens < 1:
            raise ConfigError(f"target_tokens must be >= 1, got {target_tokens}")
        if not isinstance(text, str) or not text.strip():
            raise TextError("text is empty")
        spk.check_model(self.model_id)
        p = self.parts
        result = self.frontend.process(text)
        keep = [i for i, ids in enumerate(result.segment_tokens) if ids]
        segments = [list(map(int, result.segment_tokens[i])) for i in keep]
        if not segments:
            raise TextError(f"nothing to say in {text!r}")
        if target_tokens is not None and len(segments) > 1:
            raise ConfigError("target_tokens applies to one segment; shorten the text or use duration_ratio")
        emo_vec = self._emotion_vector(spk, emotion)
        sampling = sampling or p.default_sampling()
        pause = torch.full((80, int(pause_ms / 1000 * SAMPLE_RATE / 256)), SILENCE_LOG_MEL)
        mels, codes_all, listened = [], [], []
        # an emotion's speaking rate: its factor on the sentence's neutral length, read by S2M
        # (asked of the GPT as extra tokens, a small slowing became trailing silence instead)
        rate = None if target_tokens is not None or emotion is None else p.emotion_duration(emotion.weights)
        units: list[list[int] | None] = [None] * len(segments)
        heard: list[tuple[list, frozenset[int]]] = [([], frozenset())] * len(segments)  # _pinned_tokens
        if p.code_candidates > 1:  # each segment's best-read sample is kept: what it should say
            from voxsmith.check.expected import segment_units
            from voxsmith.models.units import units_to_ids

            try:
                said = segment_units(result)
                units = [units_to_ids(said[i]) or None for i in keep]
                if p.listen_candidates > 1:
                    heard = self._pinned_tokens(text, result, keep)
            except TextError:  # units the checker cannot line up: sample once, as without
                pass
        for i, ids in enumerate(segments):
            gen = torch.Generator().manual_seed(seed + i) if seed is not None else None
            target, stretch = target_tokens, rate or 1.0
            if duration_ratio is not None or rate is not None:
                # the neutral length: with the speaker's own emotion when the emotion sets a rate;
                # with candidates, the best-read one's (the length a plain take would have, so an
                # emotion's rate is measured against the same length choice); the best of 8 is as
                # long as the best of 32 (mean ratio 1.002), so no more are drawn for a length
                natural = p.generate_codes(
                    ids, spk, emo_vec if rate is None else spk.emo_vec, sampling, None, gen, units[i],
                    candidates=LENGTH_PASS_CANDIDATES,
                )  # fmt: skip
                # no more than the GPT's position table holds (a sentence that already fills it);
                # the token count takes the model's share of the ratio, S2M's stretch the rest
                ratio, share = duration_ratio or 1.0, p.duration_token_share
                if ratio > 1.0 and p.duration_token_share_slow is not None:
                    share = p.duration_token_share_slow
                target = min(max(1, round(ratio**share * len(natural))), p.gpt.config.max_mel_tokens)
                if share < 1.0:
                    stretch = (rate or 1.0) * ratio * len(natural) / target
                gen = torch.Generator().manual_seed(seed + i) if seed is not None else None

            render = functools.partial(
                p.codes_to_mel, spk=spk, text_ids=ids, emo_vec=emo_vec, target=target, n_steps=n_steps,
                seed=None if seed is None else seed + i, emo_weights=None if emotion is None else emotion.weights,
                stretch=stretch,
            )  # fmt: skip
            checker = self._listener() if heard[i][1] else None
            if checker is None:
                codes = p.generate_codes(ids, spk, emo_vec, sampling, target, gen, units[i])
                mel = render(codes)
            else:
                ranked = p.rank_codes(ids, spk, emo_vec, sampling, target, gen, units[i])
                codes, mel, rendered, ok, sure = self._listen(
                    ranked[: p.listen_candidates], render, *heard[i], checker
                )
                listened.append(
                    {"segment": i, "rendered": rendered, "heard_as_set": ok, "confidence": round(sure, 4)}
                )
            codes_all.append(codes)
            mels.append(mel)
            if i < len(segments) - 1 and pause.shape[1]:
                mels.append(pause)
        mel = torch.cat(mels, dim=1).unsqueeze(0)
        return mel, codes_all, result.segments, listened

    def _pinned_tokens(self, text: str, result, keep: list[int]) -> list[tuple[list, frozenset[int]]]:
        """Per kept segment of ``result``: its expected tokens (the checker's), the everyday reading
        a rival of each syllable whose reading the user set (glossary, inline pinyin), and those
        syllables' indices; ``([], ∅)`` for a segment with none."""
        from voxsmith.check.expected import pinned_rivals, tokens_from_result, with_rivals

        pinned = pinned_rivals(self.frontend, text, result.syllables)
        tokens = [with_rivals(t, (pinned[t.syllable],)) if t.syllable in pinned else t
                  for t in tokens_from_result(result)] if pinned else []  # fmt: skip
        out: list[tuple[list, frozenset[int]]] = []
        for i in keep:
            own = [t for t in tokens if t.segment == i]
            mine = frozenset(t.syllable for t in own if t.syllable in pinned)
            out.append((own, mine) if mine else ([], frozenset()))
        return out

    def _listener(self):
        """The pronunciation checker that hears set readings (this model's frontend, so its
        glossary), loaded once; None (with one warning) where it cannot load."""
        if self._checker is False:
            return None
        if self._checker is None:
            from voxsmith.check.checker import PronunciationChecker

            try:
                self._checker = PronunciationChecker.load(frontend=self.frontend)
            except (CheckpointError, ImportError, OSError) as exc:
                log.warning(
                    "set readings are not listened for (the pronunciation checker cannot load: %s)", exc
                )
                self._checker = False
                return None
        self._checker.frontend = self.frontend
        return self._checker

    def _listen(
        self, ranked: list[torch.Tensor], render, tokens: list, pinned: frozenset[int], checker
    ) -> tuple[torch.Tensor, torch.Tensor, int, bool, float]:
        """The ``ranked`` candidates (best-read first) rendered and heard in turn until ``keep_take``
        (by ``listen_confidence``) has its pick: the kept one's codes, its mel, how many were
        rendered, whether it was heard as set and its lowest confidence in the ``pinned`` syllables.
        ``render(codes) -> mel``; ``tokens``: the segment's."""
        heard: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (codes, mel, lowest confidence)

        def takes():
            for codes in ranked:
                mel = render(codes)
                wrong, sure = set_readings_heard(checker, self.vocoder(mel), tokens, pinned)
                heard.append((codes, mel, sure))
                yield wrong, sure

        k, n, ok = keep_take(takes(), self.parts.listen_confidence)
        return heard[k][0], heard[k][1], n, ok, heard[k][2]

    def vocoder(self, mel: torch.Tensor) -> Audio:
        """Mel ``(1, 80, frames)`` or ``(80, frames)`` → ``Audio`` at 22050 Hz."""
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
        with torch.inference_mode():
            wav = self.parts.vocode(mel)[0]
        return Audio(wav.clamp(-1, 1).numpy().astype(np.float32), SAMPLE_RATE)

    def synthesize(
        self,
        text: str,
        reference: Audio | str | os.PathLike | None = None,
        *,
        speaker_embedding: SpeakerEmbedding | None = None,
        emotion: EmotionEmbedding | str | None = None,
        emotion_reference: Audio | str | os.PathLike | None = None,
        emotion_vector=None,
        intensity: float = 1.0,
        emo_alpha: float = 1.0,
        duration_ratio: float | None = None,
        target_tokens: int | None = None,
        sampling: SamplingConfig | None = None,
        seed: int | None = 0,
        pause_ms: float = 200.0,
        verify: bool = False,
        max_retries: int = 3,
    ) -> SynthesisResult:
        """One call from text to audio. ``emotion`` may be a preset name or a description.

        ``verify=True`` checks the pronunciation of the result and regenerates misread
        polyphones (with the intended pinyin) or skipped words (with another seed), up to
        ``max_retries`` times; the report is in ``result.verify``.
        """
        if verify:
            return self._verified(
                text, reference, speaker_embedding, emotion, emotion_reference, emotion_vector, intensity,
                emo_alpha, duration_ratio, target_tokens, sampling, seed, pause_ms, max_retries,
            )  # fmt: skip
        t0 = time.perf_counter()
        speaker_embedding = self._speaker_or_default(reference, speaker_embedding)
        emo = self._resolve_emotion(emotion, emotion_reference, emotion_vector, intensity, emo_alpha)
        mel, codes, segments, listened = self._generate(
            text, speaker_embedding, emo, duration_ratio, target_tokens, sampling, seed, pause_ms, None
        )
        audio = self.vocoder(mel)
        return SynthesisResult(
            audio, sum(len(c) for c in codes), segments, codes, time.perf_counter() - t0, listened=listened
        )

    def _verified(self, text, reference, spk, emotion, emotion_reference, emotion_vector, intensity, emo_alpha,
                  duration_ratio, target_tokens, sampling, seed, pause_ms, max_retries) -> SynthesisResult:  # fmt: skip
        from voxsmith.check.checker import PronunciationChecker
        from voxsmith.check.loop import verify_and_fix

        # a clear error before any synthesis when it is missing; it expects what this model's
        # frontend (with the adapter's or user's glossary) says the text reads; the one that
        # listens for set readings when it is loaded already
        checker = self._listener() or PronunciationChecker.load(frontend=self.frontend)

        t0 = time.perf_counter()
        spk = self._speaker_or_default(reference, spk)
        tokens = [0]

        def attempt(fixed_text: str, attempt_seed: int) -> Audio:
            res = self.synthesize(
                fixed_text, speaker_embedding=spk, emotion=emotion, emotion_reference=emotion_reference,
                emotion_vector=emotion_vector, intensity=intensity, emo_alpha=emo_alpha,
                duration_ratio=duration_ratio, target_tokens=target_tokens, sampling=sampling,
                seed=attempt_seed, pause_ms=pause_ms,
            )  # fmt: skip
            tokens[0] = res.tokens
            return res.audio

        audio, report = verify_and_fix(
            attempt,
            text,
            checker,
            seed=0 if seed is None else seed,
            max_retries=max_retries,
            frontend=self.frontend,
        )
        segments = self.frontend.process(text).segments
        result = SynthesisResult(audio, tokens[0], segments, [], time.perf_counter() - t0)
        result.verify = report.to_dict()
        return result

    def _resolve_emotion(self, emotion, emotion_reference, emotion_vector, intensity, emo_alpha):
        given = [x is not None for x in (emotion, emotion_reference, emotion_vector)]
        if sum(given) > 1:
            raise ConfigError("give one of emotion, emotion_reference or emotion_vector")
        if emotion_reference is not None:
            return self.emotion_encoder(emotion_reference, alpha=emo_alpha)
        if emotion_vector is not None:
            return self.emotion_encoder.from_vector(emotion_vector, intensity)
        if isinstance(emotion, EmotionEmbedding):
            return emotion
        if isinstance(emotion, str):
            try:
                return self.emotion_encoder.preset(emotion, intensity)
            except ConfigError:
                # one plain Latin word is meant as a preset name: a typo must not pass as "text"
                if emotion.strip().isascii() and emotion.strip().isalpha():
                    raise
                return self.emotion_encoder.from_text(emotion, intensity)
        return None
