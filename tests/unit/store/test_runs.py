"""Run rows record what each cycle did."""

from scorebridge.redaction import register_secret
from scorebridge.store.runs import finish_run, recent_runs, start_run


def test_a_run_is_started_finished_and_listed(store, clock) -> None:
    register_secret("runs-secret-value")
    with store.write() as conn:
        first = start_run(conn, "pull", now=clock.now())
        clock.advance(12.5)
        finish_run(
            conn,
            first,
            now=clock.now(),
            outcome="ok",
            counts={"contacts": 3},
            requests={"GET /api/contacts": 2},
        )
        second = start_run(conn, "cycle", now=clock.now())
        finish_run(
            conn,
            second,
            now=clock.now(),
            outcome="failed",
            error="auth failed with runs-secret-value",
        )
        third = start_run(conn, "cycle", now=clock.now())
    with store.read() as conn:
        runs = recent_runs(conn)
        cycles = recent_runs(conn, limit=1, command="cycle")
    assert [(r.id, r.outcome) for r in runs] == [
        (third, "running"),
        (second, "failed"),
        (first, "ok"),
    ]
    assert runs[2].counts == {"contacts": 3}
    assert runs[2].requests == {"GET /api/contacts": 2}
    assert runs[2].duration_seconds == 12.5
    assert runs[1].error == "auth failed with ***"
    assert runs[0].duration_seconds is None
    assert [r.id for r in cycles] == [third]


def test_a_running_run_whose_process_is_gone_shows_interrupted(store, clock) -> None:
    from dataclasses import replace
    from datetime import timedelta

    from scorebridge.store.lease import LeaseInfo, this_holder

    with store.write() as conn:
        start_run(conn, "cycle", now=clock.now())
    with store.read() as conn:
        (mine,) = recent_runs(conn)
    now = clock.now()
    assert mine.process == this_holder()
    assert mine.shown_outcome(None, now) == "running"  # this very process is alive
    dead_here = replace(mine, counts={"process": this_holder().rsplit(":", 1)[0] + ":999999999"})
    assert dead_here.shown_outcome(None, now) == "interrupted"
    elsewhere = replace(mine, counts={"process": "other-host:42"})
    live = LeaseInfo("scorebridge", "other-host:42", now, now, now + timedelta(minutes=5))
    assert elsewhere.shown_outcome(live, now) == "running"
    assert elsewhere.shown_outcome(None, now) == "interrupted"
    expired = replace(live, expires_at=now - timedelta(seconds=1))
    assert elsewhere.shown_outcome(expired, now) == "interrupted"
