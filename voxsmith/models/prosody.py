"""Utterance prosody: what an emotion does to pitch, range, loudness and tilt, said to S2M.

The tiny size's semantic codes come from a CTC content encoder and carry almost no pitch,
so an emotion that should lift pitch by three semitones reaches S2M only through the GPT
latents, weakly, while the in-context prompt (a neutral reference) pulls the other way.
This module makes the emotion's prosody explicit, in four utterance-level measures:

    f0_mean  mean voiced f0, semitones      f0_std  its spread, semitones
    energy   mean loudness of speech, dB    tilt    spectral slope 0.5–4 kHz, dB per octave

- S2M (``S2MConfig.prosody_dim``) reads the *offset* of its target from its prompt in these
  measures (scaled by ``SCALES``), added to the content at every target code. Trained on
  measured offsets: zero where the prompt is the target's own start, the difference of the
  two clips where the prompt is another clip of the speaker.
- :class:`ProsodyHead` (fitted with the emotion matrix, ridge regression) predicts, from a
  GPT emotion vector, the measures relative to the speaker's neutral speech. At inference
  the offset is ``head(emotion used) − head(speaker's own emotion)``: zero when the speaker's
  own emotion is kept, so neutral synthesis is what it was.

An utterance offset alone is rendered weakly (S2M moves pitch by about a tenth of what it
asks), so S2M may also read a per-code *contour* (``S2MConfig.contour_dim``): each code's f0
(unvoiced codes interpolated) and energy relative to the speaker's neutral medians, measured
from the clip in training. :class:`ContourHead` predicts it from the GPT latents at inference,
and the emotion's offset moves it (:meth:`ContourHead.shift`): an input given code by code is
one S2M learns to follow.

Emotion weights (a preset, a vector, text) skip the regression: the head's ``table`` holds
each category's measured change at full strength, and ``Σ wᵢ · tableᵢ`` is the offset (the
regression reads unseen voices' neutral clips as +2 st and erased the rising presets).

S2M is asked for the pitch measures only (:func:`s2m_share`); the offset's loudness and tilt
go onto its output mel (:func:`render_output`): S2M renders a twentieth of an asked tilt and
an asked loudness give or take half a dB (afraid's −0.8 dB came out −0.4), where a gain on
the mel is exact. The corpus's styles were made the same way (tilt on the envelope, then a
loudness target).

Shapes: D emotion-vector width, G GPT-latent width, K = len(MEASURES), Kc = len(CONTOUR),
N codes, M examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np
import torch

from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.emotion import EMOTIONS, as_weights

MEASURES = ("f0_mean", "f0_std", "energy", "tilt")
SCALES = (4.0, 2.0, 6.0, 3.0)  # divide by these so every offset sits near unit size
# what intensity past ``voice_hold`` no longer moves: the speaker judge hears these as the voice
VOICE_MEASURES = ("f0_mean", "tilt")
VOICE_MASK = torch.tensor([m in VOICE_MEASURES for m in MEASURES])
CONTOUR = ("f0", "energy")  # per-code contour: semitones and dB re the speaker's neutral medians
CONTOUR_SCALES = (4.0, 6.0)  # divide by these (the f0_mean and energy scales)
MIN_SPREAD = 0.1  # semitones: a predicted contour flatter than this scales against the corpus's spread
SPREAD_FACTOR = (0.25, 4.0)  # bounds of the factor on a contour's f0 deviations
SPEECH_DB = 35.0  # codes/frames within this many dB of the loudest count as speech
LOGMEL_DB = 20.0 / np.log(10.0)  # log-magnitude mel → dB
# the most tilt an emotion may put on the output, dB/octave: the strongest corpus style measures
# 3.0 at full strength; beyond it (intensity 2) the speaker judge hears another voice
TILT_LIMIT = 3.5


@lru_cache(maxsize=2)
def _tilt_bins(n_mels: int = 80, sr: int = 22050) -> tuple[np.ndarray, np.ndarray]:
    """Mel bins with centres in 0.5–4 kHz and their log2 frequencies (for the tilt fit)."""
    import librosa

    centres = librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=sr / 2)[1:-1]
    band = np.nonzero((centres >= 500.0) & (centres <= 4000.0))[0]
    return band, np.log2(centres[band])


@lru_cache(maxsize=2)
def tilt_shape(n_mels: int = 80, sr: int = 22050) -> np.ndarray:
    """``(M,)`` octaves of each mel bin's centre re 1 kHz, held at −1 and 2 outside 0.5–4 kHz:
    the shape a tilt of 1 dB/octave puts on the spectrum (0.5–4 kHz is the band the tilt
    measure reads)."""
    import librosa

    centres = librosa.mel_frequencies(n_mels + 2, fmin=0.0, fmax=sr / 2)[1:-1]
    return np.clip(np.log2(np.maximum(centres, 1.0) / 1000.0), -1.0, 2.0)


def band_slope(spectrum: torch.Tensor) -> float:
    """The least-squares slope per octave, over the tilt band, of a per-bin ``spectrum (M,)``
    (in its own units): what the tilt measure reads of it."""
    band, logf = _tilt_bins(spectrum.shape[-1])
    return float(np.polyfit(logf, spectrum.detach().double().cpu().numpy()[band], 1)[0])


def tilt_mel(mel: torch.Tensor, tilt_db: float, sr: int = 22050) -> torch.Tensor:
    """Log-magnitude mel ``(M, T)`` with its spectral slope changed by ``tilt_db`` dB per octave
    (within ±TILT_LIMIT) over the 0.5–4 kHz band the tilt measure reads (held flat outside it), at unchanged total
    power: loudness is the energy offset's business, as in the corpus's style recipes (tilt on
    the spectral envelope, then a loudness target).

    S2M renders a twentieth of an asked tilt through its prosody input (measured,
    ``benchmarks/prosody_gain.py``), so the emotion's tilt is applied to its output instead."""
    tilt_db = float(np.clip(tilt_db, -TILT_LIMIT, TILT_LIMIT))
    if tilt_db == 0.0:
        return mel
    octaves = tilt_shape(mel.shape[-2], sr)
    out = mel + torch.from_numpy(tilt_db * octaves / LOGMEL_DB).to(mel.dtype).to(mel.device)[:, None]
    # one constant for the whole utterance: frame-to-frame dynamics stay as S2M made them
    return out - 0.5 * (torch.logsumexp(2.0 * out, dim=(-2, -1)) - torch.logsumexp(2.0 * mel, dim=(-2, -1)))


