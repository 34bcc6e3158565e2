"""Benchmark of the catalogue search: index build time and query latency on 10,000 offerings.

Run: ``/work/venv/bin/python -m bench.bench_search``. Targets: build < 3 s, p95 < 10 ms. The
German lexicon (simplemma's dictionary) is loaded once per process and reported separately.

The offerings are synthetic but shaped like the real catalogue: German titles with compounds,
2–4 topics, target groups, and descriptions of 40–70 words drawn from a municipal vocabulary with
a skewed (Zipf-like) word frequency, so common words match thousands of entries as in real text.
The query mix covers plain words, compounds, synonyms, typos, filters, multi-word and nonsense.
"""

from __future__ import annotations

import random
import statistics
import time

from bot.features.catalogue.model import FORMATS, TYPES, Catalogue, Offering
from bot.features.search import SearchIndex
from bot.features.search.morphology import lexicon

ENTRIES = 10_000
QUERIES = 2_000
SEED = 20240611

HEADS = [
    "Bürger",
    "Jugend",
    "Kinder",
    "Sozial",
    "Verwaltungs",
    "Daten",
    "Stadt",
    "Quartiers",
    "Familien",
    "Klima",
    "Personal",
    "Haushalts",
    "Bildungs",
    "Gesundheits",
    "Mobilitäts",
    "Projekt",
    "Beteiligungs",
    "Planungs",
    "Digital",
    "Wissens",
    "Team",
    "Führungs",
    "Organisations",
]
TAILS = [
    "beteiligung",
    "planung",
    "management",
    "entwicklung",
    "hilfe",
    "arbeit",
    "beratung",
    "strategie",
    "schutz",
    "kompetenz",
    "verfahren",
    "analyse",
    "monitoring",
    "netzwerk",
    "werkstatt",
    "leitfaden",
    "steuerung",
    "kultur",
    "politik",
    "dialog",
]
# Topics with the anchor words an entry on that topic always uses (like "Beteiligung" in every
# participation offering) and the theme slug it carries.
TOPICS = {
    "beteiligung": ["Beteiligung", "Bürgerbeteiligung"],
    "digitalisierung": ["Digitalisierung", "Verwaltungsdigitalisierung"],
    "jugendhilfe": ["Jugendhilfe", "Jugendhilfeplanung"],
    "sozialplanung": ["Sozialplanung", "Sozialraum"],
    "daten": ["Daten", "Datenkompetenz"],
    "ki": ["KI", "künstliche Intelligenz"],
    "fuehrung": ["Führung", "Führungskultur"],
    "steuerung": ["Steuerung", "Kennzahlen"],
    "moderation": ["Moderation", "Workshop"],
    "stadtentwicklung": ["Stadtentwicklung", "Quartiersentwicklung"],
    "klimaschutz": ["Klimaschutz", "Klimaanpassung"],
    "personal": ["Personalentwicklung", "Fachkräftegewinnung"],
    "organisation": ["Organisationsentwicklung", "Veränderungsmanagement"],
    "open-source": ["Open Source", "Software"],
    "wirkungsorientierung": ["Wirkungsorientierung", "Wirkungsmodell"],
    "kinderschutz": ["Kinderschutz", "Kinderrechte"],
    "haushalt": ["Haushalt", "Haushaltsplanung"],
    "evaluation": ["Evaluation", "Befragung"],
}
# Words of general prose; the first ones are common (the top one in about half of all entries).
GENERAL = [
    "Kommune",
    "Verwaltung",
    "Praxis",
    "Methoden",
    "Grundlagen",
    "Einführung",
    "Austausch",
    "Beispiele",
    "Umsetzung",
    "Qualität",
    "Zusammenarbeit",
    "Plattform",
    "Online",
    "Demokratie",
    "Innovation",
    "Recht",
    "Kommunikation",
    "Strategie",
    "Netzwerk",
    "Agile",
    "Teams",
    "Zukunft",
    "Städte",
    "Landkreise",
    "Gemeinden",
    "Ehrenamt",
    "Vereine",
    "Träger",
    "Stiftung",
    "Forschung",
    "Seminar",
    "Leitfaden",
    "Handreichung",
    "Checklisten",
    "Vorlagen",
    "Materialien",
    "Studien",
    "Fallbeispiele",
    "Erfahrungen",
    "Fachleute",
    "Aufgaben",
    "Ziele",
    "Wirkung",
    "Transparenz",
]
FILLERS = ["und", "für", "mit", "in", "der", "die", "das", "zur", "zum", "von", "im", "bei", "als"]
AUDIENCES = {
    "fachkraefte": 0.9,
    "fuehrungskraefte": 0.7,
    "verwaltungsspitze": 0.3,
    "kommunalpolitik": 0.25,
}
SYNONYMS = [
    ("Partizipation", "Beteiligung", "Mitwirkung"),
    ("JHP", "Jugendhilfeplanung"),
    ("KI", "künstliche Intelligenz"),
    ("Weiterbildung", "Fortbildung", "Seminar", "Schulung"),
]
QUERY_MIX = {
    "plain": ["Beteiligung", "Planung", "Daten", "Moderation", "Kennzahlen", "Verwaltung"],
    "compound": [
        "Bürgerbeteiligung",
        "Jugendhilfeplanung",
        "Quartiersentwicklung",
        "Datenkompetenz",
        "Sozialraumanalyse",
        "Führungskultur",
        "Beteiligungsverfahren",
    ],
    "synonym": ["Partizipation", "JHP", "KI", "Fortbildung", "künstliche Intelligenz"],
    "typo": ["Beteilgung", "Digitalisirung", "Jugendhilfeplanug", "Moderaton", "Kennzahln"],
    "filter": [
        "typ:weiterbildung Beteiligung",
        "format:online kostenlos",
        "zielgruppe:führungskräfte",
        "thema:digitalisierung Daten",
        "typ:tool Plattform kostenlos",
        "typ:kurs",
    ],
    "multi": [
        "Bürgerbeteiligung Leitfaden online",
        "Wie beteilige ich Jugendliche in der Kommune?",
        "Daten für die Sozialplanung",
        "Führungskräfte Strategie Workshop",
    ],
    "nonsense": ["Xylophonquartett", 'NEAR("a" *)', "qqqq zzzz", "typ:unbekannt"],
}
# Words found in most entries (target groups, "Kommune"): the slowest case, measured separately.
COMMON_QUERIES = ["Fachkräfte", "Führungskräfte", "Kommune"]


