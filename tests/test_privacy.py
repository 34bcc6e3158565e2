"""Pseudonyms, vote keys, the pseudonym key file, export permission and ``!feedback`` parsing."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from bot.context import Incoming
from bot.features.feedback.recording import resolve_reference
from bot.privacy import (
    IDENTIFIED_EXPORT_FORBIDDEN,
    MAX_FEEDBACK_CHARS,
    PSEUDONYM_KEY_ENV,
    FeedbackInput,
    FeedbackInputError,
    PseudonymKeyError,
    author_column,
    count_entries,
    default_key_file,
    describe_counts,
    may_export_identified,
    parse_feedback,
    personal_data_file,
    pseudonym,
    resolve_pseudonym_key,
    vote_key,
)
from bot.text.i18n import Texts, all_keys
from commands.datenschutz import privacy_notice

KEY = b"0123456789abcdef-test"
OTHER_KEY = b"fedcba9876543210-test"
ANNA = "@anna:example.org"
BERND = "@bernd:example.org"


# --- pseudonyms and vote keys --------------------------------------------------------------


def test_pseudonym_is_stable_short_and_reveals_nothing() -> None:
    first = pseudonym(ANNA, KEY)
    assert first == pseudonym(ANNA, KEY)
    assert re.fullmatch(r"p-[0-9a-f]{16}", first)
    assert "anna" not in first


def test_pseudonym_depends_on_person_and_key() -> None:
    assert pseudonym(ANNA, KEY) != pseudonym(BERND, KEY)
    assert pseudonym(ANNA, KEY) != pseudonym(ANNA, OTHER_KEY)
    many = {pseudonym(f"@user{i}:example.org", KEY) for i in range(2000)}
    assert len(many) == 2000


def test_vote_keys_differ_per_poll_and_cannot_be_joined_with_pseudonyms() -> None:
    assert vote_key(12, ANNA, KEY) == vote_key("12", ANNA, KEY)
    assert vote_key(12, ANNA, KEY) != vote_key(13, ANNA, KEY)
    assert vote_key(12, ANNA, KEY) != vote_key(12, BERND, KEY)
    assert vote_key(12, ANNA, KEY) != vote_key(12, ANNA, OTHER_KEY)
    assert pseudonym(ANNA, KEY).removeprefix("p-") not in vote_key(12, ANNA, KEY)


def test_vote_key_parts_cannot_be_shifted_into_each_other() -> None:
    # Poll "1" + user "2@x" must not equal poll "12" + user "@x".
    assert vote_key("1", "2@x:y", KEY) != vote_key("12", "@x:y", KEY)


def test_author_column_anonymous_pseudonym_or_identified() -> None:
    assert author_column(None, KEY, identified=False) == ""
    assert author_column(None, KEY, identified=True) == ""
    assert author_column(ANNA, KEY, identified=False) == pseudonym(ANNA, KEY)
    assert author_column(ANNA, KEY, identified=True) == ANNA


@pytest.mark.parametrize(
    ("flag", "allowed", "expected"),
    [(False, False, False), (False, True, False), (True, False, False), (True, True, True)],
)
def test_identified_export_needs_flag_and_config(flag: bool, allowed: bool, expected: bool) -> None:
    assert may_export_identified(flag, allowed) is expected


def test_identified_export_refusal_names_the_setting() -> None:
    message = Texts("de")(IDENTIFIED_EXPORT_FORBIDDEN)
    assert "--with-user-ids" in message.plain
    assert "privacy.allow_identified_export: true" in message.plain
    assert "Pseudonym" in message.plain


# --- the pseudonym key ---------------------------------------------------------------------


def test_key_from_config_wins_over_environment_and_file(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    env = {PSEUDONYM_KEY_ENV: "environment-key-123456"}
    assert resolve_pseudonym_key("configured-key-123456", env, key_file) == b"configured-key-123456"
    assert resolve_pseudonym_key(None, env, key_file) == b"environment-key-123456"
    assert resolve_pseudonym_key("  ", env, key_file) == b"environment-key-123456"
    assert not key_file.exists()


def test_generated_key_is_private_persisted_and_reused(tmp_path: Path) -> None:
    key_file = default_key_file(tmp_path / "data" / "impulsbot.db")
    assert key_file == tmp_path / "data" / "pseudonym.key"
    first = resolve_pseudonym_key(None, {}, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert resolve_pseudonym_key(None, {PSEUDONYM_KEY_ENV: ""}, key_file) == first
    assert list(key_file.parent.iterdir()) == [key_file]  # no temp files left behind


def test_generated_key_can_move_into_the_configuration(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    generated = resolve_pseudonym_key(None, {}, key_file)
    configured = resolve_pseudonym_key(key_file.read_text(), {}, tmp_path / "unused.key")
    assert pseudonym(ANNA, configured) == pseudonym(ANNA, generated)


def test_key_file_is_created_where_hard_links_are_unsupported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: str, target: Path) -> None:
        raise PermissionError("hard links not supported")

    monkeypatch.setattr("bot.privacy.os.link", no_links)
    key_file = tmp_path / "pseudonym.key"
    first = resolve_pseudonym_key(None, {}, key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert resolve_pseudonym_key(None, {}, key_file) == first
    assert list(tmp_path.iterdir()) == [key_file]


def test_separate_keys_give_separate_pseudonyms(tmp_path: Path) -> None:
    one = resolve_pseudonym_key(None, {}, tmp_path / "a" / "pseudonym.key")
    two = resolve_pseudonym_key(None, {}, tmp_path / "b" / "pseudonym.key")
    assert pseudonym(ANNA, one) != pseudonym(ANNA, two)


def test_too_short_configured_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PseudonymKeyError, match=re.escape("privacy.pseudonym_key")):
        resolve_pseudonym_key("geheim", {}, tmp_path / "k")
    with pytest.raises(PseudonymKeyError, match=PSEUDONYM_KEY_ENV):
        resolve_pseudonym_key(None, {PSEUDONYM_KEY_ENV: "kurz"}, tmp_path / "k")


def test_broken_key_file_is_reported_not_silently_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("\n")
    with pytest.raises(PseudonymKeyError):
        resolve_pseudonym_key(None, {}, key_file)
    assert key_file.read_text() == "\n"


def test_key_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("a-key-that-is-long-enough\n")
    key_file.chmod(0o644)
    assert resolve_pseudonym_key(None, {}, key_file) == b"a-key-that-is-long-enough"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


# --- !feedback -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("Der Impuls war hilfreich.", FeedbackInput("Der Impuls war hilfreich.", None, False)),
        ("4/5 Gut erklärt", FeedbackInput("Gut erklärt", 4, False)),
        ("  5/5:   Super!  ", FeedbackInput("Super!", 5, False)),
        ("1/5", FeedbackInput("", 1, False)),
        ("--anonym Zu lang", FeedbackInput("Zu lang", None, True)),
        ("--anonym 2/5 Zu lang", FeedbackInput("Zu lang", 2, True)),
        ("3/5 --anonym Mittel", FeedbackInput("Mittel", 3, True)),
        ("Mitten --anonym im Text", FeedbackInput("Mitten im Text", None, True)),
        ("Am Ende --ANONYM", FeedbackInput("Am Ende", None, True)),
        (
            "—anonym iPhone macht Gedankenstriche",
            FeedbackInput("iPhone macht Gedankenstriche", None, True),
        ),
        ("Zeile 1 --anonym\nZeile 2", FeedbackInput("Zeile 1\nZeile 2", None, True)),
        ("Zeile 1\n\n  eingerückt", FeedbackInput("Zeile 1\n\n  eingerückt", None, False)),
        (
            "3/4 der Kolleginnen nutzen es",
            FeedbackInput("3/4 der Kolleginnen nutzen es", None, False),
        ),
        ("Note 4/5 gegeben", FeedbackInput("Note 4/5 gegeben", None, False)),
        ("x--anonym bleibt Text", FeedbackInput("x--anonym bleibt Text", None, False)),
        ("--anonymität ist wichtig", FeedbackInput("--anonymität ist wichtig", None, False)),
    ],
)
def test_parse_feedback(args: str, expected: FeedbackInput) -> None:
    assert parse_feedback(args) == expected


@pytest.mark.parametrize("args", ["", "   ", "--anonym", "  --anonym  \n "])
def test_empty_feedback_gets_the_usage_hint(args: str) -> None:
    with pytest.raises(FeedbackInputError) as info:
        parse_feedback(args)
    assert info.value.key == "feedback.err_empty"


@pytest.mark.parametrize("rating", ["6/5", "0/5", "10/5", "3,5/5", "4.5/5"])
def test_rating_outside_one_to_five_is_refused(rating: str) -> None:
    with pytest.raises(FeedbackInputError) as info:
        parse_feedback(f"{rating} Text")
    assert info.value.key == "feedback.err_rating"
    assert info.value.params == {"rating": rating}
    message = Texts("de")(info.value.key, prefix="!", **info.value.params)
    assert rating in message.plain and "1 bis 5" in message.plain


def test_long_feedback_is_refused_with_the_limit_never_truncated() -> None:
    assert parse_feedback("x" * MAX_FEEDBACK_CHARS).text == "x" * MAX_FEEDBACK_CHARS
    with pytest.raises(FeedbackInputError) as info:
        parse_feedback("4/5 " + "ü" * (MAX_FEEDBACK_CHARS + 1))
    assert info.value.key == "feedback.err_too_long"
    assert info.value.params == {"limit": MAX_FEEDBACK_CHARS, "length": MAX_FEEDBACK_CHARS + 1}
    message = Texts("de")(info.value.key, **info.value.params)
    assert str(MAX_FEEDBACK_CHARS) in message.plain


# --- counts for !meine-daten / !vergessen --------------------------------------------------


def test_deletion_summary_reads_naturally_in_german() -> None:
    t = Texts("de")
    summary = describe_counts(t, {"feedback": 3, "reaction": 5, "wish": 1, "vote": 0})
    assert summary.plain == "3 Rückmeldungen, 5 Reaktionen und 1 Wunsch"
    assert t("feedback.forget.done", summary=summary).plain == (
        "Gelöscht: 3 Rückmeldungen, 5 Reaktionen und 1 Wunsch."
    )
    assert describe_counts(t, {"feedback": 1}).plain == "1 Rückmeldung"
    assert describe_counts(t, {}).plain == "nichts"


def test_unknown_categories_are_counted_not_dropped() -> None:
    summary = describe_counts(Texts("de"), {"reply": 2, "tandem": 1, "lean_coffee": 2})
    assert summary.plain == "2 Antworten und 3 weitere Einträge"
    assert describe_counts(Texts("en"), {"tandem": 1}).plain == "1 further entry"


# --- locale texts --------------------------------------------------------------------------

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "text" / "locales"


def feedback_texts(lang: str) -> set[str]:
    return {k for k in all_keys(lang) if k.startswith("feedback.")}


def test_feedback_texts_exist_in_both_languages() -> None:
    assert feedback_texts("de") == feedback_texts("en")
    assert len(feedback_texts("de")) > 40


def test_feedback_placeholders_match_between_languages() -> None:
    placeholder = re.compile(r"\{(\w+)\}")
    for key in feedback_texts("de"):
        german = set(placeholder.findall(Texts("de").raw(key)))
        english = set(placeholder.findall(Texts("en").raw(key)))
        assert german == english, key


def test_feedback_locale_files_hold_only_feedback_and_its_command_texts() -> None:
    own_commands = {"feedback", "export", "privacy", "mydata", "forget"}
    for lang in ("de", "en"):
        data = yaml.safe_load((LOCALES / lang / "feedback.yaml").read_text(encoding="utf-8"))
        assert list(data) == ["feedback", "cmd"]
        assert set(data["cmd"]) == own_commands
        for name in own_commands:
            assert set(data["cmd"][name]) == {"usage", "help"}


def test_confirmation_and_privacy_notice_texts() -> None:
    t = Texts("de")
    assert t("feedback.received").plain == "Danke, Ihre Rückmeldung ist angekommen."
    notice = t("feedback.privacy_notice", prefix="!", retention_days=365, contact="Team <x>")
    for expected in ("365 Tagen", "Team <x>", "!meine-daten", "!vergessen", "Pseudonym"):
        assert expected in notice.plain
    assert "Team &lt;x&gt;" in notice.html  # the configured contact cannot inject markup
    limit = t("feedback.rate_limited", limit=20).plain
    assert limit.startswith("Sie haben in der letzten Stunde schon 20 Rückmeldungen gesendet")
    confirm = t("feedback.forget.confirm", prefix="!", summary="3 Rückmeldungen", minutes=5)
    assert "`!vergessen bestätigen` innerhalb von 5 Minuten" in confirm.plain
    assert "<code>!vergessen bestätigen</code>" in confirm.html


# --- the !meine-daten file ----------------------------------------------------------------------


def test_count_entries_counts_list_items_per_category() -> None:
    data = {"feedback": [{"id": 1}, {"id": 2}], "reaction": [], "tandem": {"a": 1}, "lang": "de"}
    assert count_entries(data) == {"feedback": 2, "reaction": 0, "tandem": 1, "lang": 1}
    summary = describe_counts(Texts("de"), count_entries(data))
    assert summary.plain == "2 Rückmeldungen und 2 weitere Einträge"


def test_personal_data_file_is_readable_utf8_json_with_everything() -> None:
    at = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    data = {"feedback": [{"text": "Größe 👍", "created_at": 1, "when": at}]}
    raw = personal_data_file("@anna:example.org", data, at)
    assert "Größe 👍".encode() in raw  # not \u-escaped: readable in any editor
    document = json.loads(raw)
    assert document["user_id"] == "@anna:example.org"
    assert document["generated_at"] == "2026-11-24T09:30:00+00:00"
    assert document["data"]["feedback"][0]["text"] == "Größe 👍"
    assert document["data"]["feedback"][0]["when"].startswith("2026-11-24")


# --- !datenschutz and the feedback reference ----------------------------------------------------


def _ctx(**privacy: Any) -> Any:
    from bot.config import PrivacyConfig

    texts = Texts("de")
    return SimpleNamespace(
        app=SimpleNamespace(config=SimpleNamespace(privacy=PrivacyConfig(**privacy))),
        prefix="?",
        t=texts,
        text=lambda key, **params: texts(key, prefix="?", **params),
    )


def test_privacy_notice_default_names_contact_retention_and_commands() -> None:
    notice = privacy_notice(_ctx(contact="Frau Roth <dsb@example.org>", retention_days=30))
    for expected in ("30 Tagen", "Frau Roth <dsb@example.org>", "?meine-daten", "?vergessen"):
        assert expected in notice.plain
    assert "&lt;dsb@example.org&gt;" in notice.html
    assert "ausnahmsweise" not in notice.plain


def test_privacy_notice_from_config_with_markup_and_placeholders() -> None:
    notice = privacy_notice(
        _ctx(
            notice="**Hinweis** der Stadt: Löschung nach {retention_days} Tagen, {contact}.",
            contact="Amt 10",
            allow_identified_export=True,
        )
    )
    assert notice.plain.startswith("Hinweis der Stadt: Löschung nach 365 Tagen, Amt 10.")
    assert notice.html.startswith("<b>Hinweis</b>")
    assert "ausnahmsweise" in notice.plain  # identified exports are disclosed


def test_privacy_notice_with_broken_braces_is_shown_verbatim() -> None:
    notice = privacy_notice(_ctx(notice="Fragen an {contact oder <b>Amt</b>"))
    # The operator's text verbatim, then the retention per category (always, from the code).
    assert notice.plain.startswith("Fragen an {contact oder <b>Amt</b>\n\nWie lange")
    assert "&lt;b&gt;" in notice.html


class _RefStore:
    def __init__(self) -> None:
        self.kv = {"ref:$mapped": "umfrage:7x"}

    async def get_value(self, key: str) -> str | None:
        return self.kv.get(key)

    async def impulse_of_event(self, room_id: str, event_id: str) -> str | None:
        return "03-lean-coffee" if (room_id, event_id) == ("!r", "$impulse") else None

    async def poll_by_start_event(self, event_id: str) -> Any:
        return SimpleNamespace(id=12, room_id="!r") if event_id == "$poll" else None


def _incoming(replied_to: str | None = None, thread_root: str | None = None) -> Incoming:
    return Incoming("!r", "$cmd", "@a:x", "!feedback x", 0, thread_root, replied_to)


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        (_incoming(), None),
        (_incoming(replied_to="$impulse"), "impuls:03-lean-coffee"),
        (_incoming(thread_root="$poll"), "umfrage:12"),
        (_incoming(replied_to="$mapped"), "umfrage:7x"),
        (_incoming(replied_to="$other", thread_root="$impulse"), "impuls:03-lean-coffee"),
        (_incoming(replied_to="$other", thread_root="$unknown"), "event:$other"),
    ],
)
async def test_feedback_reference_resolution(incoming: Incoming, expected: str | None) -> None:
    assert await resolve_reference(_RefStore(), incoming) == expected  # type: ignore[arg-type]
