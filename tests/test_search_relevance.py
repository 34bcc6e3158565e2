"""Search quality on the shipped catalogue: the relevance queries in tests/relevance_queries.yaml.

A query passes when one of its expected ids is among the first three hits; an empty ``expected``
list means "nothing in the catalogue fits" and passes when the search finds nothing. At least 90 %
of the queries must pass. The score and every miss are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.features.catalogue.load import load_catalogue
from bot.features.search import SearchIndex

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
QUERIES = Path(__file__).resolve().parent / "relevance_queries.yaml"
REQUIRED_SHARE = 0.90
TOP = 3


def _relevance_cases() -> list[dict[str, object]]:
    if not QUERIES.is_file() or not (CONTENT / "angebote.yaml").is_file():
        pytest.skip("relevance_queries.yaml or content/angebote.yaml not present yet")
    cases = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    assert isinstance(cases, list) and cases, "relevance_queries.yaml must be a non-empty list"
    return cases


def test_relevance_queries_refer_to_existing_entries() -> None:
    catalogue = load_catalogue(CONTENT)
    unknown = [
        (case["query"], entry_id)
        for case in _relevance_cases()
        for entry_id in case["expected"]
        if catalogue.get(entry_id) is None
    ]
    assert not unknown, f"expected ids missing from the catalogue: {unknown}"


def test_at_least_90_percent_of_queries_find_an_expected_entry_in_the_top_3() -> None:
    cases = _relevance_cases()
    index = SearchIndex.build(load_catalogue(CONTENT))
    misses: list[str] = []
    for case in cases:
        query, expected = str(case["query"]), set(case["expected"])
        result = index.search(query, limit=TOP)
        top = [hit.entry.id for hit in result.hits]
        passed = bool(expected & set(top)) if expected else not top
        if not passed:
            note = f" (Meinten Sie: {result.suggestion})" if result.suggestion else ""
            misses.append(f"  {query!r}{note}: top {top}, expected one of {sorted(expected)}")
    share = 1 - len(misses) / len(cases)
    print(f"\nrelevance: {len(cases) - len(misses)}/{len(cases)} = {share:.0%} in the top {TOP}")
    print("\n".join(misses) if misses else "  no misses")
    assert share >= REQUIRED_SHARE, f"only {share:.0%} of relevance queries pass:\n" + "\n".join(
        misses
    )
