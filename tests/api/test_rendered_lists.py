"""List pages are rendered on a fast path derived from the response model (http/rendering.py):
byte for byte what the model's own serialiser makes of the same item for GET /item/{id}, on
both databases."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import text

from storekeeper.db.session import Database
from tests.helpers import User, item, store, tag

PRICES = ["0", "0.01", "0.05", "0.1", "0.5", "1", "10", "10.5", "10.05", "99.99", "999999999.99"]
# Every escape JSON has, non-ASCII in and beyond the BMP, and the characters a hand-made
# encoder gets wrong (the slash, the line separators, DEL beside the control range).
NAMES = [
    'Quote " and back\\slash',
    "Slash / and <angle> & amp",
    "Café, naïve, 東京, emoji 🪑",
    "Line\u2028and\u2029paragraph",
    "Zero\u200bwidth and BOM\ufeff",
    "Apostrophe's 'single' quotes",
]
DESCRIPTIONS = ["", "Tab\there\nnew line\r\n", "\x01\x08\x0c\x1f\x7f control", "é" * 300]


def _single(client: FlaskClient, item_id: int) -> bytes:
    answer = client.get(f"/item/{item_id}")
    assert answer.status_code == 200
    body: bytes = answer.get_data()
    assert body.endswith(b"\n")
    return body[:-1]


def test_a_page_is_the_items_as_each_one_reads(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice, 'The "Corner" Shop — Ünïcode')
    wood = tag(client, alice, shop["id"], 'wood "oak" \\ 🌳')
    plain = tag(client, alice, shop["id"], "plain")
    ids = []
    for n, price in enumerate(PRICES):
        name = f"{NAMES[n % len(NAMES)]} {n}"
        description = DESCRIPTIONS[n % len(DESCRIPTIONS)]
        created = item(client, alice, shop["id"], name, price=float(price), description=description)
        ids.append(created["id"])
    for item_id in ids[::2]:
        client.post(f"/item/{item_id}/tag/{wood['id']}", headers=alice.headers)
    for item_id in ids[::3]:
        client.post(f"/item/{item_id}/tag/{plain['id']}", headers=alice.headers)
    # Timestamps on a whole second have no fraction in JSON: make some so.
    with database.unit_of_work(write=True) as conn:
        whole = conn.execute(text("SELECT created_at FROM items WHERE id = :id"), {"id": ids[0]})
        stamp = whole.scalar_one()
        conn.execute(
            text("UPDATE items SET created_at = :at, updated_at = :at WHERE id IN (:a, :b)"),
            {
                "at": stamp.replace(microsecond=0) if not isinstance(stamp, str) else stamp[:19],
                "a": ids[0],
                "b": ids[1],
            },
        )
    expected = b"[" + b",".join(_single(client, i) for i in ids) + b"]\n"
    for path in ("/item?limit=100", f"/store/{shop['id']}/item?limit=100"):
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.get_data() == expected, path
    assert client.get("/item?name=nothing").get_data() == b"[]\n"
    # A page that ends early still carries its rows whole, and sorted pages alike.
    dearest = [i for _, i in sorted(zip(map(float, PRICES), ids, strict=True), reverse=True)]
    first = client.get("/item?limit=3&sort=-price")
    assert first.get_data() == b"[" + b",".join(_single(client, i) for i in dearest[:3]) + b"]\n"
    assert "Link" in first.headers
