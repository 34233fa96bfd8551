"""The agent against the real libvirtd, QEMU and hugepage pool."""
import fcntl
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import hgtest as H
from agenthelpers import define, hugepage_vm


def test_agent_logsStartAndStop_withPagesAndFreeCount(pool2m, domains, agent, tmp_path):
    a = agent()
    name = domains("life")
    define(name, hugepage_vm(name, mib=64), tmp_path)
    H.virsh("start", name)
    _, line = a.wait_line("event=started", "detail=booted", f"domain={name}")
    assert "pages_2048kB=32" in line and "nodes=any" in line and "free_2048kB=" in line, line
    assert "uuid=" in line and line.startswith("level=info ")
    H.virsh("destroy", name)
    _, line = a.wait_line("event=stopped", "detail=destroyed", f"domain={name}")
    assert "pages_2048kB=32" in line, line
    # Metrics follow the running set (rewritten by the reconciliation after the event);
    # the file is replaced atomically, never half-written.
    deadline = time.time() + 10
    while True:
        text = a.metrics.read_text()
        assert "hugepage_guard_reconcile_runs_total" in text
        if f'domain="{name}"' not in text or time.time() > deadline:
            break
        time.sleep(0.1)
    assert f'domain="{name}"' not in text


def test_agent_exportsCommittedPagesPerDomain_whileItRuns(pool2m, domains, agent, tmp_path):
    a = agent()
    name = domains("metrics")
    define(name, hugepage_vm(name, mib=64), tmp_path)
    H.virsh("start", name)
    a.wait_line("event=started", f"domain={name}")
    deadline = time.time() + 10
    while time.time() < deadline:
        text = a.metrics.read_text() if a.metrics.exists() else ""
        if f'domain="{name}"' in text:
            break
        time.sleep(0.2)
    assert f'hugepage_guard_domain_committed_pages{{domain="{name}",' in text, text
    assert [l for l in text.splitlines() if l.startswith(f'hugepage_guard_domain_committed_pages{{domain="{name}"')][0].endswith(" 32")


