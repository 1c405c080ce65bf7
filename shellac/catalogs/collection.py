"""collection.toml: where a collection's masters and outputs live and which profile each content type gets."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shellac.catalogs.errors import CatalogError
from shellac.engine.errors import UnsafePathError
from shellac.engine.paths import refuse_write_inside

DEFAULT_PROFILES: dict[str, str] = {
    "piano": "piano",
    "voice": "voice",
    "voice+accompaniment": "voice-accompaniment",
}


class CollectionConfig(BaseModel):
    """Settings of one collection, with paths resolved against the catalog directory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = ""
    directory: Path = Field(description="The catalog directory (holds catalog.csv).")
    source_root: Path = Field(description="Where the masters are; read-only to Shellac.")
    output_root: Path = Field(description="Output tree; work dirs are <output_root>/<name>/<id>/.")
    models_dir: Path | None = None
    allow_masters_outside_source_root: bool = Field(
        default=False,
        description="Accept masters whose real path (after symlinks) leaves the source root; "
        "their real path is then recorded in the provenance.",
    )
    profiles: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PROFILES))
    profile_overrides: dict[str, dict[str, dict[str, Any]]] = Field(
        default_factory=dict,
        description="profile -> stage -> parameter -> value, applied over built-in profiles.",
    )

    @property
    def collection_dir(self) -> Path:
        """``<output_root>/<name>``: the parent of every recording's work directory."""
        return self.output_root / self.name

    def profile_for(self, content: str, explicit: str = "") -> str:
        """The profile a recording of ``content`` uses (an explicit row value wins)."""
        return explicit or self.profiles.get(content, DEFAULT_PROFILES[content])


def load_collection_config(directory: Path, *, output_root: Path | None = None) -> CollectionConfig:
    """Read ``<directory>/collection.toml``; relative paths are relative to ``directory``.

    ``output_root`` overrides the file's value (the CLI's ``--output``). A collection
    output folder (``<output_root>/<name>``) whose real path overlaps the source root is
    refused: outputs must never land among masters.
    """
    directory = Path(directory).resolve()
    path = directory / "collection.toml"
    if not path.is_file():
        raise CatalogError(f"{path} not found: a catalog directory needs a collection.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot parse {path}: {exc}") from exc
    raw.setdefault("name", directory.name)
    for key in ("source_root", "output_root", "models_dir"):
        if key in raw:
            if not isinstance(raw[key], str):
                raise CatalogError(f"{path}: {key!r} must be a path in quotes, not {raw[key]!r}")
            raw[key] = (directory / raw[key]).resolve()
    for key in ("profiles", "profile_overrides"):
        if not isinstance(raw.get(key, {}), dict):
            raise CatalogError(
                f"{path}: {key!r} must be a table ([{key}] with one key per line), not {raw[key]!r}"
            )
    if output_root is not None:
        raw["output_root"] = Path(output_root).resolve()
    raw.setdefault("output_root", (directory / "output").resolve())
    if "source_root" not in raw:
        raise CatalogError(f"{path}: 'source_root' (the folder holding the masters) is required")
    raw["profiles"] = {**DEFAULT_PROFILES, **raw.get("profiles", {})}
    try:
        config = CollectionConfig(directory=directory, **raw)
    except ValidationError as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    try:
        refuse_write_inside(config.collection_dir, config.source_root, "collection output folder")
    except UnsafePathError as exc:
        raise CatalogError(f"{path}: {exc} (set output_root in collection.toml or pass --output)") from exc
    unknown = set(config.profiles) - set(DEFAULT_PROFILES)
    if unknown:
        raise CatalogError(f"{path}: [profiles] has unknown content types {sorted(unknown)}")
    return config
