"""Bar charts drawn on the server as SVG: nothing to load from the internet."""

from datetime import date

from django.utils.html import escape, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, AXIS, TOP = 640, 150, 22, 16


def bar_chart(title: str, values: dict[date, int], colour: str = "#417690") -> SafeString:
    """One bar per day, tallest at the chart's height, with the first and last day marked."""
    days = list(values)
    peak = max(values.values(), default=0) or 1
    slot = WIDTH / max(len(days), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
        (
            (
                f"{index * slot + 1:.1f}",
                f"{HEIGHT - AXIS - (HEIGHT - AXIS - TOP) * value / peak:.1f}",
                f"{max(slot - 2, 1):.1f}",
                f"{(HEIGHT - AXIS - TOP) * value / peak:.1f}",
                colour,
                day.isoformat(),
                value,
            )
            for index, (day, value) in enumerate(values.items())
        ),
    )
    first = days[0].isoformat() if days else ""
    last = days[-1].isoformat() if days else ""
    return mark_safe(  # noqa: S308 - every value above is escaped or a number
        f'<svg class="bo-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" preserveAspectRatio="none" aria-label="{escape(title)}">'
        f"{bars}"
        f'<line x1="0" y1="{HEIGHT - AXIS}" x2="{WIDTH}" y2="{HEIGHT - AXIS}" stroke="#999"/>'
        f'<text x="2" y="{HEIGHT - 6}" font-size="11" fill="#666">{first}</text>'
        f'<text x="{WIDTH - 2}" y="{HEIGHT - 6}" font-size="11" fill="#666" '
        f'text-anchor="end">{last}</text>'
        f'<text x="{WIDTH - 2}" y="12" font-size="11" fill="#666" text-anchor="end">'
        f"max {max(values.values(), default=0)}</text></svg>"
    )
