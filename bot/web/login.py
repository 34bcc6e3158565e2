"""``/anmelden``, ``/abmelden`` and the language switch ``/sprache``.

Login attempts are rate-limited per client address; every login, failed login and logout lands in
the audit log (who and when, nothing else).
"""

from __future__ import annotations

from aiohttp import web

from bot.text.i18n import LANGUAGES
from bot.web import auth
from bot.web.render import LANG_COOKIE, redirect, render

ROUTES = web.RouteTableDef()


def _client(request: web.Request) -> str:
    """The visitor's address; behind the local reverse proxy the one it appended last to
    X-Forwarded-For (nginx ``$proxy_add_x_forwarded_for``, Apache ``mod_proxy``)."""
    remote = request.remote or "?"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if remote in ("127.0.0.1", "::1") and forwarded:
        return forwarded.rsplit(",", 1)[-1].strip() or remote
    return remote


@ROUTES.get("/anmelden")
async def login_form(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    if not token:
        return render(
            request, "message.html", 400, title_key="login.title", message_key="login.missing"
        )
    secret = await request.app[auth.SERVER].bot.store.web_secret()
    return render(request, "login.html", token=token, login_csrf=auth.csrf_token(secret, token))


@ROUTES.post("/anmelden")
async def login(request: web.Request) -> web.Response:
    server = request.app[auth.SERVER]
    if not server.login_limiter.allow(_client(request)):
        return render(
            request, "message.html", 429, title_key="login.title", message_key="login.rate_limited"
        )
    form = await request.post()
    token = str(form.get("token", ""))
    secret = await server.bot.store.web_secret()
    if not token or not auth.csrf_ok(secret, token, form.get("csrf")):
        return render(
            request, "message.html", 403, title_key="error.title", message_key="error.csrf"
        )
    redeemed = await auth.redeem_login_token(server.bot, token)
    if redeemed is None:
        return render(
            request, "message.html", 403, title_key="login.title", message_key="login.invalid"
        )
    _, cookie = redeemed
    response = redirect("/")
    response.set_cookie(
        auth.COOKIE,
        cookie,
        max_age=auth.SESSION_TTL_S,
        httponly=True,
        samesite="Strict",
        secure=server.secure,
        path="/",
    )
    return response


@ROUTES.get("/abmelden")
async def logout_form(request: web.Request) -> web.Response:
    return render(request, "logout.html")


@ROUTES.post("/abmelden")
async def logout(request: web.Request) -> web.Response:
    server = request.app[auth.SERVER]
    visit = auth.visitor(request)
    await auth.end_session(server.bot, visit.user, visit.session)
    response = render(
        request, "message.html", title_key="logout_page.title", message_key="logout_page.done"
    )
    response.del_cookie(auth.COOKIE, path="/")
    return response


@ROUTES.get("/sprache")
async def switch_language(request: web.Request) -> web.Response:
    lang = request.query.get("lang", "")
    target = request.query.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # never an open redirect
    response = redirect(target)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Strict", path="/")
    return response
