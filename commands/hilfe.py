"""``!hilfe`` / ``!help``: generated from the command declarations."""

from __future__ import annotations

from bot.context import Context
from bot.registry import Command, Scope
from bot.text.i18n import Message, join
from bot.transport import shorten


def summary(ctx: Context, command: Command) -> Message:
    """The first line of a command's help text."""
    full = ctx.text(command.help_key)
    return Message(full.plain.split("\n", 1)[0], full.html.split("<br>", 1)[0])


def usage(ctx: Context, command: Command) -> str:
    return ctx.t.raw(command.usage_key).format(prefix=ctx.prefix)


def overview(ctx: Context) -> Message:
    sections = [ctx.text("core.help_title")]
    # Grouped by the command's own scope; stricter sub-commands are named on the line.
    for scope in Scope:
        commands = sorted((c for c in ctx.app.registry if c.scope is scope), key=lambda c: c.german)
        if commands:
            lines = [
                ctx.text(
                    "rooms.help_line",
                    usage=usage(ctx, c),
                    summary=summary(ctx, c),
                    scopes=scope_note(ctx, c),
                )
                for c in commands
            ]
            sections.append(join([ctx.text(f"rooms.help_section.{scope.value}"), *lines]))
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
    for scope in command.scopes:
        parts.append(ctx.text(f"rooms.help_scope.{scope.value}"))
    if command.direct_only:
        parts.append(ctx.text("core.help_direct_only"))
    return join(parts)


def scope_note(ctx: Context, command: Command) -> str:
    """Stricter sub-commands' scopes, e.g. " (neu-laden: Organisation)"; "" when none."""
    if not command.subscopes:
        return ""
    names = ", ".join(ctx.t.raw(f"rooms.scope_name.{sub.scope.value}") for sub in command.subscopes)
    return ctx.t.raw("rooms.help_subscopes").format(scopes=names)


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


COMMAND = Command(name="help", german="hilfe", handler=hilfe, scope=Scope.EVERYONE)
