"""The static HTML report: state.json and artifacts, inline PNGs, rendered by headless Chromium."""

from __future__ import annotations

import argparse
import base64
import contextlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from shellac.catalogs import load_catalog
from shellac.engine.errors import ShellacError
from shellac.ops_cli import add_ops_commands
from shellac.report import gather, write_report
from shellac.report.figures import filter_responses, ltas_curves
from shellac.stages.chain import job_plan, run_plan
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


def test_report_html_is_self_contained(ran_catalog: Path, tmp_path: Path) -> None:
    parser_target = tmp_path / "r" / "report.html"
    parser = argparse.ArgumentParser()
    add_ops_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", str(ran_catalog), "--output-html", str(parser_target)])
    assert args.func(args) == 0
    page = parser_target.read_text(encoding="utf-8")
    images = re.findall(r"<img class='(\w+)' alt='[^']*' src='([^']+)'", page)
    assert [kind for kind, _ in images] == ["spectrogram", "ltas"]  # only 'a' has audio to show
    assert all(src.startswith("data:image/png;base64,") and _png_size(src)[0] > 300 for _, src in images)
    assert not re.search(r"(src|href)=['\"](https?:|//)", page)  # nothing fetched from outside
    assert "<li class='failure' data-id='silent'><b>silent</b>: ingest: silent.wav is silent" in page
    assert page.count("<li class='rejected'>") == 2  # the two bad catalog rows
    # Default location: beside the collection's outputs.
    catalog = load_catalog(ran_catalog)
    assert write_report(catalog) == catalog.config.collection_dir / "report.html"


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian 'chromium' is not installed (apt-get install chromium; make system-deps)")
def test_report_renders_in_headless_chromium(ran_catalog: Path, tmp_path: Path) -> None:
    page = write_report(load_catalog(ran_catalog), tmp_path / "report.html")
    base = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000"]
    dom = subprocess.run([*base, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-images-loaded="2"' in body and 'data-images-broken="0"' in body
    assert re.search(r'<li class="failure" data-id="silent">', dom)
    shot = tmp_path / "shot.png"
    subprocess.run([*base, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=60, check=True)
    data = shot.read_bytes()
    assert data[:8] == PNG_MAGIC and int.from_bytes(data[16:20], "big") == 1000
    assert len(data) > 20_000  # a blank page compresses to a few kB; figures and tables do not
