"""An account's own care (API.md 1.1, Accounts): its email address and the address's
verification, password change, and password reset by email."""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint, Response
from pydantic import BaseModel, Field, StrictStr

from storekeeper.domain import accounts
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.jobs import JOBS
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import guard, respond
from storekeeper.http.conditional import Preconditions
from storekeeper.http.context import services
from storekeeper.http.identity import Caller
from storekeeper.http.operations import operation
from storekeeper.http.schemas import NO_NUL, InModel, example
from storekeeper.http.users import Email, Password, UserOut, client, private

bp = Blueprint("accounts", __name__)
# An account's answers are its user's alone: no cache keeps them.
bp.after_request(private)


class UserPatch(InModel):
    """Changes to the caller's account (JSON merge patch): `email` sets or, as null, removes
    the address."""

    model_config = example({"email": "ada@example.org"}, merge_patch=True)

    email: Email | None = None


Token = Annotated[StrictStr, Field(min_length=1, max_length=200, json_schema_extra=NO_NUL)]


class EmailTokenIn(InModel):
    """The token from an emailed link."""

    model_config = example({"token": "hS3d1y2oY8kQ4mZf0bq6c7Lr9vXwTnPjAeGuKiDs5pE"})

    token: Token


class PasswordChangeIn(InModel):
    """The current password, and the new one."""

    model_config = example(
        {"current_password": "correct horse battery", "new_password": "staple paper clip"}
    )

    current_password: Annotated[
        StrictStr, Field(min_length=1, max_length=128, json_schema_extra=NO_NUL)
    ]
    new_password: Password


class PasswordResetIn(InModel):
    """The address to send a reset link to."""

    model_config = example({"email": "ada@example.com"})

    email: Email


class PasswordResetConfirmIn(InModel):
    """The token from the reset email, and the new password."""

    model_config = example(
        {"token": "hS3d1y2oY8kQ4mZf0bq6c7Lr9vXwTnPjAeGuKiDs5pE", "new_password": "staple paper"}
    )

    token: Token
    new_password: Password


class AcceptedOut(BaseModel):
    """A request taken: what it leads to happens in the background."""

    model_config = example(
        {"detail": "If an account has this verified address, a reset link is on its way."}
    )

    detail: str


# Handlers


@bp.patch("/user/me")
@operation(
    "Accounts",
    response=UserOut,
    body=UserPatch,
    auth=True,
    merge_patch=True,
    errors=(409,),
    conditional=True,
)
def update_me(
    body: UserPatch, actor: Actor, work: Work, conditions: Preconditions | None
) -> Response:
    """Change the caller's email address (or remove it with null).

    The new address is unverified until the link emailed to it is used; the old address gets
    a notice. Sending the current, still unverified address again sends a new link.
    """
    repo = work[ACCOUNTS]
    me = actor.user_id
    check = guard(conditions, UserOut, lambda: repo.get_user(me), lambda: repo.lock_user(me))
    if "email" not in body.model_fields_set:  # an empty patch changes nothing
        if check is not None:
            check()
        return respond(UserOut, accounts.get_user(repo, actor, me))
    user = accounts.change_email(repo, work[JOBS], actor, body.email, check)
    return respond(UserOut, user)


@bp.post("/user/me/email/verify")
@operation("Accounts", status=204, body=EmailTokenIn, auth=True)
def verify_email(body: EmailTokenIn, actor: Actor, work: Work) -> Response:
    """Verify the caller's address with the token its emailed link carries.

    Single use, 48 hours, and only for the address it was sent to, signed in as its user:
    anything else is a 422 on `token`.
    """
    accounts.verify_email(work[ACCOUNTS], actor, body.token)
    return Response(status=204)


@bp.put("/user/me/password")
@operation("Accounts", status=204, body=PasswordChangeIn, auth=True, errors=(429,))
def change_password(body: PasswordChangeIn, caller: Caller) -> Response:
    """Change the caller's password; every other session of theirs ends, this one goes on.

    A wrong `current_password` is a 422 and counts as a failed login of the username (429
    with `Retry-After` past the limit). A notice is emailed.
    """
    found = services()
    claims = caller.claims
    with found.sign_ins():
        accounts.change_password(
            found.units,
            found.passwords,
            found.limiter,
            found.settings.login_rate_limit,
            caller.actor,
            (claims.session_id, claims.stamp),
            body.current_password,
            body.new_password,
        )
    return Response(status=204)


RESET_ACCEPTED = {"detail": "If an account has this verified address, a reset link is on its way."}


@bp.post("/password-reset")
@operation("Accounts", status=202, response=AcceptedOut, body=PasswordResetIn, errors=(429,))
def request_password_reset(body: PasswordResetIn) -> Response:
    """Email a single-use password reset link (30 minutes) to an account's verified address.

    The answer, and its timing, are the same whether or not an account has the address. 5
    requests an hour per address, 20 per client: 429 with `Retry-After`.
    """
    found = services()
    accounts.request_password_reset(found.limiter, found.units, body.email, client())
    return respond(AcceptedOut, RESET_ACCEPTED, 202)


@bp.post("/password-reset/confirm")
@operation("Accounts", status=204, body=PasswordResetConfirmIn)
def confirm_password_reset(body: PasswordResetConfirmIn) -> Response:
    """Set a new password with the token of a reset email: single use; every session ends.

    A bad, used or expired token is a 422 on `token`. Nobody is signed in by it.
    """
    found = services()
    with found.sign_ins():
        accounts.confirm_password_reset(found.units, found.passwords, body.token, body.new_password)
    return Response(status=204)
