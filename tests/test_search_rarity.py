"""Specificity of words in everyday German (bot/features/search/rarity.py)."""

from __future__ import annotations

from bot.features.search.rarity import specificity


def test_everyday_words_weigh_less_than_topic_words() -> None:
    everyday = [specificity(w) for w in ("lernen", "Leute", "neu", "wissen")]
    topical = [specificity(w) for w in ("Jugendhilfeplanung", "Sozialraumanalyse", "Intervision")]
    assert max(everyday) < 0.5 < min(topical)


def test_unknown_words_count_fully_and_nothing_drops_to_zero() -> None:
    assert specificity("Brandschutzbegehung") == 1.0
    assert specificity("Feedbak") == 1.0
    assert 0 < specificity("und") < 0.2


def test_casing_does_not_matter() -> None:
    assert specificity("Rathaus") == specificity("rathaus") == specificity("RATHAUS")
