"""A requested device resolves to itself; CUDA that is not there is refused, never swapped for the CPU."""

import pytest
import torch

from shellac.engine.device import resolve_device
from shellac.engine.errors import ParameterError


def test_cpu_resolves_to_the_cpu() -> None:
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("requested", ["cuda", "cuda:1"])
def test_missing_cuda_is_an_error_not_a_cpu_fallback(requested: str) -> None:
    with pytest.raises(ParameterError, match=f"device '{requested}' requested but no CUDA device"):
        resolve_device(requested)
