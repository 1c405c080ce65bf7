"""The held-out benchmark: rows (input, LTAS-EQ, BABE-2 variants), means, win rates, gate agreement."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shellac.engine.errors import ParameterError
from shellac.lab.evaluation.visqol import Visqol
from shellac.lab.heldout.runner import ChainRun, HeldoutExcerpt, RunOutputs, run_chain, score, step_params
from shellac.lab.heldout.sung import VOICES
from shellac.stages.profiles import load_plan

METRICS = (
    "lsd_db", "ltas_err_db", "ltas_err_within30_db", "high_band_db", "top_octave_db", "low_band_db",
    "si_sdr_db", "visqol_moslqo",
)
LOWER_IS_BETTER = ("lsd_db", "ltas_err_db", "ltas_err_within30_db")
HIGHER_IS_BETTER = ("visqol_moslqo",)


def win_rate(scores: Sequence[Mapping[str, float]], against: Sequence[Mapping[str, float]],
             metric: str) -> float:
    """% of excerpts on which ``scores`` beat ``against`` on ``metric`` (a tie loses).

    Lower wins for :data:`LOWER_IS_BETTER` metrics, higher for :data:`HIGHER_IS_BETTER`.
    """
    if metric not in (*LOWER_IS_BETTER, *HIGHER_IS_BETTER):
        raise ParameterError(f"no win rate on {metric!r}: it is not a distance or a quality score")
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    wins = [sign * x[metric] < sign * y[metric] for x, y in zip(scores, against, strict=True)]
    return 100.0 * float(np.mean(wins))


@dataclass(frozen=True)
class Row:
    """One row of the table: which chain run, and which of its outputs is scored."""

    key: str
    label: str
    run: ChainRun | None  # None: the degraded input itself
    # "access": the access copy; "generative": the generative stage's own output; "eq": the EQ stage's output
    output: str = "access"


def _sigma_y0() -> dict[str, dict[str, Any]]:
    return {"generative_eq": {"sigma_y": 0.0}}


@dataclass(frozen=True)
class KindProfiles:
    """The production profiles a held-out kind is restored with, and what its EQ stage is called."""

    ltas: str  # LTAS-EQ alone
    generative: str  # EQ then BABE-2
    eq: str  # the generative profile's EQ stage, as row labels name it
    chain: ChainRun  # the chain EQ alone: a shipped profile, or the LTAS-EQ one with the chain method


KINDS = {
    "piano": KindProfiles("piano-ltas", "piano", "chain EQ", ChainRun("piano-chain")),
    "voice": KindProfiles("voice-ltas", "voice", "chain EQ",
                          ChainRun("voice-ltas", {"ltas_eq": {"method": "chain"}})),
}


def _describe(run: ChainRun) -> str:
    """``profile P``, with its overrides as ``stage.param = value``."""
    return ", ".join([f"profile {run.profile}", *(f"{stage}.{name} = {value}" for stage, params in
                                                 run.overrides.items() for name, value in params.items())])


def kind_rows(kind: str) -> dict[str, Row]:
    """Every row of ``kind``'s table, keyed and ordered alike for every kind."""
    if kind not in KINDS:
        raise ParameterError(f"unknown held-out kind {kind!r}; known: {', '.join(KINDS)}")
    p = KINDS[kind]
    return {
        r.key: r
        for r in (
            Row("input", "degraded input (untouched)", None),
            Row("ltas_eq", f"LTAS-EQ (profile {p.ltas})", ChainRun(p.ltas)),
            Row("chain_eq", f"chain EQ alone ({_describe(p.chain)})", p.chain),
            Row("eq_step", f"{p.eq} step of profile {p.generative} alone (the generative stage's input)",
                ChainRun(p.generative), "eq"),
            Row("babe2", f"{p.eq} + BABE-2 (profile {p.generative}), generative output",
                ChainRun(p.generative), "generative"),
            Row(
                "babe2_gated",
                f"{p.eq} + BABE-2 (profile {p.generative}), access copy after the quality gate",
                ChainRun(p.generative),
            ),
            Row(
                "babe2_sy0",
                f"{p.eq} + BABE-2, σ_y = 0, generative output",
                ChainRun(p.generative, _sigma_y0()),
                "generative",
            ),
            Row(
                "babe2_sy0_gated",
                f"{p.eq} + BABE-2, σ_y = 0, access copy after the gate",
                ChainRun(p.generative, _sigma_y0()),
            ),
            Row(
                "babe2_bundle",
                f"{p.eq} + BABE-2, the bundle's measured guidance, generative output",
                ChainRun(p.generative, {"generative_eq": {"guidance": "bundle"}}),
                "generative",
            ),
        )
    }


