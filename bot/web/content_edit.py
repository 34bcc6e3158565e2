"""Saving content from the browser: one offering of ``angebote.yaml`` or one impulse file.

A change is first validated on a copy with the very checks of ``impulsbot catalogue check`` and
the impulse loader (so the editor sees the same German messages), then the previous file goes to
``<content>/history/`` (the log there names editor and time), the new file replaces the old one
atomically, and the bot reloads it: ``!angebot`` finds the change at once.

Only the edited entry's lines of ``angebote.yaml`` are rewritten; comments and the other entries
stay exactly as the editors wrote them.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bot.features.catalogue.load import check_content
from bot.features.catalogue.model import CATALOGUE_FILE, SYNONYMS_FILE
from bot.features.impulses.library import IMPULSE_DIR, check_impulses, load_impulses
from bot.features.impulses.render import render_impulse
from bot.text.i18n import Texts

HISTORY_DIR = "history"
LIST_FIELDS = ("themen", "zielgruppen")
OPTIONAL_FIELDS = ("dauer", "link")
FIELDS = ("titel", "anbieter", "typ", "themen", "zielgruppen", "format", "kosten", "dauer",
          "beschreibung", "link")  # fmt: skip


def entry_from_form(offering_id: str, form: Any) -> dict[str, Any]:
    """Form values as an ``angebote.yaml`` entry; blank optional fields are left out."""
    entry: dict[str, Any] = {"id": offering_id}
    for name in FIELDS:
        value = str(form.get(name, "")).replace("\r\n", "\n").strip()
        if name in LIST_FIELDS:
            entry[name] = [part.strip() for part in value.split(",") if part.strip()]
        elif name in OPTIONAL_FIELDS and not value:
            continue
        else:
            entry[name] = value
    return entry


def _entry_lines(text: str, offering_id: str) -> tuple[int, int, int] | None:
    """First and past-the-last line of an entry (without the comments that follow it) and the
    column of its ``- ``; the list may stand at the top or under the key ``angebote:``."""
    root = yaml.compose(text)
    if isinstance(root, yaml.MappingNode) and len(root.value) == 1:
        root = root.value[0][1]
    if not isinstance(root, yaml.SequenceNode):
        return None
    lines = text.splitlines(keepends=True)
    for node in root.value:
        if not isinstance(node, yaml.MappingNode):
            continue
        ids = [v.value for k, v in node.value if k.value == "id" and isinstance(v, yaml.ScalarNode)]
        if ids == [offering_id]:
            # The end mark sits where the next token starts: when only indentation precedes it,
            # that line belongs to the next entry.
            mark = node.end_mark
            ours = mark.line < len(lines) and lines[mark.line][: mark.column].strip() != ""
            start, end = node.start_mark.line, min(mark.line + (1 if ours else 0), len(lines))
            while end > start + 1 and (
                not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
            ):
                end -= 1
            return start, end, max(0, node.start_mark.column - 2)
    return None


def _dump_entry(entry: dict[str, Any], indent: int) -> str:
    text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=96)
    return "".join(" " * indent + line for line in text.splitlines(keepends=True))


def _validate(directory: Path, replace: dict[str, str], lang: str) -> list[str]:
    """The problems ``impulsbot catalogue check`` and the impulse loader would report."""
    with tempfile.TemporaryDirectory(prefix="impulsbot-check-") as tmp:
        copy = Path(tmp)
        for name in (CATALOGUE_FILE, SYNONYMS_FILE):
            if (directory / name).is_file():
                shutil.copy2(directory / name, copy / name)
        if (directory / IMPULSE_DIR).is_dir():
            shutil.copytree(directory / IMPULSE_DIR, copy / IMPULSE_DIR)
        for relative, text in replace.items():
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            (copy / relative).write_text(text, encoding="utf-8")
        if any(r.startswith(IMPULSE_DIR) for r in replace):
            return check_impulses(copy, lang)
        return check_content(copy, lang)


def _keep_history(directory: Path, relative: str, editor: str, now: dt.datetime) -> None:
    history = directory / HISTORY_DIR
    history.mkdir(exist_ok=True)
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    source = directory / relative
    kept = history / f"{stamp}-{source.name}"
    shutil.copy2(source, kept)
    with (history / "aenderungen.log").open("a", encoding="utf-8") as log:
        log.write(f"{now.astimezone(dt.UTC).isoformat()}\t{editor}\t{relative}\t{kept.name}\n")


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_offering(
    directory: Path, offering_id: str, form: Any, editor: str, now: dt.datetime, lang: str
) -> list[str]:
    """Validate and save one offering; returns the problems (nothing is written if any)."""
    path = directory / CATALOGUE_FILE
    text = path.read_text(encoding="utf-8")
    span = _entry_lines(text, offering_id)
    if span is None:
        return [Texts(lang)("web.catalogue.gone", file=CATALOGUE_FILE, id=offering_id).plain]
    start, end, indent = span
    lines = text.splitlines(keepends=True)
    entry = _dump_entry(entry_from_form(offering_id, form), indent)
    new_text = "".join([*lines[:start], entry, *lines[end:]])
    problems = _validate(directory, {CATALOGUE_FILE: new_text}, lang)
    if not problems:
        _keep_history(directory, CATALOGUE_FILE, editor, now)
        _atomic_write(path, new_text)
    return problems


def impulse_path(directory: Path, name: str) -> Path | None:
    """The file of an impulse id, if it exists (ids come from the URL: no path tricks)."""
    folder = directory / IMPULSE_DIR
    candidate = folder / f"{name}.md"
    if "/" in name or "\\" in name or name.startswith(".") or not candidate.is_file():
        return None
    return candidate


def save_impulse(
    directory: Path, name: str, text: str, editor: str, now: dt.datetime, lang: str
) -> list[str]:
    relative = f"{IMPULSE_DIR}/{name}.md"
    text = text.replace("\r\n", "\n")
    problems = _validate(directory, {relative: text}, lang)
    if not problems:
        _keep_history(directory, relative, editor, now)
        _atomic_write(directory / relative, text)
    return problems


def preview_impulse(directory: Path, name: str, text: str, lang: str) -> tuple[str, list[str]]:
    """(the chat HTML of the impulse as it would be posted, problems)."""
    relative = f"{IMPULSE_DIR}/{name}.md"
    with tempfile.TemporaryDirectory(prefix="impulsbot-preview-") as tmp:
        copy = Path(tmp) / IMPULSE_DIR
        copy.mkdir()
        (copy / f"{name}.md").write_text(text.replace("\r\n", "\n"), encoding="utf-8")
        problems = check_impulses(Path(tmp), lang)
        if problems:
            return "", [p.replace(f"{IMPULSE_DIR}/{name}.md", relative) for p in problems]
        impulse = load_impulses(Path(tmp), lang).get(name)
    return (render_impulse(impulse, lang).html if impulse else ""), []
