"""A Prefect server on loopback: pools, prefect.yaml deployments, a process worker, fan-out, rerun-failed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.conftest import SR, harmonic_tone

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
RUN_TIMEOUT_S = 150.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Each process was started in its own session: its group holds it and the flow-run
    # processes it spawned, and nothing else.
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``prefect server start`` on 127.0.0.1 with its own PREFECT_HOME; yields the environment for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    url = f"http://127.0.0.1:{_free_port()}/api"
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_API_URL=url,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_LOGGING_LEVEL="WARNING",
               PREFECT_WORKER_QUERY_SECONDS="1", SHELLAC_HOME=str(REPO), SHELLAC_RETRY_DELAYS_S="0,0")
    port = url.rsplit(":", 1)[1].split("/")[0]
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log_text = (tmp_path / "server.log").read_text()[-2000:]
                pytest.fail(f"Prefect server did not start: {log_text}")
            time.sleep(0.5)
        yield env
    finally:
        _stop(proc)
        log.close()


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _make_catalog(root: Path, out: Path) -> Path:
    masters, ref = root / "masters", root / "reference"
    masters.mkdir(parents=True)
    ref.mkdir()
    sf.write(masters / "a.wav", harmonic_tone(3.0), SR, subtype="PCM_16")
    sf.write(masters / "b.wav", harmonic_tone(2.0, seed=3, f0=330.0), SR, subtype="PCM_16")
    (masters / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(200))  # no data chunk
    rng = np.random.default_rng(5)
    sf.write(ref / "clean.wav", (0.1 * rng.standard_normal(SR * 3)).astype(np.float32), SR)
    (root / "catalog.csv").write_text("id,file,title,content\na,a.wav,A,piano\nb,b.wav,B,piano\n"
                                      "bad,bad.wav,Bad,piano\n", encoding="utf-8")
    (root / "collection.toml").write_text(
        f'name = "itest"\nsource_root = "masters"\noutput_root = "{out}"\n'
        '[profiles]\npiano = "piano-ltas"\n'
        '[profile_overrides.piano-ltas.ltas_eq]\nreference = "reference"\n', encoding="utf-8")
    return root


def _run_and_wait(client: SyncPrefectClient, deployment: str, params: dict[str, object]) -> str:
    dep = client.read_deployment_by_name(deployment)
    run = client.create_flow_run_from_deployment(dep.id, parameters=params)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        state = client.read_flow_run(run.id).state
        if state is not None and state.is_final():
            return state.type.value
        time.sleep(1.0)
    pytest.fail(f"{deployment} run not final after {RUN_TIMEOUT_S:.0f} s")


def _recording_runs(client: SyncPrefectClient) -> list[tuple[str, str]]:
    runs = client.read_flow_runs(flow_run_filter=FlowRunFilter())
    return sorted((r.name, r.state.type.value) for r in runs
                  if r.name.startswith("itest/") and r.state is not None)


def test_server_fan_out_and_rerun_failed(server: dict[str, str], tmp_path: Path) -> None:
    env = server
    _cli(env, "work-pool", "create", "cpu", "--type", "process")
    _cli(env, "work-pool", "create", "gpu", "--type", "process")
    _cli(env, "gcl", "create", "gpu", "--limit", "1")
    deployed = _cli(env, "--no-prompt", "deploy", "--all")
    for name in ("restore-collection/demo", "rerun-failed/rerun-failed", "train-model/train",
                 "restore-recording/restore-recording-cpu"):
        assert name in deployed
    catalog = _make_catalog(tmp_path / "catalog", tmp_path / "out")
    worker_log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([PREFECT, "worker", "start", "--pool", "cpu", "--name", "itest-cpu"],
                              env=env, cwd=tmp_path, stdout=worker_log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), \
                get_client(sync_client=True) as client:
            # The demo deployment, pointed at the test catalog: fans out one run per recording.
            params = {"catalog_dir": str(catalog)}
            assert _run_and_wait(client, "restore-collection/demo", params) == "COMPLETED"
            assert _recording_runs(client) == [
                ("itest/a", "COMPLETED"), ("itest/b", "COMPLETED"), ("itest/bad", "FAILED")]
            arts = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="shellac-itest-%")))
            keys = {a.key for a in arts}
            assert keys == {"shellac-itest-recordings", "shellac-itest-progress", "shellac-itest-summary"}
            table = next(a for a in arts if a.key == "shellac-itest-recordings")
            data = json.loads(table.data) if isinstance(table.data, str) else table.data
            rows = {r["id"]: r for r in data}
            assert rows["a"]["audio_s"] == pytest.approx(3.0) and rows["a"]["rtf"] > 0
            assert rows["bad"]["status"] == "failed" and "cannot read bad.wav" in rows["bad"]["error"]
            a_state = (tmp_path / "out" / "itest" / "a" / "state.json").read_text()

            # The archivist replaces the bad transfer; rerun-failed reruns exactly that recording.
            (catalog / "masters" / "bad.wav").unlink()
            sf.write(catalog / "masters" / "bad.wav", harmonic_tone(2.0, seed=9), SR, subtype="PCM_16")
            assert _run_and_wait(client, "rerun-failed/rerun-failed", params) == "COMPLETED"
            assert _recording_runs(client) == [
                ("itest/a", "COMPLETED"), ("itest/b", "COMPLETED"), ("itest/bad", "COMPLETED"),
                ("itest/bad", "FAILED")]
            assert (tmp_path / "out" / "itest" / "a" / "state.json").read_text() == a_state
            summary = json.loads((tmp_path / "out" / "itest" / "summary.json").read_text())
            assert summary["mode"] == "fan-out" and summary["outcomes"] == {"bad": "done"}
            assert summary["done"] == 3 and summary["failed"] == 0
    finally:
        _stop(worker)
        worker_log.close()
