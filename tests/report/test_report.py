"""The static HTML report: state.json and artifacts, inline PNGs, rendered by headless Chromium."""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import html
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.catalogs import load_catalog
from shellac.cli.ops import add_ops_commands
from shellac.engine.errors import ShellacError
from shellac.report import gather, render_report, write_report
from shellac.report.figures import filter_responses, ltas_curves
from shellac.report.notes import hz_range
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.state import load_state
from tests.stages.helpers import job_for

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def _png_size(uri: str) -> tuple[int, int]:
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == PNG_MAGIC
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture
def ran_catalog(catalog_dir: Path) -> Path:
    """'a' restored, 'silent' failed at ingest, 'b' and 'gone' never ran."""
    for rec_id in ("a", "silent"):
        job = job_for(catalog_dir, rec_id)
        with contextlib.suppress(ShellacError):
            run_plan(job, job_plan(job))
    return catalog_dir


def test_gather_reads_states_and_artifacts(ran_catalog: Path) -> None:
    reports = {r.id: r for r in gather(load_catalog(ran_catalog))}
    assert list(reports) == ["a", "b", "silent", "gone"]
    a = reports["a"]
    assert a.status == "done" and a.audio_s == pytest.approx(4.0)
    assert a.rtf == pytest.approx(a.processing_s / 4.0)
    assert a.before is not None and a.before.name == "audio.wav" and a.after.name == "a.flac"
    assert set(a.ltas) == {"ltas_eq"} and a.filters is None
    assert a.clicks_found is not None and a.clicks_found >= 0
    assert [s.name for s in a.stages] == ["ingest", "denoise", "ltas_eq", "tag"]
    assert reports["silent"].status == "failed" and "silent" in reports["silent"].error
    assert reports["b"].status == "pending" and reports["b"].rtf is None
    assert a.synthesis == ("No generative stage in this chain: nothing was synthesised.",)
    assert a.stale is None and a.quality_gate is None


def _make_stale(catalog_dir: Path, rec_id: str = "a") -> None:
    """A rerun of ``rec_id`` with a changed LTAS-EQ reference fails there: the old access copy stays."""
    job = job_for(catalog_dir, rec_id, overrides={"ltas_eq": {"reference": "no-such-folder"}})
    with contextlib.suppress(ShellacError):
        run_plan(job, job_plan(job))


def test_figures_are_pngs() -> None:
    freqs = np.geomspace(20, 11025, 96).tolist()
    filters = {"freqs_hz": freqs, "blocks": [
        {"index": i, "filter_response_db": (-0.5 * i * np.log2(np.asarray(freqs) / 20)).tolist()}
        for i in range(3)]}
    width, height = _png_size(filter_responses(filters))
    assert width > 200 and height > 100
    curves = {"generative_eq": {"freqs_hz": freqs, "input_db": [-30.0] * 96, "output_db": [-20.0] * 96,
                                "reference_db": None, "generated_bands_hz": [[3000.0, 8000.0]]}}
    assert _png_size(ltas_curves(curves))[0] > 200


