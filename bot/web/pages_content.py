"""Pages for moderators and the team: ``/impulse`` (engagement for the team, schedules for both,
Markdown editor with preview) and ``/katalog`` (a form per offering).

Saving validates with the same messages as ``impulsbot catalogue check``, keeps the previous
version, writes atomically and swaps the loaded content in the running bot.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from markupsafe import Markup

from bot.features.catalogue.load import CatalogueError, load_catalogue
from bot.features.catalogue.model import FORMATS, TYPES
from bot.features.feedback.summary import iso_week
from bot.features.impulses.library import ImpulseError, load_impulses
from bot.text.i18n import Texts
from bot.web import content_edit
from bot.web.auth import SERVER, visitor
from bot.web.render import bar_chart, language, redirect, render

ROUTES = web.RouteTableDef()


def _bot(request: web.Request) -> Any:
    return request.app[SERVER].bot


def _lang(request: web.Request) -> str:
    return language(request, _bot(request).config.bot.language)


@ROUTES.get("/impulse")
async def impulses(request: web.Request) -> web.Response:
    from bot.features.feedback.rooms import room_label
    from bot.features.impulses.state import impulses_state

    bot = _bot(request)
    library = impulses_state(bot).library
    engagement = await bot.store.impulse_engagement() if visitor(request).role == "team" else {}
    rows = []
    for impulse in library:
        stats = engagement.get(impulse.id, {})
        ratings = stats.get("ratings", 0)
        rows.append(
            {
                "id": impulse.id,
                "title": impulse.title,
                "posts": stats.get("posts", 0),
                "reactions": stats.get("reaction", 0),
                "replies": stats.get("reply", 0),
                "ratings": ratings,
                "average": stats["rating_sum"] / ratings if ratings else None,
                "last": stats.get("last_posted"),
            }
        )
    subscriptions = [
        {"room": await room_label(bot, sub.room_id) or sub.room_id, "sub": sub}
        for sub in await bot.store.all_impulse_subscriptions()
    ]
    engaged = sorted((r for r in rows if r["posts"] or r["reactions"] or r["replies"]),
                     key=lambda r: -(r["reactions"] + r["replies"]))[:10]  # fmt: skip
    items = [(r["title"], float(r["reactions"] + r["replies"])) for r in engaged]
    title = Texts(_lang(request))("web.impulses.chart").plain
    chart = bar_chart(items, title, _lang(request), "c-imp") if items else None
    weeks = await _weekly(bot) if visitor(request).role == "team" else []
    return render(
        request, "impulses.html", rows=rows, subscriptions=subscriptions, chart=chart, weeks=weeks
    )


async def _weekly(bot: Any) -> list[tuple[str, int, int]]:
    """(ISO week, impulses posted, reactions/replies/ratings on impulses) of the last 8 weeks."""
    from bot.features.feedback.overview import overview_start

    tz = bot.config.bot.tz
    since_ms = int(overview_start(bot.now(), tz).timestamp() * 1000)
    weeks: dict[str, list[int]] = {}
    for column, rows in enumerate(
        (
            await bot.store.impulse_weekly_posts(since_ms),
            await bot.store.feedback_hour_counts(since_ms, impulses_only=True),
        )
    ):
        for hour_ms, count in rows:
            weeks.setdefault(iso_week(hour_ms, tz), [0, 0])[column] += count
    return [(week, posts, echo) for week, (posts, echo) in sorted(weeks.items())]


@ROUTES.get("/impulse/{name}/bearbeiten")
async def impulse_editor(request: web.Request) -> web.Response:
    path = _impulse_path(request)
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    return await _impulse_page(request, text, [], saved=bool(request.query.get("gespeichert")))


@ROUTES.post("/impulse/{name}/bearbeiten")
async def impulse_save(request: web.Request) -> web.Response:
    from bot.features.impulses.state import impulses_state

    bot = _bot(request)
    name = _impulse_path(request).stem
    form = await request.post()
    text = str(form.get("text", ""))
    directory = bot.config.content.directory
    if form.get("aktion") == "vorschau":
        return await _impulse_page(request, text, [])
    problems = await asyncio.to_thread(
        content_edit.save_impulse, directory, name, text, visitor(request).user, bot.now(),
        _lang(request),
    )  # fmt: skip
    if problems:
        return await _impulse_page(request, text, problems, status=422)
    try:
        impulses_state(bot).library = await asyncio.to_thread(
            load_impulses, directory, bot.config.bot.language
        )
    except ImpulseError as exc:  # another file broke meanwhile: show it, keep the old library
        return await _impulse_page(request, text, exc.problems, status=422)
    await _audit(request, "impulse_saved")
    return redirect(f"/impulse/{name}/bearbeiten?gespeichert=1")


@ROUTES.post("/vorschau/{name}")
async def impulse_preview(request: web.Request) -> web.Response:
    """The preview fragment for the progressive-enhancement script."""
    name = _impulse_path(request).stem
    form = await request.post()
    html, problems = await asyncio.to_thread(
        content_edit.preview_impulse, _bot(request).config.content.directory, name,
        str(form.get("text", "")), _lang(request),
    )  # fmt: skip
    return render(request, "preview_response.html", preview=Markup(html), problems=problems)


async def _impulse_page(
    request: web.Request, text: str, problems: list[str], *, saved: bool = False, status: int = 200
) -> web.Response:
    name = request.match_info["name"]
    html, preview_problems = await asyncio.to_thread(
        content_edit.preview_impulse, _bot(request).config.content.directory, name, text,
        _lang(request),
    )  # fmt: skip
    return render(
        request,
        "impulse_edit.html",
        status,
        name=name,
        text=text,
        problems=problems or preview_problems,
        preview=Markup(html),
        saved=saved,
    )


async def _audit(request: web.Request, action: str) -> None:
    bot = _bot(request)
    await bot.store.audit(visitor(request).user, action, int(bot.now().timestamp() * 1000))


def _impulse_path(request: web.Request) -> Any:
    path = content_edit.impulse_path(
        _bot(request).config.content.directory, request.match_info["name"]
    )
    if path is None:
        raise web.HTTPNotFound()
    return path


@ROUTES.get("/katalog")
async def catalogue(request: web.Request) -> web.Response:
    from bot.features.search.state import state as search_state

    entries = list(search_state(_bot(request)).catalogue)
    return render(request, "catalogue.html", entries=entries)


@ROUTES.get("/katalog/{id}")
async def offering_form(request: web.Request) -> web.Response:
    from bot.features.search.state import state as search_state

    offering = search_state(_bot(request)).catalogue.get(request.match_info["id"])
    if offering is None:
        raise web.HTTPNotFound()
    values = offering.model_dump()
    for name in content_edit.LIST_FIELDS:
        values[name] = ", ".join(values[name])
    values = {k: "" if v is None else str(v) for k, v in values.items()}
    saved = bool(request.query.get("gespeichert"))
    return _offering_page(request, offering.id, values, [], saved=saved)


@ROUTES.post("/katalog/{id}")
async def offering_save(request: web.Request) -> web.Response:
    from bot.features.search.state import state as search_state

    bot = _bot(request)
    state = search_state(bot)
    offering_id = request.match_info["id"]
    if state.catalogue.get(offering_id) is None:
        raise web.HTTPNotFound()
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in content_edit.FIELDS}
    directory = bot.config.content.directory
    async with state.reload_lock:
        problems = await asyncio.to_thread(
            content_edit.save_offering, directory, offering_id, form, visitor(request).user,
            bot.now(), _lang(request),
        )  # fmt: skip
        if not problems:
            try:
                state.replace(
                    await asyncio.to_thread(load_catalogue, directory, bot.config.bot.language)
                )
            except CatalogueError as exc:
                problems = exc.problems
    if problems:
        return _offering_page(request, offering_id, values, problems, status=422)
    await _audit(request, "catalogue_saved")
    return redirect(f"/katalog/{offering_id}?gespeichert=1")


def _offering_page(
    request: web.Request,
    offering_id: str,
    values: dict[str, str],
    problems: list[str],
    *,
    saved: bool = False,
    status: int = 200,
) -> web.Response:
    # A problem names its field as „typ“ (German) or "typ" (English): show it next to that field.
    by_field: dict[str, list[str]] = {}
    general = []
    for problem in problems:
        field = next((f for f in content_edit.FIELDS if f"„{f}“" in problem or f'"{f}"' in problem),
                     None)  # fmt: skip
        (by_field.setdefault(field, []) if field else general).append(problem)
    return render(
        request,
        "offering.html",
        status,
        offering_id=offering_id,
        values=values,
        problems=problems,
        general=general,
        by_field=by_field,
        types=TYPES,
        formats=FORMATS,
        saved=saved,
    )
