"""Settings of ``voxsmith prepare``: how sources are sliced, which clips are kept, where it all goes.

``PrepareConfig.settings_key()`` hashes everything that decides what a finished source produced
(slicing, filters, language, speaker naming, the glossary's content): a rerun with the same key
skips finished sources, a rerun with another key redoes them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from voxsmith.errors import ConfigError

PREPARE_VERSION = 1  # bump when processing changes what a clip sounds like or says (reruns redo all)
LANG_CHOICES = ("zh", "en", "auto")


@dataclass(frozen=True)
class SliceConfig:
    """Voice-activity slicing of long recordings into training clips."""

    min_s: float = 2.0  # shortest clip kept, seconds
    max_s: float = 15.0  # longest clip; a source no longer than this is kept whole (trimmed)
    target_s: float = 6.0  # a clip stops growing at the first pause once it is this long
    max_gap_s: float = 1.0  # a silence longer than this always ends a clip
    pad_s: float = 0.15  # silence kept around speech (at most half of the gap to the neighbour)
    vad: str = "silero"  # voice detector: "silero" (default) or "webrtc"
    threshold: float = 0.5  # silero speech probability above which a frame is speech
    min_silence_s: float = 0.25  # a pause shorter than this does not split speech regions

    def check(self) -> None:
        if not 0.5 <= self.min_s < self.max_s:
            raise ConfigError(f"--min-s {self.min_s:g} / --max-s {self.max_s:g}: need 0.5 <= min < max")
        if self.max_s > 30.0:
            raise ConfigError(f"--max-s {self.max_s:g}: clips longer than 30 s are not useful for training")
        if self.vad not in ("silero", "webrtc"):
            raise ConfigError(f"--vad {self.vad!r}: use silero or webrtc")


@dataclass(frozen=True)
class FilterConfig:
    """Quality filters; each dropped clip is counted under the first reason it fails."""

    clip_level: float = 0.99  # |sample| at or above this (source scale) counts as clipped
    max_clipped: float = 0.001  # drop when more than this share of samples is clipped
    min_dbfs: float = -45.0  # drop when the clip's RMS (before normalisation) is below this
    dnsmos_floor: float = 2.0  # drop when DNSMOS ovrl is below this (0 = no DNSMOS)
    max_cer: float | None = 0.3  # drop when CER (zh) / WER (en) of ASR vs the given text is above this;
    # None = given texts are trusted unchecked (ASR still runs where a text must be found)
    target_dbfs: float = -20.0  # loudness the kept clips are normalised to (RMS)

    def check(self) -> None:
        if not 0.0 <= self.dnsmos_floor < 5.0:
            raise ConfigError(f"--dnsmos-floor {self.dnsmos_floor:g}: use 0 (off) to 5")
        if self.max_cer is not None and self.max_cer < 0:
            raise ConfigError(f"--max-cer {self.max_cer:g}: must be >= 0")


@dataclass(frozen=True)
class PrepareConfig:
    """One ``voxsmith prepare RAW --out DATASET`` run."""

    raw: Path  # folder of recordings (searched recursively)
    out: Path  # dataset folder: wavs/, manifest.jsonl, report.json
    lang: str = "auto"  # zh | en | auto (from the given text, else detected by the ASR judge)
    glossary: Path | None = None  # term -> reading file (voxsmith.text.glossary formats)
    transcripts: Path | None = None  # file,text CSV; None = RAW/transcripts.csv when present
    speaker: str | None = None  # speaker name of every clip; None = RAW's folder name
    speaker_per_folder: bool = False  # the first sub-folder of RAW names the speaker
    slicing: SliceConfig = field(default_factory=SliceConfig)
    filters: FilterConfig = field(default_factory=FilterConfig)
    valid_share: float = 0.1  # share of each speaker's clips in the valid split (at least one)
    workers: int = 1  # processes working on sources (0 or 1 = in this process)
    features: bool = True  # pack audio + mel caches for training (train.data.CorpusData) at the end
    progress: bool = True  # tqdm bar on stderr

    def check(self) -> None:
        """Raise ``ConfigError`` for an option out of range (``TextError`` for a bad glossary)."""
        if self.lang not in LANG_CHOICES:
            raise ConfigError(f"--lang {self.lang!r}: use one of {', '.join(LANG_CHOICES)}")
        if not 0.0 <= self.valid_share < 1.0:
            raise ConfigError(f"valid share {self.valid_share:g}: must be in [0, 1)")
        if self.workers < 0:
            raise ConfigError(f"--workers {self.workers}: must be >= 0")
        if self.glossary is not None:
            if not Path(self.glossary).is_file():
                raise ConfigError(f"--glossary {self.glossary}: file not found")
            from voxsmith.text.glossary import Glossary

            Glossary.load(self.glossary)  # a malformed glossary: TextError naming the line, up front
        if Path(self.out).resolve() == Path(self.raw).resolve():
            raise ConfigError(f"--out {self.out} is the RAW folder itself; use another folder")
        self.slicing.check()
        self.filters.check()

    def settings_key(self) -> str:
        """Hash of everything that decides a source's clips (not workers, progress or paths)."""
        glossary = Path(self.glossary).read_bytes() if self.glossary else b""
        blob = {
            "version": PREPARE_VERSION,
            "lang": self.lang,
            "speaker": self.speaker,
            "speaker_per_folder": self.speaker_per_folder,
            "slicing": asdict(self.slicing),
            "filters": asdict(self.filters),
            "glossary": hashlib.sha1(glossary).hexdigest(),
        }
        return hashlib.sha1(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]

    def speaker_of(self, rel: str) -> str:
        """Speaker of the source ``rel`` (relative to RAW)."""
        parts = Path(rel).parts
        if self.speaker_per_folder and len(parts) > 1:
            return parts[0]
        return self.speaker or Path(self.raw).resolve().name or "speaker"
