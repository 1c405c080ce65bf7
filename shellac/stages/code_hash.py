"""Code hashes: the normalised source of a stage and of every Shellac module it imports, in one sha256."""

from __future__ import annotations

import ast
import hashlib
import importlib.machinery
import importlib.util
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import TYPE_CHECKING

from shellac.engine.errors import ShellacError

if TYPE_CHECKING:  # the Stage record pulls in torch; hashing reads files only
    from shellac.stages.base import Stage

PACKAGE = "shellac"


class CodeHashError(ShellacError):
    """A module a stage imports cannot be found or read as Python source."""


@dataclass(frozen=True)
class ModuleSource:
    """One module as hashed: the sha256 of its normalised source and the modules it names."""

    name: str
    digest: str
    imports: frozenset[str]  # X of each ``import X``
    from_imports: frozenset[tuple[str, tuple[str, ...]]]  # (X, names) of each ``from X import ...``, absolute


def normalised_source(tree: ast.Module) -> str:
    """A module's syntax tree, docstrings removed (in place), as one canonical string.

    Formatting, comments and line numbers are not in the tree, and docstrings (every
    statement that is a bare string, which Python evaluates and discards) are removed,
    so reformatting or re-documenting code keeps its hash and reruns no archive's work:
    outputs depend on what the code does, and a docstring reaches an output only
    through ``__doc__``, which no stage writes. Fields that are ``None`` or empty are
    left out (as ``ast.dump`` does from Python 3.13), so a field a newer interpreter
    adds to its grammar (3.12's ``type_params``) changes no hash of code that does not
    use it.
    """
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            node.body = [s for s in body if not _is_bare_string(s)]  # type: ignore[attr-defined]
    return _canonical(tree)


