"""The team dashboard served by the bot itself (issue 18): aiohttp + Jinja2, server-rendered.

``server`` runs the application and its security middlewares, ``auth`` the login links and
sessions, ``login`` the sign-in pages, ``pages_team`` and ``pages_content`` the pages,
``content_edit`` saving content from the browser, ``render`` templates and SVG charts.
"""

from bot.web.server import WebServer, start_web

__all__ = ["WebServer", "start_web"]