def test_report_html_is_self_contained(mixed_catalog: Path, tmp_path: Path) -> None:
    parser_target = tmp_path / "r" / "report.html"
    parser = argparse.ArgumentParser()
    add_ops_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", str(mixed_catalog), "--output-html", str(parser_target)])
    assert args.func(args) == 0
    page = parser_target.read_text(encoding="utf-8")
    images = re.findall(r"<img class='(\w+)' alt='([^']*)' src='([^']+)'", page)
    assert [(kind, alt) for kind, alt, _ in images] == [
        ("spectrogram", "spectrograms of a"), ("ltas", "LTAS of a"),
        ("spectrogram", "spectrograms of b"), ("ltas", "LTAS of b"), ("filters", "filter responses of b")]
    sizes = {alt: _png_size(src) for _, alt, src in images}
    assert sizes["spectrograms of a"][0] > 1000 and sizes["filter responses of b"][0] > 900  # bigger plots
    assert not re.search(r"(src|href)=['\"](https?:|//)", page)  # nothing fetched from outside
    # A/B players: the same excerpt of master and access copy, small files beside the report.
    players = re.findall(r"<audio class='(\w+)' controls preload='metadata' src='([^']+)'>", page)
    assert players == [("before", "report-audio/a-before.flac"), ("after", "report-audio/a-after.flac"),
                       ("before", "report-audio/b-before.flac"), ("after", "report-audio/b-after.flac")]
    for _, url in players:
        info = sf.info(parser_target.parent / url)
        assert info.subtype == "PCM_16" and info.duration == pytest.approx(4.0 if "/a-" in url else 3.0)
    assert page.count("<p>Listen: the same 4.0 s of both, from 0.0 s.</p>") == 1
    # What was synthesised, in plain words, from what the generative stage recorded.
    state = load_state(load_catalog(mixed_catalog).config.collection_dir / "b")
    bands = state.stages["generative_eq"].metrics["generated_bands_hz"]
    section_b = page[page.index("id='rec-b'"):page.index("id='rec-silent'")]
    assert "<div class='synthesis'><p>What the generative stage synthesised" in section_b or not bands
    assert all(hz_range(lo, hi) in section_b for lo, hi in bands)
    assert "Above the upper cut-off (" in section_b or not bands
    # The model's held-out standing, as the stage recorded it (this test bundle was never measured).
    standing = state.stages["generative_eq"].metrics["model_standing"]["summary"]
    assert f"<p class='gate'>Held-out standing: {html.escape(standing)}</p>" in section_b
    assert "has no held-out standing in its card" in standing
    assert "No generative stage in this chain: nothing was synthesised." in page  # 'a' (piano-ltas)
    assert "<li class='failure' data-id='silent'><b>silent</b>: ingest: silent.wav is silent" in page
    assert page.count("<li class='rejected'>") == 2  # the two bad catalog rows
    # Default location: beside the collection's outputs.
    catalog = load_catalog(mixed_catalog)
    assert write_report(catalog) == catalog.config.collection_dir / "report.html"


def test_cancelled_recordings_are_counted_and_listed(ran_catalog: Path) -> None:
    catalog = load_catalog(ran_catalog)
    reports = [dataclasses.replace(r, status="cancelled", error=None) if r.id == "b" else r
               for r in gather(catalog)]
    page = render_report(catalog, reports)
    assert "4 recordings: 1 done, 1 failed, 1 cancelled, 0 running, 1 pending." in page
    assert "<li class='failure' data-id='b'><b>b</b>: cancelled</li>" in page


def test_stale_access_copy_does_not_look_current(ran_catalog: Path, tmp_path: Path) -> None:
    _make_stale(ran_catalog)
    page = write_report(load_catalog(ran_catalog), tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<td class='failed'>failed</td><td class='failed access-stale'>not current</td>" in page
    assert "<section class='recording stale' id='rec-a'>" in page
    assert ("<p class='stale'>Access copy not current. The access copy is from an earlier run; the latest "
            "run failed at ltas_eq, so it does not reflect the current master and chain. Its figures and "
            "excerpts are left out until a run of this recording finishes.</p>") in page
    assert "<td>ltas_eq</td><td class='failed'>failed</td>" in page
    assert "<td>tag</td><td class='old'>done (earlier run)</td>" in page
    # Nothing of the earlier run is presented as a current result.
    assert "<img" not in page and "<audio" not in page
    assert not (tmp_path / "report-audio" / "a-after.flac").exists()


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian 'chromium' is not installed (apt-get install chromium; make system-deps)")
def test_report_renders_in_headless_chromium(mixed_catalog: Path, tmp_path: Path) -> None:
    _make_stale(mixed_catalog)
    page = write_report(load_catalog(mixed_catalog), tmp_path / "report.html")
    base = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-images-loaded="3"' in body and 'data-images-broken="0"' in body  # b's; a is stale
    # Every excerpt decoded far enough for the browser to know its length.
    assert 'data-audio-ready="2"' in body and "data-audio-broken" not in body
    durations = re.findall(r'<audio class="(\w+)"[^>]*data-duration="([0-9.]+)"', dom)
    assert sorted(durations) == [("after", "3.00"), ("before", "3.00")]
    assert re.search(r'<li class="failure" data-id="silent">', dom)
    assert re.search(r'<section class="recording stale" id="rec-a">', dom)
    shot = tmp_path / "shot.png"
    subprocess.run([*base, "--window-size=1400,4200", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=60, check=True)
    data = shot.read_bytes()
    assert data[:8] == PNG_MAGIC and int.from_bytes(data[16:20], "big") == 1400
    assert len(data) > 200_000  # a blank page compresses to a few kB; figures and tables do not
