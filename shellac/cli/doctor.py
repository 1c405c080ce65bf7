"""`shellac doctor`: check that this machine can run a collection (models, Prefect, GPU, disk, access)."""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shellac.catalogs import load_catalog
from shellac.engine.errors import ShellacError
from shellac.engine.fixity import sha256_file
from shellac.engine.models.bundle import read_card
from shellac.engine.paths import check_master, refuse_write_inside
from shellac.jobs import recording_dir
from shellac.stages.models import ModelStore

Level = Literal["ok", "warn", "fail"]
PACKAGES = ("torch", "prefect", "numpy", "scipy", "soundfile", "noisereduce", "demucs", "mutagen")


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it went, and why."""

    name: str
    level: Level
    detail: str


def check_packages() -> Iterator[Check]:
    """Every core dependency is installed; torch is the pinned CPU/GPU build."""
    for name in PACKAGES:
        try:
            yield Check(f"package {name}", "ok", md.version(name))
        except md.PackageNotFoundError:
            yield Check(f"package {name}", "fail", "not installed: run `make setup`")


def check_models(store: ModelStore) -> Iterator[Check]:
    """Each bundle in the models directory has a card whose weights checksum matches."""
    if not store.root.is_dir():
        yield Check(
            "models directory", "warn", f"{store.root} does not exist (only model-free profiles will run)"
        )
        return
    bundles = sorted(p for p in store.root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not bundles:
        yield Check("models directory", "warn", f"{store.root} holds no model bundles")
    for path in bundles:
        try:
            card = read_card(path)
            actual = sha256_file(path / "model.safetensors")
        except (ShellacError, OSError) as exc:
            yield Check(f"model {path.name}", "fail", str(exc))
            continue
        if card.weights_sha256 != actual:
            yield Check(
                f"model {path.name}",
                "fail",
                f"weights checksum {actual[:12]}… does not match the card's "
                f"{(card.weights_sha256 or 'none')[:12]}…: the file is corrupt or was replaced",
            )
        else:
            yield Check(
                f"model {path.name}",
                "ok",
                f"{card.name}, {card.sample_rate} Hz, {card.training_steps} steps, sha256 {actual[:12]}…",
            )


def check_prefect() -> Check:
    """The Prefect API named by PREFECT_API_URL answers, or the embedded API will be used."""
    url = os.environ.get("PREFECT_API_URL", "")
    if not url:
        return Check("prefect API", "ok", "PREFECT_API_URL unset: runs use the embedded (ephemeral) API")
    import httpx

    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=5.0)
    except httpx.HTTPError as exc:
        return Check("prefect API", "fail", f"{url} unreachable: {exc}")
    if response.status_code != 200:
        return Check("prefect API", "fail", f"{url}/health answered HTTP {response.status_code}")
    return Check("prefect API", "ok", f"{url} healthy")


def check_gpu() -> Check:
    """Whether CUDA devices are visible (a warning only: everything runs on CPU too)."""
    import torch

    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("gpu", "ok", f"{torch.cuda.device_count()} CUDA device(s): {names}")
    return Check("gpu", "warn", "no CUDA device visible: generative stages run on CPU (slow)")


def check_output(root: Path, min_free_gb: float) -> Iterator[Check]:
    """The output root is writable and has room."""
    root = root.resolve()
    probe_dir = root
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    free_gb = shutil.disk_usage(probe_dir).free / 1e9
    level: Level = "ok" if free_gb >= min_free_gb else "fail"
    yield Check("free disk", level, f"{free_gb:.1f} GB free under {probe_dir} (need {min_free_gb} GB)")
    try:
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".shellac-doctor-"):
            pass
        yield Check("write access", "ok", f"can write in {probe_dir}")
    except OSError as exc:
        yield Check("write access", "fail", f"cannot write in {probe_dir}: {exc}")


def check_catalog(catalog_dir: Path) -> Iterator[Check]:
    """The catalog loads, its masters exist and are readable."""
    try:
        catalog = load_catalog(catalog_dir)
    except ShellacError as exc:
        yield Check("catalog", "fail", str(exc))
        return
    yield Check(
        "catalog",
        "ok" if not catalog.errors else "warn",
        f"{len(catalog.recordings)} recordings, {len(catalog.errors)} rejected row(s)",
    )
    # The same real-path checks a run makes (engine.paths): masters inside the source root,
    # regular files, readable; no recording folder overlapping the source root.
    problems: list[str] = []
    for rec in catalog.recordings:
        try:
            real = check_master(catalog.master_path(rec), catalog.config.source_root,
                                allow_outside=catalog.config.allow_masters_outside_source_root)
            refuse_write_inside(recording_dir(catalog, rec), catalog.config.source_root,
                                f"work folder of {rec.id}")
        except ShellacError as exc:
            problems.append(f"{rec.id}: {exc}")
            continue
        if not os.access(real, os.R_OK):
            problems.append(f"{rec.id}: master {real} is not readable")
    if problems:
        yield Check("masters", "fail", f"{len(problems)} problem(s): " + " | ".join(problems[:8]))
    else:
        yield Check("masters", "ok", f"all {len(catalog.recordings)} masters readable inside the source root "
                    f"{catalog.config.source_root}; no output overlaps it")
    yield from check_output(catalog.config.output_root, 1.0)


def run_checks(
    catalog_dir: Path | None, models_dir: Path | None, output: Path, min_free_gb: float
) -> list[Check]:
    """All checks, in the order they are printed."""
    checks = list(check_packages())
    if models_dir is None and catalog_dir is not None:
        try:
            models_dir = load_catalog(catalog_dir).config.models_dir
        except ShellacError:
            models_dir = None  # check_catalog reports the problem below
    checks += list(check_models(ModelStore(models_dir)))
    checks.append(check_prefect())
    checks.append(check_gpu())
    if catalog_dir is not None:
        checks += list(check_catalog(catalog_dir))
    else:
        checks += list(check_output(output, min_free_gb))
    return checks