OUTPUT_MEASURES = ("energy", "tilt")  # rendered on S2M's output (render_output), not asked of S2M


def s2m_share(offset: torch.Tensor | None) -> torch.Tensor | None:
    """The part of a scaled offset ``(1, K)`` asked of S2M: the measures of
    :data:`OUTPUT_MEASURES` set to zero (None stays None)."""
    if offset is None:
        return None
    keep = torch.tensor(
        [m not in OUTPUT_MEASURES for m in MEASURES], dtype=offset.dtype, device=offset.device
    )
    return offset * keep


def render_output(mel: torch.Tensor, offset: torch.Tensor | None) -> torch.Tensor:
    """S2M's output mel ``(M, T)`` with the loudness and tilt of a scaled offset ``(1, K)``
    applied: the tilt by :func:`tilt_mel` (power kept), then the energy as a gain."""
    if offset is None:
        return mel
    o = offset.reshape(-1).float()
    tilt_db = float(o[MEASURES.index("tilt")]) * SCALES[MEASURES.index("tilt")]
    gain_db = float(o[MEASURES.index("energy")]) * SCALES[MEASURES.index("energy")]
    return tilt_mel(mel, tilt_db) + gain_db / LOGMEL_DB


def voiced_spread(f0: np.ndarray) -> float:
    """The spread (std, semitones) of per-code f0 ``(N,)`` over its voiced codes; NaN under two."""
    v = np.asarray(f0, dtype=np.float64)
    v = v[~np.isnan(v)]
    return float(v.std()) if v.size > 1 else np.nan