def test_agent_adoptsARunningVMMissingFromTheLedger_andRemovesAStaleEntry(pool2m, domains, agent, state_dir, tmp_path):
    name = domains("adopt")
    define(name, hugepage_vm(name, mib=64), tmp_path)
    H.virsh("start", name)
    # A ledger that says a VM which isn't running holds pages.
    (state_dir / "ledger").write_text(
        "# hugepage-guard ledger v1 (rewritten under flock; do not edit while VMs start)\n"
        "refusals=3\n"
        "domain=hgagent-ghost uuid=00000000-0000-0000-0000-000000000001 state=started op=prepare since=1 demand=2048@*:64\n")
    a = agent()
    a.wait_line("event=ledger_entry_removed", "domain=hgagent-ghost", "state=started")
    a.wait_line("event=adopted", f"domain={name}", "pages_2048kB=32")
    ledger = (state_dir / "ledger").read_text()
    assert "hgagent-ghost" not in ledger
    assert f"domain={name} " in ledger and "op=adopt" in ledger and "state=started" in ledger
    assert "refusals=3" in ledger
    # Planting another stale entry while the agent runs: the next reconciliation removes it.
    lock = os.open(state_dir / "ledger.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    text = (state_dir / "ledger").read_text()
    (state_dir / "ledger").write_text(text + "domain=hgagent-ghost2 state=started op=prepare since=1 demand=2048@*:8\n")
    os.close(lock)
    a.wait_line("event=ledger_entry_removed", "domain=hgagent-ghost2", timeout=10)
    assert "hgagent-ghost2" not in (state_dir / "ledger").read_text()


def _hold_pages(path, pages):
    """A process that creates a hugetlbfs file and fallocates `pages` 2 MiB pages in it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.posix_fallocate(fd, 0, pages * 2 * 1024 * 1024)
    os.close(fd)


def test_agent_reportsALeakedLibvirtHugetlbfsFile_andPagesHeldOutsideLibvirt(pool2m, agent):
    mount = next(m for m in H.run(["findmnt", "-rn", "-t", "hugetlbfs", "-o", "TARGET,OPTIONS"]).stdout.splitlines()
                 if "pagesize=2M" in m).split()[0]
    leak_dir = Path(mount) / "libvirt" / "qemu" / "999-hgagent-leak"
    leaked = leak_dir / "qemu_back_mem.pc.ram.hgagent"
    other = Path(mount) / "hgagent-not-libvirt"
    a = agent()
    try:
        _hold_pages(leaked, 4)
        _, line = a.wait_line("event=leaked_hugetlbfs_file", f"path={leaked}", timeout=10)
        assert "pages=4" in line and "page_size=2048kB" in line and line.startswith("level=warning"), line
        status = json.loads(H.run([str(H.guard_bin()), "status", "--json"],
                                  env={**os.environ, "HUGEPAGE_GUARD_STATE_DIR": str(a.state_dir)}).stdout)
        assert {"path": str(leaked), "pageSizeKiB": 2048, "pages": 4} in status["leakedFiles"], status
        _hold_pages(other, 3)
        _, line = a.wait_line("event=drift", "cause=non_libvirt_consumer", "page_size=2048kB", timeout=10)
        assert "pages=3" in line, line
    finally:
        for p in (leaked, other):
            if p.exists():
                p.unlink()
        if leak_dir.exists():
            leak_dir.rmdir()
    a.wait_line("event=leaked_hugetlbfs_file_cleared", timeout=10)
    a.wait_line("event=drift_cleared", timeout=10)


def test_agent_followsADimmHotplug_andTheCommitmentGrows(pool2m, domains, agent, tmp_path):
    a = agent()
    name = domains("dimm")
    define(name, hugepage_vm(name, mib=64, dimm_slots=True), tmp_path)
    H.virsh("start", name)
    a.wait_line("event=started", f"domain={name}", "pages_2048kB=32")
    dimm = tmp_path / "dimm.xml"
    dimm.write_text("<memory model='dimm'><source><pagesize unit='KiB'>2048</pagesize></source>"
                    "<target><size unit='MiB'>128</size><node>0</node></target></memory>")
    H.virsh("attach-device", name, str(dimm), "--live")
    _, line = a.wait_line("event=device_added", f"domain={name}")
    assert "pages_2048kB=96" in line, line
    _, line = a.wait_line("event=commitment_changed", f"domain={name}")
    assert "pages_2048kB=32->96" in line, line
    status = json.loads(H.run([str(H.guard_bin()), "status", "--json"]).stdout)
    dom = next(d for d in status["domains"] if d["domain"] == name)
    assert sum(i["pages"] for i in dom["demand"] if i["pageSizeKiB"] == 2048) == 96


def test_agent_reconnectsAfterLibvirtdRestarts_andLogsALaterStart(pool2m, domains, agent, tmp_path):
    a = agent()
    name = domains("reconnect")
    define(name, hugepage_vm(name, mib=32), tmp_path)
    mark = a.count()
    H.restart_libvirtd()
    a.wait_line("event=libvirt_disconnected", after=mark, timeout=60)
    a.wait_line("event=libvirt_connected", after=mark, timeout=60)
    a.wait_line("event=reconciled", "trigger=reconnect", after=mark, timeout=60)
    H.virsh("start", name)
    _, line = a.wait_line("event=started", f"domain={name}", after=mark, timeout=30)
    assert "pages_2048kB=16" in line, line


def test_agent_onSIGTERM_deregistersClosesAndExitsZero(agent):
    a = agent()
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(10) == 0
    assert "event=agent_stopping signal=SIGTERM" in a.text()


def test_agent_sendsReadyToNotifySocket(state_dir):
    import socket
    from agenthelpers import AgentProcess
    sock_path = state_dir / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(sock_path))
    s.settimeout(20)
    a = AgentProcess(state_dir, extra_env={"NOTIFY_SOCKET": str(sock_path)})
    try:
        msg = s.recv(256).decode()
        assert msg == "READY=1"
        a.wait_line("event=reconciled", "trigger=start")
    finally:
        a.stop()
        s.close()


def _status_table(out):
    """The table's three parts: pool rows (cells), domain rows (cells), warning lines."""
    blocks = out.split("\n\n")
    assert len(blocks) == 3, out
    pool_lines = blocks[0].splitlines()
    assert pool_lines[0].split() == ["page", "size", "node", "total", "free", "in", "flight", "committed",
                                     "drift", "reserve", "headroom"], out
    pools = [l.split() for l in pool_lines[1:] if not l.startswith("drift '?'")]
    dom_lines = blocks[1].splitlines()
    assert dom_lines[0] == "Running VMs holding hugepages:", out
    domains = [l.split("  ") for l in dom_lines[2:]]
    warn = blocks[2].splitlines()
    warnings = [] if warn == ["No warnings."] else [w.removeprefix("  - ") for w in warn[1:]]
    if warnings:
        assert warn[0] == "Warnings:", out
    return pools, domains, warnings


def test_status_withoutTheAgent_showsTheTableDomainsAndWarnings(pool2m, domains, tmp_path):
    name = domains("status")
    define(name, hugepage_vm(name, mib=64), tmp_path)
    H.virsh("start", name)
    uuid = H.virsh("domuuid", name).stdout.strip()
    p = H.run([str(H.guard_bin()), "status"])
    assert p.returncode == 0, p.stderr
    j = json.loads(H.run([str(H.guard_bin()), "status", "--json"]).stdout)
    pools, doms, warnings = _status_table(p.stdout)

    # The whole-host 2M row says what the JSON says, and its committed count is the sum of
    # the running VMs' 2M pages, ours included.
    row = next(r for r in pools if r[:2] == ["2M", "all"])
    jrow = next(r for r in j["pools"] if r["pageSizeKiB"] == 2048 and r["node"] is None)
    drift = jrow["drift"]
    assert row[2:] == [str(jrow["total"]), str(jrow["free"]), str(jrow["reservedInFlight"]), str(jrow["committed"]),
                       f"+{drift}" if drift > 0 else str(drift), str(jrow["hostReserve"]), str(jrow["headroom"])], p.stdout
    ours = next(d for d in j["domains"] if d["domain"] == name)
    assert ours["uuid"] == uuid and sum(i["pages"] for i in ours["demand"] if i["pageSizeKiB"] == 2048) == 32
    assert jrow["committed"] == sum(i["pages"] for d in j["domains"] for i in d["demand"] if i["pageSizeKiB"] == 2048)

    # Our VM's row: name, uuid, pages.
    cells = next([c.strip() for c in d if c.strip()] for d in doms if d[0].strip() == name)
    assert cells[1:3] == [uuid, "32 × 2M"], p.stdout
    assert warnings == j["warnings"], p.stdout


def _numa_maps_hugepages(pid):
    """{(page_size_kb, node): pages} summed over the `huge` lines of /proc/<pid>/numa_maps."""
    out = {}
    for line in Path(f"/proc/{pid}/numa_maps").read_text().splitlines():
        tokens = line.split()
        if "huge" not in tokens:
            continue
        kv = dict(t.split("=", 1) for t in tokens[2:] if "=" in t)
        size = int(kv["kernelpagesize_kB"])
        for k, v in kv.items():
            if k.startswith("N") and k[1:].isdigit():
                out[(size, k[1:])] = out.get((size, k[1:]), 0) + int(v)
    return out


def test_pagesPerNode_comeFromTheRunningQEMUsNumaMaps(pool2m, domains, agent, tmp_path):
    a = agent()
    name = domains("numa")
    define(name, hugepage_vm(name, mib=64), tmp_path)
    H.virsh("start", name)
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())
    kernel = _numa_maps_hugepages(pid)
    assert sum(v for (size, _), v in kernel.items() if size == 2048) == 32, kernel

    status = json.loads(H.run([str(H.guard_bin()), "status", "--json"]).stdout)
    ours = next(d for d in status["domains"] if d["domain"] == name)
    assert ours["pagesPerNode"] == [{"pageSizeKiB": 2048, "node": node, "pages": pages, "source": "numa_maps"}
                                    for (size, node), pages in sorted(kernel.items()) if size == 2048], ours
    # Every node row's drift is known, and is exactly in use minus what the VMs hold there.
    for row in (r for r in status["pools"] if r["pageSizeKiB"] == 2048 and r["node"] is not None):
        assert row["drift"] is not None, row
        held = sum(s["pages"] for d in status["domains"] for s in d["pagesPerNode"]
                   if s["pageSizeKiB"] == 2048 and s["node"] == str(row["node"]))
        assert row["committed"] == held and row["drift"] == row["inUse"] - held, row

    a.wait_line("event=started", f"domain={name}")
    deadline = time.time() + 10
    want = {f'hugepage_guard_domain_pages{{domain="{name}",uuid="{ours["uuid"]}",page_size_kb="2048",node="{node}",'
            f'source="numa_maps"}} {pages}' for (size, node), pages in kernel.items() if size == 2048}
    while True:
        lines = set(a.metrics.read_text().splitlines()) if a.metrics.exists() else set()
        if want <= lines or time.time() > deadline:
            break
        time.sleep(0.2)
    assert want <= lines, "\n".join(sorted(l for l in lines if "domain_pages" in l))
