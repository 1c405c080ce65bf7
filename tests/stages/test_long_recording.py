"""An hour-long master goes through the chain without being loaded whole (slow: run with -m slow)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.fixity import sha256_file

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, resource, sys
from pathlib import Path
from shellac.stages.chain import RecordingJob, job_plan, run_plan
job = RecordingJob.model_validate_json(Path(sys.argv[1]).read_text())
run_plan(job, job_plan(job))
print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _write_hour(path: Path, sample_rate: int) -> None:
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", sample_rate, 1, subtype="PCM_16") as out:
        for _ in range(60):  # one minute at a time: the test itself stays small too
            t = np.arange(60 * sample_rate) / sample_rate
            tone = 0.2 * np.sin(2 * np.pi * rng.uniform(100, 800) * t) * ((t % 0.7) < 0.5)
            out.write((tone + 0.01 * rng.standard_normal(t.size)).astype(np.float32))


@pytest.mark.slow
def test_one_hour_master_in_bounded_memory(tmp_path: Path) -> None:
    sr = 22050
    master = tmp_path / "hour.wav"
    _write_hour(master, sr)
    reference = tmp_path / "ref"
    reference.mkdir()
    sf.write(reference / "clean.wav", 0.1 * np.random.default_rng(1).standard_normal(sr * 10), sr)
    before = sha256_file(master)
    job = {"recording_id": "hour", "master_path": str(master), "recording_dir": str(tmp_path / "work"),
           "base_dir": str(tmp_path), "profile": "piano-ltas",
           "overrides": {"ltas_eq": {"reference": str(reference)}}}
    (tmp_path / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "job.json")], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    peak = json.loads(proc.stdout.strip().splitlines()[-1])["peak_rss_mb"]
    info = sf.info(tmp_path / "work" / "hour.flac")
    assert info.frames == 3600 * sr and info.samplerate == sr
    # One hour of float32 mono alone would be 318 MB, and the one-shot STFTs several GB.
    assert peak < 1500, f"peak RSS {peak:.0f} MB"
    assert sha256_file(master) == before
