"""Search quality on the shipped catalogue (content/): the query table of issue 15, and floors
on the tuning sets (scored like bench/bench_relevance.py does).

tests/search_tuning_2.yaml was round 2's held-out set; its per-role figures were read, so it is
tuning data now. tests/search_heldout.yaml (210 queries, written blind) was measured after the
engine work of round 3 had ended: the round-3 engine rules scored lower on it than the engine
before them (hit@3 0.774 against 0.827), so they were not kept. That one accept/reject decision is
the only use made of it; never tune on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_relevance import HELDOUT, TUNING, evaluate, load_cases
from bot.features.catalogue.load import load_catalogue
from bot.features.search import SearchIndex

CONTENT = Path(__file__).resolve().parent.parent / "content"
# Measured per tuning file (bench/bench_relevance.py); floors a little below, so a regression
# fails.
FLOORS = {
    # measured 2026-12-02: 0.834 / 0.935 / 0.964 / 1.000
    "search_tuning.yaml": {"ndcg5": 0.81, "mrr": 0.91, "hit3": 0.94, "nofit_precision": 0.97},
    # measured 2026-12-02: 0.714 / 0.816 / 0.846 / 0.935
    "search_tuning_2.yaml": {"ndcg5": 0.69, "mrr": 0.79, "hit3": 0.82, "nofit_precision": 0.9},
    # held out, measured 2026-12-02: 0.711 / 0.801 / 0.827 / 0.976
    "search_heldout.yaml": {"ndcg5": 0.69, "mrr": 0.78, "hit3": 0.8, "nofit_precision": 0.95},
}


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    if not (CONTENT / "angebote.yaml").is_file():
        pytest.skip("content/angebote.yaml not present")
    return SearchIndex.build(load_catalogue(CONTENT))


def listed(index: SearchIndex, query: str) -> list[str]:
    result = index.search(query)
    return [] if result.nothing_fits else [h.entry.id for h in result.hits]


@pytest.mark.parametrize("path", [*TUNING, HELDOUT], ids=lambda p: p.name)
def test_quality_floors(index: SearchIndex, path: Path) -> None:
    figures, misses = evaluate(index, load_cases(path))
    print("\n".join(misses))
    for metric, floor in FLOORS[path.name].items():
        assert figures["all"][metric] >= floor, (metric, figures["all"], misses)


def test_one_common_word_gives_no_63_hits(index: SearchIndex) -> None:
    # The catalogue has an onboarding offering now: it leads, and "neue" alone pulls in nothing.
    result = index.search("Onboarding neue Mitarbeitende")
    assert not result.nothing_fits
    assert result.hits[0].entry.id == "kgst-onboarding"
    assert 1 <= result.total <= 5


def test_few_full_matches_are_followed_by_close_ones(index: SearchIndex) -> None:
    # Only difu-dialoge has both words; the UBA peer-learning on Klimaanpassung follows it, then
    # Difu's urban seminars (Klimaschutz: half the compound, plus Stadt).
    assert listed(index, "Klimaanpassung in Städten")[:3] == [
        "difu-dialoge",
        "uba-kommunen-vernetzen",
        "difu-fortbildungen",
    ]
    second = index.search("Klimaanpassung in Städten", offset=1, limit=1)
    assert [h.entry.id for h in second.hits] == ["uba-kommunen-vernetzen"] and second.total == 3
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
    # The catalogue has "Feedback" only inside "Feedbackschleifen": compound parts are
    # corrected to as well.
    result = index.search("Feedbak")
    assert result.suggestion == "Feedback" and result.hits


def test_everyday_words_do_not_sink_a_query(index: SearchIndex) -> None:
    # "neu" and "wissen" are everyday German: the query is about the council, and the
    # council offerings are a match, not "entfernt verwandt".
    found = listed(index, "neu im Stadtrat was muss ich wissen")[:3]
    council = {"blpb-kommunalpolitik-brandenburg", "bpb-lexikon-kommunalpolitik"}
    assert council <= set(found), found


def test_a_word_only_a_description_mentions_is_no_fit(index: SearchIndex) -> None:
    # "Streusalz" is nowhere; one description mentions "Beschaffung" in passing.
    result = index.search("Streusalz Beschaffung")
    assert result.nothing_fits and len(result.hits) <= 3
