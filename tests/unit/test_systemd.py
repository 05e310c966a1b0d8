"""sd_notify outside systemd, or pointed at the wrong process (the daemon's notifications are
tested in test_daemon.py)."""

from scorebridge.systemd import Notifier


def test_outside_systemd_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_seconds is None
    notifier.ready("x")
    notifier.watchdog()
    notifier.stopping("y")


def test_a_watchdog_meant_for_another_process_is_ignored() -> None:
    notifier = Notifier(
        {"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    )
    assert notifier.watchdog_seconds is None
    notifier.ready("x")  # an unreachable socket is logged once, never raised
