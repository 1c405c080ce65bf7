"""The rerun-failed flow: run again only the recordings whose last run failed, from their last good stage."""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.states import State

from shellac.flows.collection import restore_collection
from shellac.flows.fanout import CPU_DEPLOYMENT, GPU_DEPLOYMENT
from shellac.flows.params import Device, Seconds


@flow(name="rerun-failed", flow_run_name="rerun failed {catalog_dir}")
def rerun_failed(
    catalog_dir: str,
    output: str | None = None,
    models_dir: str | None = None,
    device: Device = "cpu",
    fan_out: bool = False,
    cpu_deployment: str = CPU_DEPLOYMENT,
    gpu_deployment: str = GPU_DEPLOYMENT,
    fan_out_timeout_s: Seconds = 24 * 3600.0,
    worker_wait_s: Seconds = 300.0,
) -> State[Any]:
    """Rerun the failed recordings of a collection; the others are not visited.

    Each rerun starts at the stage that failed: earlier stages whose content keys are
    unchanged (state.json) are skipped, so a fixed master reruns from ingest and a
    fixed model file from the stage that uses it. The parameters are those of
    ``restore-collection`` (without ``only``); it ends in that run's state (Failed if a
    recording still fails).
    """
    final = restore_collection(
        catalog_dir=catalog_dir, output=output, only="failed", models_dir=models_dir, device=device,
        fan_out=fan_out, cpu_deployment=cpu_deployment, gpu_deployment=gpu_deployment,
        fan_out_timeout_s=fan_out_timeout_s, worker_wait_s=worker_wait_s, return_state=True,
    )
    # A fresh state of the same kind, so this run ends as the collection run did, with its summary.
    return State(type=final.type, name=final.name, message=final.message,
                 data=final.result(raise_on_failure=False))
