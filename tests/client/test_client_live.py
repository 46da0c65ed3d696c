"""The client against a live server: the flows a caller writes, and what it saves them writing."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path

import pytest

from storekeeper_client import (
    NO_RETRIES,
    ChangedSinceRead,
    Conflict,
    Forbidden,
    NotFound,
    NotLoggedIn,
    Storekeeper,
    Unauthorized,
    ValidationFailed,
)
from tests.client.helpers import Recorder, unique
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


def _client(base_url: str, recorder: Recorder | None = None) -> Storekeeper:
    """A client logged in as a new user."""
    client = Storekeeper(base_url, transport=recorder)
    username = unique("user")
    client.register(username, PASSWORD)
    client.login(username, PASSWORD)
    return client


def test_register_login_and_the_catalog_flow_with_exact_prices(base_url: str) -> None:
    with _client(base_url) as sk:
        store = sk.create_store(unique("Corner Shop"))
        chair = sk.create_store_item(store.id, "Chair", Decimal("19.99"), quantity=4)
        table = sk.create_item(store.id, "Table", 120)
        tag = sk.create_tag(store.id, "furniture")
        assert sk.link_tag(chair.id, tag.id).id == tag.id
        assert sk.link_tag(chair.id, tag.id).id == tag.id  # already linked: no error

        assert chair.price == Decimal("19.99") and isinstance(chair.price, Decimal)
        assert str(sk.get_item(chair.id).value.price) == "19.99"  # never 19.989999...
        assert table.price == 120 and table.quantity == 0 and table.description == ""
        assert [t.id for t in sk.get_item(chair.id).value.tags] == [tag.id]
        assert [i.id for i in sk.get_tag(tag.id).value.items] == [chair.id]
        read = sk.get_store(store.id).value
        assert read.item_count == 2 and {i.name for i in read.items} == {"Chair", "Table"}
        assert sum(Decimal(i.price) for i in read.items) == Decimal("139.99")

        assert sk.update_store(store.id, name=store.name + " 2").name == store.name + " 2"
        moved = sk.replace_item(table.id, "Big table", Decimal("150.50"))
        assert (moved.name, moved.price, moved.store_id) == (
            "Big table",
            Decimal("150.5"),
            store.id,
        )
        sk.unlink_tag(chair.id, tag.id)
        sk.delete_tag(tag.id)
        sk.delete_item(chair.id)
        with pytest.raises(NotFound):
            sk.get_item(chair.id)
        sk.delete_store(store.id)
        assert sk.get_me().value.username == sk.get_user(sk.get_me().value.id).value.username


def test_put_creates_an_item_at_the_chosen_id(base_url: str) -> None:
    with _client(base_url) as sk:
        store = sk.create_store(unique("Put Shop"))
        free = 10**9 + secrets.randbelow(10**9)
        made = sk.replace_item(free, "Lamp", Decimal("35"), store_id=store.id)
        assert made.id == free and sk.get_item(free).value.name == "Lamp"


def test_iterators_follow_the_link_header_across_pages(base_url: str) -> None:
    recorder = Recorder()
    with _client(base_url, recorder) as sk:
        store = sk.create_store(unique("Pages"))
        made = [sk.create_store_item(store.id, f"Thing {n}", n).id for n in range(5)]
        tags = [sk.create_tag(store.id, f"tag {n}").id for n in range(3)]

        assert [i.id for i in sk.iter_store_items(store.id, limit=2)] == made
        assert recorder.calls("GET", f"/store/{store.id}/item") == [200, 200, 200]
        assert [i.id for i in sk.iter_items(store_id=store.id, limit=2, sort="-id")] == made[::-1]
        assert [t.id for t in sk.iter_store_tags(store.id, limit=1)] == tags
        first = sk.list_store_items(store.id, limit=3, min_price=Decimal("1.00"), sort="-price")
        assert [i.price for i in first.items] == [4, 3, 2] and first.next_url is not None
        assert [s.id for s in sk.iter_stores(name=store.name)] == [store.id]


def test_every_item_filter_goes_out_as_its_query_parameter(base_url: str) -> None:
    recorder = Recorder()
    with _client(base_url, recorder) as sk:
        store = sk.create_store(unique("Filters"))
        lamp = sk.create_store_item(store.id, "Red Lamp", Decimal("35.50"), quantity=2)
        sk.create_store_item(store.id, "Red Lamp shade", Decimal("35.50"))  # out of stock
        sk.create_store_item(store.id, "Red Chair", 80, quantity=1)  # too dear
        tag = sk.create_tag(store.id, "lights")
        sk.link_tag(lamp.id, tag.id)
        found = sk.list_items(
            store_id=store.id,
            in_stock=True,
            name="red lamp",
            q="lamp",
            tag=tag.id,
            min_price=Decimal("35.5"),
            max_price=40,
        )
        assert [i.id for i in found.items] == [lamp.id]
        assert recorder.seen[-1].query == (
            f"store_id={store.id}&in_stock=true&name=red+lamp&q=lamp&tag={tag.id}"
            "&min_price=35.5&max_price=40"
        )
        assert [i.id for i in sk.iter_store_items(store.id, in_stock=True, q="shade")] == []


def test_search_items_follows_pages_in_order_of_relevance(base_url: str) -> None:
    recorder = Recorder()
    with _client(base_url, recorder) as sk:
        store = sk.create_store(unique("Search"))
        word = "zq" + secrets.token_hex(5)  # a word no other test's item has
        described = sk.create_store_item(store.id, "Lamp", 5, description=f"{word} inside")
        named = sk.create_store_item(store.id, f"{word.upper()} chair", 9)
        both = sk.create_store_item(store.id, f"{word} shelf", 7, description=word, quantity=1)
        found = [i.id for i in sk.search_items(word[:-1], limit=1)]
        assert found == [both.id, named.id, described.id]
        assert recorder.calls("GET", "/item") == [200, 200, 200]
        assert [i.id for i in sk.search_items(word, store.id, in_stock=True)] == [both.id]
        assert [i.id for i in sk.search_items(f"{word} chai", store_id=store.id)] == [named.id]
        with pytest.raises(ValidationFailed):
            list(sk.search_items("!!!"))


def test_creates_carry_an_idempotency_key_and_a_retry_with_it_creates_nothing(
    base_url: str,
) -> None:
    recorder = Recorder()
    with _client(base_url, recorder) as sk:
        store = sk.create_store(unique("Keys"))
        sk.create_store_item(store.id, "Lamp", 35)
        # Register, store, item; not login, which creates nothing and whose answer is secret.
        posts = [e for e in recorder.seen if e.method == "POST" and e.path != "/login"]
        keys = {e.headers.get("Idempotency-Key") for e in posts}
        assert None not in keys and len(keys) == len(posts) == 3

        key = unique("lamp-order")
        first = sk.create_store_item(store.id, "Desk lamp", 40, idempotency_key=key)
        again = sk.create_store_item(store.id, "Desk lamp", 40, idempotency_key=key)
        assert again.id == first.id
        assert sk.get_store(store.id).value.item_count == 2
        with pytest.raises(ValidationFailed):  # the same key with another body
            sk.create_store_item(store.id, "Floor lamp", 90, idempotency_key=key)


def test_conditional_updates_refuse_a_stale_etag_and_reads_revalidate(base_url: str) -> None:
    recorder = Recorder()
    with _client(base_url, recorder) as sk:
        store = sk.create_store(unique("Etags"))
        item = sk.create_store_item(store.id, "Chair", Decimal("19.99"))
        read = sk.get_item(item.id)
        assert sk.get_item(item.id, cached=read) is read
        assert recorder.calls("GET", f"/item/{item.id}") == [200, 304]

        changed = sk.update_item(item.id, price=Decimal("17.50"), if_match=read.etag)
        assert changed.price == Decimal("17.5")
        with pytest.raises(ChangedSinceRead) as stale:
            sk.update_item(item.id, price=Decimal("1"), if_match=read.etag)
        assert stale.value.status == 412
        assert sk.get_item(item.id).value.price == Decimal("17.5")  # nothing changed

        fresh = sk.get_item(item.id, cached=read)
        assert fresh is not read and fresh.etag != read.etag
        sk.delete_item(item.id, if_match=fresh.etag)


def test_errors_are_typed_problems_with_status_detail_and_field_errors(base_url: str) -> None:
    with _client(base_url) as owner, _client(base_url) as other:
        store = owner.create_store(unique("Mine"))
        with pytest.raises(Conflict) as duplicate:
            owner.create_store(store.name.upper())
        assert duplicate.value.status == 409 and "already exists" in duplicate.value.detail
        with pytest.raises(ValidationFailed) as invalid:
            owner.create_item(store.id, " ", Decimal("-1"), quantity=-2)
        assert invalid.value.status == 422
        assert set(invalid.value.errors) == {"name", "price", "quantity"}
        assert all(invalid.value.errors.values())
        with pytest.raises(Forbidden) as forbidden:
            other.create_tag(store.id, "theirs")
        assert forbidden.value.status == 403 and forbidden.value.detail
        with pytest.raises(NotFound):
            other.get_store(10**12)
        with pytest.raises(TypeError, match="Decimal"):
            owner.create_item(store.id, "Float", 9.99)  # type: ignore[arg-type]


def test_logout_ends_the_session_for_every_later_request(base_url: str) -> None:
    with _client(base_url) as sk:
        session = sk.session
        assert session is not None
        sk.logout()
        assert sk.session is None
        with pytest.raises(NotLoggedIn):
            sk.refresh()
        with pytest.raises(Unauthorized) as anonymous:
            sk.create_store(unique("After logout"))
        assert anonymous.value.headers["WWW-Authenticate"].startswith("Bearer")
        # The old tokens are refused too, whoever presents them.
        with Storekeeper(base_url) as thief:
            thief.resume(session)
            with pytest.raises(Unauthorized):
                thief.create_store(unique("Stolen"))


def test_the_account_changes_its_email_and_password(base_url: str) -> None:
    with _client(base_url) as sk:
        me = sk.get_me()
        address = f"{me.value.username}@example.com"
        changed = sk.update_me(email=address, if_match=me.etag)
        assert (changed.email, changed.email_verified) == (address, False)
        assert sk.update_me(email=address).email_verified is False  # sends the link again
        with pytest.raises(ChangedSinceRead):
            sk.update_me(email=None, if_match=me.etag)
        assert sk.update_me().email == address  # nothing given, nothing changed
        assert sk.update_me(email=None).email is None
        with pytest.raises(ValidationFailed) as bad_token:
            sk.verify_email("not-a-token-we-were-sent")
        assert set(bad_token.value.errors) == {"token"}

        with pytest.raises(ValidationFailed) as wrong:
            sk.change_password("not the password", "staple paper clip")
        assert set(wrong.value.errors) == {"current_password"}
        with Storekeeper(base_url) as elsewhere:
            elsewhere.login(me.value.username, PASSWORD)
            sk.change_password(PASSWORD, "staple paper clip")
            with pytest.raises(Unauthorized):  # every other session ended
                elsewhere.get_me()
            with pytest.raises(Unauthorized):
                elsewhere.login(me.value.username, PASSWORD)
            elsewhere.login(me.value.username, "staple paper clip")
        assert sk.get_me().value.id == me.value.id  # this session goes on
        sk.refresh()


def test_a_reset_with_a_bad_token_and_a_job_nobody_started_are_refused(base_url: str) -> None:
    with Storekeeper(base_url) as anonymous:
        with pytest.raises(ValidationFailed) as bad_token:
            anonymous.confirm_password_reset("not-a-token-we-were-sent", "staple paper clip")
        assert set(bad_token.value.errors) == {"token"}
    with _client(base_url) as sk, pytest.raises(NotFound):
        sk.get_job(10**12)


def test_a_password_reset_request_is_accepted_the_same_for_any_address(base_url: str) -> None:
    with Storekeeper(base_url, retry=NO_RETRIES) as sk:
        username = unique("reset")
        sk.register(username, PASSWORD, email=f"{username}@example.com")
        known = sk.request_password_reset(f"{username}@example.com")
        unknown = sk.request_password_reset(f"nobody-{username}@example.com")
        assert known == unknown and known.detail


def test_item_photos_raw_multipart_from_a_path_read_and_removed(
    base_url: str, tmp_path: Path
) -> None:
    from tests.images import opened, picture

    with _client(base_url) as sk:
        store = sk.create_store(unique("Photo Shop"))
        lamp = sk.create_store_item(store.id, "Lamp", 5)
        assert lamp.image is None
        shown = sk.set_item_image(lamp.id, picture(300, 100))
        assert shown.image is not None
        assert (shown.image.width, shown.image.height) == (300, 100)
        assert shown.image.content_type == "image/jpeg"
        photo = sk.get_item_image(lamp.id)
        assert opened(photo).size == (300, 100)
        version = shown.image.etag.strip('"')
        # The full photo until the worker has made the thumbnail; never larger than it.
        assert opened(sk.get_item_image(lamp.id, "thumb", v=version)).size[0] <= 300

        path = tmp_path / "lamp.png"
        path.write_bytes(picture(40, 20, "PNG"))
        replaced = sk.set_item_image(lamp.id, path, multipart=True)
        assert replaced.image is not None and replaced.image.content_type == "image/png"
        assert sk.get_item(lamp.id).value.image == replaced.image

        with pytest.raises(ValidationFailed):
            sk.set_item_image(lamp.id, b"not an image", "image/jpeg")
        with pytest.raises(ChangedSinceRead):
            sk.delete_item_image(lamp.id, if_match=shown.image.etag)  # replaced since
        sk.delete_item_image(lamp.id, if_match=replaced.image.etag)
        assert sk.get_item(lamp.id).value.image is None
        with pytest.raises(NotFound):
            sk.get_item_image(lamp.id)


def test_a_team_lists_adds_changes_removes_and_leaves(base_url: str) -> None:
    with _client(base_url) as owner, _client(base_url) as clerk:
        store = owner.create_store(unique("Team Shop"))
        clerk_me = clerk.get_me().value
        added = owner.add_member(store.id, clerk_me.username, "staff")
        assert (added.user_id, added.role) == (clerk_me.id, "staff")
        assert [m.role for m in owner.iter_members(store.id)] == ["owner", "staff"]
        assert clerk.get_permissions(store.id).value.actions == ["item.write", "member.list"]
        assert [s.id for s in clerk.iter_stores(member="me")] == [store.id]
        with pytest.raises(Forbidden):
            clerk.add_member(store.id, clerk_me.username, "manager")
        read = owner.get_member(store.id, clerk_me.id)
        changed = owner.change_member_role(store.id, clerk_me.id, "manager", if_match=read.etag)
        assert changed.role == "manager"
        with pytest.raises(Conflict):
            owner.add_member(store.id, clerk_me.username, "staff")
        clerk.leave_store(store.id)
        assert list(clerk.iter_stores(member="me")) == []
        owner.add_member(store.id, clerk_me.username, "staff")
        owner.remove_member(store.id, clerk_me.id)
        with pytest.raises(NotFound):
            owner.get_member(store.id, clerk_me.id)
