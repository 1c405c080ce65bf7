"""Write benchmark results: markdown table, JSON of all numbers, LTAS and filter plots (PNG)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from shellac.engine.atomic import atomic_path, atomic_write_json, atomic_write_text
from shellac.lab.evaluation.runner import BenchResult

# (key, header, format) of the table's columns; ↓ lower is better, ↑ higher is better.
SCORE_COLUMNS = (
    ("lsd_db", "LSD dB ↓", "{:.2f}"),
    ("si_sdr_db", "SI-SDR dB ↑", "{:.2f}"),
    ("ltas_dist_db", "LTAS dist. dB ↓", "{:.2f}"),
    ("ltas_dist_ref_db", "LTAS dist. ref dB ↓", "{:.2f}"),
    ("response_err_db", "response err. dB ↓", "{:.2f}"),
    ("filter_err_db", "filter err. dB ↓", "{:.2f}"),
    ("fd_logmel", "FD log-mel ↓", "{:.2f}"),
    ("visqol_moslqo", "ViSQOL ↑", "{:.2f}"),
)
COST_COLUMNS = (
    ("seconds_per_audio_second", "s / s audio", "{:.2f}"),
    ("network_evaluations_per_block", "NFE / block", "{:.0f}"),
    ("peak_rss_increase_mb", "peak RSS +MB", "{:.0f}"),
    ("process_peak_rss_mb", "process peak RSS MB", "{:.0f}"),
    ("cuda_peak_mb", "CUDA peak MB", "{:.0f}"),
)


def machine_info() -> dict[str, Any]:
    """CPU model, family/model numbers and core count (/proc/cpuinfo), the vector kernels torch dispatches
    to, platform, Python, torch, GPU if any.

    Figures that go through an optimiser or a sampler move with the floating-point kernels (session 19:
    up to 0.13 dB of LSD on one excerpt between two hosts both called "AMD EPYC"), so a report names them.
    """
    import torch

    cpu = platform.processor() or "unknown"
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name", cpu)
    info: dict[str, Any] = {
        "cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
        "torch_cpu_kernels": torch.backends.cpu.get_cpu_capability(),
    }
    if "cpu family" in fields and "model" in fields:
        info["cpu_family_model"] = f"{fields['cpu family']}/{fields['model']}"
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def cpu_label(machine: dict[str, Any]) -> str:
    """The CPU as a report names it: its model, and (recorded since session 19) family/model and the
    vector kernels torch used."""
    known = [f"family/model {machine['cpu_family_model']}"] if "cpu_family_model" in machine else []
    known += [f"torch kernels {machine['torch_cpu_kernels']}"] if "torch_cpu_kernels" in machine else []
    return machine["cpu"] + (f" ({', '.join(known)})" if known else "")


def git_commit(cwd: Path | None = None) -> str | None:
    """The checked-out commit (with ``+dirty`` when the tree has changes), or None outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=cwd, capture_output=True, text=True,
                               check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def _fmt(value: float | int | None, pattern: str) -> str:
    if value is None or not np.isfinite(value):
        return "n/a" if value is None else str(value)
    return pattern.format(value)