def utterance_prosody(code_prosody: np.ndarray, mel: np.ndarray) -> np.ndarray:
    """One clip's raw measures ``(K,)`` (f0 NaN when unvoiced).

    code_prosody ``(N, 2)``: per code, mean voiced f0 in semitones (NaN unvoiced) and energy in
    dB (``voxsmith.train.prosody.code_prosody``); mel ``(80, T)`` log-magnitude mel.
    """
    p = np.asarray(code_prosody, dtype=np.float64)
    m = np.asarray(mel, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2 or m.ndim != 2:
        raise ConfigError(f"prosody: need code prosody (N, 2) and mel (80, T), got {p.shape} and {m.shape}")
    f0 = p[:, 0][~np.isnan(p[:, 0])]
    energy = p[:, 1]
    speech = energy[energy >= energy.max() - SPEECH_DB] if energy.size else energy
    frame_db = LOGMEL_DB * np.log(np.exp(m).sum(axis=0) + 1e-12)
    frames = m[:, frame_db >= frame_db.max() - SPEECH_DB] if m.shape[1] else m
    band, logf = _tilt_bins(m.shape[0])
    spectrum = LOGMEL_DB * frames[band].mean(axis=1) if frames.shape[1] else np.zeros(len(band))
    tilt = float(np.polyfit(logf, spectrum, 1)[0])
    return np.array(
        [
            f0.mean() if f0.size else np.nan,
            voiced_spread(p[:, 0]),
            speech.mean() if speech.size else np.nan,
            tilt,
        ]
    )


def scaled_offset(target: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(target − reference) / SCALES`` as float32 ``(K,)``; measures missing on either side → 0."""
    d = (np.asarray(target, np.float64) - np.asarray(reference, np.float64)) / np.asarray(SCALES)
    return np.nan_to_num(d, nan=0.0).astype(np.float32)


def ridge_fit(x: torch.Tensor, y: torch.Tensor, ridge: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge regression of ``y (M, K)`` (NaN = unknown) on ``x (M, D)``: weight ``(K, D)``, bias ``(K,)``.

    Each output is fitted on the rows where it is known; the inputs are standardised first so
    ``ridge`` means the same at any input scale.
    """
    x, y = x.double(), y.double()
    if x.dim() != 2 or y.dim() != 2 or y.shape[0] != x.shape[0]:
        raise ConfigError(f"ridge fit: need x (M, D) and y (M, K), got {tuple(x.shape)} and {tuple(y.shape)}")
    mean, std = x.mean(dim=0), x.std(dim=0).clamp(min=1e-6)
    z = (x - mean) / std
    weight = torch.zeros(y.shape[1], x.shape[1], dtype=torch.float64)
    bias = torch.zeros(y.shape[1], dtype=torch.float64)
    for k in range(y.shape[1]):
        ok = ~torch.isnan(y[:, k])
        if int(ok.sum()) < 2:
            continue
        zk, yk = z[ok], y[ok, k]
        zc, yc = zk - zk.mean(dim=0), yk - yk.mean()
        gram = zc.T @ zc + ridge * zk.shape[0] * torch.eye(x.shape[1], dtype=torch.float64)
        w = torch.linalg.solve(gram, zc.T @ yc)
        weight[k] = w / std
        bias[k] = yk.mean() - (zk.mean(dim=0) @ w) - (w / std) @ mean
    return weight.float(), bias.float()


class ProsodyHead:
    """Linear map from a GPT emotion vector ``(D,)`` to its scaled prosody ``(K,)`` re neutral speech.

    ``table (8, K)``, optional: what each emotion category of the corpus does to the scaled
    measures at full strength, against the same speaker's neutral speech (measured, not
    regressed). Emotion weights use it directly (:meth:`preset_offset`): the regression from
    the emotion vector drifts on voices it never saw (their neutral clips read as +2 st), and
    subtracting that drift erased the rise of happy and surprised.

    ``ask (8, K)``, optional (needs a table): what to ask of the renderer per category so that
    its output shows the corpus's change (:mod:`voxsmith.train.calibrate`, measured by
    rendering): asking for the table itself overshoots where the GPT's emotion-conditioned
    latents already move pitch, and the output-stage tilt adds to the brightening S2M makes of
    a higher voice.
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        table: torch.Tensor | None = None,
        ask: torch.Tensor | None = None,
    ):
        if weight.dim() != 2 or weight.shape[0] != len(MEASURES) or bias.shape != (len(MEASURES),):
            raise CheckpointError(
                f"prosody head: weight must be ({len(MEASURES)}, D) and bias ({len(MEASURES)},), "
                f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
            )
        if table is not None and (
            table.shape != (len(EMOTIONS), len(MEASURES)) or not bool(torch.isfinite(table).all())
        ):
            raise CheckpointError(
                f"prosody head: table must be finite ({len(EMOTIONS)}, {len(MEASURES)}), got {tuple(table.shape)}"
            )
        if ask is not None and (
            table is None
            or ask.shape != (len(EMOTIONS), len(MEASURES))
            or not bool(torch.isfinite(ask).all())
        ):
            raise CheckpointError(
                f"prosody head: the calibrated asks must be finite ({len(EMOTIONS)}, {len(MEASURES)}) "
                f"beside a table, got {tuple(ask.shape)}{'' if table is not None else ' without a table'}"
            )
        self.weight = weight.float()
        self.bias = bias.float()
        self.table = None if table is None else table.float()
        self.ask = None if ask is None else ask.float()

    @classmethod
    def fit(cls, emovec: torch.Tensor, targets: torch.Tensor, ridge: float = 0.01) -> ProsodyHead:
        """Ridge regression of ``targets (M, K)`` (scaled, NaN = unknown) on ``emovec (M, D)``
        (:func:`ridge_fit`)."""
        if targets.dim() != 2 or targets.shape[1] != len(MEASURES):
            raise ConfigError(f"prosody head: need targets (M, {len(MEASURES)}), got {tuple(targets.shape)}")
        return cls(*ridge_fit(emovec, targets, ridge))

    def __call__(self, emovec: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` → ``(..., K)``."""
        if emovec.shape[-1] != self.weight.shape[1]:
            raise ConfigError(
                f"prosody head: emotion vector has {emovec.shape[-1]} values, the head reads {self.weight.shape[1]}"
            )
        return emovec.float() @ self.weight.T.to(emovec.device) + self.bias.to(emovec.device)

    def offset(self, emovec: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """The prosody change from the speaker's own emotion ``base`` to ``emovec``: ``(1, K)``."""
        return (self(emovec.reshape(1, -1)) - self(base.reshape(1, -1))).reshape(1, -1)

    def preset_offset(self, weights: torch.Tensor, voice_hold: float | None = None) -> torch.Tensor | None:
        """Emotion weights ``(8,)`` (intensity included) → the prosody change they ask of the
        reference, ``Σ wᵢ · askᵢ`` as ``(1, K)`` (the calibrated asks, else the table), each
        measure held within the rows' own range (the strongest category at full strength);
        None without a table. ``voice_hold``: the measures a speaker judge hears as the voice
        itself (``VOICE_MEASURES``: mean pitch and spectral tilt) take ``Σ min(wᵢ, hold) · askᵢ``,
        so intensity past the hold exaggerates pitch range and loudness (and the rate, elsewhere)
        but moves the voice no further than its categories do at that strength.

        The hold matters at intensities above 1: S2M never saw a change larger than the corpus's
        strongest style, and past it the speaker judge hears another voice (intensity 2 without
        it: SIM 0.87 × neutral for surprised, asked +10.7 st)."""
        if self.table is None:
            return None
        rows = self.table if self.ask is None else self.ask
        limit = rows.abs().amax(dim=0)
        w = as_weights(weights)
        out = w @ rows
        if voice_hold is not None:
            held = w.clamp(max=voice_hold) @ rows
            out = torch.where(VOICE_MASK, held, out)
        return torch.clamp(out, -limit, limit).reshape(1, -1)

    def named_table(self, asks: bool = False) -> dict[str, dict[str, float]] | None:
        """The table (``asks``: the calibrated asks) in its units (semitones, dB, dB/octave) by
        category and measure, for reports; None where there is none."""
        rows = self.ask if asks else self.table
        if rows is None:
            return None
        return {
            e: {m: float(v) * sc for m, v, sc in zip(MEASURES, row, SCALES, strict=True)}
            for e, row in zip(EMOTIONS, rows, strict=True)
        }

    def tensors(self) -> dict[str, torch.Tensor]:
        table = {} if self.table is None else {"prosody_table": self.table}
        ask = {} if self.ask is None else {"prosody_ask": self.ask}
        return {"prosody_weight": self.weight, "prosody_bias": self.bias, **table, **ask}

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, torch.Tensor]) -> ProsodyHead | None:
        """The head stored beside an emotion matrix, or None where there is none."""
        if "prosody_weight" not in tensors:
            return None
        return cls(
            tensors["prosody_weight"],
            tensors["prosody_bias"],
            tensors.get("prosody_table"),
            tensors.get("prosody_ask"),
        )


def fill_unvoiced(f0: np.ndarray) -> np.ndarray:
    """Per-code f0 ``(N,)`` with NaN (unvoiced) codes filled by linear interpolation between
    voiced neighbours (held flat at the ends); all unvoiced → zeros."""
    f = np.asarray(f0, dtype=np.float64)
    ok = ~np.isnan(f)
    if not ok.any():
        return np.zeros_like(f)
    idx = np.arange(len(f))
    return np.interp(idx, idx[ok], f[ok])


class ContourHead:
    """Linear map from GPT latents ``(N, G)`` to the per-code prosody contour ``(N, Kc)``
    (:data:`CONTOUR`, scaled by :data:`CONTOUR_SCALES`) relative to the speaker's neutral speech,
    for an S2M that reads a contour (``S2MConfig.contour_dim``).

    ``spread``: the median f0 spread (semitones) of neutral corpus speech, the fallback against
    which an emotion's f0_std offset becomes a factor on the contour's deviations when a predicted
    contour is flat (:meth:`shift`).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, spread: float):
        if weight.dim() != 2 or weight.shape[0] != len(CONTOUR) or bias.shape != (len(CONTOUR),):
            raise CheckpointError(
                f"contour head: weight must be ({len(CONTOUR)}, G) and bias ({len(CONTOUR)},), "
                f"got {tuple(weight.shape)} and {tuple(bias.shape)}"
            )
        if not spread > 0:
            raise CheckpointError(f"contour head: spread must be > 0, got {spread}")
        self.weight = weight.float()
        self.bias = bias.float()
        self.spread = float(spread)

    @classmethod
    def fit(
        cls, latents: torch.Tensor, targets: torch.Tensor, spread: float, ridge: float = 0.01
    ) -> ContourHead:
        """Ridge regression of per-code ``targets (M, Kc)`` on ``latents (M, G)`` (:func:`ridge_fit`)."""
        if targets.dim() != 2 or targets.shape[1] != len(CONTOUR):
            raise ConfigError(f"contour head: need targets (M, {len(CONTOUR)}), got {tuple(targets.shape)}")
        return cls(*ridge_fit(latents, targets, ridge), spread)

    def __call__(self, latents: torch.Tensor) -> torch.Tensor:
        """``(..., N, G)`` → ``(..., N, Kc)``."""
        if latents.shape[-1] != self.weight.shape[1]:
            raise ConfigError(
                f"contour head: latents have width {latents.shape[-1]}, the head reads {self.weight.shape[1]}"
            )
        return latents.float() @ self.weight.T.to(latents.device) + self.bias.to(latents.device)

    def shift(self, contour: torch.Tensor, offset: torch.Tensor | None) -> torch.Tensor:
        """Apply an utterance offset ``(1, K)`` (scaled, :data:`MEASURES`) to ``contour (B, N, Kc)``:
        f0 moves by the f0_mean offset and its deviations from the utterance mean scale by
        ``(s + f0_std offset) / s``, so that the contour's spread changes by the offset (the
        factor kept in :data:`SPREAD_FACTOR`: a calibrated widening asks for up to three times the
        corpus's); energy moves by the energy offset.

        ``s`` is the contour's own f0 spread in semitones: a ridge prediction is flatter than the
        speech it predicts (about half its spread), so a factor taken against the corpus's spread
        (``self.spread``, used only where the contour is flat) widened it by half the ask."""
        if offset is None:
            return contour
        o = offset.reshape(-1).float() * torch.tensor(SCALES)
        f0, energy = contour[..., 0], contour[..., 1]
        mean = f0.mean(dim=-1, keepdim=True)
        own = f0.std(dim=-1, keepdim=True, unbiased=False) * CONTOUR_SCALES[0]
        own = torch.where(own > MIN_SPREAD, own, torch.full_like(own, self.spread))
        factor = ((own + o[1]) / own).clamp(*SPREAD_FACTOR)
        f0 = f0 + (f0 - mean) * (factor - 1.0) + o[0] / CONTOUR_SCALES[0]  # exact when the offset is 0
        return torch.stack((f0, energy + o[2] / CONTOUR_SCALES[1]), dim=-1)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            "contour_weight": self.weight,
            "contour_bias": self.bias,
            "contour_spread": torch.tensor([self.spread]),
        }

    @classmethod
    def from_tensors(cls, tensors: Mapping[str, torch.Tensor]) -> ContourHead | None:
        """The head stored beside an emotion matrix, or None where there is none."""
        if "contour_weight" not in tensors:
            return None
        return cls(
            tensors["contour_weight"],
            tensors["contour_bias"],
            float(tensors["contour_spread"].reshape(-1)[0]),
        )
