"""``!hilfe`` / ``!help``: generated from the command declarations."""

from __future__ import annotations

from bot.context import Context
from bot.i18n import Message, join
from bot.outgoing import shorten
from bot.registry import Command, Permission

SECTIONS = (
    (Permission.EVERYONE, "core.help_section_everyone"),
    (Permission.MODERATOR, "core.help_section_moderator"),
    (Permission.TEAM, "core.help_section_team"),
)


def summary(ctx: Context, command: Command) -> Message:
    """The first line of a command's help text."""
    full = ctx.text(command.help_key)
    return Message(full.plain.split("\n", 1)[0], full.html.split("<br>", 1)[0])


def usage(ctx: Context, command: Command) -> str:
    return ctx.t.raw(command.usage_key).format(prefix=ctx.prefix)


def overview(ctx: Context) -> Message:
    sections = [ctx.text("core.help_title")]
    for permission, heading in SECTIONS:
        commands = sorted(
            (c for c in ctx.app.registry if c.permission is permission), key=lambda c: c.german
        )
        if commands:
            lines = [
                ctx.text("core.help_line", usage=usage(ctx, c), summary=summary(ctx, c))
                for c in commands
            ]
            sections.append(join([ctx.text(heading), *lines]))
    sections.append(ctx.text("core.help_footer"))
    return join(sections, separator="\n\n")


def details(ctx: Context, command: Command) -> Message:
    name = command.german if ctx.t.lang == "de" else command.name
    parts = [
        ctx.text("core.help_detail_title", name=name),
        ctx.text("core.help_usage", usage=usage(ctx, command)),
        ctx.text(command.help_key),
    ]
    others = [f"{ctx.prefix}{s}" for s in command.spellings if s != name]
    if others:
        parts.append(ctx.text("core.help_aliases", aliases=", ".join(others)))
    if command.permission is Permission.MODERATOR:
        parts.append(ctx.text("core.help_permission_moderator"))
    elif command.permission is Permission.TEAM:
        parts.append(ctx.text("core.help_permission_team"))
    if command.direct_only:
        parts.append(ctx.text("core.help_direct_only"))
    return join(parts)


async def hilfe(ctx: Context) -> None:
    wanted = ctx.args.split()[0].removeprefix(ctx.prefix) if ctx.args.split() else ""
    if not wanted:
        await ctx.reply(overview(ctx))
        return
    command = ctx.app.registry.find(wanted)
    if command is None:
        await ctx.reply(ctx.text("core.help_unknown", name=shorten(wanted)))
    else:
        await ctx.reply(details(ctx, command))


COMMAND = Command(name="help", german="hilfe", handler=hilfe)