def _is_bare_string(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(
        stmt.value.value, str)


def _canonical(node: object) -> str:
    if isinstance(node, ast.AST):
        fields = ",".join(f"{field}={_canonical(value)}" for field, value in ast.iter_fields(node)
                          if value is not None and value != [])
        return f"{type(node).__name__}({fields})"
    if isinstance(node, list):
        return "[" + ",".join(_canonical(item) for item in node) + "]"
    return repr(node)


def _import_statements(
    tree: ast.Module, name: str, is_package: bool
) -> tuple[set[str], set[tuple[str, tuple[str, ...]]]]:
    """The X of each ``import X`` and the (X, names) of each ``from X import names`` in module ``name``.

    Every import statement counts, at module level or inside functions, and under
    ``if TYPE_CHECKING:`` too (a reference, not a run-time import: hashing it errs
    towards rerunning). Relative imports are made absolute.
    """
    package = name if is_package else name.rpartition(".")[0]
    modules: set[str] = set()
    from_imports: set[tuple[str, tuple[str, ...]]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{node.module}" if node.module else anchor
            else:
                base = node.module or ""
            from_imports.add((base, tuple(sorted(alias.name for alias in node.names))))
    return modules, from_imports


class CodeHasher:
    """Hashes the code behind modules and what they import of chosen packages, reading each file once.

    What a hash covers: the named (root) modules, every module they import
    (``import``/``from ... import`` anywhere in the file, relative imports resolved,
    a package as its ``__init__``) that belongs to ``packages`` or to a root's own
    top-level package (a stage defined in a test or a plug-in), transitively, and the
    ``__init__`` of every package enclosing one of those modules below the top level
    (Python runs them on import, and they may register things, such as network
    families). A top-level ``__init__`` (Shellac's holds the release number) counts
    only where a module imports it by name, so a release does not rerun every stage.
    Not covered, by design: modules of other distributions (torch, numpy, scipy,
    mutagen: their versions are pinned by the lock file), data files read at run time
    (stages fingerprint their models and reference data; parameters are in the key),
    and imports by computed name (``importlib.import_module(variable)``; Shellac has none).

    Files are found through the import system (``importlib.util.find_spec`` for the
    top level, ``PathFinder`` below it) without importing anything, so hashing works
    without torch or Prefect loaded. The hash is over sorted module names and their
    normalised sources, never paths, so two checkouts of the same code agree. Each file
    is read once in the hasher's life: the module's own hasher reads it at the process's
    first cache key, so an edit made while a worker runs (code it has already
    imported) is picked up by the next process, not half-way.
    """

    def __init__(self, packages: tuple[str, ...] = (PACKAGE,)) -> None:
        self.packages = packages
        self._specs: dict[str, ModuleSpec | None] = {}
        self._sources: dict[str, ModuleSource] = {}
        self._digests: dict[tuple[str, ...], str] = {}

    def _spec(self, name: str) -> ModuleSpec | None:
        if name not in self._specs:
            parent, _, _ = name.rpartition(".")
            if not parent:
                try:
                    self._specs[name] = importlib.util.find_spec(name)
                except ValueError:  # __main__ and other modules without a spec
                    self._specs[name] = None
            else:
                parent_spec = self._spec(parent)
                locations = None if parent_spec is None else parent_spec.submodule_search_locations
                self._specs[name] = (None if locations is None
                                     else importlib.machinery.PathFinder.find_spec(name, list(locations)))
        return self._specs[name]

    def module(self, name: str) -> ModuleSource:
        """The hashed source of module ``name``."""
        if name in self._sources:
            return self._sources[name]
        spec = self._spec(name)
        if spec is None:
            raise CodeHashError(f"module {name!r} is imported but cannot be found; is the checkout complete?")
        is_package = spec.submodule_search_locations is not None
        if spec.origin is None and is_package:  # a namespace package: no code of its own
            source: str | bytes = ""
        elif spec.origin is not None and spec.origin.endswith(".py"):
            try:
                source = Path(spec.origin).read_bytes()
            except OSError as exc:
                raise CodeHashError(f"cannot read the source of {name!r} ({exc})") from exc
        else:
            raise CodeHashError(f"module {name!r} has no Python source to hash (origin {spec.origin!r})")
        tree = ast.parse(source, filename=name)
        modules, from_imports = _import_statements(tree, name, is_package)
        digest = hashlib.sha256(normalised_source(tree).encode()).hexdigest()
        self._sources[name] = ModuleSource(name, digest, frozenset(modules), frozenset(from_imports))
        return self._sources[name]

    def closure(self, roots: Iterable[str]) -> list[str]:
        """Sorted names of ``roots`` and every module they pull in (see the class)."""
        roots = list(roots)
        followed = set(self.packages) | {root.partition(".")[0] for root in roots}
        seen: set[str] = set()
        todo = roots
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            source = self.module(name)
            todo.extend(m for m in source.imports if m.partition(".")[0] in followed)
            for base, names in source.from_imports:
                if base.partition(".")[0] in followed:
                    todo.extend(self._from_import_modules(base, names))
            parts = name.split(".")
            todo.extend(".".join(parts[:n]) for n in range(2, len(parts)))
        return sorted(seen)

    def _from_import_modules(self, base: str, names: tuple[str, ...]) -> list[str]:
        """What ``from base import names`` runs: each name that is a submodule, and ``base``
        itself when a name is defined there (or for ``*``)."""
        submodules = [f"{base}.{n}" for n in names if n != "*" and self._spec(f"{base}.{n}") is not None]
        return submodules if len(submodules) == len(names) else [*submodules, base]

    def digest(self, roots: Iterable[str]) -> str:
        """sha256 (hex) over the sorted names and normalised sources of ``closure(roots)``."""
        key = tuple(sorted(set(roots)))
        if key not in self._digests:
            listing = [[name, self.module(name).digest] for name in self.closure(key)]
            self._digests[key] = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
        return self._digests[key]


_HASHER = CodeHasher()


def stage_modules(stage: Stage) -> tuple[str, ...]:
    """The modules defining the stage's run, fingerprint and OOM fallback and its parameter class."""
    parts = (stage.run, stage.fingerprint, stage.oom_fallback, stage.params_cls)
    return tuple(sorted({str(part.__module__) for part in parts if part is not None}))


def stage_code_hash(stage: Stage) -> str:
    """sha256 of the code behind ``stage``: its modules and all they import of Shellac, normalised.

    Computed once per process (see ``CodeHasher``); part of the stage's cache key.
    """
    return _HASHER.digest(stage_modules(stage))
