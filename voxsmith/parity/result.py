"""Comparison bookkeeping shared by the parity checkers."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ParityResult:
    """Outcome of one module's parity run: every compared output and the worst error."""

    module: str
    tolerance: float = 1e-4  # max abs error allowed, relative to max(1, |reference|.max())
    errors: dict[str, float] = field(default_factory=dict)  # output name -> max abs error
    failures: list[str] = field(default_factory=list)  # names of outputs over tolerance / mismatched

    def fail_setup(self, exc: Exception) -> ParityResult:
        """Record that the fixture could not be loaded at all (the run goes on with other modules)."""
        self.errors["setup"] = float("inf")
        self.failures.append(f"setup: {exc.__class__.__name__}: {exc}")
        return self

    def compare(self, name: str, ours: torch.Tensor, ref: torch.Tensor, *, exact: bool = False) -> float:
        """Record ``max|ours - ref|``; integer tensors (codes) and ``exact`` must match exactly."""
        ours = torch.as_tensor(ours).detach().cpu()
        ref = torch.as_tensor(ref).detach().cpu()
        if ours.shape != ref.shape:
            self.errors[name] = float("inf")
            self.failures.append(f"{name}: shape {tuple(ours.shape)} != {tuple(ref.shape)}")
            return float("inf")
        if exact or not ref.is_floating_point():
            err = float((ours.to(torch.float64) - ref.to(torch.float64)).abs().max()) if ref.numel() else 0.0
            if err != 0.0:
                self.failures.append(f"{name}: not identical (max diff {err:g})")
            self.errors[name] = err
            return err
        err = float((ours.double() - ref.double()).abs().max()) if ref.numel() else 0.0
        scale = max(1.0, float(ref.double().abs().max())) if ref.numel() else 1.0
        if not err <= self.tolerance * scale:
            self.failures.append(f"{name}: max abs err {err:.3g} > {self.tolerance:g} x scale {scale:.3g}")
        self.errors[name] = err
        return err

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.errors)

    @property
    def checks(self) -> int:
        return len(self.errors)

    @property
    def max_abs_err(self) -> float:
        return max(self.errors.values(), default=float("nan"))

    def to_json(self) -> dict:
        return {
            "max_abs_err": self.max_abs_err,
            "ok": self.ok,
            "checks": self.checks,
            "failures": self.failures,
        }


def fixture_inputs(io: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``in.*`` tensors of an ``io.safetensors`` file, keyed without the prefix."""
    return {k[3:]: v for k, v in io.items() if k.startswith("in.")}
