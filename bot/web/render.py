"""Page rendering: the Jinja2 environment, texts in the visitor's language, number formats and
server-side SVG bar charts (each with a text alternative; templates add the data table).

Autoescaping is on for every template, so user text (feedback, titles, room names) can never
become markup.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from bot.text.i18n import LANGUAGES, Texts
from bot.web.auth import SERVER, VISITOR

LANG_COOKIE = "impulsbot_lang"

ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("bot.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the package; no stat() per page
)


@functools.lru_cache(maxsize=4096)
def _text(lang: str, prefix: str, key: str, params: tuple[tuple[str, Any], ...]) -> Markup:
    # The locale markup (`code`, **bold**) as HTML; parameters are escaped by Texts.
    return Markup(Texts(lang)(f"web.{key}", prefix=prefix, **dict(params)).html)


def language(request: web.Request, default: str) -> str:
    lang = request.cookies.get(LANG_COOKIE)
    return lang if lang in LANGUAGES else default


def number(value: float | int | None, lang: str, digits: int = 0) -> str:
    """1234.5 → "1.234,5" in German, "1,234.5" in English."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if lang == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def local_time(ms: int | None, tz: dt.tzinfo, with_time: bool = True) -> str:
    if ms is None:
        return "–"
    moment = dt.datetime.fromtimestamp(ms / 1000, tz)
    return moment.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def bar_chart(
    items: Sequence[tuple[str, float]], title: str, lang: str, chart_id: str, unit: str = ""
) -> Markup:
    """A horizontal SVG bar chart; its accessible name and description list every value."""
    width, label_w, row_h = 640, 220, 26
    height = max(1, len(items)) * row_h + 8
    top = max((value for _, value in items), default=0) or 1
    described = "; ".join(
        f"{label}: {number(value, lang, 1 if value % 1 else 0)}{unit}" for label, value in items
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(described)}</desc>',
    ]
    for row, (label, value) in enumerate(items):
        y = 4 + row * row_h
        bar = (width - label_w - 70) * value / top
        short = label if len(label) <= 30 else label[:29] + "…"
        shown = number(value, lang, 1 if value % 1 else 0) + unit
        parts += [
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(short)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 8}"/>',
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 17}">{escape(shown)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    server = request.app[SERVER]
    visit = request.get(VISITOR)
    config = server.bot.config
    lang = language(request, config.bot.language)
    prefix = config.bot.prefix

    def t(key: str, **params: Any) -> Markup:
        return _text(lang, prefix, key, tuple(sorted((k, str(v)) for k, v in params.items())))

    body = ENV.get_template(template).render(
        t=t,
        lang=lang,
        num=lambda value, digits=0: number(value, lang, digits),
        when=lambda ms, with_time=True: local_time(ms, config.bot.tz, with_time),
        user=visit.user if visit else None,
        role=visit.role if visit else None,
        csrf=visit.csrf if visit else "",
        path=request.path,
        nav=server.nav_for(visit.role if visit else None),
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST the browser loads the target with GET."""
    return web.Response(status=303, headers={"Location": location})
