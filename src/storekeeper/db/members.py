"""A store's team: its owner (stores.owner_id) and its members (store_members), as one list."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, and_, delete, insert, literal, select, union_all, update
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.constraints import execute
from storekeeper.db.paging import keyset, page_of
from storekeeper.domain.model import Member, Page, PageRequest
from storekeeper.domain.policy import MemberRole
from storekeeper.domain.values import name_key

stores: Table = cast(Table, models.Store.__table__)
users: Table = cast(Table, models.User.__table__)
members: Table = cast(Table, models.StoreMember.__table__)


def _team(store_id: int) -> Any:
    """The store's team as rows (id = the user's id, username, role, added_at): the owner with
    role `owner`, then its members; a subquery, so one keyset pages over both.
    """
    owner = (
        select(
            users.c.id.label("id"),
            users.c.username,
            literal("owner").label("role"),
            stores.c.created_at.label("added_at"),
        )
        .select_from(stores.join(users, users.c.id == stores.c.owner_id))
        .where(stores.c.id == store_id)
    )
    team = (
        select(
            users.c.id.label("id"),
            users.c.username,
            members.c.role,
            members.c.added_at,
        )
        .select_from(members.join(users, users.c.id == members.c.user_id))
        .where(members.c.store_id == store_id)
    )
    return union_all(owner, team).subquery("team")


def _member(row: Any) -> Member:
    added_at = models.utc_datetime(row.added_at)
    assert added_at is not None  # a NOT NULL column
    return Member(row.id, row.username, row.role, added_at)


class MembersRepository:
    """A store's team in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def list_members(self, store_id: int, page: PageRequest[str]) -> Page[Member]:
        team = _team(store_id)
        sorts = {"id": team.c.id}
        stmt = keyset(select(team), sorts, team.c.id, page)
        rows, after = page_of(self.conn.execute(stmt).all(), sorts, page)
        return Page([_member(r) for r in rows], after)

    def get_member(self, store_id: int, user_id: int) -> Member | None:
        team = _team(store_id)
        row = self.conn.execute(select(team).where(team.c.id == user_id)).first()
        return None if row is None else _member(row)

    def user_by_username(self, username: str) -> int | None:
        found = self.conn.execute(
            select(users.c.id).where(users.c.username_key == name_key(username))
        ).first()
        return None if found is None else int(found.id)

    def lock_member(self, store_id: int, user_id: int) -> None:
        if self.conn.dialect.name == "postgresql":
            mine = select(members.c.id).where(self._one(store_id, user_id))
            self.conn.execute(mine.with_for_update())

    def add_member(self, store_id: int, user_id: int, role: MemberRole) -> None:
        execute(
            self.conn,
            insert(members).values(
                store_id=store_id, user_id=user_id, role=role, added_at=models.utcnow()
            ),
        )

    def set_role(self, store_id: int, user_id: int, role: MemberRole) -> None:
        self.conn.execute(update(members).where(self._one(store_id, user_id)).values(role=role))

    def remove_member(self, store_id: int, user_id: int) -> None:
        self.conn.execute(delete(members).where(self._one(store_id, user_id)))

    @staticmethod
    def _one(store_id: int, user_id: int) -> Any:
        return and_(members.c.store_id == store_id, members.c.user_id == user_id)
