"""Assemble a model directory (the built-in model) from the exported weights of each stage.

    runs/content/content.safetensors  runs/codec/codec.safetensors  runs/gpt/gpt.safetensors
    runs/s2m/s2m.safetensors          runs/style/style.safetensors  runs/vocoder/vocoder.safetensors
        + the corpus (for the emotion matrix) ──► voxsmith/assets/tiny/{model.json, *.safetensors}

The emotion matrix is fitted here, as in the reference design's ``feat2``/``feat1``: for each
of the 8 categories, the GPT emotion vectors of strongly styled training clips are clustered
into a few rows, each paired with the mean style vector of its members (so inference can pick
the row recorded by the most similar voice).

For an S2M that reads prosody offsets, the prosody head is fitted here too
(:func:`fit_prosody_head`): emotion vectors of training clips regressed on their utterance
prosody relative to their speaker's neutral speech. For an S2M that reads a per-code contour,
the contour head too (:func:`fit_contour_head`): the GPT's latents of training clips
regressed on the clips' per-code f0 and energy relative to their speaker. Every model gets
each emotion's speaking rate (:func:`fit_emotion_rates`), and the prosody head a table of
each category's measured prosody (:func:`prosody_table`); :func:`refit_presets` adds or
refreshes both in a model directory that exists (``voxsmith dev presets``).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.audio import SAMPLE_RATE, Audio, AudioProcessor
from voxsmith.checkpoints import load_module, load_safetensors, save_safetensors
from voxsmith.embeddings import EMOTIONS
from voxsmith.errors import CheckpointError, DataError
from voxsmith.fileio import atomic_write_text
from voxsmith.models.code_reader import CodeReader, CodeReaderConfig
from voxsmith.models.content import ContentEncoder, ContentEncoderConfig
from voxsmith.models.emotion import EmotionMatrix, category_slopes
from voxsmith.models.emotion_rate import EmotionRates
from voxsmith.models.gpt import GPTConfig, UnifiedVoice
from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
from voxsmith.models.parts import PART_FILES, ModelParts, card_settings, save_parts
from voxsmith.models.prosody import CONTOUR, MEASURES, SCALES, ContourHead, ProsodyHead, voiced_spread
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.models.style import StyleEncoder, StyleEncoderConfig, load_style_encoder
from voxsmith.models.vocoder import VocosConfig, VocosVocoder
from voxsmith.train.data import CorpusData, neutral_or_all, read_manifest
from voxsmith.train.state import weights_history

log = logging.getLogger(__name__)
PRESET_UNITS = ("st", "st", "dB", "dB/oct")  # of MEASURES, for the model card

STAGE_FILES = {
    "content": "content/content.safetensors",
    "codec": "codec/codec.safetensors",
    "gpt": "gpt/gpt.safetensors",
    "s2m": "s2m/s2m.safetensors",
    "style": "style/style.safetensors",
    "vocoder": "vocoder/vocoder.safetensors",
    "reader": "reader/reader.safetensors",  # optional: without one, the content CTC head reads codes
}


def _load(path: Path, kind: str, build):
    if not path.is_file():
        raise CheckpointError(f"{path}: exported {kind} weights not found (train that stage first)")
    return load_module(path, kind, build)


def _run_info(path: Path, stage: str) -> tuple[int | None, float | None]:
    """(steps, training hours) behind an export, from the run directory it lives in (with the
    history of the weights that run started from) or the model card it ships with."""
    totals = weights_history(path, stage)
    if totals is None:
        return None, None
    return totals[0], round(totals[1] / 3600, 2)


def hardware() -> str:
    """Where the bundle was trained, as far as this machine can tell (the card says it)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{os.cpu_count()} CPU cores ({cpu}){gpu}"


