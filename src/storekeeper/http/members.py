"""A store's team: its members and their roles (contract "A store's team")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Blueprint, Response
from pydantic import Field, StrictStr

from storekeeper.domain import members
from storekeeper.domain.catalog import CATALOG, Guard
from storekeeper.domain.members import MEMBERS
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import guard, respond
from storekeeper.http.conditional import Preconditions
from storekeeper.http.operations import operation
from storekeeper.http.paging import page_request, respond_page
from storekeeper.http.schemas import CREATED_AT, NO_NUL, InModel, ListParams, OutModel, example

bp = Blueprint("members", __name__)

MemberRoleIn = Annotated[
    Literal["manager", "staff"],
    Field(description="`manager` or `staff`; a store has one `owner`, who is no member."),
]


# Request and response models


class MemberCreate(InModel):
    """A user to put on the team, by username, with a role."""

    model_config = example({"username": "grace", "role": "staff"})

    username: Annotated[StrictStr, Field(min_length=1, max_length=40, json_schema_extra=NO_NUL)]
    role: MemberRoleIn


class MemberUpdate(InModel):
    """A member's new role."""

    model_config = example({"role": "manager"})

    role: MemberRoleIn


class MemberOut(OutModel):
    """Someone on a store's team: its owner (role `owner`), a manager or staff."""

    model_config = example(
        {"user_id": 2, "username": "grace", "role": "staff", "added_at": CREATED_AT}
    )

    user_id: int
    username: str
    role: Literal["owner", "manager", "staff"]
    added_at: datetime


class PermissionsOut(OutModel):
    """What the caller may do in a store."""

    model_config = example(
        {
            "role": "staff",
            "is_admin": False,
            "actions": ["item.write", "member.list"],
        }
    )

    role: str | None = Field(
        description="Your role here: `owner`, `manager` or `staff`; null without one."
    )
    is_admin: bool = Field(description="Whether the caller is an admin, who may do everything.")
    actions: list[str] = Field(
        description="The actions the caller may take here, e.g. `item.write` (docs/api.md)."
    )


class MemberListParams(ListParams):
    """Paging of a store's team (by user id)."""


# Handlers


def _guard(work: Work, store_id: int, user_id: int, conditions: Preconditions | None) -> Guard:
    team = work[MEMBERS]
    return guard(
        conditions,
        MemberOut,
        lambda: team.get_member(store_id, user_id),
        lambda: team.lock_member(store_id, user_id),
    )


@bp.get("/store/<id:id>/member")
@operation("Teams", response=MemberOut, many=True, query=MemberListParams, auth=True)
def list_members(id: int, query: MemberListParams, actor: Actor, work: Work) -> Response:
    """List a store's team: its owner (role `owner`), managers and staff, by user id.

    For the team itself and admins (403 for anyone else).
    """
    page = members.list_members(work[CATALOG], work[MEMBERS], actor, id, page_request(query))
    return respond_page(MemberOut, page, query)


@bp.post("/store/<id:id>/member")
@operation(
    "Teams",
    status=201,
    response=MemberOut,
    body=MemberCreate,
    auth=True,
    errors=(409,),
    creates="/store/{id}/member/{user_id}",
)
def add_member(id: int, body: MemberCreate, actor: Actor, work: Work) -> Response:
    """Put a user on a store's team: the owner adds managers and staff, a manager adds staff.

    An unknown username: 422 on `username`. Someone already on the team (the owner included,
    who is on it as `owner`): 409.
    """
    member = members.add_member(work[CATALOG], work[MEMBERS], actor, id, body.username, body.role)
    location = f"/store/{id}/member/{member.user_id}"
    return respond(MemberOut, member, 201, {"Location": location})


@bp.get("/store/<id:id>/permission")
@operation("Teams", response=PermissionsOut)
def get_permissions(id: int, actor: Actor | None, work: Work) -> Response:
    """What the caller may do in a store: their role there and the actions it allows.

    Always 200 for a store that exists (a guest or a stranger gets no role and no action), as
    GitHub answers a repository's `permissions` for its caller: a client shows only the
    controls that will be allowed. The server still checks every request.
    """
    # The answer is the caller's own: no shared cache may hand it to another caller.
    private = {"Cache-Control": "private, no-cache", "Vary": "Authorization"}
    return respond(PermissionsOut, members.permissions(work[CATALOG], actor, id), 200, private)


@bp.get("/store/<id:id>/member/<id:user_id>")
@operation("Teams", response=MemberOut, auth=True, linked=False)
def get_member(id: int, user_id: int, actor: Actor, work: Work) -> Response:
    """Read one of a store's team; anyone signed in may read their own (their role there).

    Like GitHub's collaborator permission: a client learns what the caller may do in a store
    from `GET /store/{id}/member/{my user id}` (404: not on the team).
    """
    return respond(MemberOut, members.get_member(work[CATALOG], work[MEMBERS], actor, id, user_id))


@bp.patch("/store/<id:id>/member/<id:user_id>")
@operation(
    "Teams",
    response=MemberOut,
    body=MemberUpdate,
    auth=True,
    merge_patch=True,
    errors=(409,),
    conditional=True,
    linked=False,
)
def change_member_role(
    id: int,
    user_id: int,
    body: MemberUpdate,
    actor: Actor,
    work: Work,
    conditions: Preconditions | None,
) -> Response:
    """Give a member another role (the owner and admins); the owner's own role: 409."""
    check = _guard(work, id, user_id, conditions)
    member = members.change_role(work[CATALOG], work[MEMBERS], actor, id, user_id, body.role, check)
    return respond(MemberOut, member)


@bp.delete("/store/<id:id>/member/<id:user_id>")
# linked=False on a member's operations: a new store names none of its members, so only
# adding a member links to them.
@operation("Teams", status=204, auth=True, errors=(409,), conditional=True, linked=False)
def remove_member(
    id: int, user_id: int, actor: Actor, work: Work, conditions: Preconditions | None
) -> Response:
    """Take someone off a store's team: the owner anyone, a manager staff, a member themself.

    Removing oneself is leaving the store. The owner cannot be removed (409).
    """
    check = _guard(work, id, user_id, conditions)
    members.remove_member(work[CATALOG], work[MEMBERS], actor, id, user_id, check)
    return Response(status=204)
