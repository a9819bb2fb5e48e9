"""The S2M stage: semantic codes (+ GPT latents) → mel, as one module with official key names.

``S2M.models`` is a ModuleDict ``{cfm, length_regulator, gpt_layer}`` like the official
``MyModel``, so its state dict reads ``models.cfm.*``, ``models.length_regulator.*`` and
``models.gpt_layer.*`` (an official ``s2mel.pth`` stores the same tensors per sub-model
under ``net``; :func:`official_state_dict` flattens it).

Inference (official ``infer_v2`` order):
1. content = codec embedding of the codes + ``gpt_layer(GPT latents)``;
2. the length regulator stretches it to ``int(n_codes × frames_per_code)`` mel frames, and
   the reference's codec embedding to the reference mel's frame count (prompt condition);
3. CFM samples the mel of ``[prompt; target]`` with the reference mel in context and the style
   vector, and the target part is returned.

Shapes: B batch, N codes, Cin content width, G GPT width, M mel bins, P prompt frames,
T target frames, C regulator width, S style width.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.s2m.cfm import CFM, CFMTerms
from voxsmith.models.s2m.config import S2MConfig
from voxsmith.models.s2m.length_regulator import LengthRegulator

# the official sub-models (prosody_layer and contour_layer are voxsmith's)
SUBMODELS = ("cfm", "length_regulator", "gpt_layer")


def official_state_dict(net: Mapping[str, Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Flatten an official ``s2mel.pth['net']`` (``{sub-model: {key: tensor}}``) to ``models.<sub>.<key>``.

    Not a rename: the official loader addresses the same tensors per sub-model; keys of other
    sub-models it may carry (none in the release) are ignored as the official loader ignores them.
    """
    out: dict[str, torch.Tensor] = {}
    for name in SUBMODELS:
        if name not in net:
            continue
        for key, value in net[name].items():
            # checkpoints saved from DataParallel prefix every key with "module."
            out[f"models.{name}.{key.removeprefix('module.')}"] = value
    if not out:
        raise CheckpointError(f"s2mel checkpoint: none of {SUBMODELS} found (has {sorted(net)})")
    return out


