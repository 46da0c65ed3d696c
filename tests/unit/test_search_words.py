"""A search's words: letters and digits only, so no engine's operator can get through."""

from __future__ import annotations

import pytest

from storekeeper.domain.errors import Invalid
from storekeeper.domain.search import SEARCH_MAX_WORDS, parse_search


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("oak chair", ("oak", "chair")),
        ('"oak" NEAR(chair, 2) -x* a:b c&d e|f !g', ("oak", "NEAR", "chair", "2", "x", "a")),
        ("snake_case 3.5kg", ("snake", "case", "3", "5kg")),
        ("Crème  BRÛLÉE", ("Crème", "BRÛLÉE")),
        ("\uff43\uff48\uff41\uff49\uff52 \ufb01ne", ("chair", "fine")),  # NFKC
        ("oak OAK Oak", ("oak",)),  # a word counts once, whatever its case
        ("straße strasse", ("straße", "strasse")),  # but ß is no "ss" to either database
        ("日本語 ωμέγα", ("日本語", "ωμέγα")),
    ],
)
def test_words_are_runs_of_letters_and_digits(text: str, words: tuple[str, ...]) -> None:
    found = parse_search(text).words
    assert found[: len(words)] == words
    assert all(w.isalnum() for w in found)


@pytest.mark.parametrize("text", ["", "   ", "!!!", "_-_", "*:&|()\"'"])
def test_a_text_without_letters_or_digits_is_invalid(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_search(text)
    assert list(caught.value.errors) == ["search"]


def test_too_many_different_words_are_invalid() -> None:
    assert len(parse_search(" ".join(["same"] * 60)).words) == 1
    parse_search(" ".join(f"w{n}" for n in range(SEARCH_MAX_WORDS)))
    with pytest.raises(Invalid):
        parse_search(" ".join(f"w{n}" for n in range(SEARCH_MAX_WORDS + 1)))
