"""The fixed cast: owner and member of workspace A, outsider in workspace B."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Membership

from .factories import MembershipFactory, UserFactory, WorkspaceFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counts (the cache) start at zero in every test. Only this process's keys
    (config/settings_test.py gives it its own prefix): flushing the database would empty the
    other workers' Redis state too."""
    from config.redis import get_redis

    client = get_redis()
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def workspace_a(db):
    return WorkspaceFactory(name="Workspace A")


@pytest.fixture
def workspace_b(db):
    return WorkspaceFactory(name="Workspace B")


@pytest.fixture
def owner(workspace_a):
    user = UserFactory(username="alice")
    MembershipFactory(user=user, workspace=workspace_a, role=Membership.Role.OWNER)
    return user


@pytest.fixture
def member(workspace_a):
    user = UserFactory(username="bob")
    MembershipFactory(user=user, workspace=workspace_a, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def outsider(workspace_b):
    user = UserFactory(username="charlie")
    MembershipFactory(user=user, workspace=workspace_b, role=Membership.Role.OWNER)
    return user


def jwt_client(user) -> APIClient:
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def owner_api(owner):
    return jwt_client(owner)


@pytest.fixture
def member_api(member):
    return jwt_client(member)


@pytest.fixture
def outsider_api(outsider):
    return jwt_client(outsider)


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture(scope="session")
def sandbox_server():
    from .sandbox import Sandbox

    server = Sandbox("--no-webhooks", "--mps", "1000")
    yield server
    server.close()


@pytest.fixture
def sandbox(sandbox_server, settings):
    """A fresh sandbox (stats and state reset) that the Graph client points at."""
    sandbox_server.reset()
    settings.WHATSAPP_GRAPH_URL = sandbox_server.url
    return sandbox_server


@pytest.fixture
def browser():
    # Per test, not per session: Playwright's sync API keeps an event loop running in this
    # thread while it is open, which would break the asyncio tests that follow on the worker.
    from playwright.sync_api import sync_playwright

    from .e2e.browser import FLAGS, chromium_or_skip

    executable = chromium_or_skip()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def pytest_terminal_summary(terminalreporter):
    """A test's `record_property("summary", text)` (the Schemathesis run's figures) printed at
    the end of the run, so that CI's log shows it; xdist carries it over from the workers."""
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "summary":
                    terminalreporter.write_sep("-", f"summary: {report.nodeid}")
                    terminalreporter.write_line(str(value))
