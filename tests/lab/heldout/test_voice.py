"""Held-out voice: sung material by seed and range, the singer's model, voice rows; the piano path kept."""

import argparse
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from shellac.cli.heldout import cmd_bench_guidance
from shellac.engine.errors import ParameterError
from shellac.lab.heldout.bench import (
    BenchOutcome,
    Row,
    run_bench,
    run_side_by_side,
    score_side_by_side,
    select_rows,
    with_overrides,
)
from shellac.lab.heldout.material import corpus_scores, load_heldout
from shellac.lab.heldout.report import markdown, summary
from shellac.lab.heldout.runner import ChainRun, catalog_run, prepare_excerpts
from shellac.lab.heldout.sung import VOICE_RANGES, SungSpec, fit_range, sing_excerpt, sung_line, voice_for
from shellac.lab.synthesis import midi_to_hz
from tests.fixtures.bundles import make_tiny_bundle

SR = 16_000  # above twice the chains' highest low-pass (6 kHz), small enough for a quick test
WORK = "monteverdi/madrigal.3.1.mxl"
PIANO_REPORT = Path("docs/benchmarks/heldout-piano-cpu")
VOICE_REPORT = Path("docs/benchmarks/heldout-voice-chain6.json")


def test_voice_part_is_sung_monteverdi_without_analyses() -> None:
    part = load_heldout("benchmark", kind="voice")
    assert part.soundfont is None and part.composers == ("monteverdi",)
    assert load_heldout("validation", kind="voice").composers == ("josquin",)
    scores = corpus_scores(part.composers)
    assert len(scores) == 49 and all(s.endswith(".mxl") for s in scores)  # 48 .rntxt analyses left out
    assert [voice_for(i) for i in range(4)] == ["tenor", "soprano", "tenor", "soprano"]


def test_fit_range_moves_by_octaves() -> None:
    # +12 puts three of four in C3–A4; 84 is then two octaves high, 52 and 57 stay.
    assert fit_range([40, 45, 52, 72], "tenor") == [52, 57, 64, 60]
    assert fit_range([60, 64, 67], "soprano") == [60, 64, 67]  # already in range: no move
    # +24 and -12 each fit one note; the smaller move wins, and 24 then climbs three octaves.
    assert fit_range([36, 96], "soprano") == [60, 84]


def test_sung_line_is_seeded_and_in_the_singers_range() -> None:
    for voice in ("tenor", "soprano"):
        spec = SungSpec(WORK, voice, SR, 3.0, 11)
        notes = sung_line(spec, np.random.default_rng(spec.seed))
        assert notes == sung_line(spec, np.random.default_rng(spec.seed))
        lo, hi = VOICE_RANGES[voice]
        assert len(notes) >= 4 and all(lo <= n.midi <= hi for n in notes)
        assert all(0.0 <= n.start_s and n.start_s + n.duration_s <= 2.7 + 1e-9 for n in notes)
        assert notes[0].start_s == 0.0 and sum(n.duration_s for n in notes) >= 0.75 * 2.7  # sung, not rests
    other = sung_line(SungSpec(WORK, "tenor", SR, 3.0, 12), np.random.default_rng(12))
    assert [n.midi for n in other] != [n.midi for n in sung_line(spec, np.random.default_rng(11))]


