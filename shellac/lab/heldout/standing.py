"""A bundle's held-out standing from a committed ``shellac bench-heldout`` report of the shipped profile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from shellac.engine.errors import ParameterError
from shellac.engine.models.standing import HeldoutStanding
from shellac.lab.heldout.bench import KINDS, win_rate
from shellac.lab.heldout.runner import ChainRun, step_params
from shellac.stages.profiles import load_plan

ACCESS_ROW = "babe2_gated"
"""The report row that scores the access copy of the generative profile."""
_COMPARED = {"vs_ltas_eq": "ltas_eq", "vs_input": "input"}
_MEASURES = {"lsd": "lsd_db", "ltas_err": "ltas_err_db"}
_BESIDE = {"ltas_err_within30": "ltas_err_within30_db"}
"""The report's metric of each measure beside the bar (shellac.engine.models.standing.BESIDE)."""


def profile_model(profile: str) -> str:
    """The model a profile's generative_eq step names."""
    return str(load_plan(profile).step("generative_eq").params.model)  # type: ignore[attr-defined]


def _excerpts_of(report: Mapping[str, Any], model: str) -> list[Mapping[str, Any]]:
    """The report's excerpts restored with ``model``: its singers', or all if the kind's profile uses it."""
    settings = report["settings"]
    excerpts = list(report["excerpts"])
    singers = settings.get("models")
    if singers:
        mine = [voice for voice, key in singers.items() if key == model]
        if not mine:
            used = sorted(set(singers.values()))
            raise ParameterError(f"report {settings['name']} restored its singers with {used}, not {model!r}")
        return [e for e in excerpts if any(str(e["name"]).endswith(f"-{voice}") for voice in mine)]
    used = profile_model(KINDS[settings.get("kind", "piano")].generative)
    if used != model:
        raise ParameterError(f"report {settings['name']} restored with model {used!r}, not {model!r}")
    return excerpts


def standing_from_report(report: Mapping[str, Any], model: str) -> HeldoutStanding:
    """The standing of ``model``'s access copies in a held-out benchmark report (its JSON, parsed).

    Only a report of the benchmark part, run with the shipped profiles (no
    overrides) and scoring the access copy, LTAS-EQ and the untouched input, can
    stand for a shipped bundle; anything else is refused with the reason.
    """
    missing_keys = [k for k in ("context", "settings", "excerpts") if k not in report]
    if missing_keys:
        raise ParameterError(f"not a bench-heldout report: it has no {', '.join(missing_keys)}")
    settings = report["settings"]
    if settings.get("part") != "benchmark":
        raise ParameterError(f"report {settings.get('name')} scored the {settings.get('part')} part; "
                             "a standing is measured on the benchmark part only")
    if settings.get("overrides"):
        raise ParameterError(f"report {settings['name']} ran with overrides {settings['overrides']}; "
                             "a standing is measured with the shipped profiles")
    excerpts = _excerpts_of(report, model)
    if not excerpts:
        raise ParameterError(f"report {settings['name']} holds no excerpt restored with {model!r}")
    missing = {ACCESS_ROW, *_COMPARED.values()} - set(excerpts[0]["scores"])
    if missing:
        raise ParameterError(f"report {settings['name']} lacks the rows {sorted(missing)}")

    rows = (ACCESS_ROW, *_COMPARED.values())
    # A measure beside the bar counts only where the report scored it on every excerpt and row.
    measures = {**_MEASURES, **{m: metric for m, metric in _BESIDE.items()
                                if all(metric in e["scores"][r] for e in excerpts for r in rows)}}

    def mean(row: str, metric: str) -> float:
        return round(float(np.mean([e["scores"][row][metric] for e in excerpts])), 3)

    def won(row: str, metric: str) -> float:
        return round(win_rate([e["scores"][ACCESS_ROW] for e in excerpts],
                              [e["scores"][row] for e in excerpts], metric), 1)

    kind = settings.get("kind", "piano")
    measured = settings.get("step_params", {}).get(model)
    settings_source = f"report {settings['name']}"
    if measured is None:
        # A report written before reports kept their settings: the profile as it is now, said so.
        voices = [v for v, key in settings.get("models", {}).items() if key == model] or [""]
        run = ChainRun(KINDS[kind].generative, {"generative_eq": {"model": model}})
        measured = step_params(run, voices[0])
        settings_source = (f"profile '{KINDS[kind].generative}' at record time (report {settings['name']} "
                           "kept no settings)")
    source = settings.get("soundfont") or "sung by " + ", ".join(
        v for v, k in settings.get("models", {}).items() if k == model)
    return HeldoutStanding(
        report=str(settings["name"]),
        profile=KINDS[kind].generative,
        git_commit=str(report["context"].get("git_commit", "")),
        measured_on=(f"benchmark part ({', '.join(settings['composers'])}), {source}, "
                     f"{len(excerpts)} excerpts of {settings['seconds']} s at {settings['sample_rate']} Hz, "
                     f"seed {settings['seed']}"),
        excerpts=len(excerpts),
        wins_percent={a: {m: won(row, metric) for m, metric in measures.items()}
                      for a, row in _COMPARED.items()},
        means_db={name: {metric: mean(row, metric) for metric in measures.values()}
                  for name, row in (("access", ACCESS_ROW), *((r, r) for r in _COMPARED.values()))},
        command=str(report["context"].get("command", "")),
        settings=measured,
        settings_source=settings_source,
    )
