"""The validated form of one catalog row: a recording and its descriptive metadata."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Content = Literal["piano", "voice", "voice+accompaniment"]
CONTENT_TYPES: tuple[str, ...] = ("piano", "voice", "voice+accompaniment")

# Columns with a meaning to Shellac; any other column is kept verbatim in ``extra``.
KNOWN_COLUMNS: tuple[str, ...] = (
    "id", "file", "title", "performer", "year", "label", "matrix", "content", "voice", "model",
    "profile", "reference", "notes",
)

# Names Shellac itself uses in a collection's output folder; a recording id must not take one
# (compared without case: some file systems do not tell case apart).
RESERVED_IDS: frozenset[str] = frozenset({
    "summary.json", "report.html", "catalog-errors.json", "runs", "withdrawn", "profiles", "report-audio",
})
# Metadata limits, UTF-8 bytes: a job travels as a Prefect parameter (512 kB at most), and
# tags this large help no one. Longer texts belong in a file the catalog points to.
MAX_FIELD_BYTES = 16 * 1024
MAX_ROW_BYTES = 64 * 1024
# A model key or profile name is one plain name: never a path out of its folder.
PLAIN_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Recording(BaseModel):
    """One recording of a collection, as listed in its catalog.csv."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
        description="Unique id; names the work directory, so letters, digits, '.', '_', '-' only.",
    )
    file: str = Field(min_length=1, description="Master file, relative to the source root.")
    title: str = ""
    performer: str = ""
    year: int | None = Field(default=None, ge=1850, le=2100)
    label: str = Field(default="", description="Record label.")
    matrix: str = Field(default="", description="Matrix and take number, e.g. 'B-8347-2'.")
    content: Content = Field(description="piano | voice | voice+accompaniment")
    voice: str = Field(default="", description="Voice type (tenor, soprano...), for model choice.")
    model: str = Field(default="", description="Explicit model key (a bundle folder's name), "
                       "overriding the registry.")
    profile: str = Field(default="", description="Explicit profile name, overriding the collection's.")
    reference: str = Field(
        default="", description="The instrument's or singer's clean reference for the EQ and generative "
        "stages: a folder of clean recordings or a .json LTAS file (relative to the catalog directory), "
        "or 'model:<key>'; overrides the profile's, the collection's and the registry's.")
    notes: str = ""
    line: int = Field(ge=2, description="Line number in catalog.csv (the header is line 1).")
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.lower() in RESERVED_IDS:
            raise ValueError(
                f"id {value!r} is reserved (Shellac writes {value.lower()} in the collection's output "
                "folder); choose another id"
            )
        return value

    @field_validator("model", "profile")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if value and not re.fullmatch(PLAIN_NAME, value):
            raise ValueError(
                f"{value!r} must be a plain name (letters, digits, '.', '_', '-'), not a path"
            )
        return value

    @model_validator(mode="after")
    def _bounded_metadata(self) -> Recording:
        values = {**self.metadata(), "file": self.file}
        for name, value in values.items():
            size = len(value.encode("utf-8"))
            if size > MAX_FIELD_BYTES:
                raise ValueError(
                    f"column {name!r} holds {size} bytes, over the {MAX_FIELD_BYTES}-byte limit per "
                    "field; shorten it or keep the long text in a file the row names"
                )
        total = sum(len(k.encode("utf-8")) + len(v.encode("utf-8")) for k, v in values.items())
        if total > MAX_ROW_BYTES:
            raise ValueError(
                f"the row holds {total} bytes of metadata, over the {MAX_ROW_BYTES}-byte limit per row; "
                "shorten its fields"
            )
        return self

    @field_validator("reference")
    @classmethod
    def _reference_form(cls, value: str) -> str:
        if value.startswith("model:") and not re.fullmatch(PLAIN_NAME, value[len("model:"):]):
            raise ValueError(f"reference {value!r}: a model reference is 'model:' and a plain bundle name")
        return value

    @field_validator("file")
    @classmethod
    def _relative_inside_root(cls, value: str) -> str:
        path = PurePosixPath(value.replace("\\", "/"))
        if path.is_absolute() or (len(value) > 1 and value[1] == ":"):
            raise ValueError(f"file {value!r} must be relative to the collection's source root")
        if ".." in path.parts:
            raise ValueError(f"file {value!r} escapes the source root ('..' is not allowed)")
        return value

    def metadata(self) -> dict[str, str]:
        """Descriptive fields as strings (for tags), empty ones left out, extra columns included."""
        fields = {
            "title": self.title, "performer": self.performer,
            "year": "" if self.year is None else str(self.year), "label": self.label,
            "matrix": self.matrix, "content": self.content, "voice": self.voice,
            "notes": self.notes,
        }
        fields.update(self.extra)
        return {k: v for k, v in fields.items() if v}
