"""@operation checks a handler's parameters against what it declares, when it is declared."""

from __future__ import annotations

import pytest
from flask import Response

from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.conditional import Preconditions
from storekeeper.http.operations import operation, operation_of
from storekeeper.http.schemas import InModel, ListParams


class Body(InModel):
    """A body."""

    name: str


class Query(ListParams):
    """A query."""


def test_a_declared_body_the_handler_does_not_take_is_refused() -> None:
    with pytest.raises(TypeError, match="takes `body` exactly when"):

        @operation("Stores", body=Body, auth=True)
        def handler(actor: Actor, work: Work) -> Response:
            """A handler."""
            return Response()


def test_a_body_taken_but_not_declared_is_refused() -> None:
    with pytest.raises(TypeError, match="takes `body` exactly when"):

        @operation("Stores", auth=True)
        def handler(body: Body, work: Work) -> Response:
            """A handler."""
            return Response()


def test_a_query_must_be_declared_to_be_taken() -> None:
    with pytest.raises(TypeError, match="takes `query` exactly when"):

        @operation("Stores")
        def handler(query: Query, work: Work) -> Response:
            """A handler."""
            return Response()


def test_preconditions_are_taken_exactly_when_declared_conditional() -> None:
    with pytest.raises(TypeError, match="takes `conditions` exactly when"):

        @operation("Stores", auth=True)
        def handler(conditions: Preconditions | None) -> Response:
            """A handler."""
            return Response()

    with pytest.raises(TypeError, match="takes `conditions` exactly when"):

        @operation("Stores", auth=True, conditional=True)
        def other(work: Work) -> Response:
            """A handler."""
            return Response()


def test_a_caller_is_only_handed_to_a_protected_operation() -> None:
    with pytest.raises(TypeError, match="auth=True"):

        @operation("Stores")
        def handler(caller: object) -> Response:
            """A handler."""
            return Response()


def test_the_declaration_records_what_the_handler_takes() -> None:
    @operation("Stores", body=Body, auth=True, conditional=True)
    def handler(id: int, body: Body, actor: Actor, conditions: Preconditions | None) -> Response:
        """Summary line.

        The description.
        """
        return Response()

    op = operation_of(handler)
    assert op is not None
    assert op.inputs == {"body", "actor", "conditions"}
    assert (op.summary, op.description) == ("Summary line.", "The description.")
    assert handler.__name__ == "handler"  # Flask names the endpoint after it


def test_unknown_tags_and_412_as_an_error_are_refused() -> None:
    with pytest.raises(ValueError, match="TAGS"):
        operation("Nonsense")
    with pytest.raises(ValueError, match="conditional=True"):
        operation("Stores", errors=(412,))
