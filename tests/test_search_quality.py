"""Search quality on the shipped catalogue (content/): the query table of issue 15, and floors
on the tuning set tests/search_tuning.yaml (scored like bench/bench_relevance.py does).

The held-out evaluation set (tests/search_eval.yaml, written by someone who did not build the
engine) only gets regression floors, set once after the engine work ended; the engine is never
tuned on it. Its honest figures stay below the issue's 95 % targets (see the closing note).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_relevance import TUNING, evaluate, load_cases
from bot.features.catalogue.load import load_catalogue
from bot.search import SearchIndex

CONTENT = Path(__file__).resolve().parent.parent / "content"
# Measured on the tuning set (see bench/RESULTS.md); floors a little below, so a regression fails.
FLOORS = {"ndcg5": 0.8, "mrr": 0.9, "hit3": 0.93, "nofit_precision": 0.95}
# Held-out set, measured once on 2026-12-02 (nDCG@5 0.714, MRR 0.816, hit@3 0.846, nothing-fits
# 0.935); a little below, so a regression fails.
EVAL = Path(__file__).resolve().parent / "search_eval.yaml"
EVAL_FLOORS = {"ndcg5": 0.69, "mrr": 0.79, "hit3": 0.82, "nofit_precision": 0.9}


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    if not (CONTENT / "angebote.yaml").is_file():
        pytest.skip("content/angebote.yaml not present")
    return SearchIndex.build(load_catalogue(CONTENT))


def listed(index: SearchIndex, query: str) -> list[str]:
    result = index.search(query)
    return [] if result.nothing_fits else [h.entry.id for h in result.hits]


def test_tuning_set_floors(index: SearchIndex) -> None:
    figures, misses = evaluate(index, load_cases(TUNING))
    print("\n".join(misses))
    for metric, floor in FLOORS.items():
        assert figures["all"][metric] >= floor, (metric, figures["all"], misses)


def test_held_out_evaluation_floors(index: SearchIndex) -> None:
    figures, _ = evaluate(index, load_cases(EVAL))
    for metric, floor in EVAL_FLOORS.items():
        assert figures["all"][metric] >= floor, (metric, figures["all"])


def test_one_common_word_gives_no_63_hits(index: SearchIndex) -> None:
    # The catalogue has an onboarding offering now: it leads, and "neue" alone pulls in nothing.
    result = index.search("Onboarding neue Mitarbeitende")
    assert not result.nothing_fits
    assert result.hits[0].entry.id == "kgst-onboarding"
    assert 1 <= result.total <= 5


def test_few_full_matches_are_followed_by_close_ones(index: SearchIndex) -> None:
    # Only difu-dialoge has both words; the UBA peer-learning on Klimaanpassung follows it.
    assert listed(index, "Klimaanpassung in Städten")[:2] == [
        "difu-dialoge",
        "uba-kommunen-vernetzen",
    ]
    second = index.search("Klimaanpassung in Städten", offset=1, limit=1)
    assert [h.entry.id for h in second.hits] == ["uba-kommunen-vernetzen"] and second.total == 2
    assert "kgst-onboarding-bielefeld" in listed(index, "Onboarding neue Mitarbeitende")


def test_words_found_nowhere_give_nothing_fits(index: SearchIndex) -> None:
    result = index.search("Friedhofsgebühren kalkulieren")
    assert result.nothing_fits and len(result.hits) <= 3


def test_compound_part_in_a_provider_name_finds_the_fitting_offering(index: SearchIndex) -> None:
    found = listed(index, "Seniorenbeteiligung")
    assert found[:1] == ["lbe-bayern-seniorenvertretungen"]


def test_compound_part_in_a_provider_name_does_not_match(index: SearchIndex) -> None:
    assert "qualitaetsstandards-jugendbeteiligung" not in listed(index, "Seniorenbeteiligung")


def test_measuring_impact_finds_no_trade_fairs(index: SearchIndex) -> None:
    found = listed(index, "Wirkung messen")[:5]
    assert found[:2] and set(found[:2]) <= {"kursbuch-wirkung", "wirkungstreppe", "skala-campus"}
    fairs = {"smart-country-convention", "deutscher-kinder-und-jugendhilfetag"}
    assert not fairs & set(found)


def test_singular_and_plural_find_the_same(index: SearchIndex) -> None:
    assert listed(index, "Workshop") == listed(index, "Workshops")
    assert len(listed(index, "Workshop")) >= 3


def test_funding_finds_the_funding_programmes(index: SearchIndex) -> None:
    funding = {"foerdermittel", "foerderprogramme"}
    found = [h.entry for h in index.search("Fördermittel").hits]
    assert len(found) >= 5
    assert all(funding & set(e.themen) for e in found[:5]), [e.id for e in found[:5]]


def test_typos_find_results_at_once(index: SearchIndex) -> None:
    result = index.search("Sozialraumanalise")
    assert result.suggestion == "Sozialraumanalyse" and result.hits
    assert index.search("Workschop").suggestion in {"Workshop", "Workshops"}
    assert index.search("Kollegiale Beratun").suggestion == "Kollegiale Beratung"
