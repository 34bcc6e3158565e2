"""What ``!angebot`` shows: labels, the catalogue overview and search results (pure functions; the
chat command sends the returned Message)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.features.catalogue.model import FORMATS, TYPES, Catalogue, Offering
from bot.features.search.filters import facet_key
from bot.features.search.model import AppliedFilter, FilterError, Hit, SearchResult
from bot.text.german import fold
from bot.text.i18n import Message, Texts, escape, join

# --- labels -------------------------------------------------------------------------------------


def type_label(typ: str, t: Texts) -> str:
    return _label(t, f"angebot.typ.{typ}", typ)


def format_label(fmt: str, t: Texts) -> str:
    return _label(t, f"angebot.format.{fmt}", fmt)


def audience_label(value: str, t: Texts, catalogue: Catalogue | None = None) -> str:
    """Human label of a target group: "fachkraefte" → "Fachkräfte" (from the locale file, else
    spelled like the catalogue texts); free text stays as written."""
    slug = "-".join(fold(value).split())
    label = _label(t, f"angebot.zielgruppe.{slug}", "")
    if label:
        return label
    return topic_label(value, catalogue)


def topic_label(value: str, catalogue: Catalogue | None = None) -> str:
    """Human label of a topic slug: "kuenstliche-intelligenz" → "Künstliche Intelligenz"."""
    if catalogue is not None:
        return catalogue.label(value)
    if value == value.lower() and " " not in value:
        return value[:1].upper() + value[1:].replace("-", " ")
    return value


def _label(t: Texts, key: str, fallback: str) -> str:
    try:
        value = t.raw(key)
    except KeyError:
        return fallback
    return value if isinstance(value, str) else fallback


# --- overview -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicSummary:
    topic: str  # label to show
    value: str  # as written in the catalogue, usable as thema:<value>
    count: int
    examples: tuple[str, ...]  # titles


@dataclass(frozen=True)
class Overview:
    total: int
    by_type: tuple[tuple[str, int], ...]  # (typ, count), most common first
    by_format: tuple[tuple[str, int], ...]
    free: int
    topics: tuple[TopicSummary, ...]


def overview(catalogue: Catalogue, topics: int = 6, examples: int = 2) -> Overview:
    """What ``!angebot`` alone shows: counts per type and the most common topics."""
    by_type = Counter(e.typ for e in catalogue.entries)
    by_format = Counter(e.format for e in catalogue.entries)
    topic_entries: dict[str, list[Offering]] = defaultdict(list)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in catalogue.entries:
        for topic in dict.fromkeys(facet_key(t) for t in entry.themen):
            topic_entries[topic].append(entry)
        for topic in entry.themen:
            spellings[facet_key(topic)][topic] += 1
    ranked = sorted(topic_entries, key=lambda k: (-len(topic_entries[k]), k))[:topics]
    summaries = tuple(
        TopicSummary(
            catalogue.label(spellings[k].most_common(1)[0][0]),
            spellings[k].most_common(1)[0][0],
            len(topic_entries[k]),
            tuple(e.titel for e in topic_entries[k][:examples]),
        )
        for k in ranked
    )
    return Overview(
        total=len(catalogue.entries),
        by_type=tuple(sorted(by_type.items(), key=lambda kv: (-kv[1], TYPES.index(kv[0])))),
        by_format=tuple(sorted(by_format.items(), key=lambda kv: (-kv[1], FORMATS.index(kv[0])))),
        free=sum(1 for e in catalogue.entries if e.is_free),
        topics=summaries,
    )


# --- rendering (pure; the chat command sends the returned Message) ------------------------------

_DISPLAY_QUERY_CHARS = 80


def render_results(result: SearchResult, t: Texts, prefix: str = "!") -> Message:
    """The reply to a search: notes (typo, partial match), numbered hits, paging and hints; or
    plainly that nothing fits, with at most a few offerings labelled "entfernt verwandt"."""
    if result.filter_errors:
        return render_filter_errors(result.filter_errors, t, prefix)
    if result.is_empty_query:
        return t("angebot.results.empty", prefix=prefix)
    query = _short(result.query)
    filters = _filters_text(result.filters, t)
    if result.ambiguous:
        typed, *choices = result.ambiguous
        options = _quoted_list([_short(c, 40) for c in choices], t)
        return t("angebot.results.ambiguous", typed=_short(typed, 40), options=options)
    if result.nothing_fits or not result.hits:
        return _render_no_hits(result, t, prefix, query, filters)
    parts: list[Message] = []
    first, last = result.offset + 1, result.offset + len(result.hits)
    if result.suggestion:
        parts.append(
            t("angebot.results.corrected", suggestion=_short(result.suggestion), query=query)
        )
    if result.relaxed:
        parts.append(t("angebot.results.relaxed"))
    if result.terms:
        header_query = _short(result.suggestion) if result.suggestion else query
        parts.append(
            t(
                "angebot.results.header",
                query=header_query,
                first=first,
                last=last,
                total=result.total,
            )
        )
    else:
        parts.append(
            t(
                "angebot.results.header_filters_only",
                filters=filters,
                first=first,
                last=last,
                total=result.total,
            )
        )
    parts.append(_hit_list(result.hits, first, t))
    if result.has_more:
        parts.append(t("angebot.results.more", rest=result.total - last, prefix=prefix))
    parts.append(t("angebot.results.details_hint", prefix=prefix))
    return join(parts)


def _render_no_hits(
    result: SearchResult, t: Texts, prefix: str, query: str, filters: str
) -> Message:
    if result.offset and result.offset >= result.total:
        return t("angebot.results.page_past_end", total=result.total)
    shown = _short(result.suggestion) if result.suggestion else query
    if result.terms:
        parts = [t("angebot.results.none", query=shown)]
    else:
        parts = [t("angebot.results.none_filters", filters=filters)]
    parts.append(t("angebot.results.none_hint", prefix=prefix))
    if result.hits:
        parts.append(t("angebot.results.related"))
        parts.append(_hit_list(result.hits, 1, t))
    return join(parts)


def _quoted_list(values: Sequence[str], t: Texts) -> str:
    quoted = [f"„{v}“" if t.lang == "de" else f"“{v}”" for v in values]
    if len(quoted) == 1:
        return quoted[0]
    word = str(t.raw("angebot.filter.or"))
    return ", ".join(quoted[:-1]) + f" {word} " + quoted[-1]


def _hit_list(hits: Sequence[Hit], first: int, t: Texts) -> Message:
    plain_lines: list[str] = []
    items: list[str] = []
    for number, hit in enumerate(hits, start=first):
        entry = hit.entry
        meta = _meta_line(entry, t)
        id_text = t("angebot.results.id", id=entry.id)
        plain = f"{number}. {entry.titel}\n   {meta.plain} · {id_text.plain}"
        if entry.link:
            plain += f"\n   {entry.link}"
        plain_lines.append(plain)
        items.append(f"<li>{_title_html(entry)}<br>{meta.html} · {id_text.html}</li>")
    html = f'<ol start="{first}">' + "".join(items) + "</ol>"
    return Message("\n".join(plain_lines), html)


def _title_html(entry: Offering) -> str:
    title = f"<b>{escape(entry.titel)}</b>"
    if entry.link:
        return f'<a href="{escape(entry.link)}">{title}</a>'
    return title


def _meta_line(entry: Offering, t: Texts) -> Message:
    separator = str(t.raw("angebot.results.meta_separator"))
    cost = str(t.raw("angebot.free")) if entry.is_free else entry.kosten
    values = [entry.anbieter, type_label(entry.typ, t), format_label(entry.format, t), cost]
    return Message.text(separator.join(values))


def render_details(
    entry: Offering, t: Texts, prefix: str = "!", catalogue: Catalogue | None = None
) -> Message:
    """Everything about one offering (``!angebot details <id>``). With ``catalogue``, topic slugs
    are shown spelled out ("Künstliche Intelligenz")."""
    facts = [
        Message(entry.titel, _title_html(entry)),
        t("angebot.details.provider", value=entry.anbieter),
        t("angebot.details.type", value=type_label(entry.typ, t)),
        t("angebot.details.format", value=format_label(entry.format, t)),
        t("angebot.details.cost", value=entry.kosten),
    ]
    if entry.dauer:
        facts.append(t("angebot.details.duration", value=entry.dauer))
    if entry.themen:
        topics = ", ".join(topic_label(v, catalogue) for v in entry.themen)
        facts.append(t("angebot.details.topics", value=topics))
    if entry.zielgruppen:
        labels = ", ".join(audience_label(v, t, catalogue) for v in entry.zielgruppen)
        facts.append(t("angebot.details.audiences", value=labels))
    closing = []
    if entry.link:
        link = Message(entry.link, f'<a href="{escape(entry.link)}">{escape(entry.link)}</a>')
        closing.append(t("angebot.details.link", value=link))
    closing.append(t("angebot.details.id", id=entry.id))
    return join([join(facts), Message.text(entry.beschreibung), join(closing)], separator="\n\n")


def render_unknown_id(
    offering_id: str, catalogue: Catalogue, t: Texts, prefix: str = "!"
) -> Message:
    """Reply to ``!angebot details <id>`` with an id that does not exist (or none at all)."""
    if not offering_id.strip():
        example = catalogue.entries[0].id if catalogue.entries else "beispiel-id"
        return t("angebot.details.missing_id", prefix=prefix, example=example)
    close = catalogue.closest_ids(offering_id)
    shown = _short(offering_id)
    if not close:
        return t("angebot.details.not_found", id=shown)
    return t("angebot.details.not_found_suggest", id=shown, suggestions=_code_list(close, t, "or"))


def render_overview(data: Overview, t: Texts, prefix: str = "!") -> Message:
    """``!angebot`` without arguments: size of the catalogue, types, common topics, usage."""
    if data.total == 0:
        return t("angebot.overview.empty")
    separator = str(t.raw("angebot.results.meta_separator"))
    types = separator.join(
        f"{_type_plural(typ, count, t)} ({count})" for typ, count in data.by_type
    )
    parts = [
        t("angebot.overview.header", total=data.total),
        t("angebot.overview.by_type", value=types),
    ]
    if data.free:
        parts.append(t("angebot.overview.free", count=data.free))
    if data.topics:
        parts.append(t("angebot.overview.topics_header"))
        for topic in data.topics:
            examples = ", ".join(
                f"„{title}“" if t.lang == "de" else f"“{title}”" for title in topic.examples
            )
            parts.append(
                t("angebot.overview.topic", topic=topic.topic, count=topic.count, examples=examples)
            )
    example = data.topics[0].topic if data.topics else "Beteiligung"
    parts.append(t("angebot.overview.usage", prefix=prefix, example=example))
    return join(parts)


def _type_plural(typ: str, count: int, t: Texts) -> str:
    if count == 1:
        return type_label(typ, t)
    return _label(t, f"angebot.typ_plural.{typ}", type_label(typ, t))


def render_filter_errors(errors: Sequence[FilterError], t: Texts, prefix: str = "!") -> Message:
    """Explain each unusable filter and list what is valid."""
    parts: list[Message] = []
    for error in errors:
        if error.canonical_key is None:
            valid = _code_list(error.valid, t, "and")
            parts.append(t("angebot.filter.unknown_key", name=_short(error.key, 30), valid=valid))
        else:
            parts.append(
                t(
                    "angebot.filter.unknown_value",
                    value=_short(error.value, 40),
                    name=error.canonical_key,
                )
            )
        if error.suggestions:
            parts.append(
                t("angebot.filter.suggestions", suggestions=_code_list(error.suggestions, t, "or"))
            )
        if error.canonical_key is not None:
            parts.append(_valid_values(error.valid, t))
    parts.append(t("angebot.filter.example", prefix=prefix))
    return join(parts)


_MAX_LISTED_VALUES = 15


def _valid_values(values: Sequence[str], t: Texts) -> Message:
    shown = list(values[:_MAX_LISTED_VALUES])
    listed = _code_list(shown, t, None)
    if len(values) > len(shown):
        return t("angebot.filter.valid_values_more", valid=listed, count=len(values))
    return t("angebot.filter.valid_values", valid=listed)


def _code_list(values: Sequence[str], t: Texts, conjunction: str | None) -> Message:
    """`a`, `b` und `c` as a message (code-formatted in HTML, plain in text)."""
    plain_items = [f"`{v}`" for v in values]
    html_items = [f"<code>{escape(v)}</code>" for v in values]
    if conjunction and len(values) > 1:
        word = str(t.raw(f"angebot.filter.{conjunction}"))
        plain = ", ".join(plain_items[:-1]) + f" {word} " + plain_items[-1]
        html = ", ".join(html_items[:-1]) + f" {escape(word)} " + html_items[-1]
        return Message(plain, html)
    return Message(", ".join(plain_items), ", ".join(html_items))


def _filters_text(filters: Sequence[AppliedFilter], t: Texts) -> str:
    shown = []
    for applied in filters:
        if applied.key == "kosten":
            shown.append(str(t.raw("angebot.free")))
        else:
            shown.append(f"{applied.key}:{applied.value}")
    return ", ".join(shown)


def _short(text: str, limit: int = _DISPLAY_QUERY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
