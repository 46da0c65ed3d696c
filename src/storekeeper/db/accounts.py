"""Queries for users and revoked sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, exists, insert, select, update
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.db.constraints import execute
from storekeeper.db.locks import lock_row
from storekeeper.db.prepared import fetch_one
from storekeeper.domain.accounts import UsedToken, new_credential_stamp
from storekeeper.domain.model import ActorState, User
from storekeeper.domain.values import name_key

users: Table = cast(Table, models.User.__table__)
revoked: Table = cast(Table, models.RevokedSession.__table__)
tokens: Table = cast(Table, models.UserToken.__table__)
stores: Table = cast(Table, models.Store.__table__)

# Built once and run prepared (db/prepared.py): it runs on every request with a token.
_ACTOR_STATE = select(
    users.c.is_admin,
    users.c.credential_stamp,
    users.c.kept_session_id,
    users.c.kept_stamp,
    exists().where(revoked.c.session_id == bindparam("session_id")).label("revoked"),
).where(users.c.id == bindparam("user_id"))


def _user(row: Any) -> User:
    return User(
        row.id,
        row.username,
        row.email,
        row.is_admin,
        row.created_at,
        row.password_hash,
        row.credential_stamp,
        row.email_verified_at is not None,
    )


class AccountRepository:
    """Users and sessions in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_user(
        self, username: str, email: str | None, password_hash: str, is_admin: bool, stamp: str
    ) -> int:
        now = models.utcnow()
        stmt = (
            insert(users)
            .values(
                username=username,
                username_key=name_key(username),
                email=email,
                email_key=name_key(email) if email is not None else None,
                password_hash=password_hash,
                credential_stamp=stamp,
                is_admin=is_admin,
                created_at=now,
                updated_at=now,
            )
            .returning(users.c.id)
        )
        return int(execute(self.conn, stmt).scalar_one())

    def lock_user(self, user_id: int) -> None:
        """Lock a user row for the rest of the transaction."""
        lock_row(self.conn, users, user_id)

    def get_user(self, user_id: int) -> User | None:
        row = self.conn.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def user_by_username(self, username: str) -> User | None:
        row = self.conn.execute(
            select(users).where(users.c.username_key == name_key(username))
        ).first()
        return None if row is None else _user(row)

    def email_taken(self, email: str) -> bool:
        return bool(
            self.conn.execute(select(exists().where(users.c.email_key == name_key(email)))).scalar()
        )

    def set_password_hash(self, user_id: int, password_hash: str, stamp: str) -> None:
        self.conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.credential_stamp == stamp)
            .values(password_hash=password_hash, updated_at=models.utcnow())
        )

    def set_credentials(self, user_id: int, password_hash: str, stamp: str) -> None:
        self.conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(
                password_hash=password_hash,
                credential_stamp=stamp,
                kept_session_id=None,
                kept_stamp=None,
                updated_at=models.utcnow(),
            )
        )

    def change_password(
        self, user_id: int, password_hash: str, old_stamp: str, kept_session: str, kept_stamp: str
    ) -> bool:
        done = self.conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.credential_stamp == old_stamp)
            .values(
                password_hash=password_hash,
                credential_stamp=new_credential_stamp(),
                kept_session_id=kept_session,
                kept_stamp=kept_stamp,
                updated_at=models.utcnow(),
            )
        )
        return bool(done.rowcount)

    def set_email(self, user_id: int, email: str | None) -> None:
        execute(
            self.conn,
            update(users)
            .where(users.c.id == user_id)
            .values(
                email=email,
                email_key=None if email is None else name_key(email),
                email_verified_at=None,
                updated_at=models.utcnow(),
            ),
        )

    def user_by_verified_email(self, email: str) -> User | None:
        row = self.conn.execute(
            select(users).where(
                users.c.email_key == name_key(email), users.c.email_verified_at.is_not(None)
            )
        ).first()
        return None if row is None else _user(row)

    def add_token(
        self, user_id: int, purpose: str, digest: str, email: str | None, expires_at: datetime
    ) -> None:
        now = models.utcnow()
        # Purging here keeps the table as small as the set of live tokens.
        self.conn.execute(delete(tokens).where(tokens.c.expires_at < now))
        self.conn.execute(
            insert(tokens).values(
                user_id=user_id,
                purpose=purpose,
                token_hash=digest,
                email_key=None if email is None else name_key(email),
                created_at=now,
                expires_at=expires_at,
            )
        )

    def token_usable(self, purpose: str, digest: str) -> bool:
        query = select(exists().where(*_usable(purpose, digest, models.utcnow())))
        return bool(self.conn.execute(query).scalar())

    def use_token(self, purpose: str, digest: str, user_id: int | None) -> UsedToken | None:
        now = models.utcnow()
        usable = _usable(purpose, digest, now)
        if user_id is not None:
            usable.append(tokens.c.user_id == user_id)
        # One conditional update: of two uses at once, exactly one matches.
        row = self.conn.execute(
            update(tokens)
            .where(*usable)
            .values(used_at=now)
            .returning(tokens.c.user_id, tokens.c.email_key)
        ).first()
        if row is None:
            return None
        # One link used ends the others of its kind (an older reset email, say).
        self.conn.execute(
            update(tokens)
            .where(
                tokens.c.user_id == row.user_id,
                tokens.c.purpose == purpose,
                tokens.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return UsedToken(int(row.user_id), row.email_key)

    def verify_email(self, user_id: int, email: str) -> bool:
        done = self.conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.email_key == name_key(email))
            .values(email_verified_at=models.utcnow())
        )
        return bool(done.rowcount)

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        self.conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(is_admin=is_admin, updated_at=models.utcnow())
        )

    def owns_stores(self, user_id: int) -> bool:
        return bool(
            self.conn.execute(select(exists().where(stores.c.owner_id == user_id))).scalar()
        )

    def delete_user(self, user_id: int) -> None:
        execute(self.conn, delete(users).where(users.c.id == user_id))

    def revoke_session(self, session_id: str, user_id: int, expires_at: datetime) -> None:
        # Purging here keeps the table as small as the set of live revoked sessions.
        self.conn.execute(delete(revoked).where(revoked.c.expires_at < models.utcnow()))
        exists_already = self.conn.execute(
            select(revoked.c.session_id).where(revoked.c.session_id == session_id)
        ).first()
        if exists_already is None:
            execute(
                self.conn,
                insert(revoked).values(
                    session_id=session_id, user_id=user_id, expires_at=expires_at
                ),
            )

    def actor_state(self, user_id: int, session_id: str) -> ActorState | None:
        row = fetch_one(self.conn, _ACTOR_STATE, user_id=user_id, session_id=session_id)
        if row is None:
            return None
        return ActorState(
            bool(row["is_admin"]),
            bool(row["revoked"]),
            row["credential_stamp"],
            row["kept_session_id"],
            row["kept_stamp"],
        )


def _usable(purpose: str, digest: str, now: datetime) -> list[Any]:
    """The conditions of an emailed token that may still be used."""
    return [
        tokens.c.token_hash == digest,
        tokens.c.purpose == purpose,
        tokens.c.used_at.is_(None),
        tokens.c.expires_at > now,
    ]


def end_every_session(conn: Connection) -> int:
    """Give every user a new credential stamp, so that no token issued before is accepted.

    After a restore: the tokens issued since the backup was taken name accounts, sessions
    and cut-offs the restored database knows nothing of. Returns how many users there are.
    """
    ids = [row[0] for row in conn.execute(select(users.c.id))]
    if ids:
        conn.execute(
            update(users)
            .where(users.c.id == bindparam("user_id"))
            .values(credential_stamp=bindparam("stamp"), kept_session_id=None, kept_stamp=None),
            [{"user_id": i, "stamp": new_credential_stamp()} for i in ids],
        )
    return len(ids)
