"""Write a collection's static, self-contained HTML report (inline PNGs, no external resources)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from shellac.catalogs import Catalog
from shellac.engine.atomic import atomic_path
from shellac.report import figures
from shellac.report.collect import RecordingReport, gather
from shellac.report.dashboard import status_counts
from shellac.report.excerpts import Excerpt, write_excerpts
from shellac.report.order import OLD_DONE
from shellac.report.passband import recorded_responses
from shellac.stages.state import utc_now

REPORT_FILE = "report.html"
# Statuses that are not failures: every other one (failed, cancelled, ...) is listed with its reason.
UNFAILED = ("done", "pending", "running")

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:96em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.done{color:#176f2c}.failed{color:#b00020}.pending,.running{color:#8a6d00}
section.recording{border-top:2px solid #ddd;margin-top:2em}img{max-width:100%}
p.stale{background:#fff0f0;border-left:4px solid #b00020;padding:.4em .8em;color:#b00020;font-weight:bold}
section.stale{border-left:4px solid #b00020;padding-left:1em}
.old{color:#777;font-style:italic;white-space:nowrap}
.synthesis,.gate{background:#f6f8fa;padding:.4em .8em}.ab{display:flex;gap:2em;flex-wrap:wrap}
.ab figure{margin:0}.ab figcaption{font-weight:bold}
"""

# Counts the figures that decoded, so a headless browser (and a curator) can tell the page is whole.
_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images-loaded', String(ok));
  document.body.setAttribute('data-images-broken', String(imgs.length - ok));
});
// Counts the audio players whose excerpt decoded far enough to know its length.
document.addEventListener('DOMContentLoaded', function () {
  var ready = 0, broken = 0;
  Array.prototype.forEach.call(document.querySelectorAll('audio'), function (a) {
    a.addEventListener('loadedmetadata', function () {
      ready += 1;
      document.body.setAttribute('data-audio-ready', String(ready));
      a.setAttribute('data-duration', a.duration.toFixed(2));
    });
    a.addEventListener('error', function () {
      broken += 1;
      document.body.setAttribute('data-audio-broken', String(broken));
    });
  });
});
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _overview(reports: Sequence[RecordingReport]) -> str:
    head = ("<tr><th>id</th><th>title</th><th>profile</th><th>status</th><th>access copy</th>"
            "<th>audio (s)</th><th>processing (s)</th><th>real-time factor</th><th>clicks</th></tr>")
    rows = "".join(
        f"<tr><td><a href='#rec-{_e(r.id)}'>{_e(r.id)}</a></td><td>{_e(r.title)}</td>"
        f"<td>{_e(r.profile)}</td><td class='{_e(r.status)}'>{_e(r.status)}</td>{_access(r)}"
        f"<td>{_num(r.audio_s, '.1f')}</td><td>{_num(r.processing_s, '.1f')}</td>"
        f"<td>{_num(r.rtf, '.3f')}</td><td>{'–' if r.clicks_found is None else r.clicks_found}</td></tr>"
        for r in reports
    )
    return f"<table id='overview'>{head}{rows}</table>"


def _status_class(status: str) -> str:
    return "old" if status == OLD_DONE else _e(status)


def _access(report: RecordingReport) -> str:
    if report.stale:
        return "<td class='failed access-stale'>not current</td>"
    return "<td class='done'>current</td>" if report.after is not None else "<td>–</td>"


def _failures(reports: Sequence[RecordingReport], rejected: Sequence[str]) -> str:
    items = [f"<li class='failure' data-id='{_e(r.id)}'><b>{_e(r.id)}</b>: {_e(r.error or r.status)}</li>"
             for r in reports if r.status not in UNFAILED]
    items += [f"<li class='rejected'>{_e(line)}</li>" for line in rejected]
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>None.</p>"
    return f"<section id='failures'><h2>Failures ({len(items)})</h2>{body}</section>"


def _figure(uri: str, alt: str, kind: str) -> str:
    return f"<figure><img class='{kind}' alt='{_e(alt)}' src='{uri}'></figure>"


def _players(excerpt: Excerpt) -> str:
    players = "".join(
        f"<figure><figcaption>{_e(label)}</figcaption>"
        f"<audio class='{kind}' controls preload='metadata' src='{_e(url)}'></audio></figure>"
        for kind, label, url in (("before", "before (master)", excerpt.before_url),
                                 ("after", "after (access copy)", excerpt.after_url)))
    return (f"<div class='ab'><p>Listen: the same {excerpt.length_s:.1f} s of both, from "
            f"{excerpt.start_s:.1f} s.</p>{players}</div>")


