"""Use cases for a store's team: who is on it, adding, changing and removing members.

Who may do each is the policy's (domain/policy.py); what is checked here is the team's own
consistency: the owner is on every team and is no member, so cannot be added, given another
role or removed (409); one membership per user and store (409).
"""

from __future__ import annotations

from typing import Protocol

from storekeeper.domain import events
from storekeeper.domain.catalog import (
    CatalogRepository,
    Guard,
    check_guard,
    record,
    require_actor,
    require_store,
    store_access,
)
from storekeeper.domain.errors import Conflict, Invalid, NotFound
from storekeeper.domain.events import EventType
from storekeeper.domain.model import Actor, Member, Page, PageRequest, Permissions
from storekeeper.domain.policy import (
    Action,
    MemberRole,
    Role,
    add_action,
    allowed_actions,
    authorize,
    remove_action,
)
from storekeeper.domain.ports import Slot


class MembersRepository(Protocol):
    """A store's team inside one unit of work."""

    def list_members(self, store_id: int, page: PageRequest[str]) -> Page[Member]:
        """A page of the team by user id, the owner among them with role `owner`."""
        ...

    def get_member(self, store_id: int, user_id: int) -> Member | None:
        """One of the team (the owner too), or None."""
        ...

    def user_by_username(self, username: str) -> int | None: ...
    def lock_member(self, store_id: int, user_id: int) -> None: ...
    def add_member(self, store_id: int, user_id: int, role: MemberRole) -> None: ...
    def set_role(self, store_id: int, user_id: int, role: MemberRole) -> None: ...
    def remove_member(self, store_id: int, user_id: int) -> None: ...


MEMBERS: Slot[MembersRepository] = Slot("members")


def _member(members: MembersRepository, store_id: int, user_id: int) -> Member:
    found = members.get_member(store_id, user_id)
    if found is None:
        raise NotFound("This user is not on the store's team.")
    return found


def list_members(
    repo: CatalogRepository,
    members: MembersRepository,
    actor: Actor | None,
    store_id: int,
    page: PageRequest[str],
) -> Page[Member]:
    """A page of the store's team, for the team itself and admins."""
    store_access(repo, actor, store_id, Action.MEMBER_LIST)
    return members.list_members(store_id, page)


def permissions(repo: CatalogRepository, actor: Actor | None, store_id: int) -> Permissions:
    """The caller's role in a store and every action it allows them (none for a guest), so a
    client offers only what will be allowed, as GitHub's `permissions` of a repository does.
    """
    user_id = None if actor is None else actor.user_id
    exists, role = repo.store_role(store_id, user_id)
    if not exists:
        raise NotFound("No store with this id.")
    actions = [action.value for action in allowed_actions(actor, role)]
    return Permissions(role, actor is not None and actor.is_admin, actions)


def get_member(
    repo: CatalogRepository,
    members: MembersRepository,
    actor: Actor | None,
    store_id: int,
    user_id: int,
) -> Member:
    """One of the team. Anyone signed in may ask about themself (404: not on the team), so a
    client learns the caller's own role, as GitHub's collaborator permission read does.
    """
    who = require_actor(actor)
    if who.user_id != user_id:
        store_access(repo, actor, store_id, Action.MEMBER_LIST)
    else:
        require_store(repo, store_id)
    return _member(members, store_id, user_id)


def add_member(
    repo: CatalogRepository,
    members: MembersRepository,
    actor: Actor | None,
    store_id: int,
    username: str,
    role: MemberRole,
) -> Member:
    """Put a user on the team: the owner adds anyone, a manager adds staff."""
    store_access(repo, actor, store_id, add_action(role))
    user_id = members.user_by_username(username)
    if user_id is None:
        raise Invalid.field("username", "no user has this username")
    current = members.get_member(store_id, user_id)
    if current is not None:
        # The owner is on the team already, as owner: the same answer as for any member.
        raise Conflict(f"This user is already on the store's team, as {current.role}.")
    members.add_member(store_id, user_id, role)
    added = _member(members, store_id, user_id)
    changes = events.created({"username": added.username, "role": added.role})
    record(repo, actor, store_id, EventType.MEMBER_ADDED, ("member", user_id), changes)
    return added


def change_role(
    repo: CatalogRepository,
    members: MembersRepository,
    actor: Actor | None,
    store_id: int,
    user_id: int,
    role: MemberRole,
    guard: Guard = None,
) -> Member:
    """Give a member another role (the owner and admins)."""
    store_access(repo, actor, store_id, Action.MEMBER_CHANGE_ROLE)
    # Locked before it is read: the event's old role is the one this change replaced.
    members.lock_member(store_id, user_id)
    current = _member(members, store_id, user_id)
    if current.role == "owner":
        raise Conflict("The store's owner is no member: their role cannot change.")
    check_guard(guard)
    if current.role != role:  # the same role again changes nothing: no event
        members.set_role(store_id, user_id, role)
        changes = {"role": [current.role, role]}
        record(repo, actor, store_id, EventType.MEMBER_UPDATED, ("member", user_id), changes)
    return _member(members, store_id, user_id)


def remove_member(
    repo: CatalogRepository,
    members: MembersRepository,
    actor: Actor | None,
    store_id: int,
    user_id: int,
    guard: Guard = None,
) -> None:
    """Take a member off the team: the owner anyone, a manager staff, a member themself."""
    who = require_actor(actor)
    mine: Role | None
    if who.user_id == user_id:
        # Leaving: anyone on the team may (the owner cannot: they would leave a store
        # nobody owns; they delete it or an admin hands it over).
        mine = store_access(repo, actor, store_id, Action.MEMBER_LIST)
        target = _member(members, store_id, user_id)
    else:
        exists, mine = repo.store_role(store_id, who.user_id)
        if not exists:
            raise NotFound("No store with this id.")
        found = members.get_member(store_id, user_id)
        if found is None:
            # Whether someone is on the team is for those who may change it to learn.
            authorize(who, mine, Action.MEMBER_REMOVE_STAFF)
            raise NotFound("This user is not on the store's team.")
        target = found
        if target.role != "owner":
            authorize(who, mine, remove_action(_as_member_role(target.role)))
    if target.role == "owner":
        authorize(who, mine, Action.MEMBER_REMOVE_MANAGER)
        raise Conflict("The store's owner cannot be removed from its team.")
    check_guard(guard)
    members.remove_member(store_id, user_id)
    changes = events.deleted({"username": target.username, "role": target.role})
    record(repo, actor, store_id, EventType.MEMBER_REMOVED, ("member", user_id), changes)


def _as_member_role(role: str) -> MemberRole:
    return "manager" if role == "manager" else "staff"
