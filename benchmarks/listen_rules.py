"""Which listened take to keep (``listen_confidence``): every candidate heard once, each rule replayed.

    python benchmarks/listen_rules.py --adapters DIR[,DIR...] --judge CHECKER --record DIR
        [--seeds 0,100] [--rules 0,0.8,0.9,0.95,0.99,1] [--terms N] [--threads 2] [--json OUT]

For each fine-tuned voice (an adapter directory of ``finetune_gain.py``: it carries the glossary,
and the voice speaks with its stored conditioning) and each glossary sentence of
``finetune_gain.py`` (term k, seeds k + s for s in ``--seeds``), every one of the model's
``listen_candidates`` is rendered and heard by the shipped checker (the one that picks) and by
``--judge`` (another checker file, which only judges: right when it hears the glossary reading on
every syllable where it differs from the everyday one). Each rule of ``--rules`` is then replayed
on the records with ``voxsmith.pipeline.keep_take``, the function the model keeps a take with; the
renders are seeded, so a replayed pick is the audio ``finetune_gain.py --listen-confidence P``
would judge. Per rule: takes the judge hears right, per voice and in all, and candidates rendered
per take. Records are written per voice and seed set (``--record``) and reused on a rerun.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finetune_gain import GLOSSARY, GLOSSARY_SENTENCES, term_at  # noqa: E402


def record(model, judge, seeds: list[int], terms: int) -> list[dict]:
    """Per take: every listened candidate's (heard otherwise, lowest confidence) by the shipped
    checker and whether the judge hears the glossary reading."""
    from voxsmith.check.checker import glossary_rivals
    from voxsmith.pipeline import keep_take, set_readings_heard

    takes: list[dict] = []
    now: dict = {}

    def listen(ranked, render, tokens, pinned, checker):  # the model's _listen, hearing every candidate
        cands, mels = [], []
        for codes in ranked:
            mel = render(codes)
            audio = model.vocoder(mel)
            wrong, sure = set_readings_heard(checker, audio, tokens, pinned)
            _, judged = judge.pronunciation(audio, now["sentence"])
            got = {c.index: c.heard for c in judged}
            cands.append({"wrong": wrong, "sure": sure,
                          "judge_right": all(got.get(i) == now["want"][i - now["at"]] for i in now["rivals"])})  # fmt: skip
            mels.append(mel)
        takes.append({"term": now["term"], "seed": now["seed"], "candidates": cands})
        k, n, ok = keep_take(((c["wrong"], c["sure"]) for c in cands), model.parts.listen_confidence)
        return ranked[k], mels[k], n, ok, cands[k]["sure"]

    model._listen = listen
    for k, (term, sentence) in enumerate(list(GLOSSARY_SENTENCES.items())[:terms]):
        at = term_at(model.frontend.process(sentence).syllables, term)
        rivals = [i for i in glossary_rivals(judge.frontend, sentence) if at <= i < at + len(term)]
        for s in seeds:
            now.update(
                term=term, seed=k + s, sentence=sentence, want=GLOSSARY[term].split(), at=at, rivals=rivals
            )
            model.synthesize(sentence, seed=k + s)
            right = sum(c["judge_right"] for c in takes[-1]["candidates"])
            print(
                f"{term} seed {k + s}: judge hears {right}/{len(takes[-1]['candidates'])} right",
                file=sys.stderr,
            )
    return takes


def replay(takes: list[dict], need: float) -> tuple[int, int]:
    """(takes the judge hears right, candidates rendered) when the model keeps by ``need``."""
    from voxsmith.pipeline import keep_take

    right = rendered = 0
    for t in takes:
        k, n, _ = keep_take(((c["wrong"], c["sure"]) for c in t["candidates"]), need)
        right += t["candidates"][k]["judge_right"]
        rendered += n
    return right, rendered


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--adapters", required=True, help="comma-separated adapter directories (finetune_gain --work)"
    )
    ap.add_argument(
        "--judge", type=Path, required=True, help="the checker file that judges (not the shipped one)"
    )
    ap.add_argument("--record", type=Path, required=True, help="directory for the per-voice records")
    ap.add_argument("--seeds", default="0,100", help="seed offsets: term k is said with seeds k + s")
    ap.add_argument("--rules", default="0,0.8,0.9,0.95,0.99,1", help="listen_confidence values to replay")
    ap.add_argument("--terms", type=int, default=len(GLOSSARY_SENTENCES), help="the first N glossary terms")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the result here")
    args = ap.parse_args()
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
        rules = [float(r) for r in args.rules.split(",")]
    except ValueError:
        ap.error("--seeds takes integers and --rules numbers, comma-separated")
    if not 1 <= args.terms <= len(GLOSSARY_SENTENCES) or any(not 0 <= r <= 1 for r in rules):
        ap.error(f"--terms must be 1..{len(GLOSSARY_SENTENCES)} and every rule in [0, 1]")

    import torch

    from voxsmith.check.checker import PronunciationChecker
    from voxsmith.pipeline import IndexTTSModel
    from voxsmith.text.frontend import TextFrontend
    from voxsmith.text.glossary import Glossary

    torch.set_num_threads(args.threads)
    model = IndexTTSModel.from_pretrained(None)
    judge = PronunciationChecker.load(args.judge, check_all=False)
    judge.frontend = TextFrontend(glossary=Glossary.from_dict(GLOSSARY))
    args.record.mkdir(parents=True, exist_ok=True)
    voices: dict[str, list[dict]] = {}
    for d in args.adapters.split(","):
        adapter = Path(d)
        name = adapter.parent.name  # finetune_gain's layout: WORK/<speaker>/<method>_<minutes>min
        out = args.record / f"{name}_{args.seeds.replace(',', '-')}_{args.terms}.json"
        if not out.is_file():
            model.set_adapter(model.load_adapter(adapter, name=name))
            takes = record(model, judge, seeds, args.terms)
            model.set_adapter(None)
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps({"voice": name, "seeds": seeds, "takes": takes}, ensure_ascii=False))
            tmp.replace(out)
        voices[name] = json.loads(out.read_text(encoding="utf-8"))["takes"]
    n = sum(len(t) for t in voices.values())
    rows = []
    print("| listen_confidence | " + " | ".join(voices) + " | all | candidates per take |")
    print("|---" * (len(voices) + 3) + "|")
    for need in rules:
        per = {v: replay(t, need) for v, t in voices.items()}
        right, rendered = sum(r for r, _ in per.values()), sum(k for _, k in per.values())
        rows.append({"listen_confidence": need, "right": right, "takes": n, "per_voice": {v: r for v, (r, _) in per.items()},
                     "rendered_per_take": round(rendered / n, 2)})  # fmt: skip
        print(f"| {need:g} | " + " | ".join(f"{r}/{len(voices[v])}" for v, (r, _) in per.items())
              + f" | {right}/{n} ({right / n:.1%}) | {rendered / n:.1f} |")  # fmt: skip
    ceiling = sum(any(c["judge_right"] for c in t["candidates"]) for ts in voices.values() for t in ts)
    print(f"a take the judge hears right among the candidates: {ceiling}/{n}")
    if args.json:
        result = {
            "model": model.model_id,
            "judge": str(args.judge),
            "seeds": seeds,
            "rules": rows,
            "ceiling": ceiling,
        }
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
