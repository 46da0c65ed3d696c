"""Who may do what in a store: the one table of permissions and the one check against it.

A user's role in a store is `owner` (stores.owner_id), `manager` or `staff` (a membership), or
none. Every write to a store's data names the `Action` it is and calls `authorize` with the
caller's role there; nothing else decides. The table below is the contract's ("A store's
team"), also written in docs/api.md, from which tests/api/test_authorization_matrix.py
generates its cases: a change here without one there fails that test.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from storekeeper.domain.errors import Forbidden, Unauthenticated
from storekeeper.domain.model import Actor

Role = Literal["owner", "manager", "staff"]
# The roles a membership can give; the owner is no member (stores.owner_id says who it is).
MemberRole = Literal["manager", "staff"]
ROLES: tuple[Role, ...] = ("owner", "manager", "staff")


class Action(Enum):
    """One thing a user may do in a store: a row of the permission table."""

    ITEM_WRITE = "item.write"  # create, edit, photograph, tag (link/unlink) items
    ITEM_DELETE = "item.delete"
    ITEM_RESTORE = "item.restore"
    ITEM_IMPORT = "item.import"
    TAG_CREATE = "tag.create"
    TAG_DELETE = "tag.delete"
    STORE_RENAME = "store.rename"
    STORE_HISTORY = "store.history"
    TRASH_READ = "trash.read"
    WEBHOOK_READ = "webhook.read"  # a store's webhooks and their deliveries
    WEBHOOK_MANAGE = "webhook.manage"  # create, change, delete, ping, redeliver
    STORE_DELETE = "store.delete"
    MEMBER_LIST = "member.list"
    MEMBER_ADD_STAFF = "member.add_staff"
    MEMBER_REMOVE_STAFF = "member.remove_staff"
    MEMBER_ADD_MANAGER = "member.add_manager"
    MEMBER_REMOVE_MANAGER = "member.remove_manager"
    MEMBER_CHANGE_ROLE = "member.change_role"


_EVERYONE: frozenset[Role] = frozenset(ROLES)
_MANAGERS: frozenset[Role] = frozenset({"owner", "manager"})
_OWNER: frozenset[Role] = frozenset({"owner"})

# The roles that may take each action; admins may take every action in every store.
ALLOWED: dict[Action, frozenset[Role]] = {
    Action.ITEM_WRITE: _EVERYONE,
    Action.ITEM_DELETE: _MANAGERS,
    Action.ITEM_RESTORE: _MANAGERS,
    Action.ITEM_IMPORT: _MANAGERS,
    Action.TAG_CREATE: _MANAGERS,
    Action.TAG_DELETE: _MANAGERS,
    Action.STORE_RENAME: _MANAGERS,
    Action.STORE_HISTORY: _MANAGERS,
    Action.TRASH_READ: _MANAGERS,
    Action.WEBHOOK_READ: _MANAGERS,
    Action.WEBHOOK_MANAGE: _MANAGERS,
    Action.STORE_DELETE: _OWNER,
    Action.MEMBER_LIST: _EVERYONE,
    Action.MEMBER_ADD_STAFF: _MANAGERS,
    Action.MEMBER_REMOVE_STAFF: _MANAGERS,
    Action.MEMBER_ADD_MANAGER: _OWNER,
    Action.MEMBER_REMOVE_MANAGER: _OWNER,
    Action.MEMBER_CHANGE_ROLE: _OWNER,
}


def allows(actor: Actor | None, role: Role | None, action: Action) -> bool:
    """Whether this actor, with this role in the store (None: no role), may take the action."""
    if actor is None:
        return False
    return actor.is_admin or (role is not None and role in ALLOWED[action])


def allowed_actions(actor: Actor | None, role: Role | None) -> list[Action]:
    """Every action this actor may take in a store where they have this role, in table order."""
    return [action for action in Action if allows(actor, role, action)]


def authorize(actor: Actor | None, role: Role | None, action: Action) -> Actor:
    """The actor, when they may take the action; Unauthenticated or Forbidden otherwise."""
    if actor is None:
        raise Unauthenticated("Authentication is required.")
    if not allows(actor, role, action):
        raise Forbidden(f"Your role in this store does not allow {action.value}.")
    return actor


def add_action(role: MemberRole) -> Action:
    """What adding a member of this role is."""
    return Action.MEMBER_ADD_MANAGER if role == "manager" else Action.MEMBER_ADD_STAFF


def remove_action(role: MemberRole) -> Action:
    """What removing a member of this role is (leaving, one's own removal, is always allowed)."""
    return Action.MEMBER_REMOVE_MANAGER if role == "manager" else Action.MEMBER_REMOVE_STAFF
