"""The machine a benchmark report names: enough to tell two hosts that both call themselves "AMD EPYC"."""

from pathlib import Path

import torch

from shellac.lab.evaluation.report import cpu_label, machine_info


def test_machine_info_names_the_kernels_torch_dispatches_to() -> None:
    info = machine_info()
    assert info["torch_cpu_kernels"] == torch.backends.cpu.get_cpu_capability()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file() and "cpu family" in cpuinfo.read_text():
        family, model = info["cpu_family_model"].split("/")
        assert family.isdigit() and model.isdigit()
    assert cpu_label(info).startswith(info["cpu"]) and info["torch_cpu_kernels"] in cpu_label(info)


def test_a_report_recorded_before_the_kernels_reads_as_it_did() -> None:
    """Committed reports regenerate to the same text (tests/lab/heldout), so old contexts keep their line."""
    assert cpu_label({"cpu": "AMD EPYC", "cores": 2}) == "AMD EPYC"
    assert cpu_label({"cpu": "AMD EPYC", "cpu_family_model": "25/17", "torch_cpu_kernels": "AVX512"}) \
        == "AMD EPYC (family/model 25/17, torch kernels AVX512)"
