"""Profiles: which stages a recording goes through, with which parameters, per content type."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shellac.engine.errors import ParameterError, ShellacError
from shellac.stages.base import StageParams


class ProfileError(ShellacError):
    """A profile is missing, malformed, or names stages or parameters that do not exist."""


@dataclass(frozen=True)
class Step:
    """One stage of a plan with its validated, frozen parameters."""

    stage: str
    params: StageParams


@dataclass(frozen=True)
class Plan:
    """A profile resolved into steps: ingest first, tag last, in chain order."""

    profile: str
    description: str
    steps: tuple[Step, ...]

    def step(self, stage: str) -> Step:
        """The step of ``stage``."""
        for s in self.steps:
            if s.stage == stage:
                return s
        raise ProfileError(f"profile {self.profile!r} has no {stage!r} step")


def builtin_profile_names() -> list[str]:
    """Names of the profiles that ship with Shellac."""
    folder = resources.files("shellac.stages") / "profiles"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read_profile(name: str, search_dirs: tuple[Path, ...]) -> dict[str, Any]:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", name):
        raise ProfileError(
            f"profile name {name!r} is not a plain name (letters, digits, '.', '_', '-'): profiles are "
            "looked up only as <name>.toml in the catalog's profiles folder or among the built-ins"
        )
    for folder in search_dirs:
        path = folder / f"{name}.toml"
        if path.is_file():
            return _parse(path.read_text(encoding="utf-8"), str(path))
    builtin = resources.files("shellac.stages") / "profiles" / f"{name}.toml"
    if builtin.is_file():
        return _parse(builtin.read_text(encoding="utf-8"), f"built-in profile {name}")
    known = sorted(set(builtin_profile_names()) | {
        p.stem for d in search_dirs if d.is_dir() for p in d.glob("*.toml")})
    raise ProfileError(f"no profile {name!r}; known profiles: {', '.join(known)}")


def _parse(text: str, origin: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"cannot parse {origin}: {exc}") from exc
    if not isinstance(data.get("steps"), list) or not data["steps"]:
        raise ProfileError(f"{origin}: a profile needs a non-empty [[steps]] list")
    return data


def load_plan(
    name: str,
    *,
    search_dirs: tuple[Path, ...] = (),
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Plan:
    """Resolve profile ``name`` into a validated plan.

    Parameters
    ----------
    name
        Profile name: a ``<name>.toml`` in one of ``search_dirs`` (a collection's
        ``profiles/`` folder) wins over the built-in profile of that name.
    overrides
        stage -> parameter -> value, applied over the profile's parameters
        (a collection's ``[profile_overrides.<profile>.<stage>]`` tables or the
        CLI's ``--set``).
    """
    from shellac.stages.registry import CHAIN_ORDER, get_stage

    data = _read_profile(name, search_dirs)
    overrides = dict(overrides or {})
    steps: list[Step] = []
    for raw in data["steps"]:
        stage_name = str(raw.get("stage", ""))
        stage = get_stage(stage_name)
        params = {**raw.get("params", {}), **overrides.pop(stage_name, {})}
        try:
            steps.append(Step(stage_name, stage.params_cls(**params)))
        except ValidationError as exc:
            raise ProfileError(f"profile {name!r}, stage {stage_name!r}: {exc}") from exc
    if overrides:
        raise ProfileError(
            f"overrides name stage(s) {sorted(overrides)} that profile {name!r} does not use"
        )
    names = [s.stage for s in steps]
    if names[0] != "ingest" or names[-1] != "tag":
        raise ProfileError(f"profile {name!r} must start with 'ingest' and end with 'tag'")
    order = [CHAIN_ORDER.index(n) for n in names]
    if order != sorted(set(order)):
        raise ProfileError(
            f"profile {name!r}: stages {names} are repeated or out of the chain order "
            f"{list(CHAIN_ORDER)}"
        )
    return Plan(profile=name, description=str(data.get("description", "")), steps=tuple(steps))


def parse_sets(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``STAGE.PARAM=VALUE`` items (JSON values, else strings) as stage -> param -> value overrides."""
    overrides: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        stage, dot, param = key.partition(".")
        if not (sep and dot and stage and param):
            raise ParameterError(
                f"--set {item!r}: expected STAGE.PARAM=VALUE, e.g. denoise.prop_decrease=0.6")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        overrides.setdefault(stage, {})[param] = value
    return overrides
