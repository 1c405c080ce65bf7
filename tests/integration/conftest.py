"""A throwaway PostgreSQL cluster and a Prefect server on it, with pools, deployments and workers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
# Debian's postgresql package (any major version); $SHELLAC_PG_BIN overrides.
PG_BIN = Path(os.environ.get("SHELLAC_PG_BIN") or max(
    Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"),
    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0))
# Postgres refuses to run as root: the cluster belongs to this account.
PG_USER = "postgres"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_group(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> float:
    """SIGTERM a process started in its own session and everything it spawned (as systemd's
    default KillMode does); SIGKILL after ``timeout_s``. Returns the seconds it took to exit."""
    started = time.monotonic()
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
            return float("inf")
    return time.monotonic() - started


def cli(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    """Run ``prefect ARGS`` from the checkout; its stdout (fails the test on a non-zero exit)."""
    done = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL 15 cluster in a temporary folder on 127.0.0.1; yields the connection URL.

    Stopped by its postmaster PID (fast shutdown) at the end, then its folder is removed.
    """
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL is not installed ({PG_BIN}/initdb missing): `make system-deps` "
                    "installs the Debian postgresql package")
    # Outside pytest's tmp tree: the postgres account cannot enter root's 0700 folders.
    root = Path(tempfile.mkdtemp(prefix="shellac-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, PG_USER)
    data, port = root / "data", free_port()
    subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "prefect", "--auth=trust",
                                "-E", "UTF8", "--no-sync"), check=True, capture_output=True, timeout=120)
    log = (root / "postgres.log").open("wb")
    proc = subprocess.Popen(_as_postgres(str(PG_BIN / "postgres"), "-D", str(data), "-h", "127.0.0.1",
                                         "-p", str(port), "-k", str(root), "-c", "fsync=off"),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL did not start: {(root / 'postgres.log').read_text()[-2000:]}")
            time.sleep(0.5)
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "prefect",
                        "prefect"], check=True, capture_output=True, timeout=60)
        yield f"postgresql+asyncpg://prefect@127.0.0.1:{port}/prefect"
    finally:
        pid_file = data / "postmaster.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)  # fast shutdown
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server(postgres: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``prefect server start`` on 127.0.0.1 over the PostgreSQL cluster, its pools, the ``gpu``
    limit and prefect.yaml's deployments; yields the environment that talks to it."""
    home = tmp_path_factory.mktemp("prefect-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    url = f"http://127.0.0.1:{free_port()}/api"
    env.update(PREFECT_HOME=str(home), PREFECT_API_URL=url, PREFECT_API_DATABASE_CONNECTION_URL=postgres,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_LOGGING_LEVEL="WARNING",
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2",
               PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_LOOP_SECONDS="5",
               PREFECT_WORKER_QUERY_SECONDS="1", SHELLAC_HOME=str(REPO), SHELLAC_RETRY_DELAYS_S="0,0",
               OMP_NUM_THREADS="1")
    port = url.rsplit(":", 1)[1].split("/")[0]
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", port],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prefect server did not start: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        # --overwrite: on a loaded machine the CLI may retry a create that already went through.
        cli(env, "work-pool", "create", "cpu", "--type", "process", "--overwrite")
        cli(env, "work-pool", "create", "gpu", "--type", "process", "--overwrite")
        cli(env, "gcl", "create", "gpu", "--limit", "1")
        cli(env, "--no-prompt", "deploy", "--all")
        yield env
    finally:
        stop_group(proc)
        log.close()


@pytest.fixture(scope="module")
def workers(server: dict[str, str], tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """One CPU-pool worker (--limit 3: a collection run and two recordings) and one GPU-pool
    worker (--limit 1; a CPU stands in for the GPU)."""
    logs = tmp_path_factory.mktemp("workers")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for pool, limit in (("cpu", "3"), ("gpu", "1")):
            procs[pool] = subprocess.Popen(
                [PREFECT, "worker", "start", "--pool", pool, "--name", f"itest-{pool}", "--limit", limit],
                env=server, cwd=logs, stdout=(logs / f"{pool}.log").open("wb"), stderr=subprocess.STDOUT,
                start_new_session=True)
        yield procs
    finally:
        for proc in procs.values():
            stop_group(proc)
