"""Turns before the pool: a freed place goes to the longest waiter, and nobody overtakes it."""

from __future__ import annotations

import threading

from storekeeper.db.turns import Turns

WAIT_S = 10.0  # a bound for a wait that must end, never reached when the code is right


def _waiter(turns: Turns, name: str, order: list[str]) -> threading.Thread:
    """A thread that takes a turn, notes its name, and gives the turn back; started, and
    waiting in line before this returns."""
    before = turns.waiting

    def run() -> None:
        assert turns.take(WAIT_S)
        order.append(name)
        turns.give_back()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while turns.waiting == before:
        threading.Event().wait(0.001)
    return thread


def test_places_are_taken_at_once_until_none_is_left() -> None:
    turns = Turns(2)
    assert turns.take(0)
    assert turns.take(0)
    assert not turns.take(0)
    assert turns.waiting == 0  # a wait that ran out leaves the line
    turns.give_back()
    assert turns.take(0)


def test_freed_places_go_to_the_waiters_in_the_order_they_came() -> None:
    turns = Turns(1)
    assert turns.take(0)
    order: list[str] = []
    threads = [_waiter(turns, name, order) for name in ("first", "second", "third")]
    turns.give_back()
    for thread in threads:
        thread.join(WAIT_S)
    assert order == ["first", "second", "third"]
    assert turns.take(0)  # the last one gave its place back to no one: it is free


def test_a_newcomer_cannot_take_a_place_handed_to_a_waiter() -> None:
    turns = Turns(1)
    assert turns.take(0)
    release = threading.Event()
    taken = threading.Event()

    def wait_then_hold() -> None:
        assert turns.take(WAIT_S)
        taken.set()
        release.wait(WAIT_S)
        turns.give_back()

    thread = threading.Thread(target=wait_then_hold, daemon=True)
    thread.start()
    while turns.waiting == 0:
        threading.Event().wait(0.001)
    turns.give_back()
    # The place is the waiter's from the moment it was given back, run or not.
    assert not turns.take(0)
    assert taken.wait(WAIT_S)
    release.set()
    thread.join(WAIT_S)
    assert turns.take(0)
