"""How access copies made with a bundle compared with LTAS-EQ and the untouched input on held-out material."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

BAR_PERCENT = 80.0
"""Share of excerpts (%) on which the access copy must beat each comparison on each measure (issue 15)."""
AGAINST = {"vs_ltas_eq": "LTAS-EQ", "vs_input": "the untouched input"}
"""The comparisons a standing records, and how a sentence names them."""
MEASURES = {"lsd": "LSD", "ltas_err": "LTAS error"}
"""The measures the bar is on (issue 15's; lower is better for both), and how a sentence names them."""
BESIDE = {"ltas_err_within30": "LTAS error within 30 dB of the clean maximum"}
"""Measures a standing also records where its report scored them, beside the bar and never in its place
(lower is better): the pass-band LTAS error over only the bands the clean music fills."""
UNCOMPARED_STAGES = ("ingest", "tag")
"""Steps whose parameters a standing does not record: they check the input and write the access file."""


def chain_settings(steps: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Stage -> parameters of a chain's ``(stage, params)`` steps, as a standing records and compares them."""
    return {stage: dict(params) for stage, params in steps if stage not in UNCOMPARED_STAGES}


def _percent(value: float) -> str:
    """``71 %``, or ``79.9 %`` where rounding would hide that a rate is below a whole number."""
    return f"{value:.0f} %" if value == round(value) else f"{value:.1f} %"


class HeldoutStanding(BaseModel):
    """The held-out benchmark's verdict on a bundle's access copies (``shellac record-standing``).

    ``wins_percent[against][measure]`` is the share of excerpts on which the access
    copy scored lower (better) than ``against`` on ``measure``; ``means_db`` the mean
    LSD and LTAS error of the access copy, LTAS-EQ and the input. A :data:`BESIDE`
    measure is there too when the report scored it; the bar never reads it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    report: str = Field(min_length=1, description="benchmark report name (docs/benchmarks/<report>.json)")
    git_commit: str = Field(description="commit the benchmark ran at")
    profile: str = Field(min_length=1, description="profile the benchmark restored with (shipped settings)")
    measured_on: str = Field(min_length=1, description="the held-out material: works, instrument, excerpts")
    excerpts: int = Field(ge=1, description="excerpts scored")
    wins_percent: dict[str, dict[str, float]] = Field(
        description="per comparison (vs_ltas_eq, vs_input) and measure (lsd, ltas_err; ltas_err_within30 "
        "where the report scored it): % of excerpts won")
    means_db: dict[str, dict[str, float]] = Field(
        description="mean lsd_db and ltas_err_db (and ltas_err_within30_db where scored) of the access copy "
        "('access'), 'ltas_eq' and 'input'")
    command: str = Field("", description="command line of the benchmark")
    settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="stage -> parameters of every step the measured chain ran before the access file "
        "(ingest and tag left out); empty in a standing recorded before settings were kept")
    settings_source: str = Field(
        "", description="where settings come from: the report, or the profile as it was at record time")
    created: datetime = Field(default_factory=lambda: datetime.now(UTC), description="time recorded (UTC)")

    @field_validator("wins_percent")
    @classmethod
    def _every_comparison(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for against in AGAINST:
            missing = set(MEASURES) - set(value.get(against, {}))
            if missing:
                raise ValueError(f"wins_percent[{against!r}] lacks {sorted(missing)}")
            unknown = set(value[against]) - set(MEASURES) - set(BESIDE)
            if unknown:
                raise ValueError(f"wins_percent[{against!r}] has measures {sorted(unknown)}, not among "
                                 f"{sorted({**MEASURES, **BESIDE})}")
        return value

    def shortfalls(self, bar: float = BAR_PERCENT) -> list[str]:
        """Each comparison and measure won on fewer than ``bar`` % of excerpts, in words."""
        return [f"{MEASURES[m]} vs {AGAINST[a]} {_percent(self.wins_percent[a][m])}"
                for a in AGAINST for m in MEASURES if self.wins_percent[a][m] < bar]

    def differences(self, run: Mapping[str, Mapping[str, Any]]) -> list[str]:
        """How a restoration's steps (stage -> params, ingest and tag left out) depart from those measured."""
        out = []
        for stage in [*self.settings, *(s for s in run if s not in self.settings)]:
            if stage not in run:
                out.append(f"no {stage} step (measured with one)")
            elif stage not in self.settings:
                out.append(f"a {stage} step the measured chain did not have")
            else:
                measured, used = self.settings[stage], run[stage]
                out += [f"{stage}.{key} {used.get(key)!r} (measured {measured.get(key)!r})"
                        for key in sorted(set(measured) | set(used)) if measured.get(key) != used.get(key)]
        return out

    def summary(self, model: str) -> str:
        """One line for logs, tags and reports: the win rates, and whether they reach the bar."""
        rates = "; ".join(
            f"beat {AGAINST[a]} on " + ", ".join(f"{MEASURES[m]} in {_percent(self.wins_percent[a][m])}"
                                                 for m in MEASURES)
            for a in AGAINST)
        short = self.shortfalls()
        verdict = (f"below the {BAR_PERCENT:.0f} % bar ({'; '.join(short)})" if short
                   else f"at or above the {BAR_PERCENT:.0f} % bar")
        beside = "".join(
            f"; beside the bar, on {name} they beat " + " and ".join(
                f"{AGAINST[a]} in {_percent(self.wins_percent[a][m])}" for a in AGAINST)
            for m, name in BESIDE.items() if all(m in self.wins_percent[a] for a in AGAINST))
        return (f"model '{model}' with profile '{self.profile}' on held-out material "
                f"({self.excerpts} excerpts, {self.report}): access copies {rates} of excerpts; {verdict}"
                f"{beside}")


def standing_record(model: str, standing: HeldoutStanding | None,
                    run: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The generative stage's ``model_standing`` metric: the card's standing, or that it has none.

    ``run`` holds the parameters of the restoration's steps so far (stage -> params, ingest
    and tag left out); ``settings_differ`` lists where they depart from the chain the
    standing was measured with (None: the standing kept no settings), and the summary
    says so, since the standing then describes another chain than the one that ran.
    """
    if standing is None:
        return {"summary": f"model '{model}' has no held-out standing in its card: its access copies were "
                           "not measured against LTAS-EQ and the untouched input (shellac record-standing)",
                "below_bar": None, "settings_differ": None}
    differ = standing.differences(run) if standing.settings else None
    summary = standing.summary(model)
    if differ is None:
        summary += "; the settings it was measured with were not recorded"
    elif differ:
        summary += f"; this restoration's settings differ from those measured: {', '.join(differ)}"
    return {"summary": summary, "below_bar": bool(standing.shortfalls()), "settings_differ": differ,
            **standing.model_dump(mode="json",
                                  include={"report", "git_commit", "profile", "excerpts", "wins_percent"})}


def record_standing(directory: Path, standing: HeldoutStanding) -> Path:
    """Rewrite bundle ``directory`` with ``standing`` in its card (weights and checksum unchanged)."""
    from shellac.engine.models.bundle import rewrite_card

    return rewrite_card(directory, {"heldout": standing})
