"""The rerun-failed flow: run again only the recordings whose last run failed, from their last good stage."""

from __future__ import annotations

from typing import Any

from prefect import flow

from shellac.flows.collection import restore_collection
from shellac.flows.fanout import RECORDING_DEPLOYMENT
from shellac.flows.params import Device, Seconds


@flow(name="rerun-failed", flow_run_name="rerun failed {catalog_dir}")
def rerun_failed(
    catalog_dir: str,
    output: str | None = None,
    models_dir: str | None = None,
    device: Device = "cpu",
    fan_out: bool = False,
    recording_deployment: str = RECORDING_DEPLOYMENT,
    fan_out_timeout_s: Seconds = 24 * 3600.0,
) -> dict[str, Any]:
    """Rerun the failed recordings of a collection; the others are not visited.

    Each rerun starts at the stage that failed: earlier stages whose content keys are
    unchanged (state.json) are skipped, so a fixed master reruns from ingest and a
    fixed model file from the stage that uses it. The parameters are those of
    ``restore-collection`` (without ``only``).
    """
    return restore_collection(
        catalog_dir=catalog_dir, output=output, only="failed", models_dir=models_dir, device=device,
        fan_out=fan_out, recording_deployment=recording_deployment, fan_out_timeout_s=fan_out_timeout_s,
    )
