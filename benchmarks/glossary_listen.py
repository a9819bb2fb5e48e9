"""Listening for set readings (``listen_candidates``): glossary terms read right, two judges, and the cost.

    python benchmarks/glossary_listen.py --ref REF.wav [--model DIR] [--listen 0,8,16,16:0.9] [--seeds 2]
        [--ear checker|content|both] [--judge CHECKER] [--threads 2] [--json OUT]

The 14-term glossary of ``finetune_gain.py`` (会稽 kuai4 ji1, 月氏 rou4 zhi1, 大宛 da4 yuan1 ...) is
given to the base model's frontend, and each term's sentence is synthesised zero-shot from
``--ref`` with each seed (term k: k, k + 100, ...) once per ``--listen`` value, the values
interleaved take by take so a busy machine slows them alike. A value ``N:P`` also sets
``listen_confidence`` to P (the checker's confidence that takes a candidate at once; plain ``N``:
the model's). Per value:

- heard right: the pronunciation checker hears the glossary reading (not the everyday one or the
  character's other readings) on every syllable where the two differ. When the model listens,
  this checker also picks the candidate, so with listening on it is not an independent judge;
- content encoder reads it: the second judge of ``finetune_gain.py`` (the model's own content
  encoder on the rendered audio prefers the glossary reading's units to the everyday one's),
  which takes no part in the choice;
- the median seconds per take and its ratio to the first value's.

Who picks and who judges can be pulled apart: ``--judge CHECKER`` judges with another checker
file (the checker recipe run with another ``--seed`` and other calibration voices) while the
shipped checker still listens, and ``--ear content`` has the content encoder pick
(``ContentEar``) so the shipped checker judges a choice it took no part in; ``--ear both`` keeps a
candidate only when the checker and the content encoder both hear the set reading (``BothEars``).

``--render-all TERMS`` (comma-separated, e.g. 月氏,大宛) instead renders every one of the model's
``code_candidates`` for those terms' sentences (seed 0) and says, per candidate, whether the
checker hears the glossary reading, and whether the content head reading the *codes* (what picks
the best-read candidate) prefers the glossary units to the everyday ones: is the right reading
among the candidates, and can the codes alone tell which it is?

``--engine-check ttskit:Aibao`` instead has a corpus engine say sentences where the glossary terms
are replaced by everyday homophones of the glossary reading (肉汁 for 月氏 rou4 zhi1, 大冤 for 大宛
da4 yuan1, 洪同 for 洪洞 hong2 tong2, 快鸡 for 会稽 kuai4 ji1), and reports what both judges make of
them against the term's sentence: are the judges fair on ordinary speech of those readings?
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finetune_gain import GLOSSARY, GLOSSARY_SENTENCES, content_reader, content_reads_set  # noqa: E402

from voxsmith.errors import CheckpointError  # noqa: E402

HOMOPHONES = {  # the term's sentence with everyday characters of the glossary reading
    "月氏": "张骞出使去寻找肉汁。", "大宛": "大冤出产有名的汗血马。", "洪洞": "洪同大槐树很有名。",
    "会稽": "他年轻时在快鸡读书。",
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", type=Path, required=True, help="reference clip of the voice")
    ap.add_argument("--model", type=Path, help="model directory (default: the built-in one)")
    ap.add_argument(
        "--listen",
        default="0,8,16",
        help="listen_candidates values to compare; N:P also sets listen_confidence to P",
    )
    ap.add_argument("--seeds", type=int, default=2, help="takes per sentence")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--render-all", help="comma-separated terms: render and judge every candidate instead")
    ap.add_argument(
        "--engine-check", metavar="ENGINE:VOICE", help="judge a corpus engine's homophones instead"
    )
    ap.add_argument(
        "--ear",
        choices=("checker", "content", "both"),
        default="checker",
        help="what listens when the model listens: the pronunciation checker (shipped) or the content "
        "encoder (ContentEar; then the checker judges independently), or both (a candidate is kept when "
        "both hear the set reading; judge it with --judge)",
    )
    ap.add_argument(
        "--judge",
        type=Path,
        help="a second pronunciation checker file (e.g. the recipe run with another --seed) that judges "
        "instead of the shipped one, which still listens: the judge is not the instance that picks",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    values = [v.strip() for v in args.listen.split(",") if v.strip()]
    if args.seeds < 1 or not values:
        ap.error("--seeds must be >= 1 and --listen must name at least one value")
    try:
        settings = {v: listen_settings(v) for v in values}
    except ValueError:
        ap.error(f"--listen values are N or N:P (e.g. 16:0.9), got {args.listen!r}")
    except CheckpointError as exc:  # a value outside the model card's bounds, the key named
        ap.error(str(exc))

    import torch

    from voxsmith.check.checker import PronunciationChecker, glossary_rivals
    from voxsmith.models.parts import override_settings
    from voxsmith.pipeline import IndexTTSModel
    from voxsmith.text.glossary import Glossary

    torch.set_num_threads(args.threads)
    model = IndexTTSModel.from_pretrained(args.model)
    own_confidence = model.parts.listen_confidence
    model.frontend.glossary = Glossary.from_dict(GLOSSARY)
    judge = PronunciationChecker.load(args.judge, frontend=model.frontend)
    spk = model.speaker_encoder(args.ref)
    if args.ear == "content":
        model._checker = ContentEar(model)  # the listener's slot: picks by the content encoder instead
    elif args.ear == "both":
        ear = judge if args.judge is None else PronunciationChecker.load(frontend=model.frontend)
        model._checker = BothEars(ear, ContentEar(model))
    if args.engine_check:
        result = engine_check(model, judge, args.engine_check)
        if args.json:
            args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        return
    if args.render_all:
        result = render_all(model, judge, spk, args.render_all.split(","))
        if args.json:
            args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        return
    tally = {v: {"heard": 0, "content": 0, "seconds": []} for v in values}
    takes = []
    for k, (term, sentence) in enumerate(GLOSSARY_SENTENCES.items()):
        rivals = glossary_rivals(model.frontend, sentence)
        for seed in range(k, k + 100 * args.seeds, 100):
            for v in values:
                n_listen, confidence = settings[v]
                override_settings(model.parts, {"listen_candidates": n_listen,
                                                "listen_confidence": own_confidence if confidence is None else confidence},
                                  "--listen")  # fmt: skip
                t0 = time.perf_counter()
                audio = model.synthesize(sentence, speaker_embedding=spk, seed=seed).audio
                tally[v]["seconds"].append(time.perf_counter() - t0)
                _, checks = judge.pronunciation(audio, sentence)
                heard = all(c.heard == c.expected for c in checks if c.index in rivals)
                read = bool(content_reads_set(model, audio, sentence, rivals))
                tally[v]["heard"] += heard
                tally[v]["content"] += read
                heard_as = " ".join(c.heard for c in checks if c.index in rivals)
                takes.append({"term": term, "seed": seed, "listen": v, "heard": heard_as, "heard_right": heard,
                              "content_read": read})  # fmt: skip
                print(
                    f"{term} seed {seed} listen {v}: heard {heard_as} {heard}, content {read}",
                    file=sys.stderr,
                )
    n = len(GLOSSARY_SENTENCES) * args.seeds
    base = statistics.median(tally[values[0]]["seconds"])
    rows = {
        v: {
            "heard_right": t["heard"] / n,
            "content_read_right": t["content"] / n,
            "median_s": round(statistics.median(t["seconds"]), 3),
            "time_ratio": round(statistics.median(t["seconds"]) / base, 3),
        }
        for v, t in tally.items()
    }
    result = {
        "model": model.model_id,
        "ref": str(args.ref),
        "ear": args.ear,
        "judge": str(args.judge or "shipped checker"),
        "takes_per_value": n,
        "listen": rows,
        "takes": takes,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "takes"}, indent=1, ensure_ascii=False))
    print(
        "| listen_candidates[:confidence] | heard right (checker) | content encoder reads it | median s / take | × |",
        file=sys.stderr,
    )
    print("|---|---|---|---|---|", file=sys.stderr)
    for v, r in rows.items():
        print(f"| {v} | {r['heard_right']:.0%} | {r['content_read_right']:.0%} | {r['median_s']} | {r['time_ratio']} |",
              file=sys.stderr)  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")


def listen_settings(value: str) -> tuple[int, float | None]:
    """``"16"`` → (16, None); ``"16:0.9"`` → (16, 0.9): listen_candidates and listen_confidence."""
    from voxsmith.models.parts import card_settings

    n, _, p = value.partition(":")
    count, confidence = int(n), float(p) if p else None
    given = {"listen_candidates": count, "listen_confidence": confidence}
    card_settings({k: v for k, v in given.items() if v is not None}, "--listen")  # the model card's bounds
    return count, confidence


class ContentEar:
    """A listener with the checker's ``hear`` that hears with the model's own content encoder: each
    polyphone token is heard as the reading (its own or one of its alternatives) whose units give
    the segment's CTC loss on the rendered audio its lowest value, the other tokens held as said.
    With ``--ear content`` it picks the candidate, and the pronunciation checker only judges."""

    def __init__(self, model) -> None:
        self.model = model
        self.frontend = model.frontend

    def hear(self, audio, tokens: list) -> list:
        from types import SimpleNamespace

        from voxsmith.check.expected import syllable_units

        loss = content_reader(self.model, audio)

        def said_with(k: int, reading: str) -> float:
            return loss(
                [u for j, t in enumerate(tokens) for u in (syllable_units(reading) if j == k else t.units)]
            )

        out = []
        for k, t in enumerate(tokens):
            if t.kind != "zh" or not t.alternatives:
                continue
            heard = min((t.reading, *t.alternatives), key=lambda r, k=k: said_with(k, r))
            # no calibrated confidence here: every reading it hears counts as sure (listen_confidence)
            out.append(SimpleNamespace(index=t.syllable, heard=heard, expected=t.reading, confidence=1.0))
        return out


class BothEars:
    """The checker and the content encoder together: a syllable is heard as expected only when both
    hear it so; otherwise as the reading one of them heard instead."""

    def __init__(self, checker, content: ContentEar) -> None:
        self.checker, self.content = checker, content

    @property
    def frontend(self):
        return self.checker.frontend

    @frontend.setter
    def frontend(self, value) -> None:
        self.checker.frontend = self.content.frontend = value

    def hear(self, audio, tokens: list) -> list:
        from types import SimpleNamespace

        by_content = {c.index: c.heard for c in self.content.hear(audio, tokens)}
        out = []
        for c in self.checker.hear(audio, tokens):
            other = by_content.get(c.index, c.expected)
            heard = c.heard if c.heard != c.expected else other
            out.append(
                SimpleNamespace(index=c.index, heard=heard, expected=c.expected, confidence=c.confidence)
            )
        return out


def engine_check(model, judge, engine_voice: str) -> dict:
    """Both judges on a corpus engine saying the homophones (see the module doc)."""
    from voxsmith.check.checker import glossary_rivals
    from voxsmith.data.engines import make_engine

    name, _, voice = engine_voice.partition(":")
    engine = make_engine(name)
    engine.require()
    out = {}
    for term, homophones in HOMOPHONES.items():
        sentence = GLOSSARY_SENTENCES[term]
        rivals = glossary_rivals(model.frontend, sentence)
        audio = engine.synthesize(homophones, voice or engine.voices()[0].name, "zh")
        _, checks = judge.pronunciation(audio, sentence)
        judged = [c for c in checks if c.index in rivals]
        out[term] = {
            "said": homophones,
            "checker_heard": " ".join(c.heard for c in judged),
            "checker_confidence": [round(c.confidence, 2) for c in judged],
            "content_reads_set": content_reads_set(model, audio, sentence, rivals),
        }
        print(term, out[term])
    return out


def render_all(model, judge, spk, terms: list[str]) -> dict:
    """Every candidate of each term's sentence (seed 0), rendered and judged; see the module doc."""
    import torch

    from voxsmith.check.expected import pinned_rivals, segment_units
    from voxsmith.models.units import units_to_ids

    p, out = model.parts, {}
    for term in terms:
        if term not in GLOSSARY_SENTENCES:
            raise SystemExit(f"unknown term {term!r}; terms: {', '.join(GLOSSARY_SENTENCES)}")
        sentence = GLOSSARY_SENTENCES[term]
        result = model.frontend.process(sentence)
        ids = list(map(int, result.segment_tokens[0]))
        rivals = pinned_rivals(model.frontend, sentence, result.syllables)
        units = units_to_ids(segment_units(result)[0])
        gen = torch.Generator().manual_seed(0)
        draws = p.gpt.generate(spk.spk_latents.unsqueeze(0), spk.emo_vec.unsqueeze(0), torch.tensor([ids]),
                               sampling=p.default_sampling(), generator=gen, samples=p.code_candidates)  # fmt: skip
        cands = [draws.codes(i) for i in range(p.code_candidates)]
        said = p.score_codes(cands, units)
        alt = [
            p.score_codes(cands, units_to_ids(segment_units(result, {k: r})[0])) for k, r in rivals.items()
        ]
        rows = []
        for i in sorted(range(len(cands)), key=said.__getitem__):  # best-read first: the one kept is row 0
            mel = p.codes_to_mel(cands[i], spk, text_ids=ids, emo_vec=spk.emo_vec, seed=0)
            _, checks = judge.pronunciation(model.vocoder(mel), sentence)
            heard = all(c.heard == c.expected for c in checks if c.index in rivals)
            rows.append({"candidate": i, "read_loss": round(said[i], 2), "heard_right": heard,
                         "codes_prefer_set": all(a[i] > said[i] for a in alt)})  # fmt: skip
        out[term] = {
            "candidates": len(rows),
            "heard_right": sum(r["heard_right"] for r in rows),
            "codes_prefer_set": sum(r["codes_prefer_set"] for r in rows),
            "best_read_heard_right": rows[0]["heard_right"],
            "rows": rows,
        }
        print(f"{term}: heard right in {out[term]['heard_right']}/{len(rows)} candidates, codes prefer the set "
              f"reading in {out[term]['codes_prefer_set']}, the best-read heard right: {rows[0]['heard_right']}")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
