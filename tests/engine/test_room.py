"""A room's share of one server (`ui/room.py`): the redraw floor follows what the room's redraws cost, timed
redraws take turns, and a page's own click never waits for one."""

import threading
import time

import pytest

from ui.room import OVERHEAD, ROOM_BUSY, ROOM_MAX_SECONDS, TIMED_REDRAWS, RoomPace, timed_redraw


class Clock:
    def __init__(self):
        self.now = 0.0


def test_a_small_room_keeps_the_shortest_interval():
    c = Clock()
    pace = RoomPace(0.5, clock=lambda: c.now)
    for page in range(4):
        pace.note(page, 0.03)               # four pages, 30 ms a redraw: 0.3 s of CPU a round at most
    assert pace.floor() == 0.5


def test_a_room_gets_the_interval_its_redraws_fit_in_and_back_as_pages_leave():
    """64 pages at 30 ms a redraw: one round costs 64 · 0.03 · OVERHEAD s of the server's CPU, so the floor
    is the interval at which that is ROOM_BUSY of a core; pages that stop redrawing leave the sum."""
    c = Clock()
    pace = RoomPace(0.5, clock=lambda: c.now)
    for page in range(64):
        pace.note(page, 0.03)
    floor = pace.floor()
    assert floor == pytest.approx(64 * 0.03 * OVERHEAD / ROOM_BUSY)
    assert 64 * 0.03 * OVERHEAD / floor == pytest.approx(ROOM_BUSY)     # the room's CPU per second
    for _ in range(4):                       # 4 pages go on redrawing, 60 left
        c.now += floor
        for page in range(4):
            pace.note(page, 0.03)
    assert pace.floor() == 0.5
    assert pace.pages == 4


def test_the_floor_stays_within_its_bounds_and_costs_are_smoothed():
    c = Clock()
    pace = RoomPace(0.5, clock=lambda: c.now)
    for page in range(1000):
        pace.note(page, 0.5)
    assert pace.floor() == ROOM_MAX_SECONDS
    one = RoomPace(0.5, clock=lambda: c.now)
    one.note("a", 1.0)
    one.note("a", 0.0)                      # one cheap redraw after a dear one: 0.7 · 1.0 remains
    assert one.floor() == pytest.approx(0.7 * OVERHEAD / ROOM_BUSY)


def test_timed_redraws_take_turns():
    inside, most, lock = [0], [0], threading.Lock()

    def redraw():
        with timed_redraw(lambda: False):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=redraw) for _ in range(4 * TIMED_REDRAWS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == TIMED_REDRAWS


def test_a_clicked_page_does_not_wait_for_its_turn():
    """Every turn taken: a redraw whose page was clicked goes on at once (its first element ends it)."""
    release = threading.Event()

    def hold():
        with timed_redraw(lambda: False):
            release.wait(10)

    holders = [threading.Thread(target=hold) for _ in range(TIMED_REDRAWS)]
    for t in holders:
        t.start()
    time.sleep(0.1)
    waited = []
    begun = time.monotonic()
    with timed_redraw(lambda: time.monotonic() - begun > 0.2):     # clicked 0.2 s into its wait
        waited.append(time.monotonic() - begun)
    release.set()
    for t in holders:
        t.join(10)
    assert 0.15 < waited[0] < 5.0
    with timed_redraw(lambda: False):       # every turn given back: the next one is at once
        pass
