"""The transfer page's background job: it trains each mode, maps the feature space, stops when
asked (keeping the best epoch, skipping the comparison run), and turns errors into messages."""

from __future__ import annotations

import pytest

from resnet_viz.data.bundled_sets import bundled_set
from resnet_viz.errors import DatasetError
from resnet_viz.training.transfer import fine_tune
from resnet_viz.ui import transfer_job
from resnet_viz.ui.transfer_job import DONE, TrainingJob, start_job
from resnet_viz.weights import load_demo_model


@pytest.fixture(scope="module")
def demo():
    return load_demo_model("cpu")


@pytest.fixture(scope="module")
def shapes():
    return bundled_set("shapes", 3)


def test_a_job_trains_each_mode_as_fine_tune_does_and_maps_both_feature_spaces(demo, shapes):
    job = start_job("key", demo, shapes, ("probe", "scratch"), {"probe": 3, "scratch": 1}, 5)
    assert job.finished.wait(120)
    assert job.error is None
    assert job.stage == DONE
    assert job.fraction() == 1.0
    alone = fine_tune(demo.model, shapes, "probe", preprocessing=demo.preprocessing, epochs=3,
                      seed=5)  # fmt: skip
    probe = job.results["probe"]
    assert probe.history[-1].validation_loss == alone.history[-1].validation_loss
    assert probe.predictions == alone.predictions
    assert [r.epoch for r in job.results["scratch"].history] == [0, 1]
    assert job.histories() == {m: r.history for m, r in job.results.items()}
    before, after = job.embeddings
    assert before.points.shape == after.points.shape == (len(shapes.images), 2)


def test_stop_keeps_the_best_epoch_and_skips_the_comparison(demo, shapes):
    job = TrainingJob("key", ("probe", "scratch"), {"probe": 50, "scratch": 5})
    job.stop.set()  # pressed before the first epoch ended
    transfer_job._run(job, demo, shapes, 0)  # in this thread: no race with the button
    assert list(job.results) == ["probe"]
    probe = job.results["probe"]
    assert probe.stopped
    assert [r.epoch for r in probe.history] == [0, 1]
    assert job.embeddings is not None


def test_a_user_error_in_the_thread_becomes_the_jobs_message(demo, shapes, monkeypatch):
    def refuse(*args, **kwargs):
        raise DatasetError("Every class needs at least two images.")

    monkeypatch.setattr(transfer_job, "fine_tune", refuse)
    job = TrainingJob("key", ("probe",), {"probe": 1})
    transfer_job._run(job, demo, shapes, 0)
    assert job.error == "Every class needs at least two images."
    assert not job.running


def test_a_bug_in_the_thread_is_logged_and_said_in_general_words(demo, shapes, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(transfer_job, "fine_tune", broken)
    job = TrainingJob("key", ("probe",), {"probe": 1})
    transfer_job._run(job, demo, shapes, 0)
    assert "Something went wrong while training" in job.error
    assert "internal detail" not in job.error


def test_a_job_whose_session_left_while_queued_never_trains(demo, shapes, monkeypatch):
    from resnet_viz.runtime.workload import HeavyWorkQueue
    from resnet_viz.ui import transfer_lab
    from tests.unit.runtime.test_workload import eventually, held, joined

    queue = HeavyWorkQueue(1, poll_s=0.01)
    monkeypatch.setattr(
        transfer_job,
        "heavy_work_slot",
        lambda on_wait=None, *, kind, cancelled=None: queue.slot(kind, on_wait, cancelled),
    )
    trained = []
    monkeypatch.setattr(transfer_job, "fine_tune", lambda *a, **k: trained.append(1))
    release, holding = held(queue)
    alive = [True]
    job = start_job("key", demo, shapes, ("probe",), {"probe": 1}, 0, owner_alive=lambda: alive[0])
    assert eventually(lambda: queue.waiting() == 1)
    assert eventually(lambda: job.queued is not None)
    assert job.queued.place == 1  # the page shows it (transfer_lab._stage_text)
    assert "number 1 in the queue" in transfer_lab._stage_text(job)
    alive[0] = False  # the student closed the tab
    assert job.finished.wait(30)
    assert job.error == transfer_job.STOPPED_IN_QUEUE
    assert job.queued is None
    assert queue.waiting() == 0
    assert trained == []
    release.set()
    joined(holding)


def test_a_job_whose_session_left_stops_as_the_button_does(demo, shapes):
    job = TrainingJob("key", ("probe", "scratch"), {"probe": 50, "scratch": 5})
    transfer_job._run(job, demo, shapes, 0, owner_alive=lambda: False)
    assert list(job.results) == ["probe"]
    assert job.results["probe"].stopped
    assert [r.epoch for r in job.results["probe"].history] == [0, 1]
