"""One section of a run's report: a title, what it shows in a sentence, a table and a figure; or, when the
artifacts it reads are missing, which ones and the verb that writes them. A section renders itself as
HTML, the same in the page and in a notebook (Jupyter calls ``_repr_html_``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

from matplotlib.figure import Figure

from agentscaler.report.figures import svg


@dataclass
class Section:
    title: str
    note: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    figure: Figure | None = None
    missing: str | None = None  # why there is nothing to show

    def html(self) -> str:
        parts = [f"<section><h2>{escape(self.title)}</h2>"]
        if self.missing:
            parts.append(f'<p class="missing">{escape(self.missing)}</p>')
        if self.note:
            parts.append(f"<p>{escape(self.note)}</p>")
        if self.figure is not None:
            parts.append(f'<div class="figure">{svg(self.figure)}</div>')
        if self.rows:
            head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
            body = "".join("<tr>" + "".join(f"<td>{escape(cell(v))}</td>" for v in row) + "</tr>" for row in self.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        return "".join(parts) + "</section>"

    _repr_html_ = html


def cell(value: Any) -> str:
    """A table cell: rates and losses to 3 decimals, intervals as [low, high], nothing as a dash."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cell(v) for v in value) + "]"
    return str(value)