DEFAULT_ROWS = (
    "input", "ltas_eq", "chain_eq", "eq_step", "babe2", "babe2_gated", "babe2_sy0", "babe2_sy0_gated"
)


def select_rows(keys: Sequence[str] | None, kind: str = "piano") -> list[Row]:
    """The rows of ``kind`` named by ``keys`` (default: DEFAULT_ROWS), in table order."""
    rows = kind_rows(kind)
    wanted = list(keys or DEFAULT_ROWS)
    unknown = [k for k in wanted if k not in rows]
    if unknown:
        raise ParameterError(f"unknown rows {unknown}; known: {', '.join(rows)}")
    return [rows[k] for k in rows if k in wanted]


def with_overrides(run: ChainRun, overrides: Mapping[str, Mapping[str, Any]]) -> ChainRun:
    """``run`` with ``overrides`` (stage -> param -> value) added for the stages its profile has."""
    stages = {s.stage for s in load_plan(run.profile).steps}
    merged = {k: dict(v) for k, v in run.overrides.items()}
    for stage, values in overrides.items():
        if stage in stages:
            merged[stage] = {**values, **merged.get(stage, {})}
    return ChainRun(run.profile, merged)


def generative_settings(kind: str, overrides: Mapping[str, Mapping[str, Any]]
                        ) -> dict[str, dict[str, dict[str, Any]]]:
    """Per model, the parameters of every step ``kind``'s generative profile restored its excerpts with."""
    run = with_overrides(ChainRun(KINDS[kind].generative), overrides)
    out = {}
    for voice in VOICES if kind == "voice" else ("",):
        params = step_params(run, voice)
        out[str(params["generative_eq"]["model"])] = params
    return out


@dataclass
class BenchOutcome:
    """Per-excerpt scores and gate records of every row, and the summaries."""

    rows: list[Row]
    excerpts: list[HeldoutExcerpt]
    scores: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    gates: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def means(self) -> dict[str, dict[str, float]]:
        """Mean of every metric per row (a report saved before a metric existed has none of it)."""
        return {k: {m: float(np.mean([s[m] for s in v])) for m in METRICS if all(m in s for s in v)}
                for k, v in self.scores.items()}

    def win_rates(self, row: str, against: str) -> dict[str, float]:
        """% of excerpts where ``row`` beats ``against`` on LSD, LTAS error, both, and ViSQOL if scored."""
        a, b = self.scores[row], self.scores[against]
        both = [x["lsd_db"] < y["lsd_db"] and x["ltas_err_db"] < y["ltas_err_db"]
                for x, y in zip(a, b, strict=True)]
        rates = {
            "lsd": win_rate(a, b, "lsd_db"),
            "ltas_err": win_rate(a, b, "ltas_err_db"),
            "both": 100.0 * float(np.mean(both)),
        }
        if all("ltas_err_within30_db" in s for s in (*a, *b)):
            rates["ltas_err_within30"] = win_rate(a, b, "ltas_err_within30_db")
        if all("visqol_moslqo" in s for s in (*a, *b)):
            rates["visqol"] = win_rate(a, b, "visqol_moslqo")
        return rates


