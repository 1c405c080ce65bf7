"""`shellac doctor`'s server and stage-data checks: pools, workers, `gpu` limit, deployments, references."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from shellac.catalogs import load_catalog
from shellac.engine.errors import ShellacError
from shellac.flows.fanout import is_online
from shellac.flows.gpu import GPU_LIMIT
from shellac.flows.pull import PACKAGE_CHECKOUT
from shellac.jobs import build_job
from shellac.stages.chain import job_plan, unmet_requirements

Level = Literal["ok", "warn", "fail"]

# The deployments of the checkout this Shellac is imported from: prefect.yaml at its root.
PREFECT_YAML = PACKAGE_CHECKOUT / "prefect.yaml"


@dataclass(frozen=True)
class Finding:
    """One finding, printed by ``shellac doctor`` like its other checks."""

    name: str
    level: Level
    detail: str


def expected_deployments(prefect_yaml: Path) -> dict[str, str]:
    """Deployment name -> work pool name, as ``prefect.yaml`` defines them."""
    config = yaml.safe_load(prefect_yaml.read_text(encoding="utf-8"))
    return {d["name"]: d.get("work_pool", {}).get("name", "") for d in config.get("deployments", [])}


def check_server(prefect_yaml: Path, api_url: str | None) -> Iterator[Finding]:
    """The server at ``api_url`` has prefect.yaml's pools (each with an online worker), the ``gpu``
    concurrency limit, and every deployment; nothing is checked without a server."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if not api_url:
        return
    expected = expected_deployments(prefect_yaml)
    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        for pool in sorted(set(expected.values()) - {""}):
            try:
                client.read_work_pool(pool)
            except ObjectNotFound:
                yield Finding(f"work pool {pool}", "fail",
                              f"missing on the server: `prefect work-pool create {pool} --type process`")
                continue
            online = [w.name for w in client.read_workers_for_work_pool(pool) if is_online(w)]
            if online:
                yield Finding(f"work pool {pool}", "ok",
                              f"{len(online)} worker(s) online: {', '.join(online)}")
            else:
                yield Finding(f"work pool {pool}", "warn", "no worker online: its runs wait (a collection "
                              f"run fails after worker_wait_s); `prefect worker start --pool {pool}`")
        try:
            limit = client.read_global_concurrency_limit_by_name(GPU_LIMIT)
        except ObjectNotFound:
            yield Finding("gpu limit", "fail", f"no global concurrency limit {GPU_LIMIT!r}: GPU stages would "
                          f"not be capped; `prefect gcl create {GPU_LIMIT} --limit <number of GPUs>`")
        else:
            if not limit.active or limit.limit < 1:
                yield Finding("gpu limit", "fail", f"{GPU_LIMIT!r} is inactive or 0: GPU stages would wait "
                              "forever; `prefect gcl update gpu --limit <number of GPUs> --enable`")
            else:
                yield Finding("gpu limit", "ok", f"{limit.limit} slot(s), {limit.active_slots} in use")
        deployed = {d.name: d.work_pool_name for d in client.read_deployments()}
        missing = sorted(set(expected) - set(deployed))
        if missing:
            yield Finding("deployments", "fail", f"missing on the server: {', '.join(missing)}; "
                          "`prefect --no-prompt deploy --all` from the checkout")
        else:
            yield Finding("deployments", "ok", f"all {len(expected)} of prefect.yaml deployed")


def check_stage_data(catalog_dir: Path, models_dir: Path | None = None) -> Iterator[Finding]:
    """Every model and reference the catalog's profiles need is there (an empty reference
    folder, a missing bundle): the check each recording's run makes before its first stage."""
    try:
        catalog = load_catalog(catalog_dir)
    except ShellacError:
        return  # the catalog check reports it
    seen: set[str] = set()
    problems: list[str] = []
    for recording in catalog.recordings:
        job = build_job(catalog, recording, models_dir=models_dir)
        signature = job.model_dump_json(include={"profile", "overrides", "models_dir"})
        if signature in seen:
            continue
        seen.add(signature)
        try:
            plan = job_plan(job)
        except ShellacError as exc:
            problems.append(f"{recording.id}: {exc}")
            continue
        problems += [f"{plan.profile}/{stage}: {exc}" for stage, exc in unmet_requirements(job, plan)]
    if problems:
        yield Finding("models and references", "fail", "; ".join(sorted(set(problems))))
    else:
        yield Finding("models and references", "ok", f"present for the {len(seen)} profile setting(s) in use")
