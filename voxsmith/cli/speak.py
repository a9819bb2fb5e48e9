"""``voxsmith speak`` and ``voxsmith info``: synthesis from the command line.

voxsmith speak "你竟然敢骗我！" --ref target.wav --emotion angry --intensity 1.5 -o out.wav
voxsmith speak "Hello." --speaker alice --emotion "say it gently" --duration-ratio 0.9 -o out.wav --json
voxsmith speak "你好" --speaker voice.safetensors --target-tokens 60 -o out.wav
voxsmith speak "你好" --adapter my_voice/ -o out.wav      # a fine-tuned voice, no reference needed
voxsmith speak "他在会稽读书。" --ref target.wav --glossary terms.tsv -o out.wav   # 会稽<TAB>kuai4 ji1
voxsmith info --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="model directory (default: the built-in model)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")


def add_glossary_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--glossary", type=Path, metavar="FILE",
                   help="term -> pinyin file (.tsv/.yaml) read its way (before an adapter's terms); "
                        "the model listens for those readings (listen_candidates)")  # fmt: skip
    p.add_argument("--listen", type=int, metavar="N",
                   help="candidates rendered and heard for each segment with a set reading (glossary, "
                        "inline ‹字|pin1›), 0..64; 0 turns listening off (default: the model's)")  # fmt: skip
    p.add_argument("--listen-confidence", type=float, metavar="P",
                   help="the checker's confidence (0..1) in the set readings that takes a candidate at "
                        "once; a less sure one is kept only if no later one is surer (default: the model's)")  # fmt: skip


def add_candidates_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--candidates", type=int, metavar="N",
                   help="GPT samples drawn per segment, the one the content encoder reads closest to the "
                        "text kept, 1..64 (default: the model's): more read better and cost GPT time "
                        "(BENCHMARKS.md, Issue 4 where it stops); a model that cannot read its codes "
                        "(the official size) samples once")  # fmt: skip


def add_voice_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    who = p.add_mutually_exclusive_group(required=required)
    who.add_argument("--ref", type=Path, help="reference clip of the target speaker (~5 s is enough)")
    who.add_argument("--speaker", help="a voice-library name or a saved speaker embedding (.safetensors)")
    p.add_argument(
        "--voices", type=Path, help="voice library directory (default: $VOXSMITH_VOICES or ~/.local/share)"
    )


def add_control_args(p: argparse.ArgumentParser) -> None:
    emo = p.add_mutually_exclusive_group()
    emo.add_argument("--emotion", help="a preset (happy, angry, sad, afraid, disgusted, melancholic, surprised, "
                     "calm) or a description such as '愤怒地质问' / 'say it gently'")  # fmt: skip
    emo.add_argument(
        "--emotion-ref", type=Path, help="clip whose emotion to use (timbre still from the speaker)"
    )
    emo.add_argument("--emotion-vector", help="eight weights v1,...,v8 in the preset order")
    p.add_argument("--intensity", type=float, default=1.0, help="emotion intensity 0..2 (default: 1.0)")
    p.add_argument(
        "--emo-alpha", type=float, default=1.0, help="blend of --emotion-ref with the speaker's own (0..2)"
    )
    dur = p.add_mutually_exclusive_group()
    dur.add_argument("--duration-ratio", type=float, help="scale the natural length, 0.75..1.25")
    dur.add_argument(
        "--target-tokens",
        type=int,
        help="generate exactly N semantic tokens (N × samples-per-token samples; see voxsmith info)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--temperature", type=float, help="sampling temperature (default: the model's)")
    p.add_argument("--top-k", type=int, help="top-k sampling (default: the model's)")
    p.add_argument("--top-p", type=float, help="nucleus sampling mass (default: the model's)")
    p.add_argument(
        "--text-guidance",
        type=float,
        help="pull the codes towards the text, 0..10 (default: the model's; only a GPT trained "
        "with --text-drop knows what no text sounds like)",
    )
    p.add_argument(
        "--pause-ms", type=float, default=200.0, help="pause between long-text segments (default: 200)"
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "speak",
        help="synthesise speech in a cloned voice",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", help="text to speak ('-' reads standard input)")
    add_voice_args(p, required=False)
    add_control_args(p)
    add_model_args(p)
    p.add_argument("--adapter", type=Path, help="fine-tuned adapter folder (voxsmith finetune); without "
                   "--ref/--speaker its stored voice speaks")  # fmt: skip
    add_glossary_arg(p)
    add_candidates_arg(p)
    p.add_argument("-o", "--out", type=Path, required=True, help="output .wav or .flac")
    p.add_argument("--verify", action="store_true", help="check the pronunciation and fix misreadings")
    p.add_argument(
        "--max-retries", type=int, default=3, help="with --verify: regeneration attempts (default: 3)"
    )
    p.add_argument(
        "--json", action="store_true", help="print path, seconds, tokens, sample_rate, rtf as JSON"
    )
    p.set_defaults(func=run_speak)

    i = sub.add_parser("info", help="model facts: sample rate, token rate, parameters")
    add_model_args(i)
    i.add_argument("--json", action="store_true", help="print as JSON")
    i.set_defaults(func=run_info)


def load_model(args: argparse.Namespace):
    from voxsmith.pipeline import IndexTTSModel

    model = IndexTTSModel.from_pretrained(
        args.model, threads=args.threads, adapter=getattr(args, "adapter", None)
    )
    if getattr(args, "glossary", None) is not None:
        model.set_glossary(args.glossary)
    from voxsmith.models.parts import override_settings

    # flags not given (None) leave the model's settings; a bad one is refused with its key named
    given = {"listen_candidates": getattr(args, "listen", None),
             "listen_confidence": getattr(args, "listen_confidence", None),
             "code_candidates": getattr(args, "candidates", None)}  # fmt: skip
    override_settings(model.parts, given, "--listen / --listen-confidence / --candidates")
    return model


def resolve_speaker(model, args: argparse.Namespace):
    """``--ref`` clip → fresh embedding; ``--speaker`` → saved embedding file or library voice."""
    from voxsmith.embeddings import SpeakerEmbedding
    from voxsmith.voices import VoiceLibrary

    if getattr(args, "ref", None) is not None:
        return model.speaker_encoder(args.ref)
    name = args.speaker
    if name is None:  # an adapter's (or merged model's) stored voice
        if model.default_speaker is None:
            from voxsmith.errors import ConfigError

            raise ConfigError("give --ref or --speaker (or --adapter with a stored voice)")
        return model.default_speaker
    if name.endswith(".safetensors"):
        return SpeakerEmbedding.load(name)
    return VoiceLibrary(args.voices).embedding(name, model)


def sampling_from(model, args: argparse.Namespace):
    import dataclasses

    s = model.parts.default_sampling()
    changes = {
        k: getattr(args, k)
        for k in ("temperature", "top_k", "top_p", "text_guidance")
        if getattr(args, k, None) is not None
    }
    return dataclasses.replace(s, **changes) if changes else s


def read_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


def run_speak(args: argparse.Namespace) -> int:
    from voxsmith.audio import AudioProcessor
    from voxsmith.errors import ConfigError

    if args.out.suffix.lower() not in (".wav", ".flac"):
        raise ConfigError(f"{args.out}: output must end in .wav or .flac")
    text = read_text(args.text)
    model = load_model(args)
    spk = resolve_speaker(model, args)
    res = model.synthesize(
        text,
        speaker_embedding=spk,
        emotion=args.emotion,
        emotion_reference=args.emotion_ref,
        emotion_vector=args.emotion_vector,
        intensity=args.intensity,
        emo_alpha=args.emo_alpha,
        duration_ratio=args.duration_ratio,
        target_tokens=args.target_tokens,
        sampling=sampling_from(model, args),
        seed=args.seed,
        pause_ms=args.pause_ms,
        verify=args.verify,
        max_retries=args.max_retries,
    )
    AudioProcessor.save(res.audio, args.out)  # atomic: nothing is written unless synthesis succeeded
    report = {
        "path": str(args.out),
        "seconds": round(res.seconds, 3),
        "tokens": res.tokens,
        "sample_rate": res.audio.sample_rate,
        "rtf": round(res.rtf, 3),
    }
    if res.verify is not None:
        report["verify"] = res.verify
    if res.listened:
        report["listened"] = res.listened
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(f"{args.out}: {report['seconds']} s, {res.tokens} tokens, RTF {report['rtf']}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    info = load_model(args).info()
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for k, v in info.items():
            print(f"{k}: {v}")
    return 0
