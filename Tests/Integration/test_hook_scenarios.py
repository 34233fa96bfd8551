"""The hook installed on the real libvirtd, QEMU and kernel pool.

Each test installs hugepage-guard-hook as /etc/libvirt/hooks/qemu (the `hook` fixture, which
also hides any host config so the defaults apply), sizes the pool relative to the model's
demand, and checks what an admin would see. Fixture order matters: `hook` before `pool`
before `domains`, so domains are destroyed while the hook is still installed.
"""
import subprocess
import time

import hgtest as H

MIB = 1024
P2M = H.KIB_2M
P1G = H.KIB_1G


def vm(domains, name, mem_mib, page_kib=P2M):
    """Define a small VM; return (name, model demand in pages for that page size)."""
    name, path = domains.define(H.small_domain(name, mem_mib * MIB, page_kib))
    demand, obj = H.model_demand(path)
    assert set(demand) <= {page_kib}, obj
    return name, demand.get(page_kib, 0)


def assert_no_qemu_oom(text):
    for pat in H.QEMU_OOM_PATTERNS:
        assert pat not in text, f"a start failed inside QEMU ({pat!r}), not in the hook:\n{text}"


def assert_our_refusal(err, name, pages):
    assert_no_qemu_oom(err)
    assert "hugepage-guard" in err, f"refusal does not name hugepage-guard:\n{err}"
    assert name in err, f"refusal does not name the domain {name}:\n{err}"
    assert str(pages) in err, f"refusal does not give the {pages} pages needed:\n{err}"


def pool_snapshot():
    return {k: H.counts(k) for k in H.page_sizes()}


def test_vm_that_fits_starts(hook, pool, domains, syslog):
    name, pages = vm(domains, "hgtest-hook-fits", 64)
    assert pages > 0
    pool.set_available(P2M, pages + 8)
    syslog.mark()
    domains.start(name)
    assert H.dom_state(name) == "running"
    assert H.available(P2M) == 8, "the VM did not take exactly the pages the model computed"
    line = syslog.wait_for("decision=admit", name)
    assert H.decision_line_matches(line, "admit", name), line


