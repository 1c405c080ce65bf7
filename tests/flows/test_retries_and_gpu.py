"""GPU slots, retries only for transient faults, the retry after out-of-memory, refusals before any task."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterName
from prefect.exceptions import ObjectNotFound

from shellac.engine.errors import TransientError
from shellac.flows import restore_recording
from shellac.flows.gpu import (
    GPU_LIMIT,
    DeviceUnavailableError,
    gpu_slot,
    needs_gpu_slot,
    oom_overrides,
    require_device,
    slot_policy,
)
from shellac.stages import denoise, generative_eq, ltas_eq, separate
from shellac.stages.registry import STAGES
from shellac.stages.state import load_state
from tests.stages.helpers import job_for


def test_gpu_flags_and_slot_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert separate.STAGE.gpu and generative_eq.STAGE.gpu
    assert not any(STAGES[name].gpu for name in ("ingest", "denoise", "ltas_eq", "remix", "tag"))
    assert needs_gpu_slot(generative_eq.STAGE, "cuda", "auto")
    assert needs_gpu_slot(separate.STAGE, "cuda:1", "auto")
    assert not needs_gpu_slot(generative_eq.STAGE, "cpu", "auto")
    assert needs_gpu_slot(generative_eq.STAGE, "cpu", "always")
    assert not needs_gpu_slot(generative_eq.STAGE, "cuda", "never")
    # CPU stages never wait for a slot, whatever the setting.
    assert not needs_gpu_slot(denoise.STAGE, "cuda", "always")
    monkeypatch.setenv("SHELLAC_GPU_SLOTS", "sometimes")
    with pytest.raises(Exception, match="expected auto, always or never"):
        slot_policy()


def test_oom_overrides_come_from_the_stage_records() -> None:
    # separate declares its fallback (halve the chunk, from htdemucs's 7.8 s, never below 1 s).
    assert oom_overrides(separate.STAGE, {"segment_s": None}, 1) == {"segment_s": 3.9}
    assert oom_overrides(separate.STAGE, {"segment_s": 6.0}, 2) == {"segment_s": 1.5}
    assert oom_overrides(separate.STAGE, {"segment_s": 2.0}, 2) == {"segment_s": 1.0}  # floor
    assert oom_overrides(separate.STAGE, {"segment_s": None}, 0) == {}
    assert oom_overrides(generative_eq.STAGE, {"model": "piano"}, 1) == {}
    # Any stage record may declare one; the flows never look at the name.
    renamed = dataclasses.replace(separate.STAGE, name="split")
    assert oom_overrides(renamed, {"segment_s": 4.0}, 1) == {"segment_s": 2.0}


def test_missing_cuda_is_refused_for_gpu_stages_only() -> None:
    with pytest.raises(DeviceUnavailableError, match=r"'cuda' requested for generative_eq.*refused rather "
                       r"than run on the CPU"):
        require_device("cuda", [ltas_eq.STAGE, generative_eq.STAGE], cuda_available=False)
    with pytest.raises(DeviceUnavailableError, match="CUDA_VISIBLE_DEVICES"):
        require_device("cuda:1", [separate.STAGE], cuda_available=False)
    require_device("cuda", [ltas_eq.STAGE, denoise.STAGE], cuda_available=False)  # no GPU stage: fine
    require_device("cpu", [generative_eq.STAGE], cuda_available=False)
    require_device("cuda", [generative_eq.STAGE], cuda_available=True)


@pytest.mark.usefixtures("prefect_api")
def test_gpu_slot_is_held_on_the_api_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHELLAC_GPU_SLOTS", raising=False)
    with get_client(sync_client=True) as client:
        with contextlib.suppress(ObjectNotFound):  # absent: nothing to clean up
            client.delete_global_concurrency_limit_by_name(GPU_LIMIT)
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=1))

        def active() -> int:
            return client.read_global_concurrency_limit_by_name(GPU_LIMIT).active_slots

        with gpu_slot(generative_eq.STAGE, "cuda") as held:
            assert held and active() == 1
        assert active() == 0
        with gpu_slot(generative_eq.STAGE, "cpu") as held:
            assert not held and active() == 0
        with gpu_slot(ltas_eq.STAGE, "cuda") as held:
            assert not held and active() == 0
        client.delete_global_concurrency_limit_by_name(GPU_LIMIT)


def _task_run_counts(flow_run_name: str) -> dict[str, int]:
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name])))
        tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
        return {t.name: t.run_count for t in tasks}


@pytest.mark.usefixtures("prefect_api")
def test_bad_input_is_never_retried(catalog_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHELLAC_RETRY_DELAYS_S", "0,0")
    job = job_for(catalog_dir, "silent", collection="retrytest-bad")
    final = restore_recording(job, return_state=True)
    assert final.is_failed()
    state = load_state(Path(job.recording_dir))
    assert state.stages["ingest"].attempts == 1 and "silent" in state.stages["ingest"].error
    assert _task_run_counts("retrytest-bad/silent") == {"silent:ingest": 1}


@pytest.mark.usefixtures("prefect_api")
def test_transient_fault_and_oom_are_retried(catalog_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """denoise fails once with a transient I/O fault; ltas_eq (made a GPU stage here) runs out
    of memory at n_fft 2048 and succeeds on the retry with the smaller n_fft the fallback gives."""
    monkeypatch.setenv("SHELLAC_RETRY_DELAYS_S", "0,0")
    calls: dict[str, list[int]] = {"denoise": [], "ltas_eq": []}

    def flaky_denoise(inputs: Mapping[str, Path], params: Any, ctx: Any) -> Any:
        calls["denoise"].append(1)
        if len(calls["denoise"]) == 1:
            raise TransientError("NFS hiccup while reading the working copy")
        return denoise.STAGE.run(inputs, params, ctx)

    def hungry_ltas_eq(inputs: Mapping[str, Path], params: Any, ctx: Any) -> Any:
        calls["ltas_eq"].append(params.n_fft)
        if params.n_fft > 1024:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return ltas_eq.STAGE.run(inputs, params, ctx)

    monkeypatch.setitem(STAGES, "denoise", dataclasses.replace(denoise.STAGE, run=flaky_denoise))
    monkeypatch.setitem(STAGES, "ltas_eq", dataclasses.replace(
        ltas_eq.STAGE, run=hungry_ltas_eq, gpu=True,
        oom_fallback=lambda params, attempt: {"n_fft": params["n_fft"] // 2 ** attempt}))
    job = job_for(catalog_dir, "a", collection="retrytest-ok")
    final = restore_recording(job, return_state=True)
    assert final.is_completed(), final.message
    assert len(calls["denoise"]) == 2
    assert calls["ltas_eq"] == [2048, 1024]
    state = load_state(Path(job.recording_dir))
    assert state.status == "done"
    assert state.stages["ltas_eq"].params["n_fft"] == 1024 and state.stages["ltas_eq"].attempts == 2
    assert _task_run_counts("retrytest-ok/a") == {"a:ingest": 1, "a:denoise": 2, "a:ltas_eq": 2, "a:tag": 1}


@pytest.mark.usefixtures("prefect_api")
def test_cuda_without_a_device_fails_the_recording_before_any_slot(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """device=cuda on a machine without CUDA: the recording fails with the reason, no stage
    runs (not even ingest), and no GPU slot is asked for: with a limit of 0 slots and a 1 s
    slot timeout, asking would have failed with a timeout instead of the refusal."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("SHELLAC_RETRY_DELAYS_S", "0,0")
    monkeypatch.setenv("SHELLAC_GPU_SLOT_TIMEOUT_S", "1")
    job = job_for(catalog_dir, "a", collection="cudatest", profile="piano", overrides={}, device="cuda")
    with get_client(sync_client=True) as client:
        with contextlib.suppress(ObjectNotFound):
            client.delete_global_concurrency_limit_by_name(GPU_LIMIT)
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=GPU_LIMIT, limit=0))
        try:
            final = restore_recording(job, return_state=True)
        finally:
            client.delete_global_concurrency_limit_by_name(GPU_LIMIT)
    assert final.is_failed() and "refused rather than run on the CPU" in final.message
    state = load_state(Path(job.recording_dir))
    assert state.status == "failed" and "'cuda' requested for generative_eq" in state.error
    assert state.stages == {}
    assert _task_run_counts("cudatest/a") == {}


@pytest.mark.usefixtures("prefect_api")
def test_missing_reference_fails_the_recording_before_any_task(catalog_dir: Path) -> None:
    """A mistyped reference folder: the flow refuses the recording before its first task, with
    the reason against the step that needs it, instead of after ingest and denoise have run."""
    job = job_for(catalog_dir, "a", collection="reftest", overrides={"ltas_eq": {"reference": "typo-refs"}})
    final = restore_recording(job, return_state=True)
    assert final.is_failed() and "reference 'typo-refs' not found" in final.message
    state = load_state(Path(job.recording_dir))
    assert state.status == "failed" and state.error_stage == "ltas_eq"
    assert list(state.stages) == ["ltas_eq"]
    assert _task_run_counts("reftest/a") == {}
