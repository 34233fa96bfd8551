"""Fixtures for the real-libvirtd/QEMU tests.

Conventions:
  * a test that changes host state (pool sizes, the hook file, the config file, libvirtd
    restarts) holds an exclusive flock on /run/lock/hugepage-guard-host.lock for its duration
    (`host_lock`), and every fixture restores what it found, in try/finally;
  * test domains are named `hgtest-...` and always destroyed and undefined in teardown;
  * nothing is skipped: if libvirtd, QEMU or the binaries are missing, every test fails.
"""
import fcntl
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

import hgtest as H


@pytest.fixture(scope="session", autouse=True)
def real_host():
    """Fail every test loudly when the host is not set up (never skip)."""
    if os.geteuid() != 0:
        pytest.fail("integration tests must run as root (they size hugepage pools, start VMs)")
    for exe in (H.guard_bin(), H.hook_bin()):
        if not os.access(exe, os.X_OK):
            pytest.fail(f"{exe} is not an executable: build with "
                        "`swift build -c release --static-swift-stdlib` and set HUGEPAGE_GUARD_BIN")
    if not H.libvirt_ready():
        pytest.fail("libvirtd does not answer `virsh -c qemu:///system list`: run scripts/setup-host")
    mounts = Path("/proc/mounts").read_text()
    if " hugetlbfs " not in mounts:
        pytest.fail("no hugetlbfs mount: run scripts/setup-host")
    print(f"\nintegration: domain type {H.domain_type()}, page sizes {H.page_sizes()}, "
          f"syslog sink {'in use' if H.sink_active() else 'not in use'}")


@pytest.fixture
def host_lock():
    Path(H.LOCK_PATH).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(H.LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o644)
    def too_long(signum, frame):
        raise TimeoutError
    # A blocking flock (woken as soon as the holder lets go, unlike a polling loop that
    # others can starve), bounded by an alarm.
    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(900)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except TimeoutError:
        os.close(fd)
        pytest.fail(f"{H.LOCK_PATH} held by someone else for 15 minutes")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    try:
        yield
    finally:
        os.close(fd)


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


class Domains:
    """Defines test domains and always destroys and undefines them."""

    def __init__(self, tmp):
        self.names = []
        self.tmp = Path(tmp)

    def define(self, xml_text):
        name = H.xml_name(xml_text)
        assert name.startswith(H.PREFIX), name
        H.remove_domain(name)            # a leftover of an interrupted run
        path = self.tmp / f"{name}.xml"
        path.write_text(xml_text)
        self.names.append(name)
        H.virsh("define", str(path))
        return name, path

    def start(self, name, check=True):
        return H.virsh("start", name, check=check, timeout=300)

    def cleanup(self):
        for name in reversed(self.names):
            try:
                H.remove_domain(name)
            except Exception as e:  # keep cleaning the others
                print(f"cleanup of {name} failed: {e}")


@pytest.fixture
def domains(pool, tmp_path):
    d = Domains(tmp_path)
    try:
        yield d
    finally:
        d.cleanup()


def _backup(path, store):
    """Move whatever is at path aside (file or symlink); return a restore function."""
    path = Path(path)
    if path.is_symlink():
        target = os.readlink(path)
        path.unlink()
        return lambda: (_unlink(path), os.symlink(target, path))
    if path.exists():
        dst = Path(store) / (path.name + ".orig")
        shutil.move(str(path), dst)
        return lambda: (_unlink(path), shutil.move(str(dst), path))
    return lambda: _unlink(path)


def _unlink(path):
    try:
        Path(path).unlink()
    except FileNotFoundError:
        pass


@pytest.fixture
def no_config(host_lock):
    """Hide any host config for the test (missing file = defaults); restore it after."""
    store = tempfile.mkdtemp(prefix="hgtest-conf-")
    restore = _backup(H.CONFIG_PATH, store)
    try:
        yield
    finally:
        restore()
        shutil.rmtree(store, ignore_errors=True)


@pytest.fixture
def hook(host_lock, no_config):
    """Install our hook as /etc/libvirt/hooks/qemu (symlink), SIGHUP libvirtd; undo after."""
    store = tempfile.mkdtemp(prefix="hgtest-hook-")
    H.HOOK_PATH.parent.mkdir(parents=True, exist_ok=True)
    restore = _backup(H.HOOK_PATH, store)
    try:
        os.symlink(H.hook_bin(), H.HOOK_PATH)
        H.reload_libvirtd()
        yield H.HOOK_PATH
    finally:
        try:
            restore()
        finally:
            shutil.rmtree(store, ignore_errors=True)
            H.reload_libvirtd()


@pytest.fixture
def syslog():
    return H.SyslogWatch()