def _topic_words(rng: random.Random) -> dict[str, list[str]]:
    """Per topic: its anchors plus a disjoint share of the synthetic compounds."""
    compounds = [head + tail for head in HEADS for tail in TAILS]
    rng.shuffle(compounds)
    share = len(compounds) // len(TOPICS)
    return {
        topic: anchors + compounds[number * share : (number + 1) * share]
        for number, (topic, anchors) in enumerate(TOPICS.items())
    }


def _description(rng: random.Random, words: list[str]) -> str:
    rng.shuffle(words)
    sentences = []
    while words:
        chunk, words = words[: rng.randint(5, 9)], words[9:]
        for index in range(1, len(chunk), 2):
            chunk.insert(index, rng.choice(FILLERS))
        sentences.append(" ".join(chunk) + ".")
    return " ".join(sentences)


def synthetic_catalogue(count: int = ENTRIES, seed: int = SEED) -> Catalogue:
    rng = random.Random(seed)
    topic_words = _topic_words(rng)
    # P(general word in an entry) falls with its rank: ~50 % for the first, ~4 % for the 20th.
    general_share = [0.5 / (rank + 1) ** 0.85 for rank in range(len(GENERAL))]
    entries = []
    for number in range(count):
        topics = rng.sample(list(TOPICS), rng.randint(2, 4))
        words: list[str] = []
        for topic in topics:
            anchors = TOPICS[topic]
            words.extend(anchors)
            words.extend(rng.sample(topic_words[topic][len(anchors) :], rng.randint(3, 6)))
        words.extend(w for w, p in zip(GENERAL, general_share, strict=True) if rng.random() < p)
        words.extend(rng.choices(GENERAL, k=rng.randint(8, 14)))
        main_topic = topic_words[topics[0]]
        entries.append(
            Offering(
                id=f"angebot-{number}",
                titel=f"{rng.choice(main_topic)} {rng.choice(FILLERS)} {rng.choice(GENERAL)}",
                anbieter=f"Anbieter {rng.randint(1, 400)}",
                typ=rng.choice(TYPES),
                themen=tuple(topics),
                zielgruppen=tuple(a for a, p in AUDIENCES.items() if rng.random() < p)
                or ("fachkraefte",),
                format=rng.choice(FORMATS),
                kosten=rng.choice(["kostenlos", "kostenpflichtig (siehe Anbieter)", "auf Anfrage"]),
                beschreibung=_description(rng, words),
                link=f"https://example.org/angebot/{number}" if number % 3 else None,
            )
        )
    return Catalogue(tuple(entries), tuple(SYNONYMS))


