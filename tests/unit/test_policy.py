"""The permission policy on its own: plain values, no database."""

from __future__ import annotations

import pytest

from storekeeper.domain.errors import Forbidden, Unauthenticated
from storekeeper.domain.model import Actor
from storekeeper.domain.policy import ALLOWED, ROLES, Action, Role, allowed_actions, authorize

USER = Actor(7)
ADMIN = Actor(1, is_admin=True)


def test_every_action_has_a_row_and_the_owner_may_take_every_one() -> None:
    assert set(ALLOWED) == set(Action)
    assert all("owner" in roles for roles in ALLOWED.values())


@pytest.mark.parametrize("action", list(Action))
def test_admins_may_anything_anonymous_nothing_and_strangers_nothing(action: Action) -> None:
    assert authorize(ADMIN, None, action) is ADMIN
    with pytest.raises(Unauthenticated):
        authorize(None, "owner", action)
    with pytest.raises(Forbidden):
        authorize(USER, None, action)


@pytest.mark.parametrize("role", ROLES)
def test_a_role_may_take_exactly_its_rows(role: Role) -> None:
    allowed = {a for a in Action if role in ALLOWED[a]}
    assert set(allowed_actions(USER, role)) == allowed


def test_staff_write_items_but_do_not_delete_them_or_manage_the_team() -> None:
    authorize(USER, "staff", Action.ITEM_WRITE)
    for action in (Action.ITEM_DELETE, Action.TAG_CREATE, Action.MEMBER_ADD_STAFF):
        with pytest.raises(Forbidden):
            authorize(USER, "staff", action)
    with pytest.raises(Forbidden):
        authorize(USER, "manager", Action.STORE_DELETE)
