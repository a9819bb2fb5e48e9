"""S2M speed at full size with random weights: CFM sampling for a 5 s prompt + 5 s output.

The official anchor (``shared/fixtures/official/speed_cpu.json``): 59.5 s for 25 Euler steps
with CFG 0.7 on T = 431 + 430 = 861 frames (batch 2), fp32, ``torch.set_num_threads(2)``.

    python benchmarks/s2m_speed.py                      # full size, 25 steps, 2 threads
    python benchmarks/s2m_speed.py --steps 5 --reference   # also time the official-style loop
    python benchmarks/s2m_speed.py --json

``--reference`` also runs ``reference_style_solve`` on the same weights: the official solver's
structure and op choices (per step: stack [cond; uncond], a full DiT forward over every frame
with a (B, 1, T, T) mask, Python RMSNorm, pairwise RoPE by stacking, weight norm recomputed per
convolution). It prints both times (wall and process CPU time: CPU time is the fairer ratio
when other processes share the cores) and the largest difference between the two results, so
the speed-up is measured at equal outputs. ``load_average_1min`` tells how busy the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torch.nn.functional as F

from voxsmith.models.s2m import S2M, S2MConfig


def _rms(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + eps) * weight


def _ada(norm, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    w, b = torch.split(norm.project_layer(c), x.shape[-1], dim=-1)
    return w * _rms(x, norm.norm.weight, norm.norm.eps) + b


def _rope_pairs(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    xs = x.float().reshape(*x.shape[:-1], -1, 2)
    f = freqs.view(1, xs.size(1), 1, xs.size(3), 2)
    out = torch.stack(
        [xs[..., 0] * f[..., 0] - xs[..., 1] * f[..., 1], xs[..., 1] * f[..., 0] + xs[..., 0] * f[..., 1]], -1
    )
    return out.flatten(3).type_as(x)


def _conv(layer, x: torch.Tensor) -> torch.Tensor:
    conv = layer.conv.conv
    w = conv.weight_v * (
        conv.weight_g / conv.weight_v.norm(dim=(1, 2), keepdim=True)
    )  # recomputed every call
    if layer.pad_left or layer.pad_right:
        x = F.pad(x, (layer.pad_left, layer.pad_right), mode="reflect")
    return F.conv1d(x, w, conv.bias, dilation=conv.dilation)


def reference_style_velocity(est, x, prompt_x, x_lens, t, style, cond, freqs) -> torch.Tensor:
    """The DiT forward with the official code's op choices (same weights, same math).

    Full merge GEMM over the concatenated input, a (B, 1, T, T) boolean mask, Python RMSNorm,
    pairwise RoPE by stacking, weight norm recomputed and reflect padding per convolution, every
    frame through every layer.
    """
    cfg = est.cfg
    b, _, n = x.shape
    t1 = est.t_embedder(t)
    xt, pt = x.transpose(1, 2), prompt_x.transpose(1, 2)
    h = torch.cat([xt, pt, est.cond_projection(cond), style[:, None, :].repeat(1, n, 1)], dim=-1)
    h = est.cond_x_merge_linear(h)
    mask = torch.arange(n)[None, :] < x_lens[:, None]
    mask4 = mask[:, None, None, :].repeat(1, 1, n, 1)
    f = freqs[est.input_pos[:n]]
    c = t1[:, None, :]
    layers, skips = est.transformer.layers, []
    for i, layer in enumerate(layers):
        if cfg.uvit_skip_connection and i > len(layers) // 2:
            h = layer.skip_in_linear(torch.cat([h, skips.pop(-1)], dim=-1))
        a = layer.attention
        q, k, v = a.wqkv(_ada(layer.attention_norm, h, c)).split(cfg.hidden_dim, dim=-1)
        q = _rope_pairs(q.view(b, n, a.heads, a.head_dim), f)
        k = _rope_pairs(k.view(b, n, a.heads, a.head_dim), f)
        v = v.view(b, n, a.heads, a.head_dim)
        y = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask4
        )
        hh = h + a.wo(y.transpose(1, 2).contiguous().view(b, n, cfg.hidden_dim))
        ff = layer.feed_forward
        z = _ada(layer.ffn_norm, hh, c)
        h = hh + ff.w2(F.silu(ff.w1(z)) * ff.w3(z))
        if cfg.uvit_skip_connection and i < len(layers) // 2:
            skips.append(h)
    h = _ada(est.transformer.norm, h, c)
    h = est.skip_linear(torch.cat([h, xt], dim=-1))
    y = est.conv1(h).transpose(1, 2)
    wn, m = est.wavenet, mask[:, None, :]
    g = _conv(wn.cond_layer, est.t_embedder2(t)[:, :, None])
    out, w = torch.zeros_like(y), wn.hidden
    for i in range(wn.n_layers):
        z = _conv(wn.in_layers[i], y) + g[:, 2 * w * i : 2 * w * (i + 1)]
        rs = _conv(wn.res_skip_layers[i], torch.tanh(z[:, :w]) * torch.sigmoid(z[:, w:]))
        if i < wn.n_layers - 1:
            y = (y + rs[:, :w]) * m
            out = out + rs[:, w:]
        else:
            out = out + rs
    y = (out * m).transpose(1, 2) + est.res_projection(h)
    fl = est.final_layer
    shift, scale = fl.adaLN_modulation(t1).chunk(2, dim=1)
    lin = fl.linear
    w_lin = lin.weight_v * (lin.weight_g / lin.weight_v.norm(dim=1, keepdim=True))
    y = F.linear(fl.norm_final(y) * (1 + scale[:, None]) + shift[:, None], w_lin, lin.bias)
    return est.conv2(y.transpose(1, 2))


def reference_style_solve(model: S2M, noise, x_lens, prompt, mu, style, n_steps: int, cfg_rate: float):
    """The official solver's structure: every step a full batch-2 forward over all frames."""
    est = model.cfm.estimator
    hd = est.cfg.head_dim
    inv = 1.0 / (est.cfg.rope_base ** (torch.arange(0, hd, 2)[: hd // 2].float() / hd))
    ang = torch.outer(torch.arange(est.cfg.max_positions).float(), inv)
    pol = torch.polar(torch.ones_like(ang), ang)
    freqs = torch.stack([pol.real, pol.imag], dim=-1)  # precomputed once, as setup_caches does
    p = prompt.shape[-1]
    x = noise.clone()
    x[..., :p] = 0
    prompt_x = torch.zeros_like(x)
    prompt_x[..., :p] = prompt
    t_span = torch.linspace(0, 1, n_steps + 1)
    t = t_span[0]
    for step in range(1, n_steps + 1):
        dt = t_span[step] - t_span[step - 1]
        v = reference_style_velocity(
            est,
            torch.cat([x, x]),
            torch.cat([prompt_x, torch.zeros_like(prompt_x)]),
            x_lens,
            torch.cat([t.unsqueeze(0), t.unsqueeze(0)]),
            torch.cat([style, torch.zeros_like(style)]),
            torch.cat([mu, torch.zeros_like(mu)]),
            freqs,
        )
        v_cond, v_uncond = v.chunk(2, dim=0)
        x = x + dt * ((1.0 + cfg_rate) * v_cond - cfg_rate * v_uncond)
        t = t + dt
        x[:, :, :p] = 0
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=25, help="Euler steps (official default 25)")
    ap.add_argument("--prompt-frames", type=int, default=431, help="reference mel frames (5 s)")
    ap.add_argument("--target-frames", type=int, default=430, help="generated mel frames (5 s)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--cfg-rate", type=float, default=0.7, help="classifier-free guidance rate")
    ap.add_argument("--size", choices=("indextts2", "tiny"), default="indextts2", help="model size")
    ap.add_argument("--repeats", type=int, default=1, help="timed repeats (the minimum is reported)")
    ap.add_argument("--reference", action="store_true", help="also time the official-style solver loop")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = S2MConfig.indextts2() if args.size == "indextts2" else S2MConfig.tiny()
    model = S2M(cfg).eval()
    p, tg = args.prompt_frames, args.target_frames
    c, m = cfg.dit.content_dim, cfg.n_mels
    mu = torch.randn(1, p + tg, c)
    prompt = torch.randn(1, m, p)
    style = torch.randn(1, cfg.dit.style_dim)
    noise = torch.randn(1, m, p + tg)
    x_lens = torch.tensor([p + tg])

    def timed(fn) -> tuple[float, float, torch.Tensor]:
        """(best wall seconds, CPU seconds of that run, output)."""
        best, cpu, out = float("inf"), float("nan"), None
        for _ in range(args.repeats):
            w0, c0 = time.perf_counter(), time.process_time()
            with torch.inference_mode():
                out = fn()
            wall = time.perf_counter() - w0
            if wall < best:
                best, cpu = wall, time.process_time() - c0
        return best, cpu, out

    with torch.inference_mode():  # warm-up: RoPE table, allocator, one-off kernel setup
        model.cfm.solve(noise, x_lens, prompt, mu, style, 1, args.cfg_rate)
    wall, cpu, ours = timed(
        lambda: model.cfm.solve(noise, x_lens, prompt, mu, style, args.steps, args.cfg_rate)
    )
    report = {
        "size": args.size,
        "steps": args.steps,
        "frames": p + tg,
        "threads": args.threads,
        "seconds": wall,
        "cpu_seconds": cpu,
        "per_step_s": wall / args.steps,
        "official_seconds_25_steps": 59.504927383999984,
        "load_average_1min": os.getloadavg()[0],
    }
    if args.reference:
        ref_wall, ref_cpu, ref = timed(
            lambda: reference_style_solve(model, noise, x_lens, prompt, mu, style, args.steps, args.cfg_rate)
        )
        report["reference_style_seconds"] = ref_wall
        report["reference_style_cpu_seconds"] = ref_cpu
        report["speedup_wall"] = ref_wall / wall
        report["speedup_cpu"] = ref_cpu / cpu
        report["max_abs_diff_vs_reference_style"] = float((ours - ref).abs().max())
    if args.json:
        print(json.dumps(report))
    else:
        for k, v in report.items():
            print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