def _recording(report: RecordingReport, excerpt: Excerpt | None = None) -> str:
    parts = [f"<section class='recording{' stale' if report.stale else ''}' id='rec-{_e(report.id)}'>",
             f"<h2>{_e(report.id)} <small>{_e(report.title)}</small></h2>",
             f"<p>status <span class='{_e(report.status)}'>{_e(report.status)}</span>, profile "
             f"{_e(report.profile or '–')}, audio {_num(report.audio_s, '.1f')} s, processing "
             f"{_num(report.processing_s, '.1f')} s, real-time factor {_num(report.rtf, '.3f')}</p>"]
    if report.stale:
        parts.append(f"<p class='stale'>Access copy not current. {_e(report.stale)} Its figures and "
                     "excerpts are left out until a run of this recording finishes.</p>")
    if report.error:
        parts.append(f"<p class='failed'>error: {_e(report.error)}</p>")
    if report.stages:
        cells = "".join(f"<tr><td>{_e(s.name)}</td><td class='{_status_class(s.status)}'>{_e(s.status)}</td>"
                        f"<td>{_num(s.duration_s, '.2f')}</td><td>{_e(s.error or '')}</td></tr>"
                        for s in report.stages)
        parts.append(f"<table><tr><th>stage</th><th>status</th><th>time (s)</th><th>error</th></tr>"
                     f"{cells}</table>")
    if report.quality_gate:
        parts.append(f"<p class='gate'>Quality gate: {_e(report.quality_gate)}</p>")
    if report.model_standing:
        parts.append(f"<p class='gate'>Held-out standing: {_e(report.model_standing)}</p>")
    if report.chain_fit:
        parts.append(f"<p class='gate'>{_e(report.chain_fit)}</p>")
    if report.synthesis:
        lead, *lines = report.synthesis
        items = "".join(f"<li>{_e(line)}</li>" for line in lines)
        parts.append(f"<div class='synthesis'><p>{_e(lead)}</p>{f'<ul>{items}</ul>' if items else ''}</div>")
    if report.clicks_found is not None:
        parts.append(f"<p class='clicks'>click map: {report.clicks_found} click(s) found, "
                     f"{report.clicks_needing_inpainting} too long to repair.</p>")
    if report.stale:
        parts.append("</section>")
        return "".join(parts)
    if excerpt is not None:
        parts.append(_players(excerpt))
    if report.before is not None and report.after is not None:
        parts.append(_figure(figures.spectrogram_pair(report.before, report.after),
                             f"spectrograms of {report.id}", "spectrogram"))
    if report.ltas:
        parts.append(_figure(figures.ltas_curves(report.ltas), f"LTAS of {report.id}", "ltas"))
    if report.filters and recorded_responses(report.filters)[1]:
        parts.append(_figure(figures.filter_responses(report.filters),
                             f"filter responses of {report.id}", "filters"))
    parts.append("</section>")
    return "".join(parts)


def render_report(catalog: Catalog, reports: Sequence[RecordingReport],
                  excerpts: Mapping[str, Excerpt] | None = None) -> str:
    """The report page of ``catalog`` as one HTML string; ``excerpts`` by recording id."""
    excerpts = excerpts or {}
    name = catalog.config.name
    counts = status_counts([r.status for r in reports])
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
        + "".join(_recording(r, excerpts.get(r.id)) for r in reports)
        + "</body></html>"
    )


def excerpt_folder(report_path: Path) -> Path:
    """Where the report's audio excerpts go: ``<report stem>-audio/`` beside the report."""
    return report_path.parent / f"{report_path.stem}-audio"


def write_report(catalog: Catalog, path: Path | None = None) -> Path:
    """Write the report of ``catalog`` (default ``<collection output>/report.html``) atomically.

    The before/after excerpts are written first (each atomically) into
    :func:`excerpt_folder`, so the page never names a file that is not there.
    """
    target = Path(path) if path else catalog.config.collection_dir / REPORT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    reports = gather(catalog)
    folder = excerpt_folder(target)
    excerpts = {r.id: e for r in reports if (e := write_excerpts(
        r.id, r.before, None if r.stale else r.after, folder, target.parent)) is not None}
    page = render_report(catalog, reports, excerpts)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return target
