"""Every stage holds peak memory flat between a 3- and a 20-minute master (slow: run with -m slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ..fixtures.bundles import make_tiny_bundle
from ..fixtures.memory import run_in_child, write_master
from ..fixtures.tiny_demucs import make_tiny_demucs_repo

SAMPLE_RATE = 8000
MINUTES = (3, 20)
# The 20-minute run may use this much more peak RSS than the 3-minute one, MB. One float32 copy
# of the 17 extra minutes is 33 MB mono and 65 MB stereo at 8 kHz (a float64 one twice that),
# so a stage holding any whole signal breaks it; streamed stages differ by a few MB of allocator
# and page-cache noise.
MARGIN_MB = 20.0
# Each layout runs as one chain, every step in its own fresh process, so each stage reads what
# the stage before it wrote, as in production. Stereo covers the stages that keep channels
# apart; the generative stages are measured in mono only, for time.
CHAINS: dict[str, tuple[int, tuple[str, ...]]] = {
    "mono": (1, ("ingest", "declip", "denoise", "inpaint", "separate", "ltas_eq", "generative_eq",
                 "remix", "tag")),
    "stereo": (2, ("ingest", "denoise", "separate", "ltas_eq", "remix", "tag")),
}
# The fewest sampler steps and filter iterations that still run every block of the block loop.
PARAMS: dict[str, dict[str, object]] = {
    "declip": {"model": "tiny", "n_steps": 2},
    "inpaint": {"model": "tiny", "n_steps": 2},
    "generative_eq": {"model": "tiny", "n_steps": 2, "filter_iters": 1},
    "ltas_eq": {"reference": "reference"},
}

Peaks = dict[str, dict[str, dict[int, float]]]


def _profile(stages: tuple[str, ...]) -> str:
    return "".join(f'[[steps]]\nstage = "{stage}"\n' for stage in stages)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Peaks]:
    """Run both chains on both lengths; return the work root and layout -> stage -> minutes -> MB."""
    root = tmp_path_factory.mktemp("memory")
    models = root / "models"
    make_tiny_bundle(models, "tiny", sample_rate=SAMPLE_RATE)
    # At twice the recording's rate, so separation resamples on the way in and out.
    make_tiny_demucs_repo(models / "demucs", samplerate=2 * SAMPLE_RATE)
    (root / "reference").mkdir()
    sf.write(root / "reference" / "clean.wav",
             0.1 * np.random.default_rng(1).standard_normal(SAMPLE_RATE * 10), SAMPLE_RATE)
    (root / "profiles").mkdir()
    peaks: Peaks = {}
    for layout, (channels, stages) in CHAINS.items():
        (root / "profiles" / f"{layout}.toml").write_text(_profile(stages))
        peaks[layout] = {stage: {} for stage in stages}
        for minutes in MINUTES:
            name = f"{layout}{minutes}"
            write_master(root / f"{name}.wav", minutes, SAMPLE_RATE, channels=channels)
            job = {"recording_id": name, "master_path": str(root / f"{name}.wav"),
                   "recording_dir": str(root / name), "base_dir": str(root), "models_dir": str(models),
                   "profile": layout, "profile_dirs": [str(root / "profiles")],
                   "overrides": {stage: PARAMS[stage] for stage in stages if stage in PARAMS}}
            for index, stage in enumerate(stages):
                run = run_in_child(job, root / f"{name}.json", step=index)
                peaks[layout][stage][minutes] = run.peak_rss_mb
    print("\npeak RSS (MB):", json.dumps(peaks))
    return root, peaks


CASES = [pytest.param(layout, stage, id=f"{layout}-{stage}")
         for layout, (_, stages) in CHAINS.items() for stage in stages]


@pytest.mark.slow
@pytest.mark.parametrize(("layout", "stage"), CASES)
def test_stage_peak_memory_does_not_grow_with_length(
    runs: tuple[Path, Peaks], layout: str, stage: str
) -> None:
    short, long = runs[1][layout][stage][MINUTES[0]], runs[1][layout][stage][MINUTES[1]]
    assert long - short <= MARGIN_MB, f"{stage} ({layout}): {short:.0f} MB at 3 min, {long:.0f} MB at 20 min"


@pytest.mark.slow
def test_every_stage_found_work_all_along(runs: tuple[Path, Peaks]) -> None:
    """The masters' defects reach the block loops: clipped notes, clicks and dropouts every minute."""
    state = json.loads((runs[0] / "mono20" / "state.json").read_text())
    metrics = {name: record["metrics"] for name, record in state["stages"].items()}
    assert metrics["declip"]["restored"] is True and metrics["declip"]["clipped_fraction"] > 1e-3
    assert metrics["denoise"]["clicks_found"] >= 20 * 30
    assert metrics["inpaint"]["dropouts_found"] >= 20 and metrics["inpaint"]["gaps_filled"] >= 20
    assert sf.info(runs[0] / "mono20" / "mono20.flac").frames == 20 * 60 * SAMPLE_RATE
    assert sf.info(runs[0] / "stereo20" / "stereo20.flac").channels == 2
