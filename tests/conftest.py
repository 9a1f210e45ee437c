"""Shared fixtures: named people, a connection factory, service probes."""

import datetime as dt
import os

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.utils import timezone

from connections.access import ONBOARDING, SYSADMIN, VIEWER
from connections.issuetrak import site_limits
from connections.models import Connection

IN_CI = os.environ.get("CI", "").lower() == "true"
SECRET_TOKEN = "ItSecr3tT0kenValue-9f8e7d6c5b4a"


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} ({db['NAME']})",
        f"celery broker: {broker}" + (" (in-process)" if broker.startswith("memory") else ""),
        f"CI={os.environ.get('CI', '')}",
    ]


def _person(username, role):
    user = User.objects.create_user(username, f"{username}@example.com", "pw-" + username)
    # get_or_create: transactional tests flush the groups the migration made.
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def sysadmin(db):
    """Sam, who runs the Issuetrak integrations."""
    return _person("sam", SYSADMIN)


@pytest.fixture
def onboarding_clerk(db):
    """Olive, who follows the onboarding checklist."""
    return _person("olive", ONBOARDING)


@pytest.fixture
def viewer(db):
    """Vic, who may only look."""
    return _person("vic", VIEWER)


@pytest.fixture
def sam_client(client, sysadmin):
    client.force_login(sysadmin)
    return client


@pytest.fixture
def make_connection(db):
    """Create a connection directly (bypassing the form), token set and encrypted."""

    def make(label="Zapier", token=SECRET_TOKEN, **fields):
        fields.setdefault("base_url", "https://support.example.com")
        fields.setdefault("token_name", label)
        fields.setdefault("expires_on", timezone.localdate() + dt.timedelta(days=90))
        fields.setdefault("recipients", ["sam@example.com"])
        connection = Connection(label=label, **fields)
        connection.set_token(token)
        connection.save()
        return connection

    return make


@pytest.fixture(scope="session")
def simulator():
    """The Issuetrak simulator on a real socket, shared by the whole test session."""
    from connections.simulator import IssuetrakSimulator

    with IssuetrakSimulator(slow_seconds=30) as sim:
        yield sim


@pytest.fixture
def admin_sim():
    """A simulator of its own (repairs change its sites) where admin has the token ADMIN_TOKEN."""
    from connections.simulator import IssuetrakSimulator
    from connections.simulator.scenarios import ADMIN_IID
    from tests.repair_support import ADMIN_TOKEN

    with IssuetrakSimulator() as sim:
        for site in sim.sites:
            sim.add_token(site, ADMIN_TOKEN, ADMIN_IID)
        yield sim


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    # Tests hit the same simulated sites many times; each starts with empty limit counters,
    # in the simulator and in our own limiter (and its shared 429 back-offs).
    site_limits.install(site_limits.MemoryStore())
    if "simulator" in request.fixturenames:
        request.getfixturevalue("simulator").reset_rate_limits()


def require_service(name: str, reachable: bool, why: str):
    """Skip when a server is absent, except under CI where it must be there."""
    if reachable:
        return
    if IN_CI:
        pytest.fail(f"{name} is required under CI=true but is not reachable: {why}")
    pytest.skip(f"{name} not reachable ({why}); CI runs this")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium for a module's browser tests (never a downloaded browser)."""
    from tests.browser_support import CHROMIUM, chromium

    require_service("Chromium", CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser, live_server):
    """A fresh browser profile (no cookies) on the live server, at a desktop size."""
    from tests.browser_support import DESKTOP

    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def queue_without_worker():
    """Runs queued from the page wait in the broker (no worker): the page shows them queued."""
    from issuetrak_admin.celery import app

    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    yield
    app.conf.task_always_eager = eager
