"""``voxsmith train STAGE --config tiny --data CORPUS --out DIR``: the training recipes.

Stages of the tiny size, in dependency order: ``vocoder`` (audio only), ``content``
(CTC content encoder), ``codec`` (k-means codes, needs content), ``style`` (style
encoder), ``mel-speaker`` (a speaker judge on S2M's mel, for S2M's ``--speaker-loss``),
``gpt``, ``s2m`` and ``reader`` (the code reader that ranks the GPT's candidates;
need codes); ``checker`` (pronunciation checker, corpus only). Every stage resumes from
``DIR/state.pt`` unless ``--fresh`` is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

STAGES = ("vocoder", "content", "codec", "style", "mel-speaker", "gpt", "s2m", "reader", "checker")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model stage on a corpus (resumable)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("stage", choices=STAGES, help="which stage to train")
    p.add_argument("--config", default="tiny", choices=["tiny", "debug"], help="model size (default: tiny)")
    p.add_argument(
        "--data",
        required=True,
        type=Path,
        help="corpus directory (with manifest.jsonl); the gpt stage also takes a GPT pack "
        "(`voxsmith corpus pack-gpt`)",
    )
    p.add_argument("--out", required=True, type=Path, help="run directory (state, logs, exported weights)")
    p.add_argument("--steps", type=int, help="total optimiser steps (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    p.add_argument(
        "--init",
        type=Path,
        help="start a new run from these exported weights (e.g. the built-in model's part)",
    )
    p.add_argument(
        "--val-every", type=int, help="steps between validation + checkpoint (default: the recipe's)"
    )
    p.add_argument(
        "--warmup",
        type=int,
        help="learning-rate warm-up steps of a new run (default: the recipe's; a run started "
        "with --init from trained weights needs little)",
    )
    p.add_argument("--fresh", action="store_true", help="ignore an existing state in --out and start over")
    p.add_argument(
        "--device",
        default="cpu",
        help="gpt stage: torch device to train on, e.g. cuda on an accelerator machine (default: cpu)",
    )
    p.add_argument(
        "--batch-codes",
        type=int,
        help="gpt stage: codes per batch (default: the recipe's 2400; an accelerator takes several times that)",
    )
    p.add_argument(
        "--lr",
        type=float,
        help="peak learning rate of every stage but codec (default: the recipe's, e.g. gpt 5e-4, s2m 3e-4, "
        "content 1e-3); a resumed run keeps the peak it started with",
    )
    p.add_argument(
        "--warp",
        type=float,
        help="content and s2m stages: vocal-tract-length perturbation, each clip's mel axis warped by a "
        "factor in [1 - W, 1 + W] (s2m: prompt and target by the same one), for voices it never heard "
        "(default: 0, none; BENCHMARKS.md used 0.1)",
    )
    p.add_argument(
        "--minutes",
        type=float,
        help="gpt stage: wall-time budget of this invocation; after 60 measured steps the schedule "
        "is shortened to end within it (--steps stays the upper bound)",
    )
    p.add_argument("--content", type=Path, help="codec stage: content.safetensors to use")
    p.add_argument(
        "--align-content",
        type=Path,
        help="codec stage, with --codec: the content encoder that codebook was fitted on, when --content "
        "is a retrained one; the codebook moves into the new features so each code keeps its meaning "
        "(GPT and S2M continue on the new codes)",
    )
    p.add_argument(
        "--phase",
        choices=["predicted", "griffin-lim"],
        help="vocoder stage: where the output's phase comes from (default: the size's, griffin-lim: "
        "the magnitude is trained on the real STFT and Griffin-Lim makes the phase; predicted: the "
        "head's phase, trained through the waveform, with discriminators from the recipe's step 6000)",
    )
    p.add_argument(
        "--reinit-emotion",
        action="store_true",
        help="gpt stage, one-off: fresh weights for the emotion conditioner after resuming "
        "(recovers a collapsed emotion path; give it once, not on every resume)",
    )
    p.add_argument(
        "--refit-perceivers",
        action="store_true",
        help="gpt stage, one-off: before training, refit a Perceiver whose internal scale exceeds "
        "--latent-cap to its own outputs with the scale bounded (a GPT trained without the cap; "
        "healthy ones are left alone)",
    )
    p.add_argument(
        "--latent-cap",
        type=float,
        help="gpt stage: RMS per Perceiver latent before its final norm above which a penalty "
        "applies (default: 8; 0 turns the penalty off)",
    )
    p.add_argument(
        "--gpt",
        type=Path,
        help="s2m stage: gpt.safetensors whose latents S2M reads through its gpt_layer (the "
        "official design); latents are cached per GPT file",
    )
    p.add_argument(
        "--style",
        type=Path,
        help="s2m stage: style.safetensors whose vectors of the corpus's clips S2M reads, computed "
        "where missing (default: those the style stage left in the corpus's cache)",
    )
    p.add_argument(
        "--crop-codes",
        type=int,
        help="s2m stage: codes per training crop, prompt included (default: the recipe's 80, ~3.7 s)",
    )
    p.add_argument(
        "--prompt-share",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="s2m stage: the prompt's share of a crop is drawn from [MIN, MAX] (default: the recipe's "
        "0.15 0.45); with a longer --crop-codes, longer prompts, as a 5-second reference is at inference",
    )
    p.add_argument(
        "--speaker-loss",
        type=float,
        help="s2m stage: weight of a speaker-consistency loss: the mel speaker judge (--speaker-judge) "
        "compares S2M's estimate of the clean mel with the real target (default: 0, off)",
    )
    p.add_argument(
        "--speaker-judge",
        type=Path,
        help="s2m stage: mel_speaker.safetensors from `voxsmith train mel-speaker`, for --speaker-loss",
    )
    p.add_argument(
        "--zero-style",
        action="store_true",
        help="s2m stage: continue a trained S2M even where the corpus has no style vectors "
        "(refused otherwise: it would learn to ignore the style inference gives it)",
    )
    p.add_argument(
        "--prosody-weight",
        type=float,
        help="gpt stage: weight of the prosody probe (speaker-relative f0 and energy per code "
        "predicted from the latents S2M reads; default: 0, off). Makes the latents carry the "
        "emotion's prosody, which the tiny size's pitch-blind codes do not",
    )
    p.add_argument(
        "--unit-ctc-weight",
        type=float,
        help="gpt stage: weight of a CTC probe reading the text's phones and toned finals off "
        "the latents S2M reads (default: 0, off); asks the latents to track which unit each "
        "code is saying. May be switched on when resuming (the probe starts fresh)",
    )
    p.add_argument(
        "--cross-prompt",
        type=float,
        help="s2m stage: share of crops prompted by another clip of the speaker (a neutral one "
        "where there is one) instead of their own start, so prosody must come from the codes and "
        "latents (default: the recipe's 0; e.g. 0.5 for emotion control)",
    )
    p.add_argument(
        "--prosody",
        action="store_true",
        help="s2m stage: also read each target's utterance prosody offset (f0 mean and range, "
        "loudness, tilt) from its prompt, which the bundled prosody head predicts from the emotion "
        "at inference (use with --cross-prompt; a model that already reads them keeps doing so)",
    )
    p.add_argument(
        "--contour",
        action="store_true",
        help="s2m stage: also read each code's f0 and energy relative to the speaker (measured "
        "from the clip), which the bundled contour head predicts from the GPT latents and the "
        "emotion moves at inference (a model that already reads it keeps doing so)",
    )
    p.add_argument(
        "--dropout",
        type=float,
        help="gpt stage: GPT-2 dropout while training (default: the model's 0.1; more fights "
        "overfitting a small corpus)",
    )
    p.add_argument(
        "--code-noise",
        type=float,
        help="gpt stage: share of teacher-forced input codes replaced by random codes "
        "(default: 0; e.g. 0.1 against overfitting and for robust sampling); reader stage: share "
        "of the codes read replaced by random ones (default: the recipe's 0.1)",
    )
    p.add_argument(
        "--self-feed",
        type=float,
        help="gpt stage: share of teacher-forced input codes replaced by the model's own draws "
        "from a first pass without gradients (scheduled sampling: it learns to continue from its "
        "own mistakes; costs a third more time per step; default: 0)",
    )
    p.add_argument(
        "--text-drop",
        type=float,
        help="gpt stage: share of rows trained with an empty text, so sampling can be guided "
        "towards the text (SamplingConfig.text_guidance; default: 0)",
    )
    p.add_argument(
        "--remap-codes",
        type=Path,
        help="gpt stage, with --init after a codec refit: the codes the init weights were "
        "trained on (the refit keeps them as CORPUS/cache/codes_train.previous.npz); their code "
        "rows are matched to the new codes frame by frame",
    )
    p.add_argument(
        "--codec",
        type=Path,
        help="gpt, s2m and reader stages: codec.safetensors to use; codec stage: keep this codebook "
        "and only write codes (after the corpus grew)",
    )
    p.add_argument(
        "--depth",
        type=int,
        help="gpt and s2m stages: GPT-2 blocks / DiT blocks (default: the run's own on resume, else "
        "--init's, else the recipe's: 4 / 6); deeper than --init grows it with identity blocks, so "
        "training starts where --init was",
    )
    p.add_argument(
        "--codebook-size", type=int, default=512, help="codec stage: number of codes (default: 512)"
    )
    p.add_argument(
        "--swap-minutes",
        type=float,
        help="checker stage: minutes of reading-swap clips to render with ttskit first (default: the recipe's)",
    )
    p.add_argument(
        "--voice-minutes",
        type=float,
        help="checker stage: minutes of clips (with reading swaps) read by the screened Mandarin "
        "voices that no corpus speaker uses, rendered first (default: the recipe's)",
    )
    p.add_argument(
        "--frontend",
        choices=("mel", "whisper"),
        default="mel",
        help="checker stage: what the recogniser hears: log-mel learned from the corpus alone (mel, "
        "default) or the ASR judge's Whisper encoder states (whisper; encoded once per clip, cached)",
    )
    p.add_argument(
        "--detection-slack",
        type=float,
        help="checker stage: lower the calibrated thresholds while losing at most this share of the "
        "wrong readings caught on the held-out voices (fewer false alarms on new voices; default 0)",
    )
    p.add_argument(
        "--recalibrate",
        action="store_true",
        help="checker stage: no training; refit the pitch tone judge and the calibration of the "
        "run's weights and export them",
    )
    p.set_defaults(func=run)


def _warp(cfg, args: argparse.Namespace) -> None:
    """``--warp``, for the recipes that take it (content, s2m)."""
    if args.warp is not None:
        if not 0 <= args.warp < 0.5:
            from voxsmith.errors import ConfigError

            raise ConfigError(f"--warp must be in [0, 0.5), got {args.warp}")
        cfg.warp = args.warp


def _code_noise(cfg, args: argparse.Namespace) -> None:
    """``--code-noise``, for the recipes that take it."""
    if args.code_noise is not None:
        if not 0.0 <= args.code_noise < 1.0:
            from voxsmith.errors import ConfigError

            raise ConfigError(f"--code-noise must be in [0, 1), got {args.code_noise}")
        cfg.code_noise = args.code_noise


def _every(cfg, args: argparse.Namespace):
    """The options every recipe shares, applied to its config."""
    if args.steps:
        cfg.steps = args.steps
    if args.lr is not None:
        if not 0 < args.lr < 1:
            from voxsmith.errors import ConfigError

            raise ConfigError(f"--lr must be in (0, 1), got {args.lr}")
        cfg.lr = args.lr
    if args.val_every:
        cfg.val_every = args.val_every
    if args.warmup is not None:
        cfg.warmup = args.warmup
    return cfg


def run(args: argparse.Namespace) -> int:
    from voxsmith.errors import ConfigError

    resume = not args.fresh
    if args.stage == "vocoder":
        from voxsmith.models.vocoder import VocosConfig
        from voxsmith.train.vocoder import VocoderTrainConfig, train

        cfg = VocoderTrainConfig(seed=args.seed, threads=args.threads)
        size = VocosConfig.tiny() if args.config == "tiny" else VocosConfig.debug()
        if args.phase:
            size = dataclasses.replace(size, phase=args.phase)
        path = train(args.data, args.out, _every(cfg, args), size, resume=resume, init=args.init)
    elif args.stage == "content":
        from voxsmith.models.content import ContentEncoderConfig
        from voxsmith.models.units import UNITS
        from voxsmith.train.content import ContentTrainConfig, train_content

        cfg = ContentTrainConfig(seed=args.seed, threads=args.threads)
        _warp(cfg, args)
        size = (
            ContentEncoderConfig.tiny(len(UNITS))
            if args.config == "tiny"
            else ContentEncoderConfig.debug(len(UNITS))
        )
        path = train_content(args.data, args.out, _every(cfg, args), size, resume=resume, init=args.init)
    elif args.stage == "codec":
        from voxsmith.train.content import train_codec

        if args.content is None:
            raise ConfigError("the codec stage needs --content PATH/content.safetensors")
        if args.lr is not None:  # k-means has no optimiser; a silently dropped flag would mislead
            raise ConfigError("the codec stage fits k-means centres and takes no --lr")
        path = train_codec(
            args.data, args.content, args.out, args.codebook_size, seed=args.seed, reuse=args.codec,
            align=args.align_content,
        )  # fmt: skip
    elif args.stage == "style":
        from voxsmith.models.style import StyleEncoderConfig
        from voxsmith.train.style import StyleTrainConfig, train_style

        cfg = StyleTrainConfig(seed=args.seed, threads=args.threads)
        size = StyleEncoderConfig.tiny() if args.config == "tiny" else StyleEncoderConfig.debug()
        path = train_style(args.data, args.out, _every(cfg, args), size, resume=resume, init=args.init)
    elif args.stage == "mel-speaker":
        from voxsmith.models.mel_speaker import MelSpeakerConfig
        from voxsmith.train.mel_speaker import MelSpeakerTrainConfig, train_mel_speaker

        cfg = MelSpeakerTrainConfig(seed=args.seed, threads=args.threads)
        size = MelSpeakerConfig.tiny() if args.config == "tiny" else MelSpeakerConfig.debug()
        path = train_mel_speaker(args.data, args.out, _every(cfg, args), size, resume=resume, init=args.init)
    elif args.stage == "gpt":
        from voxsmith.checkpoints import read_metadata
        from voxsmith.train.gpt import GPTTrainConfig, train_gpt

        if args.codec is None:
            raise ConfigError("the gpt stage needs --codec PATH/codec.safetensors")
        if args.depth is not None and args.depth < 1:
            raise ConfigError(f"--depth must be >= 1, got {args.depth}")
        if args.remap_codes is not None and args.init is None:
            raise ConfigError("--remap-codes matches the rows of --init weights; give --init too")
        codec_cfg, _ = read_metadata(args.codec, kind="kmeans_codec")
        if args.minutes is not None and args.minutes <= 0:
            raise ConfigError(f"--minutes must be > 0, got {args.minutes}")
        cfg = GPTTrainConfig(
            seed=args.seed,
            threads=args.threads,
            dropout=args.dropout,
            device=args.device,
            minutes=args.minutes,
        )
        if args.batch_codes is not None:
            if args.batch_codes < 100:
                raise ConfigError(f"--batch-codes must be >= 100, got {args.batch_codes}")
            cfg.max_batch_codes = args.batch_codes
        _code_noise(cfg, args)
        if args.self_feed is not None:
            if not 0.0 <= args.self_feed <= 1.0:
                raise ConfigError(f"--self-feed must be in [0, 1], got {args.self_feed}")
            cfg.self_feed = args.self_feed
        if args.text_drop is not None:
            if not 0.0 <= args.text_drop < 1.0:
                raise ConfigError(f"--text-drop must be in [0, 1), got {args.text_drop}")
            cfg.text_drop = args.text_drop
        if args.prosody_weight is not None:
            if args.prosody_weight < 0:
                raise ConfigError(f"--prosody-weight must be >= 0, got {args.prosody_weight}")
            cfg.prosody_weight = args.prosody_weight
        if args.unit_ctc_weight is not None:
            if args.unit_ctc_weight < 0:
                raise ConfigError(f"--unit-ctc-weight must be >= 0, got {args.unit_ctc_weight}")
            cfg.unit_ctc_weight = args.unit_ctc_weight
        if args.latent_cap is not None:
            if args.latent_cap < 0:
                raise ConfigError(f"--latent-cap must be >= 0, got {args.latent_cap}")
            if args.latent_cap == 0:
                cfg.latent_scale_weight = 0.0
            else:
                cfg.latent_cap = args.latent_cap
        if args.refit_perceivers and cfg.latent_scale_weight == 0:
            raise ConfigError("--refit-perceivers needs a --latent-cap above 0")
        if args.dropout is not None and not 0.0 <= args.dropout < 1.0:
            raise ConfigError(f"--dropout must be in [0, 1), got {args.dropout}")
        path = train_gpt(
            args.data,
            args.out,
            int(codec_cfg["codebook_size"]),
            _every(cfg, args),
            resume=resume,
            init=args.init,
            reinit_emotion=args.reinit_emotion,
            refit_perceivers=args.refit_perceivers,
            remap_codes=args.remap_codes,
            layers=args.depth,
        )
    elif args.stage == "s2m":
        from voxsmith.train.s2m import S2MTrainConfig, train_s2m

        if args.codec is None:
            raise ConfigError("the s2m stage needs --codec PATH/codec.safetensors")
        cfg = S2MTrainConfig(seed=args.seed, threads=args.threads)
        if args.cross_prompt is not None:
            if not 0.0 <= args.cross_prompt <= 1.0:
                raise ConfigError(f"--cross-prompt must be in [0, 1], got {args.cross_prompt}")
            cfg.cross_prompt = args.cross_prompt
        if args.depth is not None and args.depth < 2:
            raise ConfigError(f"--depth must be >= 2, got {args.depth}")
        _warp(cfg, args)
        if args.crop_codes is not None:
            if args.crop_codes < 8:
                raise ConfigError(f"--crop-codes must be >= 8, got {args.crop_codes}")
            cfg.crop_codes = args.crop_codes
        if args.prompt_share is not None:
            lo, hi = args.prompt_share
            if not 0.0 < lo <= hi < 1.0:
                raise ConfigError(f"--prompt-share MIN MAX must satisfy 0 < MIN <= MAX < 1, got {lo} {hi}")
            cfg.prompt_min, cfg.prompt_max = lo, hi
        if args.speaker_loss is not None:
            if args.speaker_loss < 0:
                raise ConfigError(f"--speaker-loss must be >= 0, got {args.speaker_loss}")
            cfg.speaker_loss = args.speaker_loss
        path = train_s2m(
            args.data, args.codec, args.out, _every(cfg, args),
            resume=resume, init=args.init, gpt=args.gpt, depth=args.depth, prosody=args.prosody,
            contour=args.contour, style=args.style, zero_style=args.zero_style,
            speaker_judge=args.speaker_judge,
        )  # fmt: skip
    elif args.stage == "reader":
        from voxsmith.checkpoints import read_metadata
        from voxsmith.models.code_reader import CodeReaderConfig
        from voxsmith.models.units import UNITS
        from voxsmith.train.reader import ReaderTrainConfig, train_reader

        if args.codec is None:
            raise ConfigError("the reader stage needs --codec PATH/codec.safetensors (the codes it reads)")
        n_codes = int(read_metadata(args.codec, kind="kmeans_codec")[0]["codebook_size"])
        cfg = ReaderTrainConfig(seed=args.seed, threads=args.threads)
        _code_noise(cfg, args)
        size = (CodeReaderConfig.tiny if args.config == "tiny" else CodeReaderConfig.debug)(
            len(UNITS), n_codes
        )
        path = train_reader(
            args.data, n_codes, args.out, _every(cfg, args), size, resume=resume, init=args.init
        )
    elif args.stage == "checker":
        from voxsmith.check.config import CheckerConfig
        from voxsmith.train.checker import CheckerTrainConfig, train_checker

        cfg = CheckerTrainConfig(seed=args.seed, threads=args.threads)
        if args.swap_minutes is not None:
            cfg.swap_minutes = args.swap_minutes
        if args.voice_minutes is not None:
            cfg.voice_minutes = args.voice_minutes
        if args.detection_slack is not None:
            if not 0.0 <= args.detection_slack < 1.0:
                raise ConfigError(f"--detection-slack must be in [0, 1), got {args.detection_slack}")
            cfg.detection_slack = args.detection_slack
        if args.config != "tiny":
            size = dataclasses.replace(CheckerConfig.debug(), frontend=args.frontend)
        else:
            size = CheckerConfig.whisper() if args.frontend == "whisper" else CheckerConfig.tiny()
        if args.recalibrate and args.fresh:
            raise ConfigError("--recalibrate works on the run's trained weights; drop --fresh")
        path = train_checker(
            args.data, args.out, _every(cfg, args), size, resume=resume, recalibrate=args.recalibrate
        )
    else:  # pragma: no cover - argparse restricts choices
        raise ConfigError(f"unknown stage {args.stage}")
    print(json.dumps({"stage": args.stage, "weights": str(path)}))
    return 0