def _f0_hz(x: np.ndarray, sr: int, lo_hz: float, hi_hz: float) -> float:
    """Autocorrelation pitch of the loudest 100 ms frame."""
    hop = sr // 10
    frames = x[: x.size // hop * hop].reshape(-1, hop)
    frame = frames[int(np.argmax((frames**2).sum(1)))]
    ac = np.correlate(frame, frame, "full")[hop - 1 :]
    lags = np.arange(int(sr / hi_hz), int(sr / lo_hz) + 1)
    return sr / float(lags[int(np.argmax(ac[lags]))])


def test_sung_excerpt_is_cached_peak_half_and_sings_in_range(tmp_path: Path) -> None:
    spec = SungSpec(WORK, "soprano", SR, 2.0, 5)
    x = sing_excerpt(spec, tmp_path / "a")
    assert x.shape == (2 * SR,) and np.max(np.abs(x)) == pytest.approx(0.5, abs=1e-6)
    assert np.allclose(x, sing_excerpt(spec, tmp_path / "a"), atol=1e-7)  # from the cache
    assert np.allclose(x, sing_excerpt(spec, tmp_path / "b"), atol=1e-7)  # rendered again: same
    assert spec.key() != SungSpec(WORK, "tenor", SR, 2.0, 5).key()
    lo, hi = (float(midi_to_hz(m)) for m in VOICE_RANGES["soprano"])
    f0 = _f0_hz(x, SR, lo / 1.1, hi * 1.1)
    assert lo / 1.06 <= f0 <= hi * 1.06  # a semitone's slack for vibrato


def test_singers_model_comes_from_the_registry() -> None:
    run = catalog_run(ChainRun("voice", {"generative_eq": {"n_steps": 8}}), "tenor")
    assert run.overrides == {"generative_eq": {"n_steps": 8, "model": "tenor"},
                             "ltas_eq": {"reference": "model:tenor"}}
    soprano = catalog_run(ChainRun("voice-ltas"), "soprano")
    assert soprano.overrides == {"ltas_eq": {"reference": "model:soprano"}}
    explicit = ChainRun("voice", {"generative_eq": {"model": "voice"}})
    assert catalog_run(explicit, "tenor").overrides["generative_eq"] == {"model": "voice"}
    piano = ChainRun("piano", {"generative_eq": {"sigma_y": 0.0}})
    assert catalog_run(piano, "") == piano


def test_voice_rows_name_the_voice_profiles() -> None:
    rows = {r.key: r for r in select_rows(None, "voice")}
    assert list(rows) == ["input", "ltas_eq", "chain_eq", "eq_step", "babe2", "babe2_gated", "babe2_sy0",
                          "babe2_sy0_gated"]
    assert {k: (r.run.profile if r.run else None, r.output) for k, r in rows.items()} == {
        "input": (None, "access"), "ltas_eq": ("voice-ltas", "access"), "chain_eq": ("voice-ltas", "access"),
        "eq_step": ("voice", "eq"),
        "babe2": ("voice", "generative"), "babe2_gated": ("voice", "access"),
        "babe2_sy0": ("voice", "generative"), "babe2_sy0_gated": ("voice", "access")}
    assert rows["babe2"].label == "chain EQ + BABE-2 (profile voice), generative output"
    assert rows["ltas_eq"].label == "LTAS-EQ (profile voice-ltas)"
    assert rows["babe2_sy0"].run.overrides == {"generative_eq": {"sigma_y": 0.0}}  # type: ignore[union-attr]
    with pytest.raises(ParameterError, match="unknown held-out kind"):
        select_rows(None, "organ")


def test_piano_rows_and_report_are_unchanged() -> None:
    """The committed piano report's rows and markdown come out of today's code byte for byte."""
    saved = json.loads(PIANO_REPORT.with_suffix(".json").read_text(encoding="utf-8"))
    rows = select_rows(list(saved["rows"]))
    # Since session 35 the chain-EQ row is the piano-chain profile itself; the report predates that.
    chain = next(r for r in rows if r.key == "chain_eq")
    assert (chain.label, chain.run) == ("chain EQ alone (profile piano-chain)", ChainRun("piano-chain"))
    before = Row("chain_eq", "chain EQ alone (profile piano-ltas, ltas_eq.method = chain)",
                 ChainRun("piano-ltas", {"ltas_eq": {"method": "chain"}}))
    rows = [before if r.key == "chain_eq" else r for r in rows]
    assert {r.key: {"label": r.label, "profile": r.run.profile if r.run else None, "output": r.output}
            for r in rows} == saved["rows"]
    outcome = BenchOutcome(rows, [SimpleNamespace(name=e["name"]) for e in saved["excerpts"]])  # type: ignore[misc]
    outcome.scores = {r.key: [e["scores"][r.key] for e in saved["excerpts"]] for r in rows}
    outcome.gates = {r.key: [e["gates"].get(r.key) for e in saved["excerpts"]] for r in rows}
    # The summary recomputed from the saved scores is the saved one (means and win rates).
    recomputed = summary(outcome)
    assert recomputed["means"] == saved["summary"]["means"]
    assert recomputed["wins"] == saved["summary"]["wins"]
    text = PIANO_REPORT.with_suffix(".md").read_text(encoding="utf-8")
    settings = saved["settings"]
    # JSON sorts keys; the CLI gives the overrides in its own order (steps, then filter iterations).
    settings["overrides"] = {"generative_eq": {"n_steps": 8, "filter_iters": 25}}
    assert markdown(outcome, saved["context"], settings, text.splitlines()[2]) == text


def test_bench_guidance_refuses_voice() -> None:
    with pytest.raises(ParameterError, match="piano profile only; --kind voice"):
        cmd_bench_guidance(argparse.Namespace(kind="voice", part="validation"))


KILLED_BENCH = """
import time
from shellac.lab.heldout import bench

if __name__ == "__main__":
    pool = bench._worker_pool(2, bench.torch.set_num_threads, 1)
    [f.result() for f in [pool.submit(time.sleep, 1.0) for _ in range(2)]]  # both started
    runs = [pool.submit(time.sleep, 120.0) for _ in range(2)]
    print("ready", flush=True)
    time.sleep(120.0)
"""


def _workers_of(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.is_file() and stat.read_text().split()[2] != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_workers_leave_when_the_bench_is_killed(tmp_path: Path) -> None:
    """Killed outright, a bench cannot stop its pool; its workers notice and leave instead of finishing
    their runs as orphans (which a rerun could meet in the same folder)."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "bench.py"
    script.write_text(KILLED_BENCH, encoding="utf-8")
    bench = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[3])
    workers: set[int] = set()
    try:
        assert bench.stdout is not None and bench.stdout.readline().strip() == "ready"
        workers = _workers_of(bench.pid)
        assert len(workers) == 2
        bench.send_signal(signal.SIGKILL)
        bench.wait(timeout=10)
        deadline = time.monotonic() + 10.0
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers)  # without the watch they sleep on for two minutes
    finally:
        bench.kill()
        for w in workers:
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_visqol_side_by_side_scores_as_one_process_does(tmp_path: Path) -> None:
    """Each scoring process loads its own ViSQOL; the figures are one process's (ViSQOL's to 1e-9)."""
    from shellac.lab.evaluation.visqol import Visqol
    from shellac.lab.heldout.runner import score

    excerpt = prepare_excerpts(load_heldout("benchmark", kind="voice"), 1, 2.0, SR, 0, tmp_path,
                               log=lambda _: None)[0]
    pairs = [(excerpt, excerpt.degraded), (excerpt, 0.5 * excerpt.clean + 0.01 * excerpt.degraded)]
    lines: list[str] = []
    side_by_side = score_side_by_side(pairs, visqol=True, workers=2, log=lines.append)
    in_process = [score(e, x, Visqol()) for e, x in pairs]
    # ViSQOL's SVR sums through BLAS, whose thread count (OMP_NUM_THREADS unset: one per core, shared
    # differently by two processes) moves its last bits (1e-14 seen); every other figure is exact.
    for ours, theirs in zip(side_by_side, in_process, strict=True):
        assert ours["visqol_moslqo"] == pytest.approx(theirs["visqol_moslqo"], abs=1e-9)
        assert {k: v for k, v in ours.items() if k != "visqol_moslqo"} \
            == {k: v for k, v in theirs.items() if k != "visqol_moslqo"}
    assert lines == ["scoring 2 estimates in 2 processes with ViSQOL"]
    # The near-clean estimate scores far above the degraded one on every measure.
    degraded, near_clean = side_by_side
    assert near_clean["visqol_moslqo"] > degraded["visqol_moslqo"] + 0.5
    assert near_clean["lsd_db"] < degraded["lsd_db"] and near_clean["si_sdr_db"] > 20.0
    with pytest.raises(ParameterError, match="workers must be at least 1"):
        score_side_by_side(pairs, visqol=False, workers=0)


def test_a_killed_master_write_leaves_no_partial_master(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A degraded master is written atomically: a write that dies half-way leaves nothing a rerun trusts."""
    import soundfile

    from shellac.lab.heldout import runner

    part = load_heldout("benchmark", kind="voice")
    real_write = soundfile.write

    def dies_half_way(path: Path, data: np.ndarray, *args: object, **kwargs: object) -> None:
        if "master" not in Path(path).name:  # the clean render's own write goes through
            real_write(path, data, *args, **kwargs)
            return
        real_write(path, data[: data.size // 2], *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.sf, "write", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        prepare_excerpts(part, 1, 2.0, SR, 0, tmp_path / "cache", log=lambda _: None)
    folders = list((tmp_path / "cache" / "excerpts").iterdir())
    assert len(folders) == 1 and list(folders[0].iterdir()) == []  # no master, no stray temporary file
    monkeypatch.setattr(runner.sf, "write", real_write)
    rerun = prepare_excerpts(part, 1, 2.0, SR, 0, tmp_path / "cache", log=lambda _: None)
    fresh = prepare_excerpts(part, 1, 2.0, SR, 0, tmp_path / "cache2", log=lambda _: None)
    assert rerun[0].degraded.size == int(2.0 * SR) and np.array_equal(rerun[0].degraded, fresh[0].degraded)


def test_excerpts_from_first_are_those_of_a_run_from_zero_and_only_they_are_made(tmp_path: Path) -> None:
    part = load_heldout("validation", kind="voice")
    late = prepare_excerpts(part, 3, 2.0, SR, 0, tmp_path / "late", first=2, log=lambda _: None)
    whole = prepare_excerpts(part, 3, 2.0, SR, 0, tmp_path / "whole", log=lambda _: None)
    assert [e.name for e in late] == [whole[2].name] and late[0].name.startswith("02-")
    assert np.array_equal(late[0].degraded, whole[2].degraded)
    assert np.array_equal(late[0].clean, whole[2].clean)
    assert late[0].params == whole[2].params
    # Nothing was rendered or degraded for excerpts 0 and 1.
    assert [f.name[:3] for f in (tmp_path / "late" / "excerpts").iterdir()] == ["02-"]
    assert len(list((tmp_path / "late" / "renders").iterdir())) == 1


def test_voice_bench_end_to_end_on_tiny_models(tmp_path: Path) -> None:
    """Two sung excerpts through voice-ltas and voice with random-weight tenor and soprano models."""
    models = tmp_path / "models"
    for key in ("tenor", "soprano"):
        make_tiny_bundle(models, key, sample_rate=SR, segment_length=32768)
    part = load_heldout("benchmark", kind="voice")
    excerpts = prepare_excerpts(part, 2, 2.0, SR, 0, tmp_path / "cache", log=lambda _: None)
    assert [(e.name, e.voice) for e in excerpts] == [
        ("00-madrigal.3.1-tenor", "tenor"), ("01-madrigal.3.10-soprano", "soprano")]
    again = prepare_excerpts(part, 2, 2.0, SR, 0, tmp_path / "cache2", log=lambda _: None)
    assert all(np.array_equal(a.degraded, b.degraded) for a, b in zip(excerpts, again, strict=True))
    rows = select_rows(["input", "ltas_eq", "eq_step", "babe2", "babe2_gated"], "voice")
    fast = {"generative_eq": {"n_steps": 2, "filter_iters": 2}}
    outcome = run_bench(excerpts, rows, models, overrides=fast, log=lambda _: None)
    means = outcome.means()
    assert set(means) == {"input", "ltas_eq", "eq_step", "babe2", "babe2_gated"}
    # The EQ step is the voice profile's gentle chain EQ: not LTAS-EQ, not the generative output.
    assert len({round(means[k]["lsd_db"], 6) for k in ("ltas_eq", "eq_step", "babe2")}) == 3
    assert outcome.gates["eq_step"] == [None, None] and all(g is not None for g in outcome.gates["babe2"])
    wins = summary(outcome)["wins"]
    assert set(wins["babe2"]) == {"ltas_eq", "input", "eq_step"}
    assert set(wins["eq_step"]) == {"ltas_eq", "input"}
    saved = json.loads(VOICE_REPORT.read_text(encoding="utf-8"))
    assert "| vs its EQ step: LSD |" in markdown(outcome, saved["context"], saved["settings"], "")
    assert all(np.isfinite(v) for m in means.values() for v in m.values())
    assert means["input"]["lsd_db"] > 0 and means["input"]["lsd_db"] != means["ltas_eq"]["lsd_db"]
    # Each excerpt ran with its own singer's model, for the EQ reference and the prior.
    for e in excerpts:
        run = catalog_run(with_overrides(ChainRun("voice"), fast), e.voice)
        state = json.loads((e.master.parent / run.key() / "state.json").read_text(encoding="utf-8"))
        assert state["stages"]["generative_eq"]["metrics"]["model"] == e.voice
        assert state["stages"]["ltas_eq"]["params"]["reference"] == f"model:{e.voice}"


def test_runs_side_by_side_give_the_figures_of_one_process(tmp_path: Path) -> None:
    """--workers 2: the same scores to the last digit as one process, each run in its own folder."""
    models = tmp_path / "models"
    for key in ("tenor", "soprano"):
        make_tiny_bundle(models, key, sample_rate=SR, segment_length=32768)
    part = load_heldout("benchmark", kind="voice")
    rows = select_rows(["input", "ltas_eq", "babe2", "babe2_gated"], "voice")
    fast = {"generative_eq": {"n_steps": 2, "filter_iters": 2}}
    outcomes, lines = [], []
    for workers in (1, 2):
        excerpts = prepare_excerpts(part, 2, 2.0, SR, 0, tmp_path / f"cache{workers}", log=lambda _: None)
        outcomes.append(run_bench(excerpts, rows, models, overrides=fast, workers=workers, log=lines.append))
    one, two = outcomes
    assert two.scores == one.scores and two.gates == one.gates
    assert "4 runs in 2 processes, 1 torch thread(s) each" in lines
    assert "scoring 8 estimates in 2 processes" in lines  # the scoring went side by side too
    # Each run's time is its own steps' sum, as in one process (the scoring reuses the finished runs).
    assert set(two.seconds) == set(one.seconds) and all(v > 0 for v in two.seconds.values())
    with pytest.raises(ParameterError, match="workers must be at least 1"):
        run_side_by_side(excerpts, [ChainRun("voice")], models, workers=0)
    with pytest.raises(ParameterError, match="workers must be at least 1"):
        run_bench(excerpts, rows, models, workers=0, log=lambda _: None)
