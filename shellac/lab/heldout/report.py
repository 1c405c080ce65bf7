"""Write the held-out benchmark's JSON, markdown and spectrogram/LTAS plots."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from shellac.engine.atomic import atomic_path, atomic_write_json, atomic_write_text
from shellac.lab.evaluation.report import cpu_label, git_commit, machine_info
from shellac.lab.evaluation.spectral_balance import smoothed_ltas_db
from shellac.lab.heldout.bench import METRICS, BenchOutcome, gate_agreement

HEADERS = {
    "lsd_db": "LSD dB ↓",
    "ltas_err_db": "LTAS err. pass band dB ↓",
    "ltas_err_within30_db": "LTAS err. within 30 dB of clean max dB ↓",
    "high_band_db": "energy above high cut vs clean dB (0)",
    "top_octave_db": "energy in the octave below the high cut vs clean dB (0)",
    "low_band_db": "energy below low cut vs clean dB (0)",
    "si_sdr_db": "SI-SDR dB ↑",
    "visqol_moslqo": "ViSQOL MOS-LQO ↑",
}


def run_context(command: str) -> dict[str, Any]:
    """Command, date, commit, machine, thread settings and load, for the report's header."""
    try:
        uptime = subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False, timeout=5
        ).stdout.strip()
    except OSError:
        uptime = "unknown"
    return {
        "command": command,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git_commit(),
        "machine": machine_info(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "uptime": uptime,
    }


WIN_BASELINES = ("ltas_eq", "input", "eq_step")
BASE_NAMES = {"ltas_eq": "LTAS-EQ", "input": "input", "eq_step": "its EQ step"}


def summary(outcome: BenchOutcome) -> dict[str, Any]:
    """Means, win rates of the generative rows and the EQ step against the baselines, and gate agreement.

    The baselines are LTAS-EQ, the input and, for the generative rows, the generative profile's own
    EQ step (``eq_step``): whether the generative stage improves on its input.
    """
    wins: dict[str, Any] = {}
    for row in outcome.rows:
        if row.key.startswith("babe2") or row.key == "eq_step":
            wins[row.key] = {
                base: outcome.win_rates(row.key, base)
                for base in WIN_BASELINES
                if base in outcome.scores and base != row.key
            }
    return {
        "means": outcome.means(),
        "wins": wins,
        "gate": gate_agreement(outcome),
        "gate_sigma_y0": gate_agreement(outcome, "babe2_sy0"),
        "fallbacks": {
            k: sum(bool(g and g.get("fallback")) for g in v)
            for k, v in outcome.gates.items()
            if any(g is not None for g in v)
        },
    }


def write_json(outcome: BenchOutcome, path: Path, context: dict[str, Any], settings: dict[str, Any]) -> None:
    """Every number: settings, context, per excerpt (chain, scores, gate records) and the summary."""
    atomic_write_json(
        path,
        {
            "context": context,
            "settings": settings,
            "summary": summary(outcome),
            "rows": {
                r.key: {"label": r.label, "profile": r.run.profile if r.run else None, "output": r.output}
                for r in outcome.rows
            },
            "excerpts": [
                {
                    "name": e.name,
                    "score": e.score,
                    "chain": e.params.model_dump(mode="json"),
                    "scores": {k: outcome.scores[k][i] for k in outcome.scores},
                    "gates": {k: outcome.gates[k][i] for k in outcome.gates if outcome.gates[k][i]},
                    **({"voice": e.voice} if e.voice else {}),
                }
                for i, e in enumerate(outcome.excerpts)
            ],
            "chain_seconds": outcome.seconds,
        },
    )


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _source(settings: dict[str, Any]) -> str:
    """Where the clean excerpts come from: the soundfont that played them, or the singing synthesiser."""
    if settings.get("soundfont"):
        return f"soundfont {settings['soundfont']}"
    models = ", ".join(f"{voice} → model {model}" for voice, model in settings["models"].items())
    return f"sung by {settings['renderer']} (catalogs/models.toml: {models})"


def markdown(outcome: BenchOutcome, context: dict[str, Any], settings: dict[str, Any], notes: str) -> str:
    """The report: header, means table, win rates, gate agreement, per-excerpt table."""
    s = summary(outcome)
    shown = [m for m in METRICS if all(m in s["means"][row.key] for row in outcome.rows)]
    lines = [
        f"# Held-out benchmark: {settings['name']}",
        "",
        notes,
        "",
        f"- command: `{context['command']}`",
        f"- date: {context['date']}; git commit: `{context['git_commit']}`",
        f"- machine: {cpu_label(context['machine'])}, {context['machine']['cores']} cores, "
        f"torch threads {context['machine']['torch_threads']}, OMP_NUM_THREADS={context['omp_num_threads']}",
        f"- load at start: `{context['uptime']}`",
        f"- material: {settings['part']} part of catalogs/heldout.toml ({', '.join(settings['composers'])}), "
        f"{_source(settings)}, {settings['excerpts']} excerpts × {settings['seconds']} s at "
        f"{settings['sample_rate']} Hz, seed {settings['seed']}",
        f"- overrides on every run: `{settings['overrides']}`",
        "",
        "## Means over excerpts",
        "",
        "| row | " + " | ".join(HEADERS[m] for m in shown) + " |",
        "|---|" + "---:|" * len(shown),
    ]
    for row in outcome.rows:
        lines.append(f"| {row.label} | " + " | ".join(_fmt(s["means"][row.key][m]) for m in shown) + " |")
    bases = [b for b in WIN_BASELINES if b in outcome.scores or b != "eq_step"]
    measures = ["lsd", "ltas_err", "both"]
    for extra in ("ltas_err_within30", "visqol"):
        if any(extra in w.get(b, {}) for w in s["wins"].values() for b in bases):
            measures.append(extra)
    names = {"lsd": "LSD", "ltas_err": "LTAS err.", "both": "both", "ltas_err_within30": "LTAS err. ≤30 dB",
             "visqol": "ViSQOL"}
    title = "LSD, LTAS error, both" + "".join(
        f", {t}" for m, t in (("ltas_err_within30", "LTAS error within 30 dB of the clean maximum"),
                              ("visqol", "ViSQOL")) if m in measures)
    lines += [
        "",
        f"## Win rates (% of excerpts; {title})",
        "",
        "| row | " + " | ".join(f"vs {BASE_NAMES[b]}: " + " | ".join(names[m] for m in measures)
                             for b in bases) + " |",
        "|---|" + "---:|" * (len(measures) * len(bases)),
    ]
    for key, w in s["wins"].items():
        cells = []
        for base in bases:
            cells += [f"{w[base][k]:.0f}" if base in w else "–" for k in measures]
        lines.append(
            f"| {outcome.rows[[r.key for r in outcome.rows].index(key)].label} | " + " | ".join(cells) + " |"
        )
    for title, gate in (("BABE-2", s["gate"]), ("BABE-2 σ_y = 0", s["gate_sigma_y0"])):
        if gate:
            c = gate["counts"]
            lines += [
                "",
                f"## Quality gate ({title}) against the truth",
                "",
                "Worse = the generative output's LSD or LTAS error is above LTAS-EQ's on that excerpt.",
                "",
                "| | worse than LTAS-EQ | not worse |",
                "|---|---:|---:|",
                f"| gate fell back | {c['fallback_and_worse']} | {c['fallback_but_better']} |",
                f"| gate kept it | {c['kept_but_worse']} | {c['kept_and_better']} |",
            ]
    gated = settings.get("kind", "piano")
    lines += [
        "",
        "## Per excerpt (LSD dB / LTAS err. dB)",
        "",
        "| excerpt | " + " | ".join(r.key for r in outcome.rows) + f" | gate ({gated}) |",
        "|---|" + "---:|" * len(outcome.rows) + "---|",
    ]
    for i, e in enumerate(outcome.excerpts):
        cells = [
            f"{outcome.scores[r.key][i]['lsd_db']:.2f} / {outcome.scores[r.key][i]['ltas_err_db']:.2f}"
            for r in outcome.rows
        ]
        gate = next(
            (
                outcome.gates[k][i]
                for k in ("babe2", "babe2_gated")
                if k in outcome.gates and outcome.gates[k][i]
            ),
            None,
        )
        verdict = (
            "–"
            if gate is None
            else (
                "fallback: " + ", ".join(c["name"] for c in gate["checks"] if not c["passed"])
                if gate["fallback"]
                else "kept"
            )
        )
        lines.append(f"| {e.name} | " + " | ".join(cells) + f" | {verdict} |")
    return "\n".join(lines) + "\n"


def plot_excerpts(outcome: BenchOutcome, out: Path, name: str) -> list[Path]:
    """Per kept excerpt: spectrograms of input / LTAS-EQ / BABE-2 / clean and their third-octave LTAS."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("input", "ltas_eq", "chain_eq", "babe2", "babe2_sy0") if k in outcome.outputs]
    paths = []
    for i in range(len(next(iter(outcome.outputs.values()), []))):
        e = outcome.excerpts[i]
        signals = [(k, outcome.outputs[k][i]) for k in panels] + [("clean", e.clean)]
        fig, axes = plt.subplots(
            1, len(signals) + 1, figsize=(4 * (len(signals) + 1), 4), constrained_layout=True
        )
        for ax, (label, x) in zip(axes, signals, strict=False):
            ax.specgram(
                x / (np.std(x) + 1e-12),
                NFFT=1024,
                Fs=e.sample_rate,
                noverlap=768,
                cmap="magma",
                vmin=-90,
                vmax=-10,
            )
            ax.set_title(label)
            ax.set_xlabel("s")
        axes[0].set_ylabel("Hz")
        freqs = np.fft.rfftfreq(2048, d=1.0 / e.sample_rate)
        ax = axes[-1]
        top = -np.inf
        for label, x in signals:
            curve = smoothed_ltas_db(x, e.sample_rate)[1:]
            top = max(top, float(curve.max()))
            ax.semilogx(
                freqs[1:],
                curve,
                label=label,
                lw=2.5 if label == "clean" else 1.2,
                color="k" if label == "clean" else None,
            )
        for f in (e.params.highpass_hz, e.params.lowpass_hz):
            ax.axvline(f, color="grey", ls=":")
        ax.set_xlim(40, e.sample_rate / 2)
        ax.set_ylim(top - 90, top + 5)
        ax.set_title("third-octave LTAS (unit std)")
        ax.set_xlabel("Hz")
        ax.legend(fontsize=7)
        fig.suptitle(f"{e.name} ({e.score})")
        path = out / f"{name}_{e.name}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=80, format="png")
        plt.close(fig)
        paths.append(path)
    return paths


def write_markdown(path: Path, text: str) -> None:
    """Write the markdown report atomically."""
    atomic_write_text(path, text)
