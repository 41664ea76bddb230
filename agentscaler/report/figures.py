"""The report's plots: matplotlib figures made without pyplot (no global state, no display needed) and
written as inline SVG, so that a page holds its pictures and a notebook shows the same ones."""

from __future__ import annotations

import io
from typing import Sequence

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

SVG = {"svg.fonttype": "none",  # text stays text: smaller, searchable, selectable
       "svg.hashsalt": "agentscaler"}  # ids from content, not random
PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974")


def figure(panels: int = 1, width: float = 5.0, height: float = 3.2) -> tuple[Figure, list]:
    """A figure of ``panels`` plots side by side, and their axes."""
    fig = Figure(figsize=(width * panels, height), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes)


def stacked_bars(ax, labels: Sequence, layers: dict[str, Sequence[float]], *, horizontal: bool = False) -> None:
    """Bars at ``labels``, each stacked from ``layers`` (name -> one value per label), with a legend."""
    positions = range(len(labels))
    base = [0.0] * len(labels)
    draw = ax.barh if horizontal else ax.bar
    for (name, values), color in zip(layers.items(), PALETTE * 4):
        offset = {"left": base} if horizontal else {"bottom": base}
        draw(positions, values, 0.8, label=name, color=color, **offset)
        base = [b + v for b, v in zip(base, values)]
    (ax.set_yticks if horizontal else ax.set_xticks)(list(positions), [str(x) for x in labels],
                                                     fontsize=7 if len(labels) > 20 else 9)
    (ax.xaxis if horizontal else ax.yaxis).set_major_locator(MaxNLocator(integer=True))  # counts
    if len(layers) > 1:
        legend(ax)


def grouped_bars(ax, labels: Sequence, groups: dict[str, Sequence[float]],
                 errors: dict[str, Sequence[tuple[float, float]]] | None = None) -> None:
    """Bars at ``labels``, one beside the other per group (name -> one value per label); ``errors``: per group
    and label, the (low, high) interval drawn as an error bar."""
    width = 0.8 / max(len(groups), 1)
    for i, ((name, values), color) in enumerate(zip(groups.items(), PALETTE * 4)):
        xs = [x + (i - (len(groups) - 1) / 2) * width for x in range(len(labels))]
        yerr = None
        if errors and name in errors:
            yerr = [[v - low for v, (low, _) in zip(values, errors[name])],
                    [high - v for v, (_, high) in zip(values, errors[name])]]
        ax.bar(xs, values, width, label=name, color=color, yerr=yerr, capsize=3 if yerr else 0)
    ax.set_xticks(list(range(len(labels))), [str(x) for x in labels], fontsize=7 if len(labels) > 20 else 9)
    legend(ax)


def legend(ax) -> None:
    """The legend beside the plot, where it hides no bar."""
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element to put inside an HTML page."""
    buffer = io.StringIO()
    with rc_context(SVG):
        fig.savefig(buffer, format="svg", metadata={"Date": None})  # no date: the same run, the same page
    text = buffer.getvalue()
    return text[text.index("<svg"):]