def run_bench(
    excerpts: list[HeldoutExcerpt],
    rows: list[Row],
    models_dir: Any,
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "cpu",
    keep_outputs: int = 0,
    visqol: Visqol | None = None,
    workers: int = 1,
    log: Callable[[str], None] = print,
) -> BenchOutcome:
    """Restore every excerpt with every row's chain run (each run once), score and collect gate records.

    ``keep_outputs`` excerpts' signals are kept for plots; with ``visqol`` every row also gets
    its ViSQOL MOS-LQO; with ``workers`` > 1 the runs go first, side by side
    (:func:`run_side_by_side`), then the scoring, side by side too (:func:`score_side_by_side`).
    """
    outcome = BenchOutcome(rows, excerpts)
    runs = {r.key: with_overrides(r.run, overrides or {}) for r in rows if r.run is not None}
    done: dict[tuple[str, int], RunOutputs] = {}
    if workers != 1:  # run_side_by_side refuses fewer than one
        done = run_side_by_side(excerpts, list(runs.values()), Path(models_dir), workers=workers,
                                device=device, log=log)
    estimates: list[tuple[int, Row, np.ndarray, dict[str, Any] | None]] = []
    for i, excerpt in enumerate(excerpts):
        for row in rows:
            if row.run is None:
                estimate, gate = excerpt.degraded, None
            else:
                run = runs[row.key]
                if (run.key(), i) not in done:
                    log(f"{excerpt.name}: {run.profile} {dict(run.overrides)}")
                    done[(run.key(), i)] = run_chain(excerpt, run, models_dir, device=device)
                result = done[(run.key(), i)]
                estimate = {"generative": result.generative, "eq": result.eq}.get(row.output, result.access)
                if estimate is None:
                    stage = "generative_eq" if row.output == "generative" else "ltas_eq"
                    raise ParameterError(f"row {row.key}: profile {run.profile} has no finished {stage} step")
                gate = None if row.output == "eq" else result.gate  # the gate judged the generative output
            estimates.append((i, row, estimate, gate))
    pairs = [(excerpts[i], estimate) for i, _, estimate, _ in estimates]
    if workers == 1:
        scores = [score(excerpt, estimate, visqol) for excerpt, estimate in pairs]
    else:
        scores = score_side_by_side(pairs, visqol=visqol is not None, workers=workers, log=log)
    for (i, row, estimate, gate), figures in zip(estimates, scores, strict=True):
        outcome.scores.setdefault(row.key, []).append(figures)
        outcome.gates.setdefault(row.key, []).append(gate)
        if i < keep_outputs:
            outcome.outputs.setdefault(row.key, []).append(estimate)
    for (key, _), result in done.items():  # each run's time, however it ran
        outcome.seconds[key] = outcome.seconds.get(key, 0.0) + result.seconds
    return outcome


def run_side_by_side(
    excerpts: Sequence[HeldoutExcerpt],
    runs: Sequence[ChainRun],
    models_dir: Path,
    *,
    workers: int,
    device: str = "cpu",
    log: Callable[[str], None] = print,
) -> dict[tuple[str, int], RunOutputs]:
    """Every run on every excerpt, in ``workers`` processes, keyed by (run key, excerpt index).

    Generative runs go first (they take longest). Each worker gets an equal share of
    this process's torch threads (at least one). Every run is seeded per excerpt and
    writes only its own work folder, so the results are those of one process.
    """
    _check_workers(workers)
    unique = list({run.key(): run for run in runs}.values())
    generative = {run.key(): any(s.stage == "generative_eq" for s in load_plan(run.profile).steps)
                  for run in unique}
    tasks = sorted(((run, i) for run in unique for i in range(len(excerpts))),
                   key=lambda task: not generative[task[0].key()])
    threads = max(1, torch.get_num_threads() // workers)
    log(f"{len(tasks)} runs in {workers} processes, {threads} torch thread(s) each")
    done: dict[tuple[str, int], RunOutputs] = {}
    with _worker_pool(workers, torch.set_num_threads, threads) as pool:
        futures = {pool.submit(run_chain, excerpts[i], run, models_dir, device=device): (run, i)
                   for run, i in tasks}
        try:
            for future in as_completed(futures):
                run, i = futures[future]
                done[(run.key(), i)] = future.result()
                log(f"{excerpts[i].name}: {run.profile} {dict(run.overrides)} "
                    f"done in {done[(run.key(), i)].seconds:.0f} s")
        except BaseException:
            pool.shutdown(cancel_futures=True)  # a failed run stops the bench, as in one process
            raise
    return done


PARENT_POLL_S = 0.5
"""How often a worker checks that the bench which spawned it is still there (seconds)."""


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers}")


