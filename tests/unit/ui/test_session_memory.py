"""What a session keeps is bounded: the most recent entries stay, the oldest go first; and the
buttons that remember a request per image use that bound."""

from __future__ import annotations

import contextlib

import resnet_viz.ui.workbench_common as workbench_common
from resnet_viz.ui.session_memory import MAX_REQUESTS, recalled, remember, session_alive


def test_remember_keeps_the_most_recent_entries():
    recent: dict = {}
    for key in "abcd":
        remember(recent, key, key.upper(), 3)
    assert list(recent) == ["b", "c", "d"]
    assert recalled(recent, "b") == "B"  # now the most recent
    remember(recent, "e", "E", 3)
    assert list(recent) == ["d", "b", "e"]
    remember(recent, "d", "D2", 3)  # again: refreshed, not doubled
    assert recent == {"b": "B", "e": "E", "d": "D2"}
    assert recalled(recent, "zz", "none") == "none"


class FakeSt:
    def __init__(self) -> None:
        self.session_state: dict = {}
        self.pressed = True

    def button(self, *args, **kwargs) -> bool:
        return self.pressed


def test_a_sessions_remembered_requests_stay_within_the_bound(monkeypatch):
    fake = FakeSt()
    monkeypatch.setattr(workbench_common, "st", fake)
    for i in range(MAX_REQUESTS + 10):
        assert workbench_common.requested("faith", f"image-{i}", "Check", "help")
    asked = fake.session_state["_asked_faith"]
    assert len(asked) == MAX_REQUESTS
    fake.pressed = False
    assert workbench_common.requested("faith", f"image-{MAX_REQUESTS + 9}", "Check", "help")
    assert not workbench_common.requested("faith", "image-0", "Check", "help")  # forgotten


def test_outside_a_server_the_session_counts_as_alive():
    assert session_alive()() is True


class Frame:
    def __init__(self, n: int) -> None:
        self.file_id, self._data = f"frame-{n}", bytes([n])

    def getvalue(self) -> bytes:
        return self._data


class FakeCameraPage(FakeSt):
    """Each rerun, each camera shows a new picture."""

    def __init__(self) -> None:
        super().__init__()
        self.pressed, self.frames, self.captions = False, 0, []

    def columns(self, n):
        return [contextlib.nullcontext() for _ in range(n)]

    def camera_input(self, label, key):
        self.frames += 1
        return Frame(self.frames)

    def caption(self, text):
        self.captions.append(text)


def test_camera_pictures_stop_being_kept_at_the_most_a_set_may_hold(monkeypatch):
    import resnet_viz.ui.transfer_data as transfer_data

    fake = FakeCameraPage()
    monkeypatch.setattr(transfer_data, "st", fake)
    monkeypatch.setattr(transfer_data, "MAX_IMAGES", 5)
    for _ in range(4):  # 8 pictures offered, two classes
        grouped = transfer_data._captures(["apples", "pears"])
    assert sum(len(v) for v in grouped.values()) == 5
    assert grouped["apples"] == [bytes([1]), bytes([3]), bytes([5])]
    assert "5 pictures in all: the most a set may hold." in fake.captions
