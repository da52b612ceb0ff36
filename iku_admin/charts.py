"""Small server-side SVG charts: no JavaScript, no external resources, readable in print.

Charts are built with ``xml.etree.ElementTree``, so every label is escaped and the result is
always well-formed XML; characters XML cannot hold are dropped. Every bar carries its value as
text, so a chart still reads when printed in black and white. Callers pass translated texts
(title, legend, the "no data" message) and a number formatter; this module has no Flask import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from markupsafe import Markup

__all__ = ["Bar", "HBar", "Legend", "bar_chart", "hbar_chart"]

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 640
INK = "#212529"
BAR = "#2f5f8f"
SECONDARY = "#9db7d3"
OVER = "#b02a37"
#: Characters of a row label that fit the label column of a horizontal bar chart.
LABEL_CHARS = 30

# Characters XML 1.0 cannot contain, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Formatter = Callable[[float], str]


def _plain(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Bar:
    """One column of a bar chart."""

    label: str
    value: float


@dataclass(frozen=True)
class HBar:
    """One row of a horizontal bar chart: a main value, an optional thin second value (e.g.
    the 90th percentile), an optional marker (e.g. the standard time), and whether the row
    needs attention (drawn in the alert colour; the caller decides what is bad)."""

    label: str
    value: float
    secondary: float | None = None
    marker: float | None = None
    alert: bool = False


@dataclass(frozen=True)
class Legend:
    """What the parts of a horizontal bar chart mean; empty parts are not shown."""

    value: str
    secondary: str = ""
    marker: str = ""
    over: str = ""


def _clean(text: object) -> str:
    return _NOT_XML.sub("", str(text))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _svg(title: str, height: int) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": "100%",
            "role": "img",
            "aria-label": _clean(title),
            "font-family": "sans-serif",
            "font-size": "12",
            "fill": INK,
            "class": "chart",
        },
    )
    ET.SubElement(svg, "title").text = _clean(title)
    return svg


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    element = ET.SubElement(
        parent, tag, {k.replace("_", "-"): str(v) for k, v in attrs.items() if v is not None}
    )
    if text is not None:
        element.text = _clean(text)
    return element


def _bar(parent: ET.Element, x: float, y: float, width: float, height: float, fill: str,
         tooltip: str) -> None:  # fmt: skip
    rect = _add(parent, "rect", x=f"{x:.1f}", y=f"{y:.1f}", width=f"{max(width, 0):.1f}",
                height=f"{max(height, 0):.1f}", fill=fill)  # fmt: skip
    _add(rect, "title", tooltip)


def _render(svg: ET.Element) -> Markup:
    return Markup(ET.tostring(svg, encoding="unicode"))


def _empty(title: str, message: str) -> Markup:
    svg = _svg(title, 32)
    _add(svg, "text", message, x=8, y=20)
    return _render(svg)


def bar_chart(bars: Sequence[Bar], *, title: str, empty: str, fmt: Formatter = _plain) -> Markup:
    """A vertical bar chart: one column per bar, its value above it and its label below."""
    if not bars:
        return _empty(title, empty)
    plot_top, plot_height, left = 20, 150, 8
    height = plot_top + plot_height + 34
    svg = _svg(title, height)
    top = max((bar.value for bar in bars), default=0) or 1
    slot = (WIDTH - 2 * left) / len(bars)
    width = min(slot * 0.6, 60)
    base = plot_top + plot_height
    limit = max(int(slot / 7), 3)
    for n, bar in enumerate(bars):
        label = _clean(bar.label)
        centre = left + slot * (n + 0.5)
        length = plot_height * bar.value / top
        _bar(svg, centre - width / 2, base - length, width, length, BAR,
             f"{label}: {fmt(bar.value)}")  # fmt: skip
        _add(svg, "text", fmt(bar.value), x=f"{centre:.1f}", y=f"{base - length - 4:.1f}",
             text_anchor="middle")  # fmt: skip
        _add(svg, "text", _short(label, limit), x=f"{centre:.1f}", y=base + 16,
             text_anchor="middle")  # fmt: skip
    _add(svg, "line", x1=left, y1=base, x2=WIDTH - left, y2=base, stroke=INK)
    return _render(svg)


def hbar_chart(
    bars: Sequence[HBar],
    *,
    title: str,
    legend: Legend,
    empty: str,
    fmt: Formatter = _plain,
    scale: float | None = None,
) -> Markup:
    """A horizontal bar chart, one row per bar, with an optional marker line per row.

    The axis runs from 0 to ``scale`` (e.g. 100 for percentages), by default to the largest
    value drawn. Labels longer than the label column are shortened; the bar's tooltip keeps
    them whole.
    A row marked ``alert`` is drawn in the alert colour. Each row ends with its value (and the
    second value after a slash), so the chart reads without colour.
    """
    if not bars:
        return _empty(title, empty)
    row, label_width, text_width = 26, 210, 120
    plot_left, plot_width = label_width + 6, WIDTH - label_width - 6 - text_width
    legend_height = 24
    height = row * len(bars) + 8 + legend_height
    svg = _svg(title, height)
    values = [v for b in bars for v in (b.value, b.secondary, b.marker) if v is not None]
    top = scale or max(values, default=0) or 1

    def x_of(value: float) -> float:
        return plot_left + plot_width * value / top

    for n, bar in enumerate(bars):
        y = 4 + n * row
        label = _clean(bar.label)
        text = fmt(bar.value) + ("" if bar.secondary is None else f" / {fmt(bar.secondary)}")
        _add(svg, "text", _short(label, LABEL_CHARS), x=label_width, y=y + 14, text_anchor="end")
        _bar(svg, plot_left, y + 3, x_of(bar.value) - plot_left, 13, OVER if bar.alert else BAR,
             f"{label}: {text}")  # fmt: skip
        end = x_of(bar.value)
        if bar.secondary is not None:
            _bar(svg, plot_left, y + 18, x_of(bar.secondary) - plot_left, 5, SECONDARY,
                 f"{label}: {fmt(bar.secondary)}")  # fmt: skip
            end = max(end, x_of(bar.secondary))
        if bar.marker is not None:
            mark = x_of(bar.marker)
            _add(svg, "line", x1=f"{mark:.1f}", y1=y, x2=f"{mark:.1f}", y2=y + row - 2,
                 stroke=INK, stroke_width=2, stroke_dasharray="4 2")  # fmt: skip
            end = max(end, mark)
        _add(svg, "text", text, x=f"{end + 6:.1f}", y=y + 14)
    _legend(svg, legend, height - legend_height + 6, bars)
    return _render(svg)


def _legend(svg: ET.Element, legend: Legend, y: int, bars: Sequence[HBar]) -> None:
    """Swatches for the parts that appear in the chart, on one line under it."""
    x = 8
    parts = [(legend.value, BAR, "box")]
    if legend.secondary and any(b.secondary is not None for b in bars):
        parts.append((legend.secondary, SECONDARY, "box"))
    if legend.marker and any(b.marker is not None for b in bars):
        parts.append((legend.marker, INK, "line"))
    if legend.over and any(b.alert for b in bars):
        parts.append((legend.over, OVER, "box"))
    for text, colour, kind in parts:
        if kind == "box":
            _add(svg, "rect", x=x, y=y, width=12, height=12, fill=colour)
        else:
            _add(svg, "line", x1=x + 6, y1=y - 2, x2=x + 6, y2=y + 14, stroke=colour,
                 stroke_width=2, stroke_dasharray="4 2")  # fmt: skip
        label = _clean(text)
        _add(svg, "text", label, x=x + 16, y=y + 11)
        x += 16 + 7 * len(label) + 18
