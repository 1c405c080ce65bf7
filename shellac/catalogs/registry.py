"""Model registry: rules in models.toml that pick a model bundle for a catalog row from its fields."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shellac.catalogs.errors import CatalogError
from shellac.catalogs.schema import Recording

REGISTRY_FILE = "models.toml"
MATCH_FIELDS = ("content", "performer", "voice")


class ModelRule(BaseModel):
    """Pick ``model`` for rows whose fields all match (a field left out matches anything)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, description="Bundle key in the models directory.")
    content: tuple[str, ...] = ()
    performer: tuple[str, ...] = ()
    voice: tuple[str, ...] = ()
    note: str = ""

    @field_validator("content", "performer", "voice", mode="before")
    @classmethod
    def _as_tuple(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    def matches(self, recording: Recording) -> bool:
        """Whether every condition of the rule holds for ``recording`` (case-insensitive)."""
        for name in MATCH_FIELDS:
            wanted = getattr(self, name)
            if wanted and getattr(recording, name).strip().lower() not in {w.lower() for w in wanted}:
                return False
        return True

    def describe(self) -> str:
        """The rule's conditions, e.g. ``voice=tenor``."""
        parts = [f"{n}={'|'.join(getattr(self, n))}" for n in MATCH_FIELDS if getattr(self, n)]
        return " & ".join(parts) or "any row"


@dataclass(frozen=True)
class ModelChoice:
    """The model chosen for a row and why (an explicit catalog value or a rule)."""

    model: str
    reason: str


@dataclass(frozen=True)
class ModelRegistry:
    """Ordered rules; the first that matches a row wins. An explicit ``model`` column beats all."""

    rules: tuple[ModelRule, ...] = ()
    source: Path | None = None

    def choose(self, recording: Recording) -> ModelChoice | None:
        """The model for ``recording``, or None when no rule applies (the profile's default stands)."""
        if recording.model:
            return ModelChoice(recording.model, "catalog column 'model'")
        for index, rule in enumerate(self.rules, start=1):
            if rule.matches(recording):
                where = f"{self.source.name} " if self.source else ""
                return ModelChoice(rule.model, f"{where}rule {index} ({rule.describe()})")
        return None

    @property
    def models(self) -> tuple[str, ...]:
        """Every model key the rules name."""
        return tuple(dict.fromkeys(rule.model for rule in self.rules))


def find_registry(catalog_dir: Path) -> Path | None:
    """``models.toml`` in the catalog directory, else in its parent (shared by collections)."""
    for folder in (Path(catalog_dir), Path(catalog_dir).parent):
        if (folder / REGISTRY_FILE).is_file():
            return folder / REGISTRY_FILE
    return None


def load_registry(path: Path | None) -> ModelRegistry:
    """Parse a models.toml (``[[rule]]`` tables); ``None`` gives an empty registry."""
    if path is None:
        return ModelRegistry()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        rules = tuple(ModelRule(**rule) for rule in raw.get("rule", []))
    except (OSError, tomllib.TOMLDecodeError, ValidationError, TypeError) as exc:
        raise CatalogError(f"{path}: {exc}") from exc
    unknown = set(raw) - {"rule"}
    if unknown:
        raise CatalogError(f"{path}: unknown tables {sorted(unknown)}; models.toml holds [[rule]] tables")
    return ModelRegistry(rules=rules, source=Path(path))
