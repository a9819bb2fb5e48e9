"""Parity of voxsmith's ``UnifiedVoice`` with the official IndexTTS2 GPT fixture.

Rebuilds the model from ``spec.json``'s constructor config (official config.yaml vocabulary),
loads ``weights.safetensors`` strictly under the official key names (no renames are needed:
voxsmith keeps the official names), replays every call the spec describes with the structured
parameters of its ``run`` block, and compares every ``out.*`` tensor. Code sequences must be
identical; everything else within the ParityResult tolerance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file

from voxsmith.checkpoints import strict_load
from voxsmith.errors import CheckpointError, VoxsmithError
from voxsmith.models.gpt import GPTConfig, TeacherForced, UnifiedVoice
from voxsmith.models.sampling import SamplingConfig
from voxsmith.parity.result import ParityResult, fixture_inputs


def build_from_spec(module_dir: Path) -> tuple[UnifiedVoice, dict]:
    """The fixture's model with its weights loaded strictly, and the parsed spec."""
    spec_path = module_dir / "spec.json"
    if not spec_path.is_file():
        raise CheckpointError(f"{spec_path}: spec.json not found")
    spec = json.loads(spec_path.read_text())
    cfg = GPTConfig.from_official(spec["constructor"]["gpt_cfg"])
    model = UnifiedVoice(cfg).eval()
    strict_load(model, load_file(str(module_dir / "weights.safetensors")), f"{module_dir.name} fixture")
    return model, spec


def _emo_vec_name(spec: dict, alphas: dict[str, float]) -> str | None:
    """Which merged emotion vector the teacher-forced and generation calls used (``emo_vec=NAME``)."""
    call = spec.get("calls", {}).get("tf_latent", "")
    match = re.search(r"emo_vec=(\w+)", call)
    if match and match.group(1) in alphas:
        return match.group(1)
    return next(reversed(alphas), None)


def _producers(model: UnifiedVoice, spec: dict, inp: dict[str, torch.Tensor]) -> dict[str, Callable]:
    """Output name → function computing it. Inputs are read lazily: a missing ``in.*`` only fails
    the outputs that need it. Shared intermediate results are computed once."""
    run = spec.get("run", {})
    memo: dict[str, object] = {}

    def once(name: str, fn: Callable[[], object]) -> Callable[[], object]:
        def get() -> object:
            if name not in memo:
                memo[name] = fn()
            return memo[name]

        return get

    def spk() -> tuple[torch.Tensor, torch.Tensor]:
        return inp["spk_cond_emb"], inp["cond_lengths_infer"]

    def emo() -> tuple[torch.Tensor, torch.Tensor]:
        return inp["emo_cond_emb"], inp["emo_cond_lengths_infer"]

    def b2() -> tuple[torch.Tensor, torch.Tensor]:
        return inp["spk_cond_emb_b2"], inp["spk_cond_emb_b2_lengths"]

    alphas = {k: float(v) for k, v in run.get("emo_alpha", {}).items()}
    p: dict[str, Callable[[], object]] = {}
    p["cond_latents"] = once("cond_latents", lambda: model.speaker_latents(*spk()))
    p["gen_speech_conditioning_latent"] = p["cond_latents"]
    p["cond_latents_b2"] = lambda: model.speaker_latents(*b2())
    p["emo_cond_b2_raw"] = lambda: model.emotion_features(*b2())
    p["emo_conditioning_raw"] = lambda: model.emotion_features(*emo())
    p["emovec_emo"] = lambda: model.emotion_vector(*emo())
    p["emovec_spk"] = lambda: model.emotion_vector(*spk())
    for name, alpha in alphas.items():
        p[name] = once(
            name, lambda a=alpha: model.merge_emotion(spk()[0], emo()[0], spk()[1], emo()[1], alpha=a)
        )
    emo_name = _emo_vec_name(spec, alphas)
    if emo_name is None:
        return p
    conds = once("_conds", lambda: model.conditioning(p["cond_latents"](), p[emo_name]()))
    p["tf_conds"] = conds

    def tf_pass() -> TeacherForced:
        text, codes = inp["text_ids"], inp["mel_codes"]
        text_len = torch.tensor(run.get("tf_text_lengths", [text.size(1)] * text.size(0)))
        code_len = torch.tensor(run.get("tf_mel_lengths", [codes.size(1)] * codes.size(0)))
        return model.teacher_forced(conds(), text, text_len, codes, code_len)

    tf = once("_tf", tf_pass)
    p["tf_latent"] = lambda: tf().mel_hidden[:, :-2]
    p["tf_text_logits"] = lambda: model.text_head(tf().text_hidden).transpose(1, 2)
    p["tf_mel_logits"] = lambda: model.mel_head(tf().mel_hidden).transpose(1, 2)
    p["tf_text_input_ids"] = lambda: tf().text_inputs
    p["tf_mel_input_ids"] = lambda: tf().mel_inputs

    prompt = once("_prompt", lambda: model.prompt(conds(), inp["text_ids"]))
    p["gen_prompt_input_ids"] = lambda: prompt().input_ids
    p["gen_prompt_inputs_embeds"] = lambda: prompt().embeds
    p["gen_prompt_attention_mask"] = lambda: prompt().attention_mask

    gen = dict(run.get("generation", {}))
    max_new = int(gen.pop("max_generate_length", 20))
    for name, settings in gen.items():
        # transformers' GenerationConfig defaults where a setting is not given
        sampling = SamplingConfig(
            do_sample=bool(settings.get("do_sample", False)),
            num_beams=int(settings.get("num_beams", 1)),
            repetition_penalty=float(settings.get("repetition_penalty", 1.0)),
            length_penalty=float(settings.get("length_penalty", 1.0)),
            temperature=float(settings.get("temperature", 1.0)),
            top_k=int(settings.get("top_k", 50)),
            top_p=float(settings.get("top_p", 1.0)),
            max_new_tokens=max_new,
        )
        res = once(
            name,
            lambda s=sampling: model.generate_from_prompt(
                prompt(), sampling=s, max_new_tokens=max_new, return_scores=s.num_beams == 1
            ),
        )
        p[f"{name}_codes"] = lambda r=res: r().tokens
        if sampling.num_beams == 1:
            p[f"{name}_scores"] = lambda r=res: r().scores
    return p


def check(module_dir: str | Path) -> ParityResult:
    """Replay every ``out.*`` of the fixture in ``module_dir`` and compare.

    Problems are recorded in the result (never raised), so one bad fixture does not stop a run.
    """
    module_dir = Path(module_dir)
    result = ParityResult(module="gpt")
    try:
        model, spec = build_from_spec(module_dir)
        io = load_file(str(module_dir / "io.safetensors"))
    except (VoxsmithError, KeyError, OSError, ValueError) as exc:
        return result.fail_setup(exc)
    inp = fixture_inputs(io)
    with torch.no_grad():
        producers = _producers(model, spec, inp)
        for key in sorted(k for k in io if k.startswith("out.")):
            name = key[4:]
            if name not in producers:
                result.errors[name] = float("inf")
                result.failures.append(f"{name}: no replay known for this output")
                continue
            try:
                ours = producers[name]()
            except (VoxsmithError, KeyError, RuntimeError) as exc:
                result.errors[name] = float("inf")
                result.failures.append(f"{name}: replay failed ({exc.__class__.__name__}: {exc})")
                continue
            result.compare(name, ours, io[key], exact=not io[key].is_floating_point())
    return result