def markdown_table(result: BenchResult) -> str:
    """One row per variant: scores then costs."""
    visqol_on = any(v.metrics.get("visqol_moslqo") is not None for v in result.variants)
    cuda_on = any(v.cost.get("cuda_peak_mb") is not None for v in result.variants)
    scores = [c for c in SCORE_COLUMNS if c[0] != "visqol_moslqo" or visqol_on]
    isolated = any(v.cost.get("process_peak_rss_mb") is not None for v in result.variants)
    # Isolated rows have their own process peak; in-process rows only an increase over a shared baseline.
    hidden = {"cuda_peak_mb"} if not cuda_on else set()
    hidden |= {"peak_rss_increase_mb"} if isolated else {"process_peak_rss_mb"}
    costs = [c for c in COST_COLUMNS if c[0] not in hidden]
    header = ["variant"] + [h for _, h, _ in scores] + [h for _, h, _ in costs]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for v in result.variants:
        cells = [v.label] + [_fmt(v.metrics.get(k), f) for k, _, f in scores]
        cells += [_fmt(v.cost.get(k), f) for k, _, f in costs]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plot_ltas(result: BenchResult, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from shellac.engine.dsp.ltas import third_octave_smooth

    sr = result.sample_rate
    freqs = np.asarray(result.ltas_freqs_hz)
    n_fft = 2 * (freqs.size - 1)

    def smooth_db(db: list[float]) -> np.ndarray:
        # Smoothed like the paper's figure: third-octave Gaussian on power, each curve at 0 dB mean.
        power = third_octave_smooth(10.0 ** (np.asarray(db) / 10.0), sr, n_fft)
        out = 10.0 * np.log10(power + 1e-12)
        return out - out[freqs > 50].mean()

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    keep = freqs > 20
    ax.semilogx(freqs[keep], smooth_db(result.reference_ltas_db)[keep], "k--", lw=1.2,
                label="model reference")
    ax.semilogx(freqs[keep], smooth_db(result.clean_ltas_db)[keep], "k", lw=2.0, label="clean")
    for v in result.variants:
        ax.semilogx(freqs[keep], smooth_db(v.ltas_db)[keep], lw=1.0, label=v.label)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("LTAS (dB, third-octave smoothed, mean-normalised)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def _plot_filters(result: BenchResult, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from shellac.lab.evaluation.metrics import pass_band

    grid = np.asarray(result.grid_hz)
    truth = np.asarray(result.true_responses_db[0])
    band = pass_band(grid, truth, result.sample_rate / 2.0)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    ax.semilogx(grid, truth, "k", lw=2.0, label="true response (excerpt 1)")
    ax.axvspan(grid[band].min(), grid[band].max(), color="0.9", zorder=0, label="scored pass band")
    for v in result.variants:
        if v.key == "original":
            continue
        est = np.asarray(v.responses_db[0])
        # Aligned on the truth as the metric does: the same mean over the pass band.
        offset = float(np.mean(np.clip(est[band] - truth[band], -200.0, 200.0)))
        ax.semilogx(grid, est - offset, lw=1.0, label=v.label)
    ax.set_ylim(truth[band].min() - 25, truth.max() + 10)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("response (dB; estimates aligned on the pass band)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_report(result: BenchResult, out_dir: Path, name: str, *, command: str,
                 model_description: str, notes: str = "", plots: bool = True) -> dict[str, Path]:
    """Write ``<name>.md``, ``<name>.json`` and (with ``plots``) ``<name>_ltas.png``, ``<name>_filters.png``.

    Returns the paths written, by kind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = machine_info()
    commit = git_commit()
    paths = {"markdown": out_dir / f"{name}.md", "json": out_dir / f"{name}.json"}
    if plots:
        paths["ltas_plot"] = out_dir / f"{name}_ltas.png"
        paths["filter_plot"] = out_dir / f"{name}_filters.png"
        _plot_ltas(result, paths["ltas_plot"], f"{name}: mean LTAS over {len(result.excerpts)} excerpts")
        _plot_filters(result, paths["filter_plot"], f"{name}: estimated vs true response, excerpt 1")
    s = result.settings
    sampler = s["sampler"]
    lines = [
        f"# Benchmark `{name}`", "",
        f"- command: `{command}`",
        f"- model: {model_description}",
        f"- machine: {cpu_label(machine)}, {machine['cores']} cores "
        f"({machine['torch_threads']} torch threads)"
        + (f", GPU {machine['gpu']}" if "gpu" in machine else "") + f"; device `{s['device']}`",
        f"- date: {when}; git commit: `{commit}`; torch {machine['torch']}, Python {machine['python']}",
        f"- evaluation set: {len(result.excerpts)} excerpts, {s['total_audio_seconds']:.1f} s at "
        f"{result.sample_rate} Hz, seed {s['seed']}",
        f"- sampler: N = {sampler['n_steps']}, σ_start {sampler['sigma_start']}, "
        f"σ_min {sampler['sigma_min']}, "
        f"ρ {sampler['rho']}, ξ {sampler['xi']}, σ_y {sampler['sigma_y']}, S_churn {sampler['s_churn']}; "
        f"filter {s['filter_iters']} Adam iterations per fit, lr {s['filter_lr']}",
        f"- Fréchet distance: {s['n_mels']}-band log-mel frames, {s['fd_frames_per_set']} frames per set",
    ]
    if notes:
        lines += ["", notes]
    lines += ["", markdown_table(result)]
    if plots:
        lines += [f"![LTAS]({paths['ltas_plot'].name})", "", f"![filters]({paths['filter_plot'].name})", ""]
    atomic_write_text(paths["markdown"], "\n".join(lines))
    atomic_write_json(paths["json"], {
        "name": name, "command": command, "model": model_description, "date": when, "git_commit": commit,
        "machine": machine, "notes": notes, **_jsonable(dataclasses.asdict(result)),
    })
    return paths


def _jsonable(obj: Any) -> Any:
    """Round floats to 6 significant digits; non-finite ones (not valid JSON) become strings."""
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        # Six significant digits: far below any metric's noise, and the file stays readable.
        return float(f"{obj:.6g}") if np.isfinite(obj) else str(obj)
    return obj
