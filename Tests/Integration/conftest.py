"""Fixtures for the real-libvirtd/QEMU tests.

Conventions:
  * a test that changes host state (pool sizes, the hook file, the config file, libvirtd
    restarts) holds an exclusive flock on /run/lock/hugepage-guard-host.lock for its duration
    (`host_lock`, shared with Tests/AgentIntegration through hostfixtures.py), and every
    fixture restores what it found, in try/finally;
  * test domains are named `hgtest-...` and always destroyed and undefined in teardown;
  * nothing is skipped: if libvirtd, QEMU or the binaries are missing, every test fails.
"""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import hgtest as H
from hostfixtures import Pool, host_lock, pool, require_real_host  # noqa: F401 (fixtures)


@pytest.fixture(scope="session", autouse=True)
def real_host():
    """Fail every test loudly when the host is not set up (never skip)."""
    require_real_host(H.guard_bin(), H.hook_bin())
    print(f"\nintegration: domain type {H.domain_type()}, page sizes {H.page_sizes()}, "
          f"syslog sink {'in use' if H.sink_active() else 'not in use'}")


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