def write_model_card(root: str | Path, card: dict, quality: dict | None = None) -> Path:
    """``MODEL_CARD.md`` beside ``model.json``: data, steps, wall time, hardware, measured quality.

    ``quality``: the JSON that ``benchmarks/builtin_quality.py --json`` writes (its summary).
    """
    root = Path(root)
    tr = card.get("training", {})
    params = card.get("parameters", {})
    lines = [
        f"# {card.get('name', 'voxsmith model')}",
        "",
        f"Size `{card.get('size')}`, {params.get('total', 0) / 1e6:.1f} M parameters, fp16 safetensors; "
        f"bundled {card.get('created')} by `voxsmith dev bundle`.",
        "",
        "## Data",
        "",
        f"The synthetic corpus of `voxsmith corpus build` (seed 0): {tr.get('corpus_minutes')} min, "
        f"{tr.get('corpus_speakers')} speakers (Mandarin and English engines, WORLD-warped timbres, "
        "bilingual speakers, 8 emotion styles at 3 strengths). Held-out test speakers are never trained on.",
        "",
        "## Training",
        "",
        f"Hardware: {tr.get('hardware', 'unknown')}.",
        "",
        "| part | parameters | steps | wall time (h, at least) |",
        "|---|---|---|---|",
    ]
    hours = tr.get("hours", {})
    for part, steps in tr.get("steps", {}).items():
        h = hours.get(part)
        lines.append(
            f"| {part} | {params.get(part, 0):,} | {steps if steps is not None else '—'} | "
            f"{h if h is not None else '—'} |"
        )
    lines += [
        "",
        "Wall time is summed over resumed sessions since runs began keeping the total (2026-12-01); "
        "sessions before that count only their last process. Reproduce: README, *Building the "
        "built-in model*.",
        *[f"\n{note}" for note in tr.get("notes", [])],
        "",
        "## Measured quality",
        "",
    ]
    q = quality or {}
    summary = q.get("summary")
    if summary:
        n_gen = sum(1 for i in q.get("items", []) if i.get("kind") == "gen")
        what = [
            f"{n_gen} items" if n_gen else "",
            f"corpus {Path(q['data']).name}, split {q.get('split', 'test')}" if q.get("data") else "",
            f"{len(q['speakers'])} speakers" if q.get("speakers") else "",
        ]
        how = [f"GPT temperature {q['sampling']['temperature']}" if q.get("sampling") else "",
               f"{q['code_candidates']} GPT samples, the best-read kept" if q.get("code_candidates", 1) > 1 else "",
               f"S2M guidance {q['cfg_rate']}" if "cfg_rate" in q else "",
               f"S2M starting noise {q['s2m_noise']}" if "s2m_noise" in q else "",
               f"timbre match {q['timbre_match']}" if q.get("timbre_match") else ""]  # fmt: skip
        lines += [
            "Zero-shot on held-out corpus speakers (`python benchmarks/builtin_quality.py`"
            + "".join(f"; {x}" for x in what + how if x)
            + "):",
            "",
            "| | SIM | CER zh | WER en | DNSMOS ovrl |",
            "|---|---|---|---|---|",
        ]
        names = {
            "gen": "generated",
            "oracle": "real codes → S2M → vocoder",
            "real": "real clips",
            "cross": "cross-lingual (reference in the other language)",
        }
        for kind, row in summary.items():
            lines.append(
                f"| {names.get(kind, kind)} | {row.get('sim')} | {row.get('cer_zh')} | {row.get('wer_en')} | "
                f"{row.get('dnsmos')} |"
            )
        note = (card.get("quality") or {}).get("note")
        if note:  # how the figures were taken, and any pooled figures beside this one run
            lines += ["", f"Measured with: {note}."]
    else:
        lines.append("Not measured for this bundle; see BENCHMARKS.md.")
    lines += _controls_card(card)
    lines += _presets_card(root)
    return atomic_write_text(root / "MODEL_CARD.md", "\n".join(lines) + "\n")


def _controls_card(card: dict) -> list[str]:
    """The model card's lines on how its sampling settings shape the controls (none when every
    setting is the official behaviour)."""
    lines = []
    share = float(card.get("duration_token_share", 1.0))
    slow = card.get("duration_token_share_slow")
    slow = share if slow is None else float(slow)
    if share < 1.0 or slow < 1.0:
        when = "" if slow == share else f" (r^{slow:g} for r above 1, slower speech)"
        lines.append(
            f"`duration_ratio` r is split: the GPT generates r^{share:g} × the neutral number of tokens{when} "
            "and S2M reads them over the full r × length (`duration_token_share`, `duration_token_share_slow`; "
            "1 would put all of it in tokens, as the official model does). `target_tokens` stays exact."
        )
    hold = card.get("voice_hold")
    if hold is not None:
        lines.append(
            f"Emotion intensity past {hold:g} exaggerates pitch range, loudness, speaking rate and the GPT's "
            "emotion vector, but asks no more mean-pitch or spectral-tilt change than each category makes "
            f"at {hold:g} (`voice_hold`): those are what a speaker judge hears as the voice itself."
        )
    return ["", "## Controls", "", "\n\n".join(lines)] if lines else []


