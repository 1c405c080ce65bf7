"""Vocal/accompaniment separation with HT-Demucs (demucs 4.1.0), loaded from a local directory only."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from demucs import pretrained as demucs_pretrained
from demucs.apply import BagOfModels, TensorChunk, apply_model
from demucs.hf import load_safetensors_model
from demucs.htdemucs import HTDemucs
from demucs.repo import BagOnlyRepo, LocalRepo
from demucs.repo import ModelLoadingError as DemucsLoadingError

from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ModelLoadingError, ParameterError, TransientError
from shellac.engine.fixity import sha256_file, sha256_json
from shellac.engine.stream import ChannelStats

VOCALS = "vocals"
# demucs ships the bag definitions (name -> signatures) of its published models, and the
# file names (signature-checksum.th) they are published under; both are read, never fetched.
_PACKAGED_BAGS = demucs_pretrained.REMOTE_ROOT
# Where torch.hub caches downloaded weights inside a TORCH_HOME-like folder.
_HUB_SUBDIRS = (Path("."), Path("hub") / "checkpoints", Path("checkpoints"))


@dataclass(frozen=True)
class ModelFiles:
    """The files one separation model is made of, as found in a local directory.

    ``bag`` is the ``<name>.yaml`` bag definition (``None`` for a single model
    file); ``weights`` are the ``.th`` / ``.safetensors`` files in bag order;
    ``packaged_bag`` tells whether the bag definition is demucs's own (the
    torch-hub cache layout, where only the weights are on disk).
    """

    name: str
    directory: Path
    bag: Path | None
    weights: tuple[Path, ...]
    packaged_bag: bool = False

    def checksum(self) -> str:
        """SHA-256 over the names and contents of every file (the stage's cache key part)."""
        files = ([self.bag] if self.bag is not None else []) + list(self.weights)
        return sha256_json([(p.name, sha256_file(p)) for p in files])


def _published_file_names() -> dict[str, str]:
    # remote/files.txt lists "<sig>-<checksum>.th" under "root:" headers; comments start with '#'.
    names: dict[str, str] = {}
    listing = _PACKAGED_BAGS / "files.txt"
    for line in listing.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "root:")):
            names[line.split("-", 1)[0]] = line
    return names


