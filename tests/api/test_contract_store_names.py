"""Store names that look alike are one name: 409 on create and rename (docs/api.md, "Names")."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.helpers import User, assert_problem, item, store

LOOK_ALIKES = [
    pytest.param("C\u03bfrner Shop", id="greek-omicron"),
    pytest.param("\u0421orner Shop", id="cyrillic-es"),
    pytest.param("Corner\u00a0Sh\u043ep", id="cyrillic-o-and-no-break-space"),
    pytest.param("Cor\u00adner Shop", id="soft-hyphen"),
    pytest.param("Corner \u200bShop", id="zero-width-space"),
    pytest.param("\u2060Corner Shop\ufeff", id="word-joiner-and-bom"),
    pytest.param("\uff23\uff4f\uff52\uff4e\uff45\uff52 Shop", id="full-width"),
    pytest.param(
        "\U0001d402\U0001d428\U0001d42b\U0001d427\U0001d41e\U0001d42b Shop", id="math-bold"
    ),
    pytest.param("\u212dorner Shop", id="black-letter"),
    pytest.param("C0RNER SHOP", id="digit-zero-for-capital-o"),
    pytest.param("corner shop", id="case"),
    pytest.param("Corner   Shop", id="space-run"),
    pytest.param("Comer Shop", id="m-for-rn"),  # confusables.txt maps m to "rn"
]


@pytest.mark.parametrize("look_alike", LOOK_ALIKES)
def test_a_store_name_that_looks_like_a_taken_one_is_409(
    client: FlaskClient, alice: User, bob: User, look_alike: str
) -> None:
    store(client, alice, "Corner Shop")
    answer = client.post("/store", json={"name": look_alike}, headers=bob.headers)
    assert_problem(answer, 409)
    # Either constraint may answer (a case variant has an equal name_key too); both say so.
    assert "already exists" in answer.get_json()["detail"]


@pytest.mark.parametrize("look_alike", LOOK_ALIKES[:3])
def test_renaming_a_store_into_a_look_alike_is_409(
    client: FlaskClient, alice: User, look_alike: str
) -> None:
    store(client, alice, "Corner Shop")
    other = store(client, alice, "Baker")
    answer = client.patch(
        f"/store/{other['id']}",
        json={"name": look_alike},
        headers=alice.headers,
        content_type="application/merge-patch+json",
    )
    assert_problem(answer, 409)
    assert client.get(f"/store/{other['id']}").get_json()["name"] == "Baker"


def test_a_store_keeps_its_name_as_typed_and_may_be_renamed_to_a_look_alike_of_itself(
    client: FlaskClient, alice: User
) -> None:
    created = store(client, alice, "C\u03bfrner Shop")
    assert created["name"] == "C\u03bfrner Shop"
    answer = client.patch(
        f"/store/{created['id']}",
        json={"name": "Corner Shop"},
        headers=alice.headers,
        content_type="application/merge-patch+json",
    )
    assert answer.status_code == 200, answer.get_json()
    assert client.get(f"/store/{created['id']}").get_json()["name"] == "Corner Shop"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Corner Shop", "Corner Shops"),
        ("Corner Shop", "CornerShop"),
        ("Αθήνα", "Σπάρτη"),
        ("Αθήνα", "Αθηνα"),  # the accent shows
        ("Москва", "Казань"),
        ("東京", "大阪"),
    ],
)
def test_names_that_look_different_are_different_names(
    client: FlaskClient, alice: User, first: str, second: str
) -> None:
    store(client, alice, first)
    store(client, alice, second)


def test_item_names_keep_the_case_insensitive_rule(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice, "Corner Shop")
    item(client, alice, shop["id"], "Chair")
    item(client, alice, shop["id"], "Ch\u0430ir")  # Cyrillic a: a different item name


def test_the_openapi_document_says_what_a_stores_409_means(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    for operation in (paths["/store"]["post"], paths["/store/{id}"]["patch"]):
        said = operation["responses"]["409"]["description"]
        assert "looks the same" in said and "confusable" in said, said
    # Items keep the general text: their names are compared by case only.
    assert "confusable" not in paths["/item"]["post"]["responses"]["409"]["description"]
