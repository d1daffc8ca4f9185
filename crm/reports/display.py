"""Figures as people read them: the quarter table (one source for the page and the CSV),
readable durations, and bar charts as geometry for server-rendered SVG."""

from dataclasses import dataclass

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from crm.activities.models import ActivityKind
from crm.reports.figures import hours


def quarter_label(year, quarter):
    return _("%(year)s Q%(quarter)s", year=year, quarter=quarter)


def hours_text(seconds):
    """Hours with one decimal in the locale's notation, no grouping; empty when unknown."""
    value = hours(seconds)
    return "" if value is None else format_decimal(value, format="0.0")


def duration_text(seconds):
    """A duration as "3 days 4 h", "5 h" or "20 min"; "–" when unknown."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)s min", minutes=minutes)
    total_hours = round(seconds / 3600)
    days, rest = divmod(total_hours, 24)
    if not days:
        return _("%(hours)s h", hours=rest)
    day_text = ngettext("%(num)s day", "%(num)s days", days)
    return _("%(days)s %(hours)s h", days=day_text, hours=rest) if rest else day_text


def age_text(delta):
    """How long something has waited: "3 days", "5 h" or "20 min"."""
    seconds = max(delta.total_seconds(), 0)
    if seconds >= 86400:
        return ngettext("%(num)s day", "%(num)s days", int(seconds // 86400))
    return duration_text(seconds)


def table_kinds(filters):
    return [filters.kind] if filters.kind else list(ActivityKind)


def quarter_table(rows, filters):
    """(header, body) of the quarter table as text cells: the page and the CSV show these."""
    kinds = table_kinds(filters)
    header = [
        _("Quarter"),
        *[kind.label for kind in kinds],
        _("Activities"),
        _("Enquiries received"),
        _("Enquiries assigned"),
        _("Enquiries converted"),
        _("Median hours to assignment"),
        _("Median hours to first response"),
    ]
    body = [
        [
            quarter_label(row.year, row.quarter),
            *[str(row.activities_by_kind.get(kind, 0)) for kind in kinds],
            str(row.activities),
            str(row.received),
            str(row.assigned),
            str(row.converted),
            hours_text(row.median_to_assignment),
            hours_text(row.median_to_first_response),
        ]
        for row in rows
    ]
    return [str(cell) for cell in header], body


# ---------------------------------------------------------------- charts

WIDTH = 640
HEIGHT = 240
LEFT = 40
RIGHT = 10
TOP = 20
BOTTOM = 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: int
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    series: list
    groups: list
    bars: list
    max_value: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom_y: int = HEIGHT - BOTTOM
    top: int = TOP


def bar_chart(title, groups, series):
    """A grouped bar chart. `groups` are the x labels; `series` is [(name, [value per group])]."""
    max_value = max([max(values, default=0) for _name, values in series] + [1])
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    group_width = plot_width / max(len(groups), 1)
    bar_width = group_width * 0.8 / max(len(series), 1)
    bars = []
    placed_groups = []
    for index, group in enumerate(groups):
        group_left = LEFT + index * group_width
        placed_groups.append((group, round(group_left + group_width / 2, 1)))
        for number, (name, values) in enumerate(series):
            value = values[index]
            height = plot_height * value / max_value
            bars.append(
                Bar(
                    x=round(group_left + group_width * 0.1 + number * bar_width, 1),
                    y=round(TOP + plot_height - height, 1),
                    width=round(bar_width - 2, 1),
                    height=round(height, 1),
                    value=value,
                    series=number + 1,
                    label=f"{group}, {name}: {value}",
                )
            )
    return Chart(
        title=title,
        series=[name for name, _values in series],
        groups=placed_groups,
        bars=bars,
        max_value=max_value,
    )


def figure_charts(rows):
    """Charts of a run of quarters: activities; enquiries received, assigned and converted."""
    labels = [quarter_label(row.year, row.quarter) for row in rows]
    return [
        bar_chart(
            _("Activities per quarter"),
            labels,
            [(_("Activities"), [row.activities for row in rows])],
        ),
        bar_chart(
            _("Enquiries per quarter"),
            labels,
            [
                (_("Received"), [row.received for row in rows]),
                (_("Assigned"), [row.assigned for row in rows]),
                (_("Converted"), [row.converted for row in rows]),
            ],
        ),
    ]