def _worker_pool(workers: int, setup: Callable[..., None], *args: Any) -> ProcessPoolExecutor:
    """``workers`` spawned processes (torch's threads do not survive a fork), each running ``setup(*args)``
    first and leaving as soon as this process is gone (:func:`_start_worker`)."""
    _check_workers(workers)
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(), setup, *args))


def _start_worker(parent: int, setup: Callable[..., None], *args: Any) -> None:
    """In a worker: ``setup(*args)``, then exit as soon as the bench process ``parent`` is gone. Killed
    outright, a bench cannot stop its pool, and its workers would finish their runs as orphans, perhaps
    beside a rerun of the same excerpt in the same folder (every write is atomic, so leaving half-way
    loses only that run)."""
    setup(*args)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


_scorer: Visqol | None = None
"""A scoring worker's own ViSQOL (set by :func:`_start_scorer`; its model loads once per process)."""


def _start_scorer(with_visqol: bool) -> None:
    global _scorer
    _scorer = Visqol() if with_visqol else None


def _score_in_worker(excerpt: HeldoutExcerpt, estimate: np.ndarray) -> dict[str, float]:
    return score(excerpt, estimate, _scorer)


def score_side_by_side(
    pairs: Sequence[tuple[HeldoutExcerpt, np.ndarray]],
    *,
    visqol: bool,
    workers: int,
    log: Callable[[str], None] = print,
) -> list[dict[str, float]]:
    """Every (excerpt, estimate)'s figures (:func:`score`), in ``workers`` processes, in order.

    Each process loads its own ViSQOL when ``visqol`` is set; the figures are those of one
    process (every metric is a function of the two signals alone; ViSQOL's last bits follow BLAS's
    thread count, so with ``OMP_NUM_THREADS`` unset they may differ by about 1e-14).
    """
    log(f"scoring {len(pairs)} estimates in {workers} processes" + (" with ViSQOL" if visqol else ""))
    with _worker_pool(workers, _start_scorer, visqol) as pool:
        return list(pool.map(_score_in_worker, *zip(*pairs, strict=True))) if pairs else []


def gate_agreement(
    outcome: BenchOutcome, generative: str = "babe2", baseline: str = "ltas_eq"
) -> dict[str, Any] | None:
    """How the gate's decisions match the truth: was the generative output worse than LTAS-EQ on LSD?"""
    if generative not in outcome.scores or baseline not in outcome.scores:
        return None
    table = {"fallback_and_worse": 0, "fallback_but_better": 0, "kept_but_worse": 0, "kept_and_better": 0}
    per_excerpt = []
    for gen, base, gate in zip(
        outcome.scores[generative], outcome.scores[baseline], outcome.gates[generative], strict=True
    ):
        worse = gen["lsd_db"] > base["lsd_db"] or gen["ltas_err_db"] > base["ltas_err_db"]
        fallback = bool(gate and gate.get("fallback"))
        table[
            ("fallback_and_worse" if worse else "fallback_but_better")
            if fallback
            else ("kept_but_worse" if worse else "kept_and_better")
        ] += 1
        per_excerpt.append(
            {
                "fallback": fallback,
                "worse_than_baseline": worse,
                "checks": {c["name"]: c["value"] for c in (gate or {}).get("checks", [])},
            }
        )
    return {
        "generative_row": generative,
        "baseline_row": baseline,
        "counts": table,
        "per_excerpt": per_excerpt,
    }
