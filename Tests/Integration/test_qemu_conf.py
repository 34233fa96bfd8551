"""libvirt's own qemu.conf and mounts on the real libvirtd: the model against what a real start does.

Writes `hugetlbfs_mount` and `memory_backing_dir` into /etc/libvirt/qemu.conf, restarts libvirtd
(libvirt reads both only at daemon start), starts small domains, and compares the pages the
kernel pool lost with `hugepage-guard check` on the XML libvirt holds. A shape QEMU can't start
is started without the hook (it fails inside QEMU) and given to the hook (refused, our reason).
qemu.conf (bytes and mode) and libvirtd are put back as they were, under the host lock.
"""
import os
import stat
from pathlib import Path

import pytest

import hgtest as H

QEMU_CONF = Path("/etc/libvirt/qemu.conf")


@pytest.fixture
def qemu_conf(pool):
    """Appends lines to qemu.conf and restarts libvirtd; restores both afterwards."""
    saved = QEMU_CONF.read_bytes() if QEMU_CONF.exists() else None
    mode = stat.S_IMODE(QEMU_CONF.stat().st_mode) if saved is not None else 0o600

    def write(lines):
        QEMU_CONF.write_bytes((saved or b"") + ("\n# hgtest\n" + "\n".join(lines) + "\n").encode())
        os.chmod(QEMU_CONF, mode)
        H.restart_libvirtd()

    try:
        yield write
    finally:
        if saved is None:
            QEMU_CONF.unlink(missing_ok=True)
        else:
            QEMU_CONF.write_bytes(saved)
            os.chmod(QEMU_CONF, mode)
        H.restart_libvirtd()
        assert (QEMU_CONF.read_bytes() if QEMU_CONF.exists() else None) == saved


def defined_xml(name, tmp):
    path = Path(tmp) / f"{name}.defined.xml"
    path.write_text(H.virsh("dumpxml", "--inactive", name).stdout)
    return path


def hook(name, xml_path, tmp):
    env = {"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HUGEPAGE_GUARD_STATE_DIR": str(Path(tmp) / "state"),
           "HUGEPAGE_GUARD_CONFIG": str(Path(tmp) / "absent.conf")}
    return H.run([str(H.hook_bin()), name, "prepare", "begin", "-"], env=env, input=Path(xml_path).read_text())


def start_and_compare(domains, pool, xml, tmp):
    name, _ = domains.define(xml)
    demand, obj = H.model_demand(defined_xml(name, tmp))
    for kib, pages in demand.items():
        pool.at_least(kib, pages + (0 if kib == H.KIB_1G else 64))
    pool.at_least(H.KIB_2M, 256)
    before = H.available_all()
    p = domains.start(name, check=False)
    assert p.returncode == 0, f"{name} did not start (model {obj['demand']}):\n{p.stderr}"
    after = H.available_all()
    lost = {k: before[k] - after[k] for k in before if before[k] != after[k]}
    assert lost == demand, f"{name}: pool lost {lost}, model {demand}\nmodel: {obj}\nQEMU: {H.qemu_backends(name)}"
    H.remove_domain(name)
    return demand


def test_hugetlbfs_mount_list_makes_the_second_mount_the_default(qemu_conf, pool, domains, tmp_path):
    qemu_conf(['hugetlbfs_mount = ["/dev/hugepages", "/dev/hugepages1G"]'])

    # 1 GiB of <hugepages/>: one 1 GiB page, not 512 x 2 MiB.
    demand = start_and_compare(domains, pool, H.small_domain("hgtest-conf-default-1g", 1024 * 1024, page_kib=0), tmp_path)
    assert demand == {H.KIB_1G: 1}

    # 96 MiB of <hugepages/> can't start on 1 GiB pages: QEMU fails, the hook refuses first.
    name, _ = domains.define(H.small_domain("hgtest-conf-small-1g", 96 * 1024, page_kib=0))
    p = domains.start(name, check=False)
    assert p.returncode != 0 and "must be equal to or larger than page size" in p.stderr, p.stderr
    h = hook(name, defined_xml(name, tmp_path), tmp_path)
    assert h.returncode == 1, h.stderr
    assert "smaller than one 1 GiB page" in h.stderr, h.stderr


def test_memory_backing_dir_on_hugetlbfs_makes_shared_memory_take_hugepages(qemu_conf, pool, domains, tmp_path):
    qemu_conf(['memory_backing_dir = "/dev/hugepages"'])
    xml = H.small_domain("hgtest-conf-shared", 96 * 1024).replace(
        "<vcpu>", "<memoryBacking><access mode='shared'/></memoryBacking>\n  <vcpu>", 1)
    demand = start_and_compare(domains, pool, xml, tmp_path)
    assert demand == {H.KIB_2M: 48}


def test_a_mount_made_after_libvirtd_started_is_not_usable(pool, domains, tmp_path):
    """libvirtd reads hugetlbfs mounts only when it starts. Mount the 1 GiB hugetlbfs again after
    a restart: libvirt can't use it (no libvirt/qemu directory in it), and neither does the model."""
    mnt = "/dev/hugepages1G"
    opts = next((l.split()[3] for l in Path("/proc/mounts").read_text().splitlines()
                 if l.split()[1] == mnt and l.split()[2] == "hugetlbfs"), None)
    assert opts, f"no hugetlbfs at {mnt}: run scripts/setup-host"
    page = "1G"
    try:
        r = H.run(["umount", mnt])
        assert r.returncode == 0, f"cannot unmount {mnt} for the test: {r.stderr}"
        H.restart_libvirtd()                      # libvirtd now knows only the 2 MiB mount
        r = H.run(["mount", "-t", "hugetlbfs", "-o", f"pagesize={page}", "none", mnt])
        assert r.returncode == 0, r.stderr
        assert not Path(mnt, "libvirt").exists()

        xml = H.small_domain("hgtest-late-mount", 1024 * 1024, page_kib=H.KIB_1G)
        name, _ = domains.define(xml)
        live = defined_xml(name, tmp_path)
        _, obj = H.model_demand(live)
        assert obj["decision"] == "refuse" and any(r["kind"] == "no-hugetlbfs-mount" for r in obj["reasons"]), obj
        p = domains.start(name, check=False)
        assert p.returncode != 0 and "Unable to find any usable hugetlbfs mount" in p.stderr, p.stderr
        h = hook(name, live, tmp_path)
        assert h.returncode == 1 and "No hugetlbfs is mounted for 1 GiB pages" in h.stderr, h.stderr
    finally:
        if not any(l.split()[1] == mnt for l in Path("/proc/mounts").read_text().splitlines()):
            H.run(["mount", "-t", "hugetlbfs", "-o", f"pagesize={page}", "none", mnt])
        H.restart_libvirtd()                      # finds the mount again and makes libvirt/qemu in it
        assert Path(mnt, "libvirt", "qemu").is_dir()
