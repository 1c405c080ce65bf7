"""Load catalog.csv with pandas and validate each row, collecting bad rows instead of stopping."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from shellac.catalogs.collection import CollectionConfig, load_collection_config
from shellac.catalogs.errors import CatalogError
from shellac.catalogs.registry import ModelRegistry, find_registry, load_registry
from shellac.catalogs.schema import KNOWN_COLUMNS, Recording

REQUIRED_COLUMNS = ("id", "file", "content")


@dataclass(frozen=True)
class CatalogRowError:
    """A catalog row that was rejected, with its line number and the reason."""

    line: int
    id: str
    reason: str

    def __str__(self) -> str:
        ident = f" (id {self.id!r})" if self.id else ""
        return f"catalog.csv line {self.line}{ident}: {self.reason}"


@dataclass(frozen=True)
class Catalog:
    """A collection: its settings, its valid recordings and its rejected rows."""

    directory: Path
    config: CollectionConfig
    recordings: tuple[Recording, ...]
    errors: tuple[CatalogRowError, ...] = field(default_factory=tuple)
    registry: ModelRegistry = field(default_factory=ModelRegistry)

    def master_path(self, recording: Recording) -> Path:
        """Absolute path of a recording's master file."""
        return self.config.source_root / recording.file

    def get(self, recording_id: str) -> Recording:
        """The recording with this id."""
        for rec in self.recordings:
            if rec.id == recording_id:
                return rec
        raise CatalogError(f"no recording with id {recording_id!r} in {self.directory}")


def _format_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def parse_rows(frame: pd.DataFrame) -> tuple[list[Recording], list[CatalogRowError]]:
    """Validate every row of a catalog DataFrame (all columns as strings)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(f"catalog.csv lacks the required column(s) {', '.join(missing)}")
    recordings: list[Recording] = []
    errors: list[CatalogRowError] = []
    seen: dict[str, int] = {}
    for index, row in frame.iterrows():
        line = int(index) + 2  # type: ignore[arg-type]
        values = {k: str(v).strip() for k, v in row.items()}
        rec_id = values.get("id", "")
        if not any(values.values()):
            continue  # blank line
        known = {k: v for k, v in values.items() if k in KNOWN_COLUMNS and v != ""}
        extra = {k: v for k, v in values.items() if k not in KNOWN_COLUMNS and v != ""}
        if "content" in known:
            known["content"] = known["content"].lower()
        try:
            rec = Recording(**known, line=line, extra=extra)
        except ValidationError as exc:
            errors.append(CatalogRowError(line, rec_id, _format_validation(exc)))
            continue
        if rec.id in seen:
            errors.append(
                CatalogRowError(line, rec.id, f"duplicate id (first used on line {seen[rec.id]})")
            )
            continue
        seen[rec.id] = line
        recordings.append(rec)
    return recordings, errors


def load_catalog(directory: Path, *, output_root: Path | None = None) -> Catalog:
    """Load ``<directory>/catalog.csv``, ``<directory>/collection.toml`` and the model registry.

    The registry is ``models.toml`` in the catalog directory or its parent.

    Bad rows are returned in ``Catalog.errors`` with their line numbers; only a
    missing or unreadable file, or a missing required column, raises ``CatalogError``.
    """
    directory = Path(directory).resolve()
    config = load_collection_config(directory, output_root=output_root)
    csv_path = directory / "catalog.csv"
    if not csv_path.is_file():
        raise CatalogError(f"{csv_path} not found: a catalog directory needs a catalog.csv")
    try:
        frame = pd.read_csv(
            csv_path, dtype=str, keep_default_na=False, skip_blank_lines=False,
            encoding="utf-8", comment=None,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CatalogError(f"cannot parse {csv_path}: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    recordings, errors = parse_rows(frame)
    registry = load_registry(find_registry(directory))
    return Catalog(directory, config, tuple(recordings), tuple(errors), registry)
