"""Hostile sites: a server trickling its headers one byte a second, and a token user in 100 groups
on a site that takes 1 s per answer.

Bar: the trickle ends within ISSUETRAK_TIMEOUT_S + 1 s; the slow-groups checklist within
ISSUETRAK_CHECKLIST_BUDGET_S + 1 s (and reads at most 20 groups when the budget allows more).
Usage: .venv/bin/python benchmarks/hostile_sites.py [TIMEOUT_S] [BUDGET_S]
"""

import datetime as dt
import socket
import sys
import threading
import time

from _setup import django_in_temp_dir


def _trickle_headers(listener: socket.socket, stop: threading.Event) -> None:
    """Accept connections; answer each request with headers sent one byte a second."""
    def serve(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 10_000:
                if stop.wait(1.0):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def _checklist(base_url: str, budget: float | None = None):
    from django.utils import timezone

    from connections.checklist import Subject, run_checklist

    subject = Subject(label="Zapier", base_url=base_url, token="good-token", token_name="Zapier",
                      token_user="integration", expires_on=timezone.localdate() + dt.timedelta(days=90))
    started = time.perf_counter()
    results = run_checklist(subject, budget_s=budget)
    return time.perf_counter() - started, {r.key: r for r in results}


def main(timeout: float, budget: float) -> None:
    django_in_temp_dir()
    from django.conf import settings

    from connections.simulator import IssuetrakSimulator

    settings.ISSUETRAK_TIMEOUT_S = timeout
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    threading.Thread(target=_trickle_headers, args=(listener, stop), daemon=True).start()
    trickle_wall, trickle = _checklist(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop.set()
    listener.close()
    print(f"header trickle (1 byte/s), timeout {timeout:g} s: checklist wall {trickle_wall:.2f} s; "
          f"reachable: {trickle['reachable'].status} ({trickle['reachable'].message})")

    with IssuetrakSimulator() as sim:
        url = sim.site_url("slow-groups")
        bounded_wall, bounded = _checklist(url)  # the default budget, which 20 groups fit in
        sim.reset_rate_limits()
        budget_wall, budgeted = _checklist(url, budget)
    print(f"100 groups at 1 s each, budget {settings.ISSUETRAK_CHECKLIST_BUDGET_S:g} s: wall "
          f"{bounded_wall:.2f} s; token_admin: {bounded['token_admin'].status} "
          f"({bounded['token_admin'].message})")
    print(f"100 groups at 1 s each, budget {budget:g} s: wall {budget_wall:.2f} s; token_admin: "
          f"{budgeted['token_admin'].status} ({budgeted['token_admin'].message})")
    print(f"hostile sites: header trickle {trickle_wall:.2f} s (bar {timeout + 1:g} s); "
          f"slow groups {budget_wall:.2f} s (bar {budget + 1:g} s)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0, float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