def refresh_presets_card(root: str | Path) -> None:
    """Rewrite the emotion-presets section (the last) of ``root/MODEL_CARD.md`` from the emotion
    file as it is now (after ``dev presets`` or ``dev calibrate``); no card, nothing written."""
    from voxsmith.fileio import atomic_write_text

    path = Path(root) / "MODEL_CARD.md"
    if not path.is_file():
        return
    head = path.read_text(encoding="utf-8").split("\n## Emotion presets", 1)[0].rstrip("\n")
    atomic_write_text(path, "\n".join([head, *_presets_card(Path(root))]) + "\n")


def _presets_card(root: Path) -> list[str]:
    """The model card's lines on what each emotion category was measured to do (speaking rate,
    prosody table), when the emotion file holds them."""
    path = root / PART_FILES["emotion"]
    if not path.is_file():
        return []
    tensors, _, _ = load_safetensors(path, kind="emotion_matrix")
    rates, head = EmotionRates.from_tensors(tensors), ProsodyHead.from_tensors(tensors)
    tempo = rates.named() if rates is not None else None
    measured = head.named_table() if head is not None else None
    if tempo is None and measured is None:
        return []
    cols = ["tempo"] * (tempo is not None) + [
        f"{m} ({u})" for m, u in zip(MEASURES, PRESET_UNITS, strict=True)
    ] * (measured is not None)
    lines = [
        "",
        "## Emotion presets",
        "",
        "What each category does at full strength against the same speakers' neutral speech, measured "
        "on the corpus's styled train clips (`voxsmith dev presets`); presets, vectors and text ask for it.",
        "",
        "| category | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name in EMOTIONS:
        cells = [f"{tempo[name]:.3f}"] if tempo is not None else []
        cells += [f"{v:+.2f}" for v in measured[name].values()] if measured is not None else []
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    asks = head.named_table(asks=True) if head is not None else None
    if asks is not None:
        lines += [
            "",
            "What each preset asks of the renderer at full strength so its output shows the change above, "
            "fitted by rendering every preset for train speakers and measuring it (`voxsmith dev calibrate`):",
            "",
            "| category | "
            + " | ".join(f"{m} ({u})" for m, u in zip(MEASURES, PRESET_UNITS, strict=True))
            + " |",
            "|---" * (len(MEASURES) + 1) + "|",
        ]
        lines += [f"| {n} | " + " | ".join(f"{v:+.2f}" for v in asks[n].values()) + " |" for n in EMOTIONS]
    return lines


@torch.inference_mode()
def fit_emotion_matrix(
    corpus: str | Path,
    gpt: UnifiedVoice,
    style: StyleEncoder,
    rows_per_category: int = 4,
    clips_per_category: int = 48,
    min_strength: float = 0.6,
    seed: int = 0,
) -> EmotionMatrix:
    """Emotion rows from strongly styled train clips of each category (see the module doc)."""
    rows = [r for r in read_manifest(corpus) if r.get("split") == "train"]
    rng = np.random.default_rng(seed)
    emos, styles, labels = [], [], []
    for cat, name in enumerate(EMOTIONS):
        members = [
            r for r in rows if r.get("style") == name and float(r.get("style_strength", 0)) >= min_strength
        ]
        if not members:
            raise DataError(f"{corpus}: no train clips of style {name!r} at strength >= {min_strength}")
        pick = rng.choice(len(members), size=min(clips_per_category, len(members)), replace=False)
        for i in tqdm(sorted(pick), desc=f"emotion {name}", unit="clip", leave=False):
            audio = AudioProcessor.load(Path(corpus) / members[i]["path"], sr=SAMPLE_RATE)
            feats = AudioProcessor.mel(audio.samples)[0].T.unsqueeze(0)
            emos.append(gpt.emotion_vector(feats)[0])
            styles.append(style.embed(Audio(audio.samples, SAMPLE_RATE)))
            labels.append(cat)
    return EmotionMatrix.from_examples(
        torch.stack(styles), torch.stack(emos), torch.tensor(labels), [rows_per_category] * len(EMOTIONS)
    )


def _relative_measures(corpus: str | Path) -> tuple[CorpusData, dict[int, np.ndarray]]:
    """Every train clip's scaled utterance measures relative to its speaker's neutral median
    (all their clips if none), by clip index: the prosody head's targets."""
    from voxsmith.train.prosody import clip_measures

    data = CorpusData(corpus, "train")
    rows = [c.row for c in data.clips]
    measures = clip_measures(corpus, data, range(len(rows)))
    if len(measures) < 10:
        raise DataError(f"{corpus}: {len(measures)} train clips with prosody; the prosody head needs more")
    base = {
        spk: np.nanmedian(np.stack(ms), axis=0)
        for spk, ms in neutral_or_all((rows[k], m) for k, m in measures.items()).items()
    }
    scales = np.asarray(SCALES)
    return data, {k: (m - base[rows[k]["speaker"]]) / scales for k, m in measures.items()}


def prosody_table(data: CorpusData, relative: dict[int, np.ndarray]) -> torch.Tensor:
    """``(8, K)``: each category's scaled measures at full strength (:func:`category_slopes` over
    its styled clips at every strength), the prosody head's table."""
    cats, strengths, values = [], [], []
    for k, v in relative.items():
        row = data.clips[k].row
        if row.get("style") in EMOTIONS and float(row.get("style_strength", 0)) > 0:
            cats.append(EMOTIONS.index(row["style"]))
            strengths.append(float(row["style_strength"]))
            values.append(v)
    if not cats:
        raise DataError(f"{data.root}: no styled train clips to measure the emotion categories' prosody")
    table = category_slopes(np.array(cats), np.array(strengths), np.stack(values))
    log.info(
        "prosody table (f0 st per category at full strength): %s",
        {e: round(float(t[0]) * SCALES[0], 2) for e, t in zip(EMOTIONS, table, strict=True)},
    )
    return torch.from_numpy(table).float()


@torch.inference_mode()
def fit_prosody_head(
    corpus: str | Path, gpt: UnifiedVoice, clips: int = 2000, ridge: float = 0.01, seed: int = 0
) -> ProsodyHead:
    """The prosody head from ``clips`` random train clips, with its table from every styled one
    (see the module doc and :mod:`voxsmith.models.prosody`)."""
    data, relative = _relative_measures(corpus)
    keys = sorted(relative)
    pick = np.random.default_rng(seed).permutation(len(keys))[:clips]
    emos, targets = [], []
    for i in tqdm(sorted(pick), desc="prosody head", unit="clip", leave=False):
        k = keys[i]
        emos.append(gpt.emotion_vector(data.clip_mel(k).T.unsqueeze(0))[0])
        targets.append(relative[k])
    x, y = torch.stack(emos), torch.from_numpy(np.stack(targets))
    head = ProsodyHead.fit(x, y, ridge=ridge)
    resid, ok = (head(x).double() - y).numpy(), ~np.isnan(y.numpy())
    r2 = {
        name: round(1.0 - float(np.mean(resid[ok[:, k], k] ** 2) / np.var(y.numpy()[ok[:, k], k])), 3)
        for k, name in enumerate(MEASURES)
    }
    log.info("prosody head fitted on %d clips; R² per measure %s", len(emos), r2)
    return ProsodyHead(head.weight, head.bias, prosody_table(data, relative))


def fit_emotion_rates(corpus: str | Path, clips_per_category: int = 60, seed: int = 0) -> EmotionRates:
    """Each category's speaking rate against neutral (:class:`EmotionRates`), from up to
    ``clips_per_category`` styled train clips: the log units-per-second of speech
    (:func:`voxsmith.data.check.speech_rate`) minus that of the same speaker's neutral reading of
    the same sentence, else of their neutral median, else of the language's."""
    from voxsmith.data.check import speech_rate, spoken_units

    rows = [r for r in read_manifest(corpus) if r.get("split") == "train"]
    rng = np.random.default_rng(seed)
    cache: dict[str, float] = {}

    def rate(r: dict) -> float:
        if r["id"] not in cache:
            audio = AudioProcessor.load(Path(corpus) / r["path"], sr=SAMPLE_RATE)
            cache[r["id"]] = speech_rate(audio.samples, SAMPLE_RATE, spoken_units(r))
        return cache[r["id"]]

    neutral = [r for r in rows if r.get("style") == "neutral"]
    pairs = {(r["speaker"], r["sentence"]): r for r in neutral if r.get("sentence")}
    medians: dict[tuple[str, str], float] = {}

    def median(key: str, value: str) -> float | None:
        """The median rate of up to 8 neutral clips with ``row[key] == value`` (None if none)."""
        if (key, value) not in medians:
            own = [n for n in neutral if n.get(key) == value]
            some = [own[k] for k in rng.permutation(len(own))[:8]]
            medians[key, value] = float(np.median([rate(n) for n in some])) if own else float("nan")
        v = medians[key, value]
        return None if np.isnan(v) else v

    cats, strengths, ratios = [], [], []
    for c, name in enumerate(EMOTIONS):
        members = [r for r in rows if r.get("style") == name and float(r.get("style_strength", 0)) > 0]
        picked = rng.permutation(len(members))[:clips_per_category]
        for i in tqdm(picked, desc=f"rate {name}", unit="clip", leave=False):
            r = members[i]
            ref = pairs.get((r["speaker"], r.get("sentence")))
            base = rate(ref) if ref is not None else median("speaker", r["speaker"])
            base = median("lang", r.get("lang")) if base is None else base
            if base is None:
                continue
            cats.append(c)
            strengths.append(float(r["style_strength"]))
            ratios.append(rate(r) - base)
    if not neutral or not cats:
        raise DataError(f"{corpus}: no styled train clips with a neutral reference to measure speaking rates")
    rates = EmotionRates.fit(np.array(cats), np.array(strengths), np.array(ratios))
    log.info("emotion rates (tempo per category, %d clips): %s", len(cats), rates.named())
    return rates


def refit_presets(model_dir: str | Path, corpus: str | Path) -> tuple[EmotionRates, ProsodyHead | None]:
    """Measure what each emotion category does on ``corpus`` — its speaking rate and, for a
    model with a prosody head, its prosody table — and store both in the emotion file of the
    model directory ``model_dir`` (rewritten atomically; the matrix and heads are kept)."""
    path = Path(model_dir) / PART_FILES["emotion"]
    if not path.is_file():
        raise CheckpointError(f"{path}: not found; emotion measures are stored beside an emotion matrix")
    tensors, config, _ = load_safetensors(path, kind="emotion_matrix")
    rates, head = fit_emotion_rates(corpus), ProsodyHead.from_tensors(tensors)
    if head is not None:
        head = ProsodyHead(head.weight, head.bias, prosody_table(*_relative_measures(corpus)))
        tensors |= head.tensors()
    save_safetensors({**tensors, **rates.tensors()}, path, kind="emotion_matrix", config=config)
    refresh_presets_card(model_dir)
    return rates, head


def fit_contour_head(
    corpus: str | Path, gpt_path: str | Path, clips: int = 2000, ridge: float = 0.01, seed: int = 0
) -> ContourHead:
    """The contour head from ``clips`` random train clips: their cached GPT latents (computed
    once per GPT, as the S2M stage reads them) against their per-code contours
    (:func:`voxsmith.train.prosody.contour`); its spread is the median f0 spread of neutral clips."""
    from voxsmith.train.gpt_latents import latents_cache
    from voxsmith.train.prosody import contour, prosody_cache, speaker_offsets

    data = CorpusData(corpus, "train")
    per_code = prosody_cache(corpus, "train", data)
    latents = latents_cache(corpus, "train", gpt_path)
    rows = [c.row for c in data.clips if c.row["id"] in per_code and c.row["id"] in latents]
    if len(rows) < 2:
        raise DataError(
            f"{corpus}: {len(rows)} train clips with prosody and latents; the contour head needs more"
        )
    base = speaker_offsets(per_code, rows)
    pick = np.random.default_rng(seed).permutation(len(rows))[:clips]
    xs, ys = [], []
    for i in sorted(pick):
        r = rows[i]
        lat, con = latents[r["id"]], contour(per_code[r["id"]], base[r["speaker"]])
        n = min(len(lat), len(con))
        xs.append(torch.from_numpy(lat[:n].astype(np.float32)))
        ys.append(torch.from_numpy(con[:n]))
    spreads = [
        voiced_spread(p[:, 0])
        for ps in neutral_or_all((r, per_code[r["id"]]) for r in rows).values()
        for p in ps
    ]
    spreads = [v for v in spreads if not np.isnan(v)]
    x, y = torch.cat(xs), torch.cat(ys)
    head = ContourHead.fit(x, y, spread=float(np.median(spreads)) if spreads else 2.0, ridge=ridge)
    resid = (head(x) - y).double()
    r2 = {
        name: round(1.0 - float(resid[:, k].pow(2).mean() / y[:, k].double().var()), 3)
        for k, name in enumerate(CONTOUR)
    }
    log.info(
        "contour head fitted on %d codes of %d clips; R² %s; spread %.2f st", len(x), len(xs), r2, head.spread
    )
    return head


def assemble(
    runs: str | Path,
    corpus: str | Path,
    out: str | Path,
    *,
    name: str = "voxsmith-tiny",
    paths: dict[str, str | Path] | None = None,
    s2m_style: bool | None = None,
    quality: dict | None = None,
    cfg_rate: float | None = None,
    temperature: float | None = None,
    base: str | Path | None = None,
) -> Path:
    """Build ``out`` (model.json + parts) from the stage exports under ``runs`` (or ``paths``);
    ``cfg_rate``: the S2M guidance strength the model runs with (default: the parts' 0.7);
    ``temperature``: its default GPT sampling temperature (default: the parts' 0.8).

    ``base``: a model directory (e.g. the built-in model) that supplies every stage ``runs``
    has no export for, and its sampling settings (``cfg_rate``, ``temperature``, ``s2m_noise``
    ...) unless given here: how a model is rebuilt after retraining only some of its parts."""
    runs = Path(runs)
    where = {k: Path(paths[k]) if paths and k in paths else runs / v for k, v in STAGE_FILES.items()}
    settings: dict[str, int | float] = {}
    if base is not None:
        base = Path(base)
        card_path = base / "model.json"
        if not card_path.is_file():
            raise CheckpointError(f"{base}: not a model directory (no model.json) to take parts from")
        settings = card_settings(json.loads(card_path.read_text(encoding="utf-8")), card_path)
        for k in where:
            if not where[k].is_file():
                where[k] = base / PART_FILES[k]
                log.info("bundle: %s taken from %s", k, where[k])
    content = _load(where["content"], "content", lambda c: ContentEncoder(ContentEncoderConfig(**c)))
    codec = _load(where["codec"], "kmeans_codec", lambda c: KMeansCodec(KMeansCodecConfig(**c)))
    gpt = _load(where["gpt"], "gpt", lambda c: UnifiedVoice(GPTConfig.from_dict(c)))
    s2m = _load(where["s2m"], "s2m", lambda c: S2M(S2MConfig.from_dict(c)))
    vocoder = _load(where["vocoder"], "vocos", lambda c: VocosVocoder(VocosConfig(**c)))
    reader = None
    if where["reader"].is_file():
        reader = _load(where["reader"], "code_reader", lambda c: CodeReader(CodeReaderConfig(**c)))
    if where["style"].is_file():
        style = load_style_encoder(where["style"]).eval()
        trained_style = True
    else:  # an untrained style encoder still gives a deterministic (if uninformative) vector
        log.warning("%s missing: the bundle gets an untrained style encoder", where["style"])
        torch.manual_seed(0)
        style = StyleEncoder(StyleEncoderConfig.tiny()).eval()
        trained_style = False
    if s2m_style is None:
        # S2M learned to use style only if the style stage ran before it (cache/style_train.npz)
        s2m_style = trained_style and (Path(corpus) / "cache" / "style_train.npz").is_file()
    emotion = fit_emotion_matrix(corpus, gpt, style)
    prosody = fit_prosody_head(corpus, gpt) if s2m.cfg.prosody_dim else None
    contour = fit_contour_head(corpus, where["gpt"]) if s2m.cfg.contour_dim else None
    rates = fit_emotion_rates(corpus)
    manifest = read_manifest(corpus)
    runs_info = {k: _run_info(p, k) for k, p in where.items() if k != "reader" or reader is not None}
    card = {
        "size": "tiny",
        "created": time.strftime("%Y-%m-%d"),
        "s2m_style": bool(s2m_style),
        "max_segment_tokens": 60,
        "training": {
            "corpus_minutes": round(sum(float(r.get("duration_s", 0)) for r in manifest) / 60, 1),
            "corpus_speakers": len({r["speaker"] for r in manifest}),
            "steps": {k: info[0] for k, info in runs_info.items()},
            "hours": {k: info[1] for k, info in runs_info.items()},
            "hardware": hardware(),
            "style_trained": trained_style,
        },
    }
    if quality is not None:
        card["quality"] = quality.get("summary", quality)
    parts = ModelParts(
        name,
        content,
        codec,
        gpt,
        s2m,
        style,
        vocoder,
        emotion,
        card=card,
        prosody=prosody,
        contour=contour,
        rates=rates,
        reader=reader,
    )
    for key, value in settings.items():
        setattr(parts, key, value)
    if cfg_rate is not None:
        parts.cfg_rate = float(cfg_rate)
    if temperature is not None:
        parts.temperature = float(temperature)
    root = save_parts(parts, out)
    write_model_card(root, json.loads((root / "model.json").read_text(encoding="utf-8")), quality)
    log.info("model written to %s: %s", root, json.dumps(parts.parameter_counts()))
    return root
