"""Guidance sweep: σ_y, ξ and steps of the piano profile scored on held-out validation material."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shellac.engine.errors import ParameterError
from shellac.engine.models.guidance import MeasuredGuidance
from shellac.lab.evaluation.visqol import Visqol
from shellac.lab.heldout.bench import BenchOutcome, Row, run_bench, with_overrides
from shellac.lab.heldout.runner import ChainRun, HeldoutExcerpt

OBJECTIVE = (
    "mean over excerpts of LSD + pass-band third-octave LTAS error (dB) of the generative output "
    "against the clean render"
)


@dataclass(frozen=True)
class GridPoint:
    """One sampler setting of the sweep."""

    n_steps: int
    sigma_y: float
    xi: float

    @property
    def key(self) -> str:
        """Row key, e.g. ``N8_sy0.25_xi1``."""
        return f"N{self.n_steps}_sy{self.sigma_y:g}_xi{self.xi:g}"


def grid(steps: Sequence[int], sigma_ys: Sequence[float], xis: Sequence[float]) -> list[GridPoint]:
    """Every combination of the given values."""
    return [GridPoint(n, s, x) for n, s, x in itertools.product(steps, sigma_ys, xis)]


def sweep_rows(points: Sequence[GridPoint], profile: str = "piano") -> list[Row]:
    """Baselines (input, LTAS-EQ) and one generative row per grid point."""
    rows = [Row("input", "degraded input", None), Row("ltas_eq", "LTAS-EQ", ChainRun("piano-ltas"))]
    for p in points:
        run = ChainRun(profile, {"generative_eq": {"n_steps": p.n_steps, "sigma_y": p.sigma_y, "xi": p.xi}})
        rows.append(Row(p.key, f"N = {p.n_steps}, σ_y = {p.sigma_y:g}, ξ = {p.xi:g}", run, "generative"))
    return rows


def run_sweep(
    excerpts: list[HeldoutExcerpt],
    points: Sequence[GridPoint],
    models_dir: Path,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "cpu",
    visqol: Visqol | None = None,
    workers: int = 1,
    log: Callable[[str], None] = print,
) -> BenchOutcome:
    """Every grid point through the production profile on every excerpt (the chain reuses finished steps);
    with ``visqol`` every row also gets its MOS-LQO."""
    if not points:
        raise ParameterError("the sweep needs at least one grid point")
    rows = [
        Row(r.key, r.label, with_overrides(r.run, overrides or {}) if r.run else None, r.output)
        for r in sweep_rows(points)
    ]
    # Grid values win over the common overrides (with_overrides keeps the row's own values).
    return run_bench(excerpts, rows, models_dir, device=device, visqol=visqol, workers=workers, log=log)


def objective(outcome: BenchOutcome, key: str) -> float:
    """The sweep's objective of one row (lower is better)."""
    means = outcome.means()[key]
    return float(means["lsd_db"] + means["ltas_err_db"])


def choose(outcome: BenchOutcome, points: Sequence[GridPoint]) -> tuple[GridPoint, dict[str, Any]]:
    """The grid point of lowest objective, and every point's scores for the record."""
    table = {
        p.key: {
            **{k: round(v, 3) for k, v in outcome.means()[p.key].items()},
            "objective": round(objective(outcome, p.key), 3),
            "wins_vs_ltas_eq_pct": outcome.win_rates(p.key, "ltas_eq"),
        }
        for p in points
    }
    best = min(points, key=lambda p: objective(outcome, p.key))
    table["ltas_eq"] = {
        **{k: round(v, 3) for k, v in outcome.means()["ltas_eq"].items()},
        "objective": round(objective(outcome, "ltas_eq"), 3),
    }
    table["input"] = {
        **{k: round(v, 3) for k, v in outcome.means()["input"].items()},
        "objective": round(objective(outcome, "input"), 3),
    }
    return best, table


def measured_guidance(
    best: GridPoint, table: dict[str, Any], material: str, command: str
) -> MeasuredGuidance:
    """The record stored in the bundle's card."""
    return MeasuredGuidance(
        n_steps=best.n_steps,
        sigma_y=best.sigma_y,
        xi=best.xi,
        measured_on=material,
        objective=OBJECTIVE,
        scores={"chosen": best.key, "grid": table},
        command=command,
    )


def gate_values(outcome: BenchOutcome) -> list[dict[str, Any]]:
    """Gate check values with the truth (worse than LTAS-EQ?) for every generative row and excerpt.

    These are the measurements the gate's thresholds are set against.
    """
    found = []
    for key, gates in outcome.gates.items():
        for i, gate in enumerate(gates):
            if not gate:
                continue
            gen, base = outcome.scores[key][i], outcome.scores["ltas_eq"][i]
            found.append(
                {
                    "row": key,
                    "excerpt": outcome.excerpts[i].name,
                    "worse_lsd": gen["lsd_db"] > base["lsd_db"],
                    "worse_ltas": gen["ltas_err_db"] > base["ltas_err_db"],
                    "lsd_minus_ltas_eq_db": round(gen["lsd_db"] - base["lsd_db"], 3),
                    "ltas_err_minus_ltas_eq_db": round(gen["ltas_err_db"] - base["ltas_err_db"], 3),
                    "checks": {c["name"]: c["value"] for c in gate["checks"]},
                }
            )
    return found


def separation(values: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per check: its range on outputs worse than LTAS-EQ (LSD and LTAS error) and on the others."""
    out: dict[str, dict[str, float | None]] = {}
    names = sorted({n for v in values for n in v["checks"]})
    for name in names:
        worse = [
            v["checks"][name]
            for v in values
            if v["worse_lsd"] and v["worse_ltas"] and v["checks"][name] is not None
        ]
        fine = [
            v["checks"][name]
            for v in values
            if not (v["worse_lsd"] or v["worse_ltas"]) and v["checks"][name] is not None
        ]
        out[name] = {
            "worse_min": min(worse) if worse else None,
            "worse_median": float(np.median(worse)) if worse else None,
            "not_worse_max": max(fine) if fine else None,
            "not_worse_median": float(np.median(fine)) if fine else None,
            "n_worse": len(worse),
            "n_not_worse": len(fine),
        }
    return out
