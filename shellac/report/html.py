"""Write a collection's static, self-contained HTML report (inline PNGs, no external resources)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from shellac.catalogs import Catalog
from shellac.engine.atomic import atomic_path
from shellac.report import figures
from shellac.report.collect import RecordingReport, gather
from shellac.stages.state import utc_now

REPORT_FILE = "report.html"

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.done{color:#176f2c}.failed{color:#b00020}.pending,.running{color:#8a6d00}
section.recording{border-top:2px solid #ddd;margin-top:2em}img{max-width:100%}
"""

# Counts the figures that decoded, so a headless browser (and a curator) can tell the page is whole.
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', String(ok));
  document.body.setAttribute('data-images-broken', String(imgs.length - ok));
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _overview(reports: Sequence[RecordingReport]) -> str:
    head = ("<tr><th>id</th><th>title</th><th>profile</th><th>status</th><th>audio (s)</th>"
            "<th>processing (s)</th><th>real-time factor</th><th>clicks</th></tr>")
    rows = "".join(
        f"<tr><td><a href='#rec-{_e(r.id)}'>{_e(r.id)}</a></td><td>{_e(r.title)}</td>"
        f"<td>{_e(r.profile)}</td><td class='{_e(r.status)}'>{_e(r.status)}</td>"
        f"<td>{_num(r.audio_s, '.1f')}</td><td>{_num(r.processing_s, '.1f')}</td>"
        f"<td>{_num(r.rtf, '.3f')}</td><td>{'–' if r.clicks_found is None else r.clicks_found}</td></tr>"
        for r in reports
    )
    return f"<table id='overview'>{head}{rows}</table>"


def _failures(reports: Sequence[RecordingReport], rejected: Sequence[str]) -> str:
    items = [f"<li class='failure' data-id='{_e(r.id)}'><b>{_e(r.id)}</b>: {_e(r.error or 'failed')}</li>"
             for r in reports if r.status == "failed"]
    items += [f"<li class='rejected'>{_e(line)}</li>" for line in rejected]
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>None.</p>"
    return f"<section id='failures'><h2>Failures ({len(items)})</h2>{body}</section>"


def _figure(uri: str, alt: str, kind: str) -> str:
    return f"<figure><img class='{kind}' alt='{_e(alt)}' src='{uri}'></figure>"


def _recording(report: RecordingReport) -> str:
    parts = [f"<section class='recording' id='rec-{_e(report.id)}'>",
             f"<h2>{_e(report.id)} <small>{_e(report.title)}</small></h2>",
             f"<p>status <span class='{_e(report.status)}'>{_e(report.status)}</span>, profile "
             f"{_e(report.profile or '–')}, audio {_num(report.audio_s, '.1f')} s, processing "
             f"{_num(report.processing_s, '.1f')} s, real-time factor {_num(report.rtf, '.3f')}</p>"]
    if report.error:
        parts.append(f"<p class='failed'>error: {_e(report.error)}</p>")
    if report.stages:
        cells = "".join(f"<tr><td>{_e(s.name)}</td><td class='{_e(s.status)}'>{_e(s.status)}</td>"
                        f"<td>{_num(s.duration_s, '.2f')}</td><td>{_e(s.error or '')}</td></tr>"
                        for s in report.stages)
        parts.append(f"<table><tr><th>stage</th><th>status</th><th>time (s)</th><th>error</th></tr>"
                     f"{cells}</table>")
    if report.clicks_found is not None:
        parts.append(f"<p class='clicks'>click map: {report.clicks_found} click(s) found, "
                     f"{report.clicks_needing_inpainting} too long to repair.</p>")
    if report.before is not None and report.after is not None:
        parts.append(_figure(figures.spectrogram_pair(report.before, report.after),
                             f"spectrograms of {report.id}", "spectrogram"))
    if report.ltas:
        parts.append(_figure(figures.ltas_curves(report.ltas), f"LTAS of {report.id}", "ltas"))
    if report.filters and report.filters.get("blocks"):
        parts.append(_figure(figures.filter_responses(report.filters),
                             f"filter responses of {report.id}", "filters"))
    parts.append("</section>")
    return "".join(parts)


def render_report(catalog: Catalog, reports: Sequence[RecordingReport]) -> str:
    """The report page of ``catalog`` as one HTML string."""
    name = catalog.config.name
    counts = {s: sum(r.status == s for r in reports) for s in ("done", "failed", "pending", "running")}
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Shellac report: {_e(name)}</title><style>{_STYLE}</style>"
        f"<script>{_SCRIPT}</script></head><body>"
        f"<h1>Shellac report: {_e(name)}</h1>"
        f"<p>{_e(catalog.config.title or '')}</p>"
        f"<p id='counts'>{len(reports)} recordings: {summary}. Written {utc_now()}; "
        f"output {_e(catalog.config.collection_dir)}.</p>"
        + _overview(reports) + _failures(reports, [str(e) for e in catalog.errors])
        + "".join(_recording(r) for r in reports)
        + "</body></html>"
    )


def write_report(catalog: Catalog, path: Path | None = None) -> Path:
    """Write the report of ``catalog`` (default ``<collection output>/report.html``) atomically."""
    target = Path(path) if path else catalog.config.collection_dir / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    page = render_report(catalog, gather(catalog))
    with atomic_path(target) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return target