class S2M(nn.Module):
    """GPT-latent projection, length regulator and flow matching (official ``MyModel``)."""

    def __init__(self, cfg: S2MConfig) -> None:
        super().__init__()
        self.cfg = cfg
        models: dict[str, nn.Module] = {
            "cfm": CFM(cfg),
            "length_regulator": LengthRegulator(cfg.length_regulator),
        }
        dims = cfg.gpt_layer_dims
        if dims:  # plain stack of linears, no activation (official)
            models["gpt_layer"] = nn.Sequential(
                *(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
            )
        if cfg.prosody_dim:  # no bias: an absent offset and a zero offset are the same model
            models["prosody_layer"] = nn.Linear(cfg.prosody_dim, cfg.content_dim, bias=False)
        if cfg.contour_dim:  # no bias, for the same reason
            models["contour_layer"] = nn.Linear(cfg.contour_dim, cfg.content_dim, bias=False)
        self.models = nn.ModuleDict(models)

    @property
    def cfm(self) -> CFM:
        return self.models["cfm"]  # type: ignore[return-value]

    @property
    def length_regulator(self) -> LengthRegulator:
        return self.models["length_regulator"]  # type: ignore[return-value]

    def content(
        self,
        codes_emb: torch.Tensor,
        gpt_latent: torch.Tensor | None = None,
        latent_mask: torch.Tensor | None = None,
        prosody: torch.Tensor | None = None,
        contour: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """codes_emb ``(B, N, Cin)`` (+ gpt_latent ``(B, N, G)`` through gpt_layer, + prosody
        ``(B, K)`` through prosody_layer, + contour ``(B, N, Kc)`` through contour_layer) →
        ``(B, N, Cin)``.

        ``latent_mask`` ``(B, N)`` bool: codes that take the ``gpt_layer``, prosody and contour
        terms (others get the bare codec embedding, as the reference's codes do at inference).
        """
        if prosody is not None:
            codes_emb = codes_emb + self._side_term("prosody", prosody, codes_emb, latent_mask)
        if contour is not None:
            codes_emb = codes_emb + self._side_term("contour", contour, codes_emb, latent_mask)
        if gpt_latent is None:
            return codes_emb
        if "gpt_layer" not in self.models:
            raise ConfigError(
                "s2m: this model has no gpt_layer (gpt_layer_dims is empty); pass gpt_latent=None"
            )
        if gpt_latent.shape[:2] != codes_emb.shape[:2] or gpt_latent.shape[-1] != self.cfg.gpt_dim:
            raise ConfigError(
                f"s2m: gpt_latent {tuple(gpt_latent.shape)} must be (B, N, {self.cfg.gpt_dim}) matching codes "
                f"{tuple(codes_emb.shape)}"
            )
        added = self.models["gpt_layer"](gpt_latent)
        if latent_mask is not None:
            added = added * latent_mask[..., None].to(added.dtype)
        return codes_emb + added

    def _side_term(
        self, name: str, value: torch.Tensor, codes_emb: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """A voxsmith side input through its ``<name>_layer`` → ``(B, 1 or N, Cin)`` to add to the
        content (masked like the latents): ``prosody (B, K)`` utterance offsets, one per item, or
        ``contour (B, N, Kc)``, one per code."""
        dim = self.cfg.prosody_dim if name == "prosody" else self.cfg.contour_dim
        if f"{name}_layer" not in self.models:
            raise ConfigError(f"s2m: this model reads no {name} input ({name}_dim is 0); pass {name}=None")
        b, n = codes_emb.shape[:2]
        want = (b, dim) if name == "prosody" else (b, n, dim)
        if tuple(value.shape) != want:
            raise ConfigError(
                f"s2m: {name} {tuple(value.shape)} must be {want} for codes {tuple(codes_emb.shape)}"
            )
        term = self.models[f"{name}_layer"](value.to(codes_emb.dtype))
        term = term[:, None, :] if name == "prosody" else term
        return term if mask is None else term * mask[..., None].to(term.dtype)

    def target_lengths(self, code_lens: torch.Tensor, stretch: float = 1.0) -> torch.Tensor:
        """Mel frames for ``code_lens`` codes: ``int(n × frames_per_code)`` (official truncation),
        times ``stretch`` (in [0.5, 2]; rounded, at least 1) for a slower or faster reading."""
        if not 0.5 <= stretch <= 2.0:
            raise ConfigError(f"s2m: stretch must be in [0.5, 2], got {stretch}")
        frames = (code_lens * self.cfg.frames_per_code).long()
        if stretch == 1.0:
            return frames
        return (frames.double() * stretch).round().long().clamp(min=1)

    def condition(
        self,
        codes_emb: torch.Tensor,
        gpt_latent: torch.Tensor | None = None,
        code_lens: torch.Tensor | None = None,
        mel_lens: torch.Tensor | None = None,
        latent_mask: torch.Tensor | None = None,
        prosody: torch.Tensor | None = None,
        contour: torch.Tensor | None = None,
        stretch: float = 1.0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Target conditioning ``(B, T, C)`` and its lengths ``(B,)``.

        ``mel_lens`` fixes the frame counts (training, prompts); otherwise they follow from
        ``code_lens`` (default: all N codes), ``frames_per_code`` and ``stretch``
        (:meth:`target_lengths`).
        """
        b, n = codes_emb.shape[:2]
        if mel_lens is None:
            if code_lens is None:
                code_lens = torch.full((b,), n, device=codes_emb.device, dtype=torch.long)
            mel_lens = self.target_lengths(code_lens, stretch)
        return self.length_regulator(
            self.content(codes_emb, gpt_latent, latent_mask, prosody, contour), mel_lens
        )

    def prompt_condition(self, ref_emb: torch.Tensor, ref_frames: int) -> torch.Tensor:
        """The reference's codec embedding ``(B, Nr, Cin)`` stretched to its mel's ``ref_frames``: ``(B, P, C)``."""
        lens = torch.full((ref_emb.shape[0],), ref_frames, device=ref_emb.device, dtype=torch.long)
        return self.length_regulator(ref_emb, lens)[0]

    def generate(
        self,
        cond: torch.Tensor,
        prompt_cond: torch.Tensor,
        ref_mel: torch.Tensor,
        style: torch.Tensor,
        *,
        n_steps: int | None = None,
        cfg_rate: float | None = None,
        temperature: float = 1.0,
        sway: float = 0.0,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample the target mel ``(B, M, T)`` from regulated conditions.

        cond ``(B, T, C)``; prompt_cond ``(B, P, C)``; ref_mel ``(B, M, P)``; style ``(B, S)``;
        noise, if given, covers prompt and target: ``(B, M, P + T)``.
        """
        p = ref_mel.shape[-1]
        if prompt_cond.shape[1] != p:
            raise ConfigError(f"s2m: prompt condition has {prompt_cond.shape[1]} frames, reference mel {p}")
        if ref_mel.shape[1] != self.cfg.n_mels:
            raise ConfigError(f"s2m: reference mel must have {self.cfg.n_mels} bins, got {ref_mel.shape[1]}")
        mu = torch.cat((prompt_cond, cond), dim=1)
        x_lens = torch.tensor([mu.shape[1]], device=mu.device)
        mel = self.cfm.inference(
            mu,
            x_lens,
            ref_mel,
            style,
            self.cfg.default_steps if n_steps is None else n_steps,
            cfg_rate=self.cfg.default_cfg_rate if cfg_rate is None else cfg_rate,
            temperature=temperature,
            sway=sway,
            noise=noise,
            generator=generator,
        )
        return mel[:, :, p:]

    def infer(
        self,
        codes_emb: torch.Tensor,
        ref_mel: torch.Tensor,
        style: torch.Tensor,
        *,
        ref_emb: torch.Tensor | None = None,
        prompt_cond: torch.Tensor | None = None,
        gpt_latent: torch.Tensor | None = None,
        prosody: torch.Tensor | None = None,
        contour: torch.Tensor | None = None,
        code_lens: torch.Tensor | None = None,
        stretch: float = 1.0,
        n_steps: int | None = None,
        cfg_rate: float | None = None,
        temperature: float = 1.0,
        sway: float = 0.0,
        noise: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Codes (+ GPT latents) → target mel ``(B, M, T)`` in the reference's voice.

        codes_emb ``(B, N, Cin)``: codec embedding of the generated codes; ref_mel ``(B, M, P)``;
        style ``(B, S)``; the prompt condition is ``prompt_cond (B, P, C)`` if given (cache it per
        speaker), else computed from ``ref_emb (B, Nr, Cin)``, the reference codes' embedding;
        ``prosody (B, K)``: the target's prosody offset from the reference (``prosody_dim`` models);
        ``contour (B, N, Kc)``: its per-code prosody contour (``contour_dim`` models);
        ``stretch``: frames per code relative to ``frames_per_code`` (a slower or faster reading of
        the same codes: the length regulator spreads them over that many frames).
        """
        if prompt_cond is None:
            if ref_emb is None:
                raise ConfigError("s2m.infer: give ref_emb (reference codec embedding) or prompt_cond")
            prompt_cond = self.prompt_condition(ref_emb, ref_mel.shape[-1])
        cond, _ = self.condition(
            codes_emb, gpt_latent, code_lens, prosody=prosody, contour=contour, stretch=stretch
        )
        return self.generate(
            cond,
            prompt_cond,
            ref_mel,
            style,
            n_steps=n_steps,
            cfg_rate=cfg_rate,
            temperature=temperature,
            sway=sway,
            noise=noise,
            generator=generator,
        )

    def loss(self, codes_emb: torch.Tensor, mel: torch.Tensor, mel_lens: torch.Tensor,
             style: torch.Tensor, **kwargs: Any) -> torch.Tensor:  # fmt: skip
        """The flow-matching loss of :meth:`loss_terms` (scalar)."""
        return self.loss_terms(codes_emb, mel, mel_lens, style, **kwargs).loss

    def loss_terms(
        self,
        codes_emb: torch.Tensor,
        mel: torch.Tensor,
        mel_lens: torch.Tensor,
        style: torch.Tensor,
        *,
        gpt_latent: torch.Tensor | None = None,
        prompt_lens: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        prompt_latent: bool = True,
        prosody: torch.Tensor | None = None,
        contour: torch.Tensor | None = None,
    ) -> CFMTerms:
        """Training loss on a batch: codes_emb ``(B, N, Cin)``, mel ``(B, M, T)``, mel_lens ``(B,)``, style ``(B, S)``.

        The prompt is the first ``prompt_lens`` frames, by default drawn uniformly in
        ``[0, mel_len - 1)`` per item (so some items train without a prompt). With
        ``prompt_latent=False`` the prompt's codes get no GPT-latent term, as at inference, where
        the prompt condition is the reference's bare codec embedding. ``prosody (B, K)``: each
        target's prosody offset from its prompt, added past the prompt's codes only; ``contour
        (B, N, Kc)``: each code's prosody contour, likewise past the prompt only. Returns the loss
        with the estimator's clean-mel estimate (:class:`CFMTerms`; :meth:`loss`: the loss alone).
        """
        t = mel.shape[-1]
        if mel_lens.shape != (mel.shape[0],) or int(mel_lens.max()) > t:
            raise ConfigError(f"s2m.loss: mel_lens {mel_lens.tolist()} must be (B,) and <= {t} frames")
        if prompt_lens is None:
            r = torch.rand(mel_lens.shape, generator=generator, device=mel.device)
            prompt_lens = (r * (mel_lens - 1).clamp(min=0)).long()
        mask = None
        if (gpt_latent is not None and not prompt_latent) or prosody is not None or contour is not None:
            prompt_codes = torch.floor(prompt_lens / self.cfg.frames_per_code).long()
            mask = torch.arange(codes_emb.shape[1], device=mel.device)[None] >= prompt_codes[:, None]
        if (prosody is not None or contour is not None) and gpt_latent is not None and prompt_latent:
            raise ConfigError("s2m.loss: prosody inputs need prompt_latent=False (all mask the prompt)")
        cond, _ = self.condition(
            codes_emb, gpt_latent, mel_lens=mel_lens, latent_mask=mask, prosody=prosody, contour=contour
        )
        if cond.shape[1] != t:
            cond = torch.nn.functional.pad(cond, (0, 0, 0, t - cond.shape[1]))
        return self.cfm.loss_terms(mel, mel_lens, prompt_lens, cond, style, generator=generator)