def _bag_signatures(bag_file: Path) -> list[str]:
    try:
        data = yaml.safe_load(bag_file.read_text(encoding="utf-8"))
        return [str(sig) for sig in data["models"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ModelLoadingError(
            f"{bag_file} is not a demucs bag definition (a 'models:' list): {exc}"
        ) from exc


def _find_weight(folder: Path, sig: str) -> Path | None:
    if not folder.is_dir():
        return None
    exact = [folder / f"{sig}.th", folder / f"{sig}.safetensors"]
    found = [p for p in exact if p.is_file()] + sorted(folder.glob(f"{sig}-*.th"))
    return found[0] if found else None


def _expected_files(directory: Path, name: str) -> str:
    packaged = _PACKAGED_BAGS / f"{name}.yaml"
    if packaged.is_file():
        published = _published_file_names()
        files = [published.get(sig, f"{sig}-<checksum>.th") for sig in _bag_signatures(packaged)]
        return (f"{name}.yaml (demucs's bag definition) and {', '.join(files)} in {directory}/, "
                f"or just {', '.join(files)} there (torch-hub cache layout)")
    return (f"{name}.yaml listing the model signatures plus one <signature>-<checksum>.th per "
            f"signature, or a single {name}.th / {name}-<checksum>.th, in {directory}/")


def find_model_files(directory: Path, name: str) -> ModelFiles:
    """Locate the files of demucs model ``name`` in ``directory``; nothing is downloaded.

    Supported layouts: a demucs local repository (``<name>.yaml`` listing
    signatures plus ``<sig>[-<checksum>].th`` files), the Hugging Face export
    (``<name>.yaml`` plus ``<sig>.safetensors``), a single ``<name>[-<checksum>].th``,
    and a torch-hub cache (only ``<sig>-<checksum>.th`` files of a model whose
    bag definition ships with demucs, in the directory or its ``hub/checkpoints``).

    Raises
    ------
    ModelLoadingError
        If the directory or any file is missing; the message names the files expected.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelLoadingError(
            f"separation model {name!r} is not installed: directory {directory} does not exist. "
            f"Expected {_expected_files(directory, name)}."
        )
    bag = directory / f"{name}.yaml"
    packaged = _PACKAGED_BAGS / f"{name}.yaml"
    if bag.is_file() or not _find_weight(directory, name):
        bag_file = bag if bag.is_file() else packaged
        if not bag_file.is_file():
            raise ModelLoadingError(
                f"separation model {name!r} not found in {directory}: expected "
                f"{_expected_files(directory, name)}."
            )
        folders = [directory] if bag.is_file() else [directory / sub for sub in _HUB_SUBDIRS]
        weights: list[Path] = []
        missing: list[str] = []
        for sig in _bag_signatures(bag_file):
            found = next((w for f in folders if (w := _find_weight(f, sig)) is not None), None)
            if found is None:
                missing.append(sig)
            else:
                weights.append(found)
        if missing:
            raise ModelLoadingError(
                f"separation model {name!r} is incomplete in {directory}: no weights for "
                f"signature(s) {', '.join(missing)}. Expected {_expected_files(directory, name)}."
            )
        return ModelFiles(name, directory, bag if bag.is_file() else None, tuple(weights),
                          packaged_bag=not bag.is_file())
    return ModelFiles(name, directory, None, (_find_weight(directory, name),))  # type: ignore[arg-type]


def load_separation_model(files: ModelFiles) -> torch.nn.Module:
    """Load (and checksum-verify, where the file name carries a checksum) a located model."""
    try:
        if any(w.suffix == ".safetensors" for w in files.weights):
            models = [load_safetensors_model(w) if w.suffix == ".safetensors"
                      else LocalRepo(w.parent).get_model(w.stem.split("-")[0]) for w in files.weights]
            spec: dict[str, Any] = yaml.safe_load(files.bag.read_text()) if files.bag else {}
            model: torch.nn.Module = BagOfModels(models, spec.get("weights"), spec.get("segment"))
        elif files.packaged_bag:
            weights_dir = files.weights[0].parent
            model = BagOnlyRepo(_PACKAGED_BAGS, LocalRepo(weights_dir)).get_model(files.name)
        else:
            model = demucs_pretrained.get_model(files.name, repo=files.directory)
    except (DemucsLoadingError, OSError, RuntimeError, KeyError, ValueError, AssertionError) as exc:
        raise ModelLoadingError(
            f"cannot load separation model {files.name!r} from {files.directory}: {exc} "
            "(corrupt or truncated weights? replace the files)"
        ) from exc
    model.eval()
    return model


def model_segment_s(model: torch.nn.Module) -> float:
    """Longest segment in seconds the model accepts (HT-Demucs is trained on fixed lengths)."""
    if isinstance(model, BagOfModels):
        return float(model.max_allowed_segment)
    if isinstance(model, HTDemucs):
        return float(model.segment)
    return float("inf")


@contextmanager
def _seeded_python_random(seed: int) -> Iterator[None]:
    # apply_model draws its time shifts from the global `random` module; seeding it (and
    # putting the old state back) makes shifts > 0 reproducible without side effects.
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def _fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    if audio.shape[-1] >= frames:
        return audio[..., :frames]
    return np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(0, frames - audio.shape[-1])])


# The normalisation statistics are summed over blocks of this many seconds (at the model's
# rate), in the in-memory and the file paths alike, so both normalise with the same numbers.
STATS_BLOCK_S = 30.0


def check_settings(model: torch.nn.Module, segment_s: float | None, overlap: float, device: str) -> None:
    """Refuse a segment longer than the model's, an overlap outside [0, 1) and CUDA without a GPU."""
    limit = model_segment_s(model)
    if segment_s is not None and segment_s > limit:
        raise ParameterError(f"segment {segment_s} s is longer than the model's {limit:.2f} s; lower it")
    if not 0 <= overlap < 1:
        raise ParameterError(f"overlap must be in [0, 1), got {overlap}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"device {device!r} requested but no CUDA device is available; use 'cpu'")


def normalisation(ref_blocks: Iterable[np.ndarray]) -> tuple[float, float]:
    """Mean and standard deviation (+1e-8) of the mono reference, given as consecutive 1-D blocks.

    demucs's own API normalises the mixture to zero mean and unit std of its
    channel mean; sums run in float64 over blocks of ``STATS_BLOCK_S``, so a file
    read block by block gives the same two numbers as the whole array.
    """
    stats = ChannelStats()
    for block in ref_blocks:
        stats.update(block[None, :])
    return float(stats.mean[0]), float(stats.std[0]) + 1e-8


def apply_separation(
    model: torch.nn.Module, mix: torch.Tensor | TensorChunk, *, segment_s: float | None, overlap: float,
    device: str, shifts: int, seed: int,
) -> torch.Tensor:
    """demucs's ``apply_model`` (split into segments) with its shifts drawn from ``seed``."""
    try:
        with _seeded_python_random(seed), torch.no_grad():
            return apply_model(model, mix, shifts=shifts, split=True, overlap=overlap, device=device,
                               segment=segment_s, progress=False)
    except torch.cuda.OutOfMemoryError as exc:
        raise TransientError(f"out of GPU memory during separation; retry or lower segment: {exc}") from exc


def to_channels(audio: np.ndarray, channels: int) -> np.ndarray:
    """(channels, frames) audio on ``channels`` channels: mono duplicated, or channels averaged to mono."""
    if audio.shape[0] == channels:
        return audio
    if audio.shape[0] == 1:
        return np.repeat(audio, channels, axis=0)
    if channels == 1:
        return audio.mean(axis=0, keepdims=True)
    raise ParameterError(f"cannot map {audio.shape[0]} audio channels onto the model's {channels}")


def separate_sources(
    audio: np.ndarray,
    sample_rate: int,
    model: torch.nn.Module,
    *,
    segment_s: float | None = None,
    overlap: float = 0.25,
    device: str = "cpu",
    shifts: int = 0,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Split (channels, frames) audio into the model's sources, at the input's rate and layout.

    Holds the whole recording (and every source at the model's rate) in memory;
    ``engine.separation_stream.separate_file`` gives the same samples for a file
    in bounded memory.

    Parameters
    ----------
    audio
        Float audio shaped (channels, frames); mono is duplicated for a stereo model
        and each source is folded back to mono afterwards.
    sample_rate
        Rate of ``audio`` in Hz; the audio is resampled to the model's rate and back.
    segment_s
        Chunk length in seconds (at most the model's training segment); ``None`` uses it.
    overlap
        Fraction of each chunk overlapping the next (0 to <1).
    shifts
        Random time shifts averaged (demucs's shift trick); drawn from ``seed``.

    Returns
    -------
    dict
        Source name -> float32 (channels, frames) with the input's channels and frame count.
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    channels, frames = x.shape
    check_settings(model, segment_s, overlap, device)
    rate = int(model.samplerate)
    mix = to_channels(resample(x, sample_rate, rate), int(model.audio_channels))
    ref = mix.mean(axis=0)
    block = int(STATS_BLOCK_S * rate)
    mean, std = normalisation(ref[i:i + block] for i in range(0, ref.size, block))
    tensor = torch.from_numpy((mix - mean) / std)[None]
    out = apply_separation(model, tensor, segment_s=segment_s, overlap=overlap, device=device,
                           shifts=shifts, seed=seed)
    stems = (out[0].cpu().numpy().astype(np.float64) * std + mean)
    result: dict[str, np.ndarray] = {}
    for name, stem in zip(model.sources, stems, strict=True):
        back = _fit_length(resample(stem, rate, sample_rate), frames)
        result[str(name)] = to_channels(back, channels).astype(np.float32)
    return result


def vocals_and_accompaniment(sources: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Group separated sources into ``vocals`` and ``accompaniment`` (the sum of all the others)."""
    if VOCALS not in sources:
        raise ModelLoadingError(f"separation model has no 'vocals' source (it has {sorted(sources)})")
    others = [stem for name, stem in sources.items() if name != VOCALS]
    accompaniment = np.sum(others, axis=0, dtype=np.float64).astype(np.float32)
    return {"vocals": sources[VOCALS], "accompaniment": accompaniment}
