"""Privacy building blocks for feedback: pseudonyms, anonymous vote keys, the pseudonym key,
export permissions and parsing of ``!feedback``.

Pseudonyms
    ``pseudonym(user_id, key)`` is an HMAC-SHA256 of the Matrix ID under a secret key, shortened
    to 16 hex digits (64 bits) with the prefix ``p-``. The same person gets the same pseudonym in
    every export made with the same key, so the initiative team can see "these three remarks come
    from one person" without learning who it is. Without the key the pseudonym cannot be turned
    back into a Matrix ID (not even by trying all known IDs). Whoever holds the key *and* a list
    of candidate IDs can recompute pseudonyms — so the key stays with the operator, never in an
    export.

Where the key comes from (``resolve_pseudonym_key``), first match wins:
    1. ``privacy.pseudonym_key`` in the configuration file,
    2. the environment variable ``IMPULSBOT_PSEUDONYM_KEY``,
    3. the key file next to the database (``pseudonym.key``, see ``default_key_file``),
    4. otherwise a random key is generated and written to that file (mode 0600), so pseudonyms
       stay stable across exports even when nobody configured a key.
    All sources are read as text with surrounding white space removed, and the key bytes are the
    UTF-8 encoding of that text: the contents of a generated key file can be moved into the
    configuration or the environment later and every pseudonym stays the same. Losing the key
    file (without a configured key) means future exports use new pseudonyms — back it up together
    with the database.

Anonymous polls
    ``vote_key(poll_id, user_id, key)`` lets the bot refuse a second vote without storing who
    voted: it is an HMAC over poll ID *and* user ID, so the keys of one person differ from poll to
    poll and cannot be joined across polls (nor with pseudonyms, which use their own domain tag).
    As with pseudonyms, an operator holding the key and the member list could recompute them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.text.bounds import bounded_int
from bot.text.i18n import Message, Texts

log = logging.getLogger(__name__)

PSEUDONYM_PREFIX = "p-"
PSEUDONYM_HEX_DIGITS = 16
VOTE_KEY_HEX_DIGITS = 32
PSEUDONYM_KEY_ENV = "IMPULSBOT_PSEUDONYM_KEY"
KEY_FILE_NAME = "pseudonym.key"
MIN_KEY_LENGTH = 16  # characters; a short key could be brute-forced from one known pseudonym
GENERATED_KEY_BYTES = 32

MAX_FEEDBACK_CHARS = 4000
RATING_SCALE = 5

# Locale key of the refusal when ``--with-user-ids`` is given but the configuration forbids it.
IDENTIFIED_EXPORT_FORBIDDEN = "feedback.export.identified_forbidden"


class PseudonymKeyError(ValueError):
    """The pseudonym key cannot be used; the message is worded for the operator."""


# --- keyed hashes ------------------------------------------------------------------------------


def _mac(key: bytes, domain: str, *parts: str) -> str:
    # Length-prefixed parts: ("ab", "c") and ("a", "bc") must never produce the same message.
    message = domain.encode("utf-8")
    for part in parts:
        encoded = part.encode("utf-8")
        message += len(encoded).to_bytes(4, "big") + encoded
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def pseudonym(user_id: str, key: bytes) -> str:
    """Stable, non-reversible stand-in for a Matrix ID, e.g. ``p-3f9a0c1d2e4b5a69``."""
    return PSEUDONYM_PREFIX + _mac(key, "impulsbot/pseudonym/v1", user_id)[:PSEUDONYM_HEX_DIGITS]


def vote_key(poll_id: int | str, user_id: str, key: bytes) -> str:
    """Per-poll double-vote marker for anonymous polls; unlinkable across polls."""
    return _mac(key, "impulsbot/vote/v1", str(poll_id), user_id)[:VOTE_KEY_HEX_DIGITS]


def author_column(user_id: str | None, key: bytes, identified: bool) -> str:
    """What an export shows as author: nothing (anonymous), a pseudonym, or the Matrix ID."""
    if not user_id:
        return ""
    return user_id if identified else pseudonym(user_id, key)


def may_export_identified(flag: bool, allowed_by_config: bool) -> bool:
    """Real Matrix IDs only when the operator asked (``--with-user-ids``) *and* the config allows.

    When ``flag`` is set but the config forbids it, the caller must refuse the whole export with
    the text ``IDENTIFIED_EXPORT_FORBIDDEN`` instead of silently falling back to pseudonyms.
    """
    return flag and allowed_by_config


# --- the pseudonym key ------------------------------------------------------------------------


def default_key_file(database: Path) -> Path:
    """Where a generated key lives: next to the database, e.g. ``data/pseudonym.key``."""
    return database.parent / KEY_FILE_NAME


def resolve_pseudonym_key(
    config_value: str | None, env: Mapping[str, str], key_file: Path
) -> bytes:
    """The key for pseudonyms and vote keys: config, then environment, then key file, else a new
    random key persisted to ``key_file`` (0600). See the module docstring for the details."""
    for source, value in (
        ("privacy.pseudonym_key", config_value),
        (PSEUDONYM_KEY_ENV, env.get(PSEUDONYM_KEY_ENV)),
    ):
        if value is not None and value.strip():
            return _checked_key(value.strip(), source)
    if key_file.exists():
        return _read_key_file(key_file)
    return _create_key_file(key_file)


def _checked_key(text: str, source: str) -> bytes:
    if len(text) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(
            f"{source}: der Schlüssel für Pseudonyme ist zu kurz (mindestens {MIN_KEY_LENGTH} "
            f"Zeichen) / the pseudonym key is too short (at least {MIN_KEY_LENGTH} characters)"
        )
    return text.encode("utf-8")


def _read_key_file(key_file: Path) -> bytes:
    _tighten_permissions(key_file)
    try:
        text = key_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise PseudonymKeyError(
            f"{key_file}: Schlüsseldatei nicht lesbar / key file cannot be read: {exc}"
        ) from exc
    # A broken file must not be replaced silently: every pseudonym would change.
    return _checked_key(text, str(key_file))


def _tighten_permissions(key_file: Path) -> None:
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); restricting it to 0600", key_file, mode)
        try:
            os.chmod(key_file, 0o600)
        except OSError as exc:  # e.g. owned by another user: still usable, so only warn
            log.warning("cannot restrict %s: %s", key_file, exc)


def _create_key_file(key_file: Path) -> bytes:
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = secrets.token_hex(GENERATED_KEY_BYTES)
    # Write a private temp file, then hard-link it into place: readers never see a half-written
    # key, and if the bot and the export CLI race, the first one wins and both use its key.
    fd, temp_name = tempfile.mkstemp(prefix=".pseudonym-", dir=key_file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o600)
        try:
            os.link(temp_name, key_file)
        except FileExistsError:
            return _read_key_file(key_file)
        except OSError:
            # File systems without hard links: exclusive create still lets only one writer win.
            try:
                _write_new_file(key_file, text)
            except FileExistsError:
                return _read_key_file(key_file)
    finally:
        os.unlink(temp_name)
    log.warning("generated a new pseudonym key in %s — back it up with the database", key_file)
    return text.encode("utf-8")


def _write_new_file(key_file: Path, text: str) -> None:
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


# --- !feedback parsing -----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackInput:
    text: str
    rating: int | None
    anonymous: bool


class FeedbackInputError(Exception):
    """A user error in ``!feedback``: locale ``key`` and its ``params`` (caller adds ``prefix``)."""

    def __init__(self, key: str, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.params: dict[str, Any] = dict(params or {})

    def __str__(self) -> str:
        return f"{self.key} {self.params}" if self.params else self.key


# "--anonym"; phones turn "--" into an en or em dash ("smart punctuation"), so accept those too.
# The blanks around the flag are part of the match so that removing it leaves no double space.
_ANONYMOUS_FLAG = re.compile(r"[ \t]*(?<!\S)(?:--|—|–)anonym(?:ous)?(?!\S)[ \t]*", re.IGNORECASE)
# A leading "4/5" (optionally "4/5:" or "4/5,"). Only the scale /5 counts as rating, so text such
# as "3/4 der Kolleginnen …" stays text. Decimals are caught to answer with a helpful error.
_RATING = re.compile(r"^(\d+(?:[.,]\d+)?)/" + str(RATING_SCALE) + r"[.:,;]?(?=\s|$)")


def parse_feedback(args: str) -> FeedbackInput:
    """Parse the arguments of ``!feedback [--anonym] [N/5] <Text>``.

    A rating without text is accepted (a quick "5/5" is useful feedback); nothing at all is a
    usage error. Text longer than ``MAX_FEEDBACK_CHARS`` is refused, never truncated.
    Raises :class:`FeedbackInputError`.
    """
    text, anonymous = remove_anonymous_flag(args)
    text = text.strip()
    rating = None
    match = _RATING.match(text)
    if match:
        rating = _rating_value(match.group(1))
        text = text[match.end() :].strip()
    if not text and rating is None:
        raise FeedbackInputError("feedback.err_empty")
    if len(text) > MAX_FEEDBACK_CHARS:
        raise FeedbackInputError(
            "feedback.err_too_long", {"limit": MAX_FEEDBACK_CHARS, "length": len(text)}
        )
    return FeedbackInput(text=text, rating=rating, anonymous=anonymous)


def _rating_value(raw: str) -> int:
    with contextlib.suppress(ValueError):
        return bounded_int(raw, 1, RATING_SCALE)
    raise FeedbackInputError("feedback.err_rating", {"rating": f"{raw}/{RATING_SCALE}"})


def remove_anonymous_flag(args: str) -> tuple[str, bool]:
    found = False

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        found = True
        # Keep one space only where the flag sat between two words on the same line.
        text, start, end = match.string, match.start(), match.end()
        inside_line = start > 0 and end < len(text) and not text[start - 1].isspace()
        return " " if inside_line and not text[end].isspace() else ""

    return _ANONYMOUS_FLAG.sub(replace, args), found


# --- counts for !meine-daten and !vergessen ---------------------------------------------------

COUNT_CATEGORIES = ("feedback", "reaction", "reply", "wish", "vote")


def describe_counts(texts: Texts, counts: Mapping[str, int]) -> Message:
    """``{"feedback": 3, "reaction": 5}`` → "3 Rückmeldungen und 5 Reaktionen".

    Zero counts are left out; categories without their own wording are summed up as "weitere
    Einträge", so nothing that was deleted goes unmentioned. All zero gives "nichts".
    """
    other = sum(n for name, n in counts.items() if name not in COUNT_CATEGORIES and n > 0)
    named = [_count_phrase(texts, name, counts.get(name, 0)) for name in COUNT_CATEGORIES]
    parts = [*named, _count_phrase(texts, "other", other)]
    phrases = [p for p in parts if p is not None]
    if not phrases:
        return texts("feedback.counts.nothing")
    if len(phrases) == 1:
        return Message.text(phrases[0])
    conjunction = texts.raw("feedback.counts.and")
    return Message.text(", ".join(phrases[:-1]) + f" {conjunction} " + phrases[-1])


def _count_phrase(texts: Texts, name: str, count: int) -> str | None:
    if count <= 0:
        return None
    form = "one" if count == 1 else "other"
    return texts(f"feedback.counts.{name}.{form}", count=count).plain


# --- the !meine-daten file --------------------------------------------------------------------


def count_entries(data: Mapping[str, Any]) -> dict[str, int]:
    """Entries per category of ``StoreBase.personal_data`` (lists count their items)."""
    counts: dict[str, int] = {}
    for name, value in data.items():
        if isinstance(value, list | tuple | dict):
            counts[name] = len(value)
        else:
            counts[name] = 0 if value is None else 1
    return counts


def personal_data_file(user_id: str, data: Mapping[str, Any], generated_at: datetime) -> bytes:
    """Everything stored about one person as a readable UTF-8 JSON document (GDPR Art. 15/20)."""
    document = {
        "user_id": user_id,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "data": data,
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return (text + "\n").encode("utf-8")
