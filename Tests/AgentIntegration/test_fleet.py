"""End to end on this machine: the real agent writes its metrics, Debian's node-exporter
exports them through its textfile collector, and a real Prometheus scrapes it with the
shipped rules loaded. Every process is ours, on 127.0.0.1 and free ports, and stopped at the
end; every file lives under the test's own temporary directory, which is removed.
"""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import hgtest as H
from agenthelpers import AgentProcess, define, hugepage_vm, stop_process

RULES = H.REPO / "packaging" / "monitoring" / "hugepage-guard.rules.yml"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def executable(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run scripts/setup-host (Debian's prometheus and prometheus-node-exporter)")
    return path


class Daemon:
    """A process we start, with its output in a file under our temporary directory."""

    def __init__(self, argv, log):
        self.log = log
        self.out = open(log, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=subprocess.STDOUT)

    def stop(self):
        stop_process(self.proc, 15)
        self.out.close()

    def tail(self):
        return Path(self.log).read_text()[-3000:]


class Prometheus:
    def __init__(self, url, daemon):
        self.url = url
        self.daemon = daemon

    def get(self, path, **params):
        with urllib.request.urlopen(f"{self.url}{path}?{urllib.parse.urlencode(params)}", timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        """{frozenset(labels): value} of an instant query."""
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in self.get("/api/v1/query", query=expr)["result"]}

    def wait(self, what, check, timeout=90):
        """Polls until `check()` returns something true; fails with the last answer."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.daemon.proc.poll() is not None:
                pytest.fail(f"prometheus exited with {self.daemon.proc.returncode}:\n{self.daemon.tail()}")
            try:
                last = check()
            except (OSError, ValueError) as e:   # not listening yet
                last = e
            else:
                if last:
                    return last
            time.sleep(0.5)
        pytest.fail(f"{what}: not seen within {timeout}s; last answer: {last!r}")


@pytest.fixture
def fleet(state_dir):
    """The agent, node-exporter and Prometheus, wired together; all stopped afterwards."""
    started = []
    try:
        agent = AgentProcess(state_dir, interval=1.0)
        started.append(agent)
        agent.wait_line("event=reconciled", "trigger=start")
        ne_port, prom_port = free_port(), free_port()
        started.append(Daemon([executable("prometheus-node-exporter"), f"--web.listen-address=127.0.0.1:{ne_port}",
                               "--collector.disable-defaults", "--collector.textfile",
                               f"--collector.textfile.directory={agent.metrics.parent}"], state_dir / "node-exporter.log"))
        config = state_dir / "prometheus.yml"
        config.write_text(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['127.0.0.1:{ne_port}']
""")
        prom = Daemon([executable("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={state_dir / 'tsdb'}",
                       f"--web.listen-address=127.0.0.1:{prom_port}"], state_dir / "prometheus.log")
        started.append(prom)
        yield agent, Prometheus(f"http://127.0.0.1:{prom_port}", prom)
    finally:
        for p in reversed(started):
            p.stop()
        for p in started:
            assert p.proc.poll() is not None, "a process we started is still running"


def one_value(prom, expr):
    r = prom.query(expr)
    return next(iter(r.values())) if len(r) == 1 else None


def test_fleet_prometheusSeesTheVMsPages_theLeakAsDrift_andTheLeakAlert(pool2m, domains, fleet, state_dir):
    agent, prom = fleet
    prom.wait("the shipped rules loaded",
              lambda: {r["name"] for g in prom.get("/api/v1/rules")["groups"] for r in g["rules"]} >= {"HugepageGuardLeakedHugetlbfsFiles"})

    name = domains("fleet")
    define(name, hugepage_vm(name, mib=64), state_dir)
    H.virsh("start", name)
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text())
    assert pid > 0
    committed = f'hugepage_guard_domain_committed_pages{{domain="{name}",page_size_kb="2048"}}'
    assert prom.wait("the VM's committed pages", lambda: one_value(prom, committed)) == 32
    on_nodes = f'sum(hugepage_guard_domain_pages{{domain="{name}",page_size_kb="2048",source="numa_maps"}})'
    assert prom.wait("the VM's pages per node from numa_maps", lambda: one_value(prom, on_nodes)) == 32
    # node-exporter parsed the agent's file without complaint (it rejects a malformed one).
    assert prom.wait("node-exporter's textfile verdict", lambda: one_value(prom, "node_textfile_scrape_error") is not None)
    assert one_value(prom, "node_textfile_scrape_error") == 0
    fleet_committed = 'page_size_kb:hugepage_guard_committed_pages:sum{page_size_kb="2048"}'
    assert prom.wait("the fleet total (recording rule)", lambda: one_value(prom, fleet_committed)) >= 32

    drift = 'hugepage_guard_drift_pages{page_size_kb="2048",node="all"}'
    before = prom.wait("drift before the leak", lambda: [one_value(prom, drift)] if one_value(prom, drift) is not None else None)[0]

    mount = next(m.split()[0] for m in H.run(["findmnt", "-rn", "-t", "hugetlbfs", "-o", "TARGET,OPTIONS"]).stdout.splitlines()
                 if "pagesize=2M" in m)
    leak_dir = Path(mount) / "libvirt" / "qemu" / "998-hgagent-fleet-leak"
    leaked = leak_dir / "qemu_back_mem.pc.ram.hgagent"
    try:
        leak_dir.mkdir(parents=True)
        fd = os.open(leaked, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, 4 * 2 * 1024 * 1024)
        finally:
            os.close(fd)
        assert prom.wait("the leaked pages", lambda: one_value(prom, 'hugepage_guard_leaked_hugetlbfs_pages{page_size_kb="2048"}') == 4)
        assert prom.wait("drift equal to the leak's pages", lambda: one_value(prom, drift) == before + 4)

        def leak_alert():
            alerts = prom.get("/api/v1/alerts")["alerts"]
            return [a for a in alerts if a["labels"]["alertname"] == "HugepageGuardLeakedHugetlbfsFiles"
                    and a["state"] in ("pending", "firing")]
        alert = prom.wait("the leak alert pending or firing", leak_alert)[0]
        assert alert["labels"]["page_size_kb"] == "2048" and float(alert["value"]) == 4, alert
        assert "delete them to free the pages" in alert["annotations"]["summary"], alert
    finally:
        if leaked.exists():
            leaked.unlink()
        if leak_dir.exists():
            leak_dir.rmdir()
    assert prom.wait("the leak gone", lambda: one_value(prom, 'hugepage_guard_leaked_hugetlbfs_pages{page_size_kb="2048"}') is None)

    H.virsh("destroy", name)
    assert prom.wait("the stopped VM's series gone", lambda: prom.query(committed) == {})
