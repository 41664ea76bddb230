"""``agentscaler report``: a run's sections on one HTML page that holds everything it shows (styles and
plots inline, no script, nothing fetched), to open from disk, mail or attach to a CI run."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Optional

import typer

from agentscaler.artifacts import RunDir, atomic
from agentscaler.report.contents import SECTIONS

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .8em 0; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.missing { color: #a15c00; font-style: italic; } .figure svg { max-width: 100%; height: auto; }
nav a { margin-right: 1em; }
"""


def render_page(run: str | os.PathLike | RunDir) -> str:
    """The report of ``run`` as one HTML document."""
    run = RunDir(run)
    sections = [build(run) for build in SECTIONS]
    nav = "".join(f'<a href="#s{i}">{escape(s.title)}</a>' for i, s in enumerate(sections))
    body = "\n".join(s.html().replace("<section>", f'<section id="s{i}">', 1) for i, s in enumerate(sections))
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>AgentScaler run {escape(run.path.name)}</title><style>{STYLE}</style></head>\n"
            f"<body><h1>AgentScaler run: {escape(str(run.path.resolve()))}</h1><nav>{nav}</nav>\n{body}\n"
            f"</body></html>\n")


def write_report(run: str | os.PathLike | RunDir, out: Path | None = None) -> Path:
    """Write the page (default ``DIR/report.html``); returns where."""
    run = RunDir(run)
    out = Path(out or run.report)
    with atomic(out) as tmp:
        tmp.write_text(render_page(run), encoding="utf-8")
    return out


def report_command(
    run: Path = typer.Option(..., "--run", exists=True, file_okay=False, help="Run directory."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="The HTML file. Default: DIR/report.html."),
) -> None:
    """One self-contained HTML page of a run: domain sizes, calls per task, filter funnel, pass rates per domain,
    training curves and evaluations, with plots."""
    typer.echo(f"report: {write_report(run, out)}")
