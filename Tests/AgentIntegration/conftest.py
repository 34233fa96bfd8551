"""Real-libvirtd tests of `hugepage-guard agent`.

Run as root with libvirtd up (scripts/setup-host) and the binaries built:
    HUGEPAGE_GUARD_BIN=$(swift build -c release --show-bin-path) python3 -m pytest Tests/AgentIntegration

Conventions shared with Tests/Integration (whose helpers, hgtest.py and hostfixtures.py,
this reuses; the host lock and the pool fixture are the same ones):
  * every test that changes host state holds the exclusive host lock
    /run/lock/hugepage-guard-host.lock: they start VMs, hold hugepages, plant files and
    restart libvirtd, and their assertions count pages;
  * test domains are named `hgagent-...` and are destroyed and undefined in teardown;
  * pool sizes are restored to what was found;
  * the agent runs with its own state dir and no config file, so the host's ledger is untouched;
  * nothing is skipped: a host that is not set up fails every test.
"""
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Integration"))
import hgtest as H  # noqa: E402
from hostfixtures import host_lock, pool, require_real_host  # noqa: E402,F401 (fixtures)
from agenthelpers import AgentProcess  # noqa: E402

PREFIX = "hgagent-"


@pytest.fixture(scope="session", autouse=True)
def real_host():
    require_real_host(H.guard_bin())


@pytest.fixture
def pool2m(pool):
    """At least 256 free 2 MiB pages for the test; the pool sizes are restored afterwards."""
    pool.at_least(2048, 256)
    yield pool


@pytest.fixture
def domains():
    """Names handed out here are removed after the test, whatever happened."""
    made = []

    def make(suffix):
        name = PREFIX + suffix
        H.remove_domain(name)
        made.append(name)
        return name
    try:
        yield make
    finally:
        for name in made:
            H.remove_domain(name)


@pytest.fixture
def state_dir():
    with tempfile.TemporaryDirectory(prefix="hgagent-state-") as d:
        yield Path(d)


@pytest.fixture
def agent(state_dir):
    procs = []

    def start(**kw):
        a = AgentProcess(state_dir, **kw)
        procs.append(a)
        a.wait_line("event=reconciled", "trigger=start")
        return a
    try:
        yield start
    finally:
        for a in procs:
            a.stop()
