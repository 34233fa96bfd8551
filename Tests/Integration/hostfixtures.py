"""Fixtures both real-host suites share (Tests/Integration and Tests/AgentIntegration).

Each suite's conftest.py imports what it needs from here, so there is one host lock and one
way of checking and restoring the host:
  * `host_lock`: the exclusive flock on /run/lock/hugepage-guard-host.lock, held for the
    whole test by any test that changes host state (pool sizes, the hook, the config,
    libvirtd restarts, VMs, files on hugetlbfs). It blocks in flock(2), so it is handed over
    the moment the holder lets go (a polling loop can be starved by others), bounded by an
    alarm;
  * `require_real_host`: fail (never skip) when the host is not set up;
  * `Pool`: sizes the kernel pools and restores every size it touched.
"""
import contextlib
import fcntl
import os
import signal
from pathlib import Path

import pytest

import hgtest as H

LOCK_WAIT_SECONDS = 900


@contextlib.contextmanager
def hold_host_lock(wait=LOCK_WAIT_SECONDS):
    """The exclusive host lock for the duration of the `with` block."""
    Path(H.LOCK_PATH).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(H.LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o644)

    def too_long(signum, frame):
        raise TimeoutError
    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(wait)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except TimeoutError:
        os.close(fd)
        pytest.fail(f"{H.LOCK_PATH} held by someone else for {wait} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    try:
        yield
    finally:
        os.close(fd)   # closing the descriptor releases the flock


@pytest.fixture
def host_lock():
    with hold_host_lock():
        yield


def require_real_host(*executables):
    """Fail every test loudly when the host is not set up (never skip)."""
    if os.geteuid() != 0:
        pytest.fail("real-host tests must run as root (they size hugepage pools, start VMs)")
    for exe in executables:
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} is not an executable: build with "
                        "`swift build -c release --static-swift-stdlib` and set HUGEPAGE_GUARD_BIN")
    if not H.libvirt_ready():
        pytest.fail("libvirtd does not answer `virsh -c qemu:///system list`: run scripts/setup-host")
    if " hugetlbfs " not in Path("/proc/mounts").read_text():
        pytest.fail("no hugetlbfs mount: run scripts/setup-host")


class Pool:
    """Sizes the kernel pools; restores every size it touched to what it found."""

    def __init__(self):
        self.saved = {k: H.counts(k)["nr"] for k in H.page_sizes()}

    def set_available(self, kib, n):
        H.set_available(kib, n)

    def set_nr(self, kib, n):
        H.set_nr(kib, n)

    def at_least(self, kib, n):
        """Make sure at least n pages of this size are available (grow the pool only)."""
        if H.available(kib) < n:
            H.set_available(kib, n)

    def restore(self):
        errors = []
        for kib, nr in self.saved.items():
            try:
                H.set_nr(kib, nr)
            except AssertionError as e:
                errors.append(str(e))
        if errors:
            raise H.HostError("could not restore pools: " + "; ".join(errors))


@pytest.fixture
def pool(host_lock):
    p = Pool()
    try:
        yield p
    finally:
        p.restore()
