"""What the commands share: the `--device` choice, Prefect's defaults, and starting a collection flow."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def device_choice(name: str) -> str:
    """The device a command asked for, with ``auto`` made concrete (CUDA when this machine has it).

    An explicit ``cuda`` is passed on unchanged: the stage refuses it where CUDA is missing
    (``engine.device.resolve_device``) instead of falling back to the CPU.
    """
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def prefect_defaults() -> None:
    """Offline machines: no analytics calls; the embedded server's logs kept quiet (unless set)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def configured_api_url() -> str:
    """The Prefect server this machine is configured for ($PREFECT_API_URL or the active Prefect
    profile), or "" when runs use a temporary embedded API."""
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value() or "")


def api_description() -> str:
    """Where flow runs started here are recorded, in words."""
    url = configured_api_url()
    return (f"the Prefect server at {url}" if url else
            "a temporary embedded Prefect API (no server configured: set PREFECT_API_URL to record "
            "this run on your server)")


def fan_out_refusal(fan_out: bool) -> str | None:
    """Why ``--fan-out`` cannot work here (no Prefect server configured), or None when it can."""
    if fan_out and not configured_api_url():
        return ("--fan-out hands recordings to the workers of a Prefect server, but PREFECT_API_URL is not "
                "set (the embedded API has no workers); start a server and workers as in "
                "docs/operations.md, or run without --fan-out")
    return None


def collection_flow_args(command: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """The keyword arguments of a collection flow (run, rerun-failed), after the checks every such
    command makes first; None (reason printed) when ``--fan-out`` cannot work here.

    Catalog and configuration errors surface here as one line, before any flow run starts.
    """
    refusal = fan_out_refusal(args.fan_out)
    if refusal:
        print(f"shellac {command}: {refusal}", file=sys.stderr)
        return None
    from shellac.catalogs import load_catalog
    from shellac.cli.errors import quiet_expected_tracebacks

    load_catalog(Path(args.catalog_dir), output_root=Path(args.output).resolve() if args.output else None)
    prefect_defaults()
    if not getattr(args, "debug", False):
        quiet_expected_tracebacks()
    return {
        "catalog_dir": str(Path(args.catalog_dir).resolve()),
        "output": str(Path(args.output).resolve()) if args.output else None,
        "models_dir": str(Path(args.models_dir).resolve()) if args.models_dir else None,
        "device": device_choice(args.device),
        "fan_out": args.fan_out,
        "return_state": True,
    }
