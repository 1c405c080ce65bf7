"""Held-out excerpts through the production chain (profiles, chain executor), scored against the truth."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from shellac.catalogs import Catalog, CollectionConfig, Recording
from shellac.catalogs.registry import load_registry
from shellac.engine.atomic import atomic_path
from shellac.engine.models.standing import chain_settings
from shellac.jobs import model_overrides
from shellac.lab.degradation import DegradationParams, degrade
from shellac.lab.evaluation.metrics import lsd, si_sdr
from shellac.lab.evaluation.spectral_balance import WITHIN_DB, band_energy_db, ltas_error_db
from shellac.lab.evaluation.visqol import Visqol
from shellac.lab.heldout.chains import heldout_chain
from shellac.lab.heldout.material import HeldoutPart, RenderSpec, corpus_scores, render_excerpt
from shellac.lab.heldout.sung import SungSpec, sing_excerpt, voice_for
from shellac.stages.chain import RecordingJob, job_plan, run_plan
from shellac.stages.profiles import load_plan
from shellac.stages.state import load_state

RECORDING_ID = "x"
MODELS_TOML = Path("catalogs/models.toml")


@dataclass(frozen=True)
class HeldoutExcerpt:
    """One held-out item: clean and degraded mono signals, the chain and its exact response."""

    name: str
    score: str
    clean: np.ndarray
    degraded: np.ndarray
    sample_rate: int
    params: DegradationParams
    response_freqs_hz: np.ndarray
    response_db: np.ndarray
    master: Path
    voice: str = ""  # the singer of a sung excerpt (tenor, soprano); "" for piano


def prepare_excerpts(
    part: HeldoutPart,
    n_excerpts: int,
    seconds: float,
    sample_rate: int,
    seed: int,
    cache: Path,
    *,
    first: int = 0,
    log: Callable[[str], None] = print,
) -> list[HeldoutExcerpt]:
    """Render (or reuse) excerpts ``first``..``n_excerpts``-1 round-robin over the part's works; degrade each.

    A part with a soundfont is played on it (piano); one without is sung, tenor
    and soprano alternating (heldout/sung.py). Excerpt ``i`` draws its render
    from seed (seed, i), its chain from
    (seed, i, 1) and the chain's noise from (seed, i, 2) — (seed, i, 7, 1) and
    (seed, i, 7, 2) for the validation part, so its chains differ from the
    benchmark's: the set is the same on every machine and rerun, and excerpt ``i`` is the same
    whatever ``first`` is (the excerpts before it are neither rendered nor degraded). Degraded
    masters are written as float WAV under ``cache/<name>/``.
    """
    scores = corpus_scores(part.composers)
    excerpts = []
    for i in range(first, n_excerpts):
        score = scores[i % len(scores)]
        voice = "" if part.soundfont else voice_for(i)
        spec: RenderSpec | SungSpec
        if voice:
            spec = SungSpec(score, voice, sample_rate, seconds, int(hashing_seed(seed, i)))
            clean = sing_excerpt(spec, cache / "renders")
        else:
            spec = RenderSpec(score, str(part.soundfont), sample_rate, seconds, int(hashing_seed(seed, i)))
            clean = render_excerpt(spec, cache / "renders")
        # Validation excerpts get chains of their own: settings chosen on them never see a benchmark chain.
        stream = [seed, i] if part.part == "benchmark" else [seed, i, 7]
        params = heldout_chain(np.random.default_rng([*stream, 1]), sample_rate, seconds)
        result = degrade(clean, sample_rate, params, np.random.default_rng([*stream, 2]))
        name = f"{i:02d}-{Path(score).stem}" + (f"-{voice}" if voice else "")
        folder = cache / "excerpts" / f"{name}-{spec.key()}-{_params_key(params)}"
        folder.mkdir(parents=True, exist_ok=True)
        master = folder / "master.wav"
        if not master.is_file():  # written atomically: a killed run never leaves a partial master
            with atomic_path(master) as tmp:
                sf.write(tmp, result.audio.astype(np.float32), sample_rate, subtype="FLOAT", format="WAV")
        log(
            f"excerpt {name}: {score}, lowpass {params.lowpass_hz} Hz, highpass {params.highpass_hz} Hz, "
            f"hiss {params.hiss_snr_db} dB, {result.click_positions_samples.size} clicks"
        )
        excerpts.append(
            HeldoutExcerpt(
                name,
                score,
                clean,
                sf.read(master, dtype="float64")[0],
                sample_rate,
                params,
                result.response.freqs_hz,
                result.response.gain_db,
                master,
                voice,
            )
        )
    return excerpts


def hashing_seed(seed: int, index: int) -> int:
    """A 32-bit seed derived from (seed, index)."""
    return int(np.random.default_rng([seed, index]).integers(0, 2**31 - 1))


def _params_key(params: DegradationParams) -> str:
    return hashlib.sha256(params.model_dump_json().encode()).hexdigest()[:8]


@dataclass(frozen=True)
class ChainRun:
    """A profile with parameter overrides: one way of restoring every excerpt."""

    profile: str
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def key(self) -> str:
        """Folder name of this run's work directory: the profile and its overrides as the stages validate
        them, so one setting written two ways (``6`` and ``6.0`` for a float) names one folder."""
        plan = load_plan(self.profile, overrides={k: dict(v) for k, v in self.overrides.items()})
        overrides = {stage: {name: plan.step(stage).params.model_dump(mode="json")[name] for name in params}
                     for stage, params in self.overrides.items()}
        spec = json.dumps({"profile": self.profile, "overrides": overrides}, sort_keys=True)
        return f"{self.profile}-{hashlib.sha256(spec.encode()).hexdigest()[:10]}"


@dataclass(frozen=True)
class RunOutputs:
    """What one chain run produced for one excerpt (mono at the excerpt's rate)."""

    access: np.ndarray
    generative: np.ndarray | None
    eq: np.ndarray | None  # the EQ stage's output (the generative stage's input), if the profile has one
    gate: dict[str, Any] | None
    seconds: float


def _mono(path: Path, n: int) -> np.ndarray:
    data, _ = sf.read(path, dtype="float64", always_2d=True)
    out = np.zeros(n)
    mono = data.mean(axis=1)[:n]
    out[: mono.size] = mono
    return out


def catalog_run(run: ChainRun, voice: str, registry: Path = MODELS_TOML) -> ChainRun:
    """``run`` as a voice catalog row of singer ``voice``: with the model ``registry`` picks for it.

    The choice goes to ``generative_eq.model`` and to a model-named
    ``ltas_eq`` reference (shellac.jobs.model_overrides); a model the run's
    overrides name stands. Piano excerpts (``voice`` "") run the profile as it
    is: the registry's piano rule names the profile's own model.
    """
    if not voice:
        return run
    folder = registry.parent
    config = CollectionConfig(name="heldout", directory=folder, source_root=folder, output_root=folder)
    catalog = Catalog(folder, config, (), (), load_registry(registry))
    row = Recording(id=RECORDING_ID, file=f"{RECORDING_ID}.wav", content="voice", voice=voice, line=2)
    overrides = {k: dict(v) for k, v in run.overrides.items()}
    return ChainRun(run.profile, model_overrides(catalog, row, run.profile, overrides))


def step_params(run: ChainRun, voice: str = "") -> dict[str, dict[str, Any]]:
    """Parameters of each step ``run`` restores singer ``voice``'s excerpts with (ingest, tag left out)."""
    bound = catalog_run(run, voice)
    plan = load_plan(bound.profile, overrides=bound.overrides)
    return chain_settings((s.stage, s.params.model_dump(mode="json")) for s in plan.steps)


def run_chain(excerpt: HeldoutExcerpt, run: ChainRun, models_dir: Path, *, device: str = "cpu") -> RunOutputs:
    """Restore one excerpt with the chain executor (Prefect-free); finished steps are reused.

    A sung excerpt runs as a voice catalog row of its singer (``catalog_run``).
    """
    run = catalog_run(run, excerpt.voice)
    work = excerpt.master.parent / run.key()
    job = RecordingJob(
        recording_id=RECORDING_ID,
        master_path=str(excerpt.master),
        recording_dir=str(work),
        base_dir=str(Path.cwd()),
        models_dir=str(models_dir),
        profile=run.profile,
        overrides={k: dict(v) for k, v in run.overrides.items()},
        device=device,
    )
    results = run_plan(job, job_plan(job))
    n = excerpt.clean.size
    access = _mono(work / f"{RECORDING_ID}.flac", n)
    state = load_state(work)
    generative = gate = None
    record = state.stages.get("generative_eq") if state else None
    if record is not None and record.status == "done":
        outputs = record.outputs
        raw = outputs.get("generative_rejected") or outputs["audio"]
        generative = _mono(work / raw.path, n)
        gate = record.metrics.get("quality_gate")
    eq_record = state.stages.get("ltas_eq") if state else None
    eq = (_mono(work / eq_record.outputs["audio"].path, n)
          if eq_record is not None and eq_record.status == "done" else None)
    seconds = sum(r.duration_s for r in results)
    return RunOutputs(access, generative, eq, gate, seconds)


def score(excerpt: HeldoutExcerpt, estimate: np.ndarray, visqol: Visqol | None = None) -> dict[str, float]:
    """Every figure of merit of ``estimate`` against the excerpt's clean signal (ViSQOL if given)."""
    sr, p = excerpt.sample_rate, excerpt.params
    clean = excerpt.clean
    perceptual = {} if visqol is None else {"visqol_moslqo": visqol.score(clean, estimate, sr)}
    return {
        **perceptual,
        "lsd_db": lsd(clean, estimate),
        "ltas_err_db": ltas_error_db(clean, estimate, sr, excerpt.response_freqs_hz, excerpt.response_db),
        # Beside it, not instead of it: the same over the bands the music fills (session 33).
        "ltas_err_within30_db": ltas_error_db(clean, estimate, sr, excerpt.response_freqs_hz,
                                              excerpt.response_db, within_db=WITHIN_DB),
        "high_band_db": band_energy_db(clean, estimate, sr, p.lowpass_hz, sr / 2.0),
        # The level the generated band continues from: with high_band_db it tells an over-bright
        # edge of the pass band (the EQ) from a generated band that falls off too slowly.
        "top_octave_db": band_energy_db(clean, estimate, sr, p.lowpass_hz / 2.0, p.lowpass_hz),
        "low_band_db": band_energy_db(clean, estimate, sr, 20.0, p.highpass_hz),
        "si_sdr_db": si_sdr(clean, estimate),
    }
