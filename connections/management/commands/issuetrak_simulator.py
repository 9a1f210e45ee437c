"""`manage.py issuetrak_simulator`: the Issuetrak API v2 simulator in the foreground.

For the demo and onboarding practice: it prints each scenario site's Application URL and the
token to enter, logs one line per request (method, site, path, status: never a token) and
stops cleanly on Ctrl-C or SIGTERM.
"""

import logging
import signal
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from connections.simulator import IssuetrakSimulator
from connections.simulator.sites import SiteFileError, read_sites_file


def build_simulator(*, host: str, port: int, tls: bool, sites: Path | None, slow_seconds: float,
                    time_scale: float = 1.0, latency_ms: float = 0.0, **_ignored) -> IssuetrakSimulator:
    """The (not yet started) simulator the command's options describe."""
    if not 0 <= port <= 65535:
        raise CommandError(f"--port must be between 0 and 65535, not {port}.")
    if slow_seconds < 0:
        raise CommandError("--slow-seconds must not be negative.")
    if not time_scale > 0:
        raise CommandError("--time-scale must be positive.")
    if latency_ms < 0:
        raise CommandError("--latency-ms must not be negative.")
    cert_dir = Path(settings.DATA_DIR) / "simulator-tls" if tls else None
    try:
        extra = [] if sites is None else read_sites_file(sites)
        return IssuetrakSimulator(host=host, port=port, tls=tls, cert_dir=cert_dir, extra_sites=extra,
                                  slow_seconds=slow_seconds, time_scale=time_scale,
                                  latency_seconds=latency_ms / 1000)
    except SiteFileError as exc:
        raise CommandError(f"--sites {sites}: {exc}") from exc


class Command(BaseCommand):
    help = "Run the Issuetrak API v2 simulator (scenario sites for tests, demos and practice)."
    # It needs neither the database nor the URLconf: start even while the app is misconfigured.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8765, help="Port (default 8765; 0 picks a free one).")
        parser.add_argument("--tls", action="store_true",
                            help="Serve https with a self-signed certificate kept in DATA_DIR/simulator-tls.")
        parser.add_argument("--sites", type=Path, metavar="FILE",
                            help="JSON file of extra sites (format: connections/simulator/sites.py).")
        parser.add_argument("--slow-seconds", type=float, default=30.0,
                            help="How long the 'slow' site waits before answering (default 30).")
        parser.add_argument("--time-scale", type=float, default=1.0,
                            help="Shorten the rate-limit windows by this factor (600: 10 minutes last 1 s).")
        parser.add_argument("--latency-ms", type=float, default=0.0,
                            help="Delay every site's answer by this many milliseconds (default 0).")

    def handle(self, *args, **options):
        simulator = build_simulator(**options)
        try:
            simulator.start()
        except OSError as exc:
            where = f"{options['host']}:{options['port']}"
            raise CommandError(f"Cannot listen on {where}: {exc.strerror}") from exc
        _log_requests(options["verbosity"])
        stop = threading.Event()
        previous = _on_stop_signals(lambda *_: stop.set())
        try:
            self._announce(simulator)
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:  # off the main thread no handler is installed; Ctrl-C lands here
            pass
        finally:
            simulator.stop()
            _restore(previous)
        self.stdout.write("Simulator stopped.")

    def _announce(self, simulator: IssuetrakSimulator) -> None:
        self.stdout.write(f"Issuetrak API v2 simulator on {simulator.root_url} (Ctrl-C stops it)")
        if simulator.cert_path:
            self.stdout.write(f"Self-signed certificate (trust it to verify): {simulator.cert_path}")
        for site in simulator.sites.values():
            token = site.token_hint or "-"
            url = simulator.site_url(site.name)
            self.stdout.write(f"  {site.name:<16} {url:<44} token: {token:<14} {site.description}")
        self.stdout.flush()


def _log_requests(verbosity: int) -> None:
    """One stderr line per request (method, site, path, status), whatever LOGGING says."""
    log = logging.getLogger("connections.simulator")
    if not any(getattr(h, "_simulator_console", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        handler._simulator_console = True
        log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO if verbosity >= 1 else logging.WARNING)


def _on_stop_signals(handler):
    """Route Ctrl-C and SIGTERM to `handler`; returns the previous handlers (none off the main thread)."""
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread (e.g. call_command from a test thread)
            break
    return previous


def _restore(previous):
    for signum, handler in previous.items():
        signal.signal(signum, handler)
