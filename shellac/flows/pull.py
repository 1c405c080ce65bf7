"""Deployment pull step: enter the worker's Shellac checkout, where entrypoints and relative paths resolve."""

from __future__ import annotations

import os
from pathlib import Path

import shellac
from shellac.engine.errors import ParameterError

HOME_ENV = "SHELLAC_HOME"
# The checkout the ``shellac`` package is imported from (an editable install's root).
PACKAGE_CHECKOUT = Path(shellac.__file__).resolve().parent.parent


def checkout_dir() -> Path:
    """``$SHELLAC_HOME`` on this machine, else the folder the ``shellac`` package is imported from."""
    configured = os.environ.get(HOME_ENV)
    home = Path(configured).expanduser() if configured else PACKAGE_CHECKOUT
    if not (home / "shellac" / "flows").is_dir():
        raise ParameterError(f"{home} is not a Shellac checkout (no shellac/flows/ in it); set "
                             f"${HOME_ENV} on this worker to the checkout the deployments run from")
    return home


def enter_checkout() -> dict[str, str]:
    """Change into the checkout; read at run time on the worker, so each machine may keep it elsewhere.

    Returns
    -------
    dict
        ``{"directory": <checkout>}`` (the step's output, usable as ``{{ step-id.directory }}``).
    """
    home = checkout_dir()
    os.chdir(home)
    return {"directory": str(home)}
