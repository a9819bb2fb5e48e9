"""Full-size (official IndexTTS-2) speed with random weights, beside the reference's own figures.

Same settings as ``shared/fixtures/official/speed_cpu.json`` (the official code on this machine
type, fp32, ``torch.set_num_threads(2)``):

- GPT: 30 text tokens → 200 codes, infer_v2 sampling (top-p 0.8, top-k 30, T 0.8, repetition
  penalty 10) with 3 beams and with 1; ``decode tokens/s = (N − 1) / (t(N) − t(1))``;
  conditioning of a 5 s prompt (250 w2v-BERT frames: speaker latents + two emotion passes, as
  infer_v2's get_conditioning + merge_emovec) and the teacher-forced latent pass;
- S2M: CFM, 25 Euler steps, CFG 0.7, 5 s prompt + 5 s target (T = 431 + 430 frames);
- BigVGAN (weight norm folded): 431 frames → 5 s;
- peak RSS (``ru_maxrss``), one model resident at a time as the reference's sequential row.

    python benchmarks/official_speed.py                       # the full measurement
    python benchmarks/official_speed.py --device cuda --repeats 3 --json   # on a GPU
    nice -n 10 python benchmarks/official_speed.py --codes 60 --s2m-steps 5 --json
                                                              # reduced, on a busy machine

With ``--codes`` below 200 the decode rate is still comparable (it is per step; the reference's
rate is over 200 codes, whose later steps attend over a longer cache, so a shorter run flatters
ours slightly). With ``--s2m-steps`` below 25 the S2M time is per-step × 25 (``extrapolated``).
Wall time and process CPU time are both reported: on a shared machine ``cpu_s / threads`` is the
fairer estimate of the wall time on an idle one, ``load_average_1min`` says how busy it was.
Random weights: generation is forced to exactly N codes (``target_tokens``), as the reference
forced 200 with ``min_new_tokens``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import torch

from voxsmith.models.bigvgan import BigVGAN, BigVGANConfig
from voxsmith.models.gpt import GPTConfig, UnifiedVoice
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.models.sampling import SamplingConfig

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "official" / "speed_cpu.json"


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


DEVICE = torch.device("cpu")


def sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], repeats: int = 1) -> dict[str, float]:
    """Best wall seconds over ``repeats`` runs and the process CPU seconds of that run (on a
    GPU the queue is drained before the clock starts and stops)."""
    best = {"wall_s": float("inf"), "cpu_s": float("nan")}
    for _ in range(repeats):
        sync()
        w0, c0 = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            fn()
        sync()
        wall = time.perf_counter() - w0
        if wall < best["wall_s"]:
            best = {"wall_s": wall, "cpu_s": time.process_time() - c0}
    return best


def reference_rows() -> dict[str, float]:
    """The reference figures this script compares with (from speed_cpu.json, if present)."""
    if not REFERENCE.is_file():
        return {}
    table = json.loads(REFERENCE.read_text())["table"]
    ref = json.loads(REFERENCE.read_text())

    def row(prefix: str) -> dict:
        return next(r for r in table if r["stage"].startswith(prefix))

    return {
        "gpt_decode_tok_s_beams3": row("GPT AR generation, 30 text tok")["decode_tokens_per_s"],
        "gpt_decode_tok_s_beams1": row("GPT AR generation, same but num_beams=1")["decode_tokens_per_s"],
        "gpt_conditioning_s": row("GPT conditioning encoders")["seconds"],
        "gpt_teacher_forced_s": row("GPT teacher-forced")["seconds"],
        "s2m_25_steps_s": row("S2Mel CFM 25 Euler steps")["seconds"],
        "bigvgan_5s_s": row("BigVGAN vocode 5 s")["seconds"],
        "peak_rss_gb": next(v for k, v in ref["peak_rss_GB"].items() if k.startswith("sequential")),
    }


def bench_gpt(args: argparse.Namespace, out: dict) -> None:
    torch.manual_seed(0)
    gpt = UnifiedVoice(GPTConfig.indextts2()).eval().to(DEVICE)
    feats = torch.randn(1, 250, 1024, device=DEVICE)  # 5 s prompt of w2v-BERT frames
    text = torch.randint(2, 12000, (1, 30), device=DEVICE)
    with torch.inference_mode():
        spk = gpt.speaker_latents(feats)
        emo = gpt.emotion_vector(feats)

    def conditioning() -> None:
        gpt.speaker_latents(feats)
        gpt.merge_emotion(feats, feats)  # infer_v2: two emotion passes per segment

    out["gpt_conditioning"] = timed(conditioning, args.repeats)
    codes = torch.randint(0, 8192, (1, args.codes), device=DEVICE)
    out["gpt_teacher_forced"] = timed(lambda: gpt.latents(spk, emo, text, codes), args.repeats)
    for beams in (1, 3):
        sampling = dataclasses.replace(SamplingConfig.official(), num_beams=beams)

        def run(n: int, s: SamplingConfig = sampling) -> None:
            gpt.generate(
                spk, emo, text, sampling=s, target_tokens=n, generator=torch.Generator(DEVICE).manual_seed(0)
            )

        t1 = timed(lambda: run(1), args.repeats)
        tn = timed(lambda: run(args.codes), args.repeats)
        dw, dc = tn["wall_s"] - t1["wall_s"], tn["cpu_s"] - t1["cpu_s"]
        out[f"gpt_decode_beams{beams}"] = {
            "codes": args.codes,
            "wall_s": tn["wall_s"],
            "first_code_s": t1["wall_s"],
            "decode_tok_s": (args.codes - 1) / dw,
            "decode_tok_s_cpu": (args.codes - 1) / (dc / args.threads),
        }
    out["peak_rss_gb_after_gpt"] = peak_rss_gb()


def bench_s2m(args: argparse.Namespace, out: dict) -> None:
    torch.manual_seed(0)
    s2m = S2M(S2MConfig.indextts2()).eval().to(DEVICE)
    p, t = 431, 430  # 5 s prompt + 5 s target at 86.13 frames/s
    mu = torch.randn(1, p + t, s2m.cfg.dit.content_dim, device=DEVICE)
    prompt, style = torch.randn(1, 80, p, device=DEVICE), torch.randn(1, 192, device=DEVICE)
    noise, lens = torch.randn(1, 80, p + t, device=DEVICE), torch.tensor([p + t], device=DEVICE)
    with torch.inference_mode():  # warm-up: RoPE table, allocator
        s2m.cfm.solve(noise, lens, prompt, mu, style, 1, 0.7)
    r = timed(lambda: s2m.cfm.solve(noise, lens, prompt, mu, style, args.s2m_steps, 0.7), args.repeats)
    scale = 25 / args.s2m_steps
    out["s2m_25_steps"] = {
        "steps_run": args.s2m_steps,
        "extrapolated": args.s2m_steps != 25,
        "wall_s": r["wall_s"] * scale,
        "cpu_s_per_thread": r["cpu_s"] * scale / args.threads,
    }


def bench_bigvgan(args: argparse.Namespace, out: dict) -> None:
    torch.manual_seed(0)
    voc = BigVGAN(BigVGANConfig.indextts2()).remove_weight_norm().eval().to(DEVICE)
    mel = torch.randn(1, 80, 431, device=DEVICE)
    with torch.inference_mode():  # warm-up: kernels, allocator
        voc(mel)
    r = timed(lambda: voc(mel), args.repeats)
    out["bigvgan_5s"] = {"wall_s": r["wall_s"], "cpu_s_per_thread": r["cpu_s"] / args.threads}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codes", type=int, default=200, help="codes per GPT generation (reference: 200)")
    ap.add_argument("--s2m-steps", type=int, default=25, help="Euler steps run (reported ×25/steps)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (reference: 2)")
    ap.add_argument("--repeats", type=int, default=1, help="timed repeats (the best is reported)")
    ap.add_argument("--only", choices=("gpt", "s2m", "bigvgan"), action="append", help="run only these")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument(
        "--device", default="cpu", help="torch device (default: cpu; the reference ran on 2 CPU cores)"
    )
    args = ap.parse_args()
    global DEVICE
    DEVICE = torch.device(args.device)
    torch.set_num_threads(args.threads)
    out: dict = {
        "threads": args.threads,
        "device": torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu",
        "load_average_1min_start": os.getloadavg()[0],
    }
    stages = args.only or ["gpt", "s2m", "bigvgan"]
    for name, fn in (("gpt", bench_gpt), ("s2m", bench_s2m), ("bigvgan", bench_bigvgan)):
        if name in stages:
            fn(args, out)
            gc.collect()  # one model resident at a time, as the reference's sequential row
    out["peak_rss_gb"] = peak_rss_gb()
    if DEVICE.type == "cuda":
        out["peak_gpu_gb"] = torch.cuda.max_memory_allocated(DEVICE) / 2**30
    out["load_average_1min_end"] = os.getloadavg()[0]
    ref = reference_rows()
    out["reference"] = ref
    if args.json:
        print(json.dumps(out, indent=1))
        return
    rows = []
    for beams in (3, 1):
        key = f"gpt_decode_beams{beams}"
        if key in out:
            r = out[key]
            rows.append((f"GPT decode tok/s, {beams} beam(s), {r['codes']} codes", r["decode_tok_s"],
                         r["decode_tok_s_cpu"], ref.get(f"gpt_decode_tok_s_beams{beams}")))  # fmt: skip
    for key, label, refkey in (
        ("gpt_conditioning", "GPT conditioning 5 s prompt, s", "gpt_conditioning_s"),
        ("gpt_teacher_forced", f"GPT teacher-forced 30 text + {args.codes} codes, s", "gpt_teacher_forced_s"),
    ):
        if key in out:
            rows.append((label, out[key]["wall_s"], out[key]["cpu_s"] / args.threads, ref.get(refkey)))
    if "s2m_25_steps" in out:
        s = out["s2m_25_steps"]
        label = "S2M 25 steps CFG, 5+5 s, s" + (f" (×25/{s['steps_run']})" if s["extrapolated"] else "")
        rows.append((label, s["wall_s"], s["cpu_s_per_thread"], ref.get("s2m_25_steps_s")))
    if "bigvgan_5s" in out:
        b = out["bigvgan_5s"]
        rows.append(("BigVGAN 5 s, s", b["wall_s"], b["cpu_s_per_thread"], ref.get("bigvgan_5s_s")))
    rows.append(("peak RSS, GB", out["peak_rss_gb"], float("nan"), ref.get("peak_rss_gb")))
    print(f"{'measure':58s} {'ours wall':>10s} {'ours cpu/thr':>12s} {'reference':>10s}")
    for label, wall, cpu, refv in rows:
        print(f"{label:58s} {wall:10.3f} {cpu:12.3f} {refv if refv is not None else float('nan'):10.3f}")
    print(
        f"load average (1 min): {out['load_average_1min_start']:.2f} at start, {out['load_average_1min_end']:.2f} at end"
    )


if __name__ == "__main__":
    main()
