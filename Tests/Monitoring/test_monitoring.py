"""The shipped Prometheus rules and Grafana dashboard (packaging/monitoring).

Needs promtool (Debian's `prometheus` package; scripts/setup-host installs it). Nothing here
touches the host: run with `python3 -m pytest Tests/Monitoring`.
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MON = REPO / "packaging" / "monitoring"
RULES = MON / "hugepage-guard.rules.yml"
RULE_TESTS = MON / "hugepage-guard.rules.test.yml"
DASHBOARD = MON / "hugepage-guard-dashboard.json"
# Every family the agent writes, from the golden file its unit test compares against.
AGENT_METRICS = REPO / "Tests" / "Fixtures" / "metrics" / "agent.prom"

ALERTS = {"HugepageGuardHeadroomBelowReserve", "HugepageGuardDrift", "HugepageGuardLeakedHugetlbfsFiles",
          "HugepageGuardRefusalsRising", "HugepageGuardReconcileFailing", "HugepageGuardReconcileStale",
          "HugepageGuardMetricsStale"}


def promtool(*args):
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool not found: run scripts/setup-host (it installs Debian's prometheus package)")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


def agent_families():
    return set(re.findall(r"^# TYPE (hugepage_guard_\w+) ", AGENT_METRICS.read_text(), re.M))


def rule_groups():
    """The rules file's records and alerts, read without a YAML library: `- record:` and
    `- alert:` lines, and each rule's `expr` (one line, or a `>-` block)."""
    text = RULES.read_text()
    records = re.findall(r"^\s*- record: (\S+)$", text, re.M)
    alerts = re.findall(r"^\s*- alert: (\S+)$", text, re.M)
    return records, alerts, text


def test_rules_passPromtoolCheck():
    p = promtool("check", "rules", str(RULES))
    assert p.returncode == 0, p.stdout + p.stderr


def test_rules_passTheirUnitTests_aFiringAndANonFiringSeriesForEachAlert():
    p = promtool("test", "rules", str(RULE_TESTS))
    assert p.returncode == 0, p.stdout + p.stderr
    tests = RULE_TESTS.read_text()
    tested = set(re.findall(r"alertname: (\S+)", tests))
    _, alerts, _ = rule_groups()
    assert set(alerts) == ALERTS
    assert tested == ALERTS, f"alerts without a unit test: {ALERTS - tested}"


def test_everyAlertHasAnActionableSummary():
    _, alerts, text = rule_groups()
    blocks = re.split(r"^\s*- alert: ", text, flags=re.M)[1:]
    assert len(blocks) == len(alerts)
    for block in blocks:
        name = block.split()[0]
        summary = re.search(r"summary: >-\n((?:\s{12}.*\n?)+)", block)
        assert summary, f"{name} has no summary"
        words = " ".join(summary.group(1).split())
        assert "{{ $labels.instance }}" in words, f"{name}: the summary must name the host"
        assert "`" in words, f"{name}: the summary must say what to run"


def test_rulesAndDashboard_nameOnlyMetricsTheAgentWrites():
    known = agent_families()
    records, _, text = rule_groups()
    # Metric names, not the recording rules' `level:metric:operation` names.
    used = set(re.findall(r"(?<![:\w])hugepage_guard_\w+\b(?!:)", text + DASHBOARD.read_text()))
    assert len(used) > 5 and used <= known, f"unknown metrics: {sorted(used - known)}"
    for r in records:
        assert r.split(":")[1] in known, r


def dashboard():
    return json.loads(DASHBOARD.read_text())


def test_dashboard_hasADatasourceVariable_andNoHardCodedDatasourceOrInstance():
    d = dashboard()
    for key, kind in [("title", str), ("uid", str), ("schemaVersion", int), ("panels", list), ("templating", dict),
                      ("time", dict), ("version", int)]:
        assert isinstance(d.get(key), kind), f"dashboard.{key} must be a {kind.__name__}"
    assert "__inputs" not in d, "an exported dashboard's __inputs ties it to one Grafana"
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["instance"]["type"] == "query"
    assert variables["instance"]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    text = DASHBOARD.read_text()
    for m in re.finditer(r'instance=\\"([^"\\]*)\\"', text):
        assert m.group(1) == "$instance", f"hard-coded instance {m.group(1)!r}"


def test_dashboard_panelsAreWellFormed():
    d = dashboard()
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    kinds = set()
    for p in d["panels"]:
        assert isinstance(p["id"], int) and p["title"], p
        g = p["gridPos"]
        assert all(isinstance(g[k], int) for k in "xywh"), p["title"]
        assert 0 <= g["x"] and g["w"] > 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]
        kinds.add(p["type"])
        if p["type"] == "row":
            continue
        assert p["type"] in {"timeseries", "bargauge", "table", "stat"}, p["type"]
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert p["targets"] and len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"] == p["datasource"] and t["expr"].strip(), p["title"]
    titles = " | ".join(p["title"] for p in d["panels"])
    for want in ("Fleet headroom", "Top hosts by committed", "Refusals over time", "Drift", "per node"):
        assert want in titles, f"no panel for {want!r}"


def test_dashboard_queriesAreValidPromQL(tmp_path):
    """Each panel query, with Grafana's variables filled in, as a recording rule that
    promtool parses."""
    exprs = [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]
    exprs.append(dashboard()["templating"]["list"][1]["definition"].replace("label_values(", "group by (instance) (")
                 .replace(", instance)", ")"))
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$instance", "host1")
        lines += [f"      - record: dashboard_query_{i}", f"        expr: {json.dumps(e)}"]
    f = tmp_path / "dashboard-queries.yml"
    f.write_text("\n".join(lines) + "\n")
    p = promtool("check", "rules", str(f))
    assert p.returncode == 0, p.stdout + p.stderr
