"""Charts as inline SVG drawn on the server: no JavaScript library, no CDN (school
intranets are often offline, and the CSP allows scripts from this site only). Colours
and line styles come from classes styled in health.css; no style attributes (CSP)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from wellbeing.words import colon

WIDTH, HEIGHT = 640, 320
# Room for the title above, the y-axis label at the left, and below the plot the
# x labels, the x-axis label and the legend.
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 44, 84


@dataclass(frozen=True)
class Series:
    label: str
    css: str  # a class in health.css: series-a, series-b, series-c, series-d
    values: Sequence[float | None]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


class _Frame:
    """The plotting area and its scales."""

    def __init__(self, count: int, y_min: float, y_max: float) -> None:
        self.count = max(count, 1)
        self.y_min, self.y_max = y_min, y_max
        self.width = WIDTH - LEFT - RIGHT
        self.height = HEIGHT - TOP - BOTTOM

    def x(self, index: int) -> float:
        step = self.width / self.count
        return round(LEFT + step * (index + 0.5), 1)

    def y(self, value: float) -> float:
        clipped = min(max(value, self.y_min), self.y_max)
        share = (clipped - self.y_min) / (self.y_max - self.y_min)
        return round(TOP + self.height * (1 - share), 1)


def _axes(
    frame: _Frame,
    labels: Sequence[str],
    ticks: Sequence[float],
    unit: str,
    tick_format: Callable[[float], str] = _fmt,
    x_label: str = "",
    y_label: str = "",
) -> list[str]:
    middle = TOP + frame.height / 2
    parts = [
        f'<text class="axis-label" x="{LEFT + frame.width / 2}" y="{HEIGHT - BOTTOM + 38}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text class="axis-label" x="16" y="{middle}" text-anchor="middle" '
        f'transform="rotate(-90 16 {middle})">{escape(y_label)}</text>',
    ]
    for tick in ticks:
        y = frame.y(tick)
        parts.append(
            f'<line class="grid-line" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4}" text-anchor="end">'
            f"{escape(tick_format(tick))}{escape(unit)}</text>"
        )
    for index, label in enumerate(labels):
        parts.append(
            f'<text class="tick" x="{frame.x(index)}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    x = LEFT
    for item in series:
        parts.append(
            f'<g class="{escape(item.css)}"><rect class="swatch" x="{x}" y="{HEIGHT - 22}" '
            f'width="12" height="12"/><text class="legend" x="{x + 16}" y="{HEIGHT - 12}">'
            f"{escape(item.label)}</text></g>"
        )
        x += 36 + 15 * len(item.label)
    return parts


def _segments(frame: _Frame, values: Sequence[float | None]) -> list[list[tuple]]:
    """Runs of consecutive measured points (a missing round breaks the line)."""
    runs: list[list[tuple]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
        else:
            runs[-1].append((frame.x(index), frame.y(value), value))
    return [run for run in runs if run]


def _svg(title: str, body: list[str]) -> Markup:
    """The chart with its title written on it (not only a hover tooltip), scaled to the
    width of its container (viewBox, width 100%): it never overflows a phone."""
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<text class="chart-title" x="{WIDTH / 2}" y="26" text-anchor="middle">'
        f"{escape(title)}</text>{''.join(body)}</svg>"
    )


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_min: float,
    y_max: float,
    ticks: Sequence[float],
    reference: float | None = None,
    unit: str = "",
    tick_format: Callable[[float], str] = _fmt,
    x_label: str = "",
    y_label: str = "",
) -> Markup:
    """One line per series over the labelled points; `reference` draws a dashed
    threshold (e.g. VA 5.0, SE -0.50 D). `x_label` and `y_label` name the axes (with
    the unit: "Spherical equivalent (D)")."""
    frame = _Frame(len(labels), y_min, y_max)
    body = _axes(frame, labels, ticks, unit, tick_format, x_label, y_label)
    if reference is not None:
        y = frame.y(reference)
        body.append(f'<line class="reference" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}"/>')
    for item in series:
        group = [f'<g class="{escape(item.css)}">']
        for run in _segments(frame, item.values):
            points = " ".join(f"{x},{y}" for x, y, _ in run)
            group.append(f'<polyline class="line" points="{points}"/>')
            for x, y, value in run:
                label = f"{item.label}{colon()}{tick_format(value)}{unit}"
                group.append(
                    f'<circle class="dot" cx="{x}" cy="{y}" r="4"><title>{escape(label)}</title>'
                    "</circle>"
                )
        group.append("</g>")
        body.extend(group)
    return _svg(title, body + _legend(series))


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_max: float = 100.0,
    ticks: Sequence[float] = (0, 25, 50, 75, 100),
    unit: str = "%",
    x_label: str = "",
    y_label: str = "",
) -> Markup:
    """Grouped bars: one group per label, one bar per series (e.g. this round and the
    previous one). A missing value leaves a gap, never a zero-height bar."""
    frame = _Frame(len(labels), 0.0, y_max)
    body = _axes(frame, labels, ticks, unit, x_label=x_label, y_label=y_label)
    group_width = frame.width / frame.count * 0.7
    bar = group_width / max(len(series), 1)
    for s_index, item in enumerate(series):
        group = [f'<g class="{escape(item.css)}">']
        for index, value in enumerate(item.values):
            if value is None:
                continue
            x = round(frame.x(index) - group_width / 2 + s_index * bar, 1)
            y = frame.y(value)
            height = round(frame.y(0) - y, 1)
            label = f"{labels[index]} {item.label}{colon()}{_fmt(round(value, 1))}{unit}"
            group.append(
                f'<rect class="bar" x="{x}" y="{y}" width="{round(bar - 2, 1)}" '
                f'height="{height}"><title>{escape(label)}</title></rect>'
            )
        group.append("</g>")
        body.extend(group)
    return _svg(title, body + _legend(series))
