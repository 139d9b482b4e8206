"""Charts as inline SVG drawn on the server: no JavaScript library, no CDN (school
intranets are often offline, and the CSP allows scripts from this site only). Colours
and line styles come from classes styled in health.css; no style attributes (CSP)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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


def _legend(
    series: Sequence[Series], reference_label: str = "", width: int = WIDTH, height: int = HEIGHT
) -> list[str]:
    """A swatch per series, then the dashed reference line when it is named (a target)."""
    parts = []
    x = LEFT
    for item in series:
        parts.append(
            f'<g class="{escape(item.css)}"><rect class="swatch" x="{x}" y="{height - 22}" '
            f'width="12" height="12"/><text class="legend" x="{x + 16}" y="{height - 12}">'
            f"{escape(item.label)}</text></g>"
        )
        x += 36 + 15 * len(item.label)
    if reference_label and x < width - 60:
        parts.append(
            f'<line class="reference" x1="{x}" x2="{x + 24}" y1="{height - 16}" '
            f'y2="{height - 16}"/><text class="legend" x="{x + 30}" y="{height - 12}">'
            f"{escape(reference_label)}</text>"
        )
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


def _svg(
    title: str, body: list[str], width: int = WIDTH, height: int = HEIGHT, css: str = "chart"
) -> Markup:
    """The chart with its title written on it (not only a hover tooltip), scaled to the
    width of its container (viewBox, width 100%): it never overflows a phone."""
    return Markup(
        f'<svg class="{css}" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<text class="chart-title" x="{width / 2}" y="26" text-anchor="middle">'
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
    reference_label: str = "",
    value_format: Callable[[float], str] | None = None,
) -> Markup:
    """One line per series over the labelled points; `reference` draws a dashed
    threshold (e.g. VA 5.0, SE -0.50 D), named in the legend by `reference_label`.
    `x_label` and `y_label` name the axes (with the unit: "Spherical equivalent (D)").
    `value_format` writes a point's value as its table does (else as a tick)."""
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
                figure = value_format(value) if value_format else f"{tick_format(value)}{unit}"
                label = f"{item.label}{colon()}{figure}"
                group.append(
                    f'<circle class="dot" cx="{x}" cy="{y}" r="4"><title>{escape(label)}</title>'
                    "</circle>"
                )
        group.append("</g>")
        body.extend(group)
    return _svg(title, body + _legend(series, reference_label))


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


# Horizontal bars, one row per label: narrower than the other charts so that on a 390 px
# phone the labels keep a legible size, and as tall as the labels need.
H_WIDTH, H_LEFT, H_RIGHT, H_ROW = 480, 164, 60, 26
LABEL_CHARACTERS = 9


def _short(label: str, drop_prefix: str = "") -> str:
    """A row's label as written: without the prefix every row shares (the district's name
    before its schools'), cut to fit; the whole label is its tooltip."""
    label = label.removeprefix(drop_prefix) if drop_prefix else label
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"


def hbar_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    x_max: float,
    ticks: Sequence[float],
    unit: str = "",
    reference: float | None = None,
    reference_label: str = "",
    marks: Mapping[int, str] | None = None,
    x_label: str = "",
    y_label: str = "",
    value_format: Callable[[float], str] | None = None,
    drop_prefix: str = "",
) -> Markup:
    """One horizontal bar per label (e.g. each school), its value written at its end,
    the chart growing by a row per label. A label without a value gets no bar, only its
    mark when given (e.g. "<5" for a suppressed figure): nothing of a hidden value is
    drawn, its length included. `reference` is a dashed vertical line (a target);
    `value_format` writes a value as its table does."""
    marks = marks or {}
    height = TOP + H_ROW * max(len(labels), 1) + BOTTOM
    plot = H_WIDTH - H_LEFT - H_RIGHT
    bottom = TOP + H_ROW * max(len(labels), 1)

    def x(value: float) -> float:
        return round(H_LEFT + plot * min(max(value, 0.0), x_max) / (x_max or 1), 1)

    middle = TOP + (bottom - TOP) / 2
    body = [
        f'<text class="axis-label" x="{H_LEFT + plot / 2}" y="{bottom + 38}" '
        f'text-anchor="middle">{escape(x_label)}</text>',
        f'<text class="axis-label" x="16" y="{middle}" text-anchor="middle" '
        f'transform="rotate(-90 16 {middle})">{escape(y_label)}</text>',
    ]
    for tick in ticks:
        body.append(
            f'<line class="grid-line" x1="{x(tick)}" x2="{x(tick)}" y1="{TOP}" y2="{bottom}"/>'
            f'<text class="tick" x="{x(tick)}" y="{bottom + 16}" text-anchor="middle">'
            f"{escape(_fmt(tick))}{escape(unit)}</text>"
        )
    group = [f'<g class="{escape(series.css)}">']
    for index, label in enumerate(labels):
        top = TOP + H_ROW * index
        group.append(
            f'<text class="tick" x="{H_LEFT - 6}" y="{top + 18}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(_short(label, drop_prefix))}</text>"
        )
        value = series.values[index]
        if value is None:
            if index in marks:
                group.append(
                    f'<text class="bar-mark" x="{H_LEFT + 4}" y="{top + 18}">'
                    f"{escape(marks[index])}</text>"
                )
            continue
        figure = value_format(value) if value_format else f"{_fmt(round(value, 1))}{unit}"
        group.append(
            f'<rect class="bar" x="{H_LEFT}" y="{top + 4}" width="{round(x(value) - H_LEFT, 1)}" '
            f'height="{H_ROW - 8}"><title>{escape(f"{label}{colon()}{figure}")}</title></rect>'
            f'<text class="bar-value" x="{x(value) + 4}" y="{top + 18}">{escape(figure)}</text>'
        )
    body += [*group, "</g>"]
    if reference is not None:
        body.append(
            f'<line class="reference" x1="{x(reference)}" x2="{x(reference)}" '
            f'y1="{TOP - 4}" y2="{bottom}"/>'
        )
    legend = _legend([series], reference_label, H_WIDTH, height)
    return _svg(title, body + legend, H_WIDTH, height, css="chart chart-rows")
