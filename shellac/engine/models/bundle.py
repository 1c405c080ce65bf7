"""Save and load model bundles: weights, config, reference LTAS and card, checksum-verified."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from shellac.engine.atomic import atomic_write_json, fsync_dir, fsync_file
from shellac.engine.dsp.ltas import Ltas
from shellac.engine.errors import ModelLoadingError, ParameterError, ShellacError
from shellac.engine.fixity import sha256_file as file_sha256
from shellac.engine.models.card import BUNDLE_FORMAT_VERSION, BundleConfig, ModelCard
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.networks.registry import (
    NetworkFamily,
    config_to_json,
    get_network_family,
    network_families,
)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
LTAS_FILE = "ltas.json"
CARD_FILE = "card.json"
BUNDLE_FILES = (WEIGHTS_FILE, CONFIG_FILE, LTAS_FILE, CARD_FILE)
SUPPORTED_FORMAT_VERSIONS = frozenset({BUNDLE_FORMAT_VERSION})

_LAYOUT = (
    "a model bundle is a directory holding model.safetensors (weights), config.json "
    "(network and sampling config), ltas.json (reference LTAS) and card.json (description "
    "and checksum)"
)
_REEXPORT = "re-export it with `shellac models import`, or copy the bundle again from its source"


def build_network(config: BundleConfig) -> nn.Module:
    """Build a freshly initialised network of ``config.family`` from ``config.network``.

    Raises
    ------
    ModelLoadingError
        If the family is not registered or its config does not validate.
    """
    family, net_config = _resolve_family(config)
    return family.build_fn(net_config)


def _resolve_family(config: BundleConfig) -> tuple[NetworkFamily, Any]:
    try:
        family = get_network_family(config.family)
    except KeyError:
        raise ModelLoadingError(
            f"network family {config.family!r} in {CONFIG_FILE} is not registered (known: "
            f"{', '.join(network_families())}); import the module that registers it with "
            "register_network_family, or re-export the bundle with `shellac models import`"
        ) from None
    try:
        return family, family.parse_config(config.network)
    except (TypeError, ValueError, ShellacError) as exc:
        raise ModelLoadingError(
            f"the {config.family!r} network config in {CONFIG_FILE} is invalid: {exc}"
        ) from exc


def save_bundle(
    directory: Path,
    network: nn.Module,
    config: BundleConfig,
    card: ModelCard,
    reference_ltas: Ltas | Mapping[str, Any],
    *,
    overwrite: bool = False,
) -> Path:
    """Write a model bundle atomically: into a hidden temporary directory, then renamed.

    Parameters
    ----------
    directory:
        Bundle directory to create (conventionally ``<models dir>/<name>/``).
    network:
        Raw network whose ``state_dict`` is saved (pass the EMA weights for inference).
    config:
        Family, network config, sample rate (Hz), segment length (samples), sigma_data.
    card:
        Description; its ``weights_sha256`` is replaced by the checksum of the file written.
    reference_ltas:
        Reference LTAS of the training set, an :class:`Ltas` or its JSON dict.
    overwrite:
        Replace an existing bundle at ``directory``.

    Returns
    -------
    Path
        ``directory``. On any failure nothing is left behind and an existing bundle is kept.

    Raises
    ------
    ParameterError
        If the parts disagree (sample rate, segment length, network vs config) or
        ``directory`` exists and ``overwrite`` is false.
    """
    target = Path(directory)
    if target.exists() and not overwrite:
        raise ParameterError(f"{target} already exists; pass overwrite=True to replace it")
    ltas = _as_ltas(reference_ltas)
    _check_consistent(network, config, card, ltas)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    tmp.mkdir()
    try:
        state = {k: v.detach().to("cpu").contiguous().clone() for k, v in network.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"family": config.family})
        fsync_file(tmp / WEIGHTS_FILE)
        sealed_card = card.model_copy(update={"weights_sha256": file_sha256(tmp / WEIGHTS_FILE)})
        atomic_write_json(tmp / CONFIG_FILE, config.model_dump(mode="json"))
        atomic_write_json(tmp / LTAS_FILE, ltas.to_json_dict())
        atomic_write_json(tmp / CARD_FILE, sealed_card.model_dump(mode="json"))
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def rewrite_card(directory: Path, updates: Mapping[str, Any]) -> Path:
    """Rewrite bundle ``directory`` with ``updates`` (field: value) in its card, through :func:`save_bundle`.

    The weights, config and reference LTAS are written back unchanged, so the weights'
    sha256 is re-sealed to the same value and :func:`bundle_checksum` does not change;
    the write is atomic, and an existing bundle is kept on failure.
    """
    bundle = load_bundle(directory)
    card = bundle.card.model_copy(update=dict(updates))
    return save_bundle(directory, bundle.network, bundle.config, card, bundle.reference_ltas, overwrite=True)


def load_bundle(directory: Path, device: str | torch.device = "cpu") -> LoadedBundle:
    """Load and verify a model bundle.

    Parameters
    ----------
    directory:
        The bundle directory.
    device:
        Device the network is moved to.

    Raises
    ------
    ModelLoadingError
        If a file is missing or malformed, the format version is unknown, the weights'
        sha256 differs from the card's, or the weights do not fit the configured network.
    """
    root = _bundle_dir(directory)
    config = read_config(root)
    card = read_card(root)
    ltas = read_reference_ltas(root)
    problem = _metadata_disagreement(config, card, ltas)
    if problem:
        raise ModelLoadingError(f"model bundle {root} is inconsistent: {problem}; {_REEXPORT}")

    weights = _require_file(root / WEIGHTS_FILE)
    if card.weights_sha256 is None:
        raise ModelLoadingError(
            f"{root / CARD_FILE} records no weights_sha256, so {weights} cannot be verified; {_REEXPORT}"
        )
    actual = file_sha256(weights)
    if actual != card.weights_sha256:
        raise ModelLoadingError(
            f"checksum mismatch: {weights} has sha256 {actual} but {CARD_FILE} records "
            f"{card.weights_sha256}; the weights are damaged or were replaced. {_REEXPORT}"
        )
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadingError(f"{weights} is not a readable safetensors file ({exc}); {_REEXPORT}") from exc

    network = build_network(config)
    _check_state_fits(network, state, weights, config.family)
    network.load_state_dict(state, strict=True)
    network.to(device).eval()
    return LoadedBundle(
        directory=root,
        network=network,
        config=config,
        card=card,
        reference_ltas=ltas,
        checksum=_combined_checksum(actual, config, ltas),
    )


def bundle_checksum(directory: Path) -> str:
    """Hex sha256 identifying everything in a bundle that affects its outputs.

    It covers the weights file, config.json and ltas.json (canonical JSON), not the
    card, so it changes exactly when restorations could change; use it in cache keys
    and provenance. The weights-only sha256 is ``read_card(directory).weights_sha256``.
    """
    root = _bundle_dir(directory)
    config = read_config(root)
    ltas = read_reference_ltas(root)
    return _combined_checksum(file_sha256(_require_file(root / WEIGHTS_FILE)), config, ltas)


def read_card(directory: Path) -> ModelCard:
    """Read card.json of a bundle without touching the weights."""
    path = _bundle_dir(directory) / CARD_FILE
    try:
        return ModelCard.model_validate(_read_json(path))
    except ValidationError as exc:
        raise ModelLoadingError(f"{path} is not a valid model card: {exc}; {_REEXPORT}") from exc


def read_config(directory: Path) -> BundleConfig:
    """Read and validate config.json of a bundle, rejecting unknown format versions."""
    path = _bundle_dir(directory) / CONFIG_FILE
    raw = _read_json(path)
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if version not in SUPPORTED_FORMAT_VERSIONS:
        raise ModelLoadingError(
            f"{path} has format_version {version!r}; this Shellac reads version(s) "
            f"{sorted(SUPPORTED_FORMAT_VERSIONS)}. Upgrade Shellac, or re-export the bundle "
            "with `shellac models import`"
        )
    try:
        return BundleConfig.model_validate(raw)
    except ValidationError as exc:
        raise ModelLoadingError(f"{path} is not a valid bundle config: {exc}; {_REEXPORT}") from exc


def read_reference_ltas(directory: Path) -> Ltas:
    """Read ltas.json of a bundle (the training set's reference LTAS)."""
    path = _bundle_dir(directory) / LTAS_FILE
    raw = _read_json(path)
    try:
        ltas = Ltas.from_json_dict(raw)
    except (ParameterError, AttributeError) as exc:
        raise ModelLoadingError(
            f"{path} is not a valid LTAS (expected {{'sample_rate': int, 'n_fft': int, "
            f"'power': [n_fft // 2 + 1 floats]}}): {exc}; {_REEXPORT}"
        ) from exc
    if not np.all(np.isfinite(ltas.power)) or np.any(ltas.power < 0):
        raise ModelLoadingError(f"{path} has negative or non-finite power values; {_REEXPORT}")
    return ltas


# --- helpers ---------------------------------------------------------------------------


def _bundle_dir(directory: Path) -> Path:
    root = Path(directory)
    if not root.is_dir():
        raise ModelLoadingError(
            f"no model bundle at {root}: {_LAYOUT}. Put the bundle directory under "
            "<models dir>/<name>/ (e.g. models/piano-small/) or pass the right path"
        )
    return root


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise ModelLoadingError(
            f"model bundle {path.parent} is missing {path.name}: {_LAYOUT}. Copy the complete "
            "bundle directory again, or re-export it with `shellac models import`"
        )
    return path


def _read_json(path: Path) -> Any:
    _require_file(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadingError(f"{path} cannot be read as JSON ({exc}); {_REEXPORT}") from exc


def _as_ltas(reference_ltas: Ltas | Mapping[str, Any]) -> Ltas:
    if isinstance(reference_ltas, Ltas):
        return reference_ltas
    return Ltas.from_json_dict(dict(reference_ltas))


def _metadata_disagreement(config: BundleConfig, card: ModelCard, ltas: Ltas) -> str:
    """Describe how card.json and ltas.json disagree with config.json ('' if they agree)."""
    for field in ("sample_rate", "segment_length"):
        if getattr(card, field) != getattr(config, field):
            return (
                f"{CARD_FILE} gives {field} {getattr(card, field)} but {CONFIG_FILE} gives "
                f"{getattr(config, field)}"
            )
    if ltas.sample_rate != config.sample_rate:
        return f"{LTAS_FILE} is at {ltas.sample_rate} Hz but the model at {config.sample_rate} Hz"
    return ""


def _check_consistent(network: nn.Module, config: BundleConfig, card: ModelCard, ltas: Ltas) -> None:
    """Refuse to write a bundle whose parts disagree (it would fail to load later)."""
    problem = _metadata_disagreement(config, card, ltas)
    if problem:
        raise ParameterError(f"cannot save the bundle: {problem}")
    try:
        family, net_config = _resolve_family(config)
    except ModelLoadingError as exc:
        raise ParameterError(f"cannot save the bundle: {exc}") from None
    multiple = getattr(network, "length_multiple", None)
    if isinstance(multiple, int) and config.segment_length % multiple:
        raise ParameterError(
            f"cannot save the bundle: segment_length {config.segment_length} samples is not a "
            f"multiple of the network's length_multiple {multiple}"
        )
    own = getattr(network, "config", None)
    # Shapes alone would miss e.g. a different number of attention heads.
    if isinstance(own, family.config_cls) and config_to_json(own) != config.network:
        raise ParameterError("cannot save the bundle: config.network differs from network.config")
    # The meta device builds the reference network without allocating its weights.
    try:
        with torch.device("meta"):
            reference = family.build_fn(net_config)
    except (RuntimeError, NotImplementedError, TypeError):
        reference = family.build_fn(net_config)
    problems = _state_differences(reference.state_dict(), network.state_dict())
    if problems:
        raise ParameterError(f"cannot save the bundle: network does not match config: {problems}")


def _state_differences(expected: Mapping[str, torch.Tensor], got: Mapping[str, torch.Tensor]) -> str:
    """Readable summary of missing/unexpected keys and shape mismatches ('' if none)."""
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    shapes = [
        f"{k}: expected {tuple(expected[k].shape)}, got {tuple(got[k].shape)}"
        for k in sorted(set(expected) & set(got))
        if tuple(expected[k].shape) != tuple(got[k].shape)
    ]
    parts = []
    for label, items in (
        ("missing keys", missing),
        ("unexpected keys", unexpected),
        ("shape mismatches", shapes),
    ):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            parts.append(f"{label} {items[:5]}{more}")
    return "; ".join(parts)


def _check_state_fits(
    network: nn.Module, state: Mapping[str, torch.Tensor], weights: Path, family: str
) -> None:
    problems = _state_differences(network.state_dict(), state)
    if problems:
        raise ModelLoadingError(
            f"{weights} does not fit the {family!r} network described in {CONFIG_FILE}: "
            f"{problems}. The weights and config.json come from different models; "
            "re-export the bundle with `shellac models import`"
        )


def _combined_checksum(weights_sha: str, config: BundleConfig, ltas: Ltas) -> str:
    digest = hashlib.sha256(f"shellac-bundle-v{config.format_version}\n{weights_sha}\n".encode())
    for part in (config.model_dump(mode="json"), ltas.to_json_dict()):
        digest.update(json.dumps(part, sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename the finished temporary directory to ``target``, replacing an old bundle."""
    old: Path | None = None
    if target.exists():
        # A directory cannot be renamed over a non-empty one: move the old one aside first.
        old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.old")
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        raise
    fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

