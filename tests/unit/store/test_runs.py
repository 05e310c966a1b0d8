"""Run rows record what each cycle did."""

from scorebridge.logging import register_secret
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