def test_vm_that_does_not_fit_is_refused(hook, pool, domains, syslog):
    name, pages = vm(domains, "hgtest-hook-too-big", 256)
    pool.set_available(P2M, pages // 2)
    before_pool = pool_snapshot()
    syslog.mark()

    p = domains.start(name, check=False)
    print(f"\n--- what the admin sees ---\n{p.stderr}")
    assert p.returncode != 0, "a VM twice the size of the pool started"
    assert_our_refusal(p.stderr, name, pages)
    assert H.dom_state(name) == "shut off"
    assert pool_snapshot() == before_pool, "a refused start changed the kernel pool"
    assert not H.reservation_mentions(name), \
        f"the ledger still holds the refused domain:\n{H.ledger_text()}"
    line = syslog.wait_for("decision=refuse", name)
    assert H.decision_line_matches(line, "refuse", name), line


def test_1g_vm_needs_a_1g_pool(hook, pool, domains, syslog):
    name, pages = vm(domains, "hgtest-hook-1g", 1024, P1G)
    assert pages >= 1
    pool.set_available(P1G, 0)
    p = domains.start(name, check=False)
    print(f"\n--- 1 GiB VM, no 1 GiB pool ---\n{p.stderr}")
    assert p.returncode != 0, "a 1 GiB-page VM started with no free 1 GiB page"
    assert_our_refusal(p.stderr, name, pages)
    assert H.dom_state(name) == "shut off"

    pool.set_available(P1G, pages)
    syslog.mark()
    domains.start(name)
    assert H.dom_state(name) == "running"
    assert H.available(P1G) == 0
    line = syslog.wait_for("decision=admit", name)
    assert H.decision_line_matches(line, "admit", name), line


def test_parallel_starts_never_over_admit(hook, pool, domains):
    n = 6
    vms = [vm(domains, f"hgtest-hook-par{i}", 64) for i in range(n)]
    per = vms[0][1]
    avail = per * 3 + per // 2          # room for 3.5 VMs: 3 fit, the other 3 must be refused
    pool.set_available(P2M, avail)

    procs = [(name, subprocess.Popen(["virsh", "-c", H.URI, "start", name],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
             for name, _ in vms]
    results = {}
    for name, p in procs:
        _, err = p.communicate(timeout=300)
        results[name] = (p.returncode, err)

    admitted = [name for name, (rc, _) in results.items() if rc == 0]
    refused = {name: err for name, (rc, err) in results.items() if rc != 0}
    print(f"\nadmitted {len(admitted)} of {n}: {sorted(admitted)}")
    for name, err in refused.items():
        assert_our_refusal(err, name, per)
        assert H.dom_state(name) == "shut off"
    for name in admitted:
        assert H.dom_state(name) == "running", f"{name} was admitted but is not running"
    assert len(admitted) * per <= avail, "parallel starts over-admitted the pool"
    assert admitted, "every parallel start was refused, though 3 fit"
    assert H.available(P2M) == avail - len(admitted) * per


def test_stop_releases_the_reservation(hook, pool, domains, syslog):
    (a, per), (b, _) = vm(domains, "hgtest-hook-stop-a", 64), vm(domains, "hgtest-hook-stop-b", 64)
    pool.set_available(P2M, per + per // 2)
    domains.start(a)
    p = domains.start(b, check=False)
    assert p.returncode != 0, "two VMs started in a pool for one and a half"
    assert_our_refusal(p.stderr, b, per)

    H.virsh("destroy", a)
    assert not H.reservation_mentions(a), f"ledger still holds {a} after it stopped:\n{H.ledger_text()}"
    syslog.mark()
    domains.start(b)
    assert H.dom_state(b) == "running"
    line = syslog.wait_for("decision=admit", b)
    assert H.decision_line_matches(line, "admit", b), line


def test_vms_survive_libvirtd_restart(hook, pool, domains):
    (a, per), (b, _) = vm(domains, "hgtest-hook-rc-a", 64), vm(domains, "hgtest-hook-rc-b", 64)
    big, big_pages = vm(domains, "hgtest-hook-rc-big", 512)
    pool.set_available(P2M, 2 * per + 16)
    domains.start(a)
    domains.start(b)
    ids = {a: H.dom_id(a), b: H.dom_id(b)}

    H.restart_libvirtd()          # reconnect begin runs the hook once per running domain
    time.sleep(1)
    for name, domid in ids.items():
        assert H.dom_state(name) == "running", f"{name} did not survive the libvirtd restart"
        assert H.dom_id(name) == domid, f"{name} was restarted, not reconnected"
    assert H.available(P2M) == 16

    # The hook is still in charge after the restart.
    p = domains.start(big, check=False)
    assert p.returncode != 0, "a too-big VM started after the libvirtd restart"
    assert_our_refusal(p.stderr, big, big_pages)


def test_restore_into_shrunk_pool_is_refused(hook, pool, domains, tmp_path, syslog):
    name, pages = vm(domains, "hgtest-hook-restore", 64)
    pool.set_available(P2M, pages + 8)
    domains.start(name)
    image = tmp_path / "hgtest-hook-restore.save"
    H.virsh("save", name, str(image), timeout=300)
    assert H.dom_state(name) == "shut off"

    pool.set_available(P2M, pages // 2)      # the pool shrank while the VM was saved
    before_pool = pool_snapshot()
    syslog.mark()
    p = H.virsh("restore", str(image), check=False, timeout=300)
    print(f"\n--- restore into a shrunk pool ---\n{p.stderr}")
    assert p.returncode != 0, "restore into a pool too small for the VM succeeded"
    assert_our_refusal(p.stderr, name, pages)
    assert H.dom_state(name) == "shut off"
    assert pool_snapshot() == before_pool, "a refused restore changed the kernel pool"
    assert not H.reservation_mentions(name), H.ledger_text()
    line = syslog.wait_for("decision=refuse", name)
    assert H.decision_line_matches(line, "refuse", name), line

    # Control: with the pool back, the same image restores.
    pool.set_available(P2M, pages + 8)
    H.virsh("restore", str(image), timeout=300)
    assert H.dom_state(name) == "running"
