"""Background jobs, as their starters see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, Response

from storekeeper.domain import jobs
from storekeeper.domain.jobs import JOBS
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import respond
from storekeeper.http.operations import operation
from storekeeper.http.schemas import CREATED_AT, OutModel, example
from storekeeper.http.users import private

bp = Blueprint("jobs", __name__)
# A job is its starter's alone: no cache keeps it.
bp.after_request(private)


class JobOut(OutModel):
    """A job: queued, running, succeeded or failed (after its retries), with its result."""

    model_config = example(
        {
            "id": 7,
            "kind": "email.welcome",
            "status": "succeeded",
            "created_at": CREATED_AT,
            "started_at": "2026-11-30T09:15:00.250000Z",
            "finished_at": "2026-11-30T09:15:00.410000Z",
            "result": {"sent": True},
        }
    )

    id: int
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None


@bp.get("/job/<id:id>")
@operation("Jobs", response=JobOut, auth=True)
def get_job(id: int, actor: Actor, work: Work) -> Response:
    """Read a job (the user who started it, or an admin).

    `started_at` is when its latest attempt started; a failed attempt that will be retried
    leaves the job `queued`.
    """
    return respond(JobOut, jobs.get_job(work[JOBS], actor, id))