def _percentile(sorted_values: list[float], share: float) -> float:
    index = min(len(sorted_values) - 1, round(share * (len(sorted_values) - 1)))
    return sorted_values[index]


def run(entries: int = ENTRIES, queries: int = QUERIES) -> dict[str, float | int | str]:
    started = time.perf_counter()
    catalogue = synthetic_catalogue(entries)
    generated = time.perf_counter() - started

    started = time.perf_counter()
    lexicon()  # once per process (the bot loads it while logging in)
    lexicon_seconds = time.perf_counter() - started

    started = time.perf_counter()
    index = SearchIndex.build(catalogue)
    build_seconds = time.perf_counter() - started

    rng = random.Random(SEED + 1)
    mix = [(kind, query) for kind, texts in QUERY_MIX.items() for query in texts]
    index.search("Beteiligung")  # warm-up: first-use costs are not query latency
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {kind: [] for kind in QUERY_MIX}
    total_hits = 0
    for _ in range(queries):
        kind, query = rng.choice(mix)
        offset = rng.choice([0, 0, 0, 5])
        started = time.perf_counter()
        result = index.search(query, offset=offset)
        elapsed = (time.perf_counter() - started) * 1000
        latencies.append(elapsed)
        by_kind[kind].append(elapsed)
        total_hits += result.total
    latencies.sort()
    common = []
    for query in COMMON_QUERIES * 20:
        started = time.perf_counter()
        common_hits = index.search(query).total
        common.append((time.perf_counter() - started) * 1000)
    common.sort()
    figures: dict[str, float | int | str] = {
        "entries": entries,
        "queries": queries,
        "generate_s": round(generated, 3),
        "lexicon_load_s": round(lexicon_seconds, 3),
        "build_s": round(build_seconds, 3),
        "query_p50_ms": round(statistics.median(latencies), 3),
        "query_p95_ms": round(_percentile(latencies, 0.95), 3),
        "query_p99_ms": round(_percentile(latencies, 0.99), 3),
        "query_max_ms": round(latencies[-1], 3),
        "mean_total_hits": round(total_hits / queries, 1),
    }
    for kind, values in by_kind.items():
        if values:
            figures[f"p95_{kind}_ms"] = round(_percentile(sorted(values), 0.95), 3)
    # Not part of the mix: words in most entries, where bm25 must score thousands of rows.
    figures["common_word_hits"] = common_hits
    figures["common_word_p95_ms"] = round(_percentile(common, 0.95), 3)
    figures["targets_met"] = str(build_seconds < 3 and figures["query_p95_ms"] < 10)  # type: ignore[operator]
    index.close()
    return figures


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:>22}: {value}")
