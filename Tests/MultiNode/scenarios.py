#!/usr/bin/env python3
"""The multi-node scenarios, run inside the test guest (a real multi-node kernel, libvirtd and
QEMU, with hugepage-guard's hook installed in libvirt).

    scenarios.py [NAME...]     run the named scenarios, or every one for this guest's node count
    scenarios.py --list N      print the scenarios written for an N-node guest

Each scenario sizes the per-node pools itself, starts real domains from domains/*.xml and
checks what the guard said against what the kernel did. Every result line is written to
out/results.log and synced at once, so a guest that hangs later still leaves it:

    PASS name
    FAIL name: what differed
      note: a fact seen on the way (pool counts, QEMU's error, numa_maps)

The same assertions run on fixture trees captured from this guest's kernel, in
Tests/HookBinaryTests/MultiNodeScenarioTests.swift, Tests/HugepageGuardAgentTests/MultiNodeReconcileTests.swift
and, for the growth scenario, Tests/HugepageGuardHostTests/MultiNodeGrowthTests.swift.
"""
import json
import os
import re
import subprocess
import sys
import threading
import time

SHARE = "/mnt/hpg"
OUT = SHARE + "/out"
DOMAINS = SHARE + "/domains"
CONFIG = "/etc/hugepage-guard/hugepage-guard.conf"
URI = "qemu:///system"
TWO_MIB = 2048
NODE_ROOT = "/sys/devices/system/node"

_results = None


def emit(line):
    global _results
    if _results is None:
        _results = open(OUT + "/results.log", "a")
    _results.write(line + "\n")
    _results.flush()
    os.fsync(_results.fileno())
    print(line, flush=True)


class ScenarioFailed(Exception):
    pass


class Run:
    """One scenario's checks: every failed expectation is kept, the scenario fails if any did."""

    def __init__(self, name):
        self.name = name
        self.failures = []

    def note(self, text):
        emit("  note: " + text.replace("\n", " | "))

    def expect(self, ok, text):
        if not ok:
            self.failures.append(text)
            emit("  ✗ " + text.replace("\n", " | "))
        return ok

    def require(self, ok, text):
        if not self.expect(ok, text):
            raise ScenarioFailed(text)


# ---------------------------------------------------------------------------------------------
# The host: pools, libvirt, the guard's config
# ---------------------------------------------------------------------------------------------

def nodes():
    return sorted(int(d[4:]) for d in os.listdir(NODE_ROOT) if re.fullmatch(r"node\d+", d))


def read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def node_file(node, kb, name):
    return "%s/node%d/hugepages/hugepages-%dkB/%s" % (NODE_ROOT, node, kb, name)


def counts(kb=TWO_MIB):
    """{node: {"nr":, "free":}} from the kernel's per-node counters."""
    return {n: {"nr": read_int(node_file(n, kb, "nr_hugepages")), "free": read_int(node_file(n, kb, "free_hugepages"))}
            for n in nodes()}


def counts_text(c):
    return " ".join("node%d nr=%d free=%d" % (n, v["nr"], v["free"]) for n, v in sorted(c.items()))


def set_pool(run, per_node, kb=TWO_MIB):
    """Sizes every node's pool (nodes not named get 0) and checks the kernel gave exactly that."""
    for n in nodes():
        with open(node_file(n, kb, "nr_hugepages"), "w") as f:
            f.write(str(per_node.get(n, 0)))
    got = counts(kb)
    want = {n: per_node.get(n, 0) for n in nodes()}
    run.require({n: v["nr"] for n, v in got.items()} == want,
                "pool sizing: asked %s, the kernel has %s" % (want, counts_text(got)))
    run.note("pool " + counts_text(got))
    return got


def virsh(*args, timeout=300):
    return subprocess.run(["virsh", "-c", URI] + list(args), capture_output=True, text=True, timeout=timeout)


def domain_xml(file, name=None):
    with open(os.path.join(DOMAINS, file)) as f:
        xml = f.read()
    if name:
        xml = re.sub(r"<name>[^<]*</name>", "<name>%s</name>" % name, xml, count=1)
    return xml


def define(run, file, name=None):
    xml = domain_xml(file, name)
    name = name or re.search(r"<name>([^<]*)</name>", xml).group(1)
    path = "/tmp/%s.xml" % name
    with open(path, "w") as f:
        f.write(xml)
    r = virsh("define", path)
    run.require(r.returncode == 0, "virsh define %s: %s" % (name, r.stderr.strip()))
    return name


def start(name):
    """(ok, error text) of `virsh start`."""
    r = virsh("start", name)
    return r.returncode == 0, (r.stderr.strip() or r.stdout.strip())


def qemu_failed(text):
    return any(s in text for s in ("unable to map backing store", "Cannot allocate memory", "os_mem_prealloc",
                                   "failed to resize memfd", "must be equal to or larger than page size"))


def guard_refused(text):
    return "hugepage-guard refused" in text


def qemu_pid(name):
    try:
        with open("/run/libvirt/qemu/%s.pid" % name) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def numa_maps_pages(pid, kb=TWO_MIB):
    """{node: pages} of the process's hugetlb mappings of that page size, from /proc/PID/numa_maps."""
    per = {}
    with open("/proc/%d/numa_maps" % pid) as f:
        for line in f:
            if " huge " not in " %s " % line or ("kernelpagesize_kB=%d" % kb) not in line:
                continue
            for m in re.finditer(r"\bN(\d+)=(\d+)", line):
                per[int(m.group(1))] = per.get(int(m.group(1)), 0) + int(m.group(2))
    return per


def write_config(text):
    os.makedirs(os.path.dirname(CONFIG), exist_ok=True)
    with open(CONFIG, "w") as f:
        f.write(text)


def clean_up():
    """Every domain destroyed and undefined, no config, every pool at 0."""
    r = virsh("list", "--all", "--name")
    for name in [l.strip() for l in r.stdout.splitlines() if l.strip()]:
        virsh("destroy", name)
        virsh("undefine", name)
    if os.path.exists(CONFIG):
        os.unlink(CONFIG)
    for kb in (TWO_MIB,):
        for n in nodes():
            with open(node_file(n, kb, "nr_hugepages"), "w") as f:
                f.write("0")


def guard_check(xml_file):
    r = subprocess.run(["hugepage-guard", "check", "--xml", os.path.join(DOMAINS, xml_file), "--json"],
                       capture_output=True, text=True, timeout=120)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"unparsable": r.stdout, "stderr": r.stderr}


def wait_for(what, probe, timeout=240, interval=2):
    deadline = time.monotonic() + timeout
    while True:
        v = probe()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# The agent's figures
# ---------------------------------------------------------------------------------------------

METRIC = re.compile(r'^(\w+)(?:\{([^}]*)\})?\s+(\S+)$')


def parse_metrics(text):
    """[(name, {label: value}, float)] from Prometheus text."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = METRIC.match(line.strip())
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


class Agent:
    """`hugepage-guard agent` writing its metrics to a private file, for one scenario."""

    def __init__(self):
        os.makedirs("/tmp/hg-metrics", exist_ok=True)
        self.path = "/tmp/hg-metrics/hugepage_guard.prom"
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.log = open(OUT + "/agent.log", "a")
        self.proc = subprocess.Popen(["hugepage-guard", "agent", "--interval", "3", "--metrics-path", self.path],
                                     stdout=self.log, stderr=self.log)

    def metrics_showing(self, domain, timeout=240):
        """The first metrics text in which `domain` holds pages, or None."""
        def probe():
            try:
                with open(self.path) as f:
                    text = f.read()
            except OSError:
                return None
            return text if ('domain="%s"' % domain) in text else None
        return wait_for("metrics", probe, timeout=timeout)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def per_node(metrics, name, kb=TWO_MIB, **labels):
    """{node: value} of a per-node family (node="all" left out)."""
    out = {}
    for n, l, v in metrics:
        if n == name and l.get("page_size_kb") == str(kb) and l.get("node", "all") != "all" \
                and all(l.get(k) == want for k, want in labels.items()):
            out[int(l["node"])] = int(v)
    return out


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------

SCENARIOS = []


def scenario(nodes=2, needs=None):
    """nodes: the guest's node count it is written for; needs: the feature it checks, when that
    feature came after the harness (the result line names it)."""
    def register(fn):
        SCENARIOS.append((fn.__name__.replace("_", "-"), nodes if isinstance(nodes, tuple) else (nodes,), needs, fn))
        return fn
    return register


@scenario()
def strict_on_a_full_node_is_refused_naming_the_node(run):
    """64 MiB strict on node 0, which has 16 pages, while node 1 has 64 free: refused by the
    guard, naming node 0; the pool is untouched and QEMU never ran."""
    before = set_pool(run, {0: 16, 1: 64})
    name = define(run, "strict-node0.xml")
    ok, err = start(name)
    run.note("virsh start: " + (err or "ok"))
    run.expect(not ok, "the start was admitted")
    run.expect(guard_refused(err), "not refused by the guard: " + err)
    run.expect("on node 0" in err, "the refusal does not name node 0: " + err)
    run.expect(not qemu_failed(err), "QEMU failed instead of the guard refusing: " + err)
    run.expect(counts() == before, "pool changed: %s -> %s" % (counts_text(before), counts_text(counts())))


@scenario()
def preferred_on_a_full_node_is_admitted(run):
    """The same domain with mode='preferred' is admitted, and the kernel spills to node 1:
    node 0 gives what it has, node 1 the rest."""
    before = set_pool(run, {0: 16, 1: 64})
    name = define(run, "preferred-node0.xml")
    ok, err = start(name)
    run.require(ok, "preferred start refused or failed: " + err)
    after = counts()
    run.note("after start " + counts_text(after))
    taken = {n: before[n]["free"] - after[n]["free"] for n in before}
    run.expect(sum(taken.values()) == 32, "the domain took %s pages, not 32" % taken)
    run.expect(taken[0] == 16 and taken[1] == 16, "pages did not fill node 0 then spill to node 1: %s" % taken)
    pid = qemu_pid(name)
    if pid:
        run.note("numa_maps: %s" % numa_maps_pages(pid))
    virsh("destroy", name)
    run.expect(counts() == before, "pages not given back at stop: %s" % counts_text(counts()))


@scenario(needs="confinement of memnodes under a global strict nodeset")
def preferred_memnode_under_global_strict_counts_and_lands_on_the_global_nodes(run):
    """<memory mode='strict' nodeset='1'/> with <memnode cellid='0' mode='preferred' nodeset='0-1'/>:
    libvirt confines QEMU to node 1 through cpuset.mems, and the kernel intersects the
    memnode's nodes with it, so the cell's pages come from node 1 only. The guard must count
    them on node 1 (check --json), refuse when node 1 can't hold them although node 0 could
    (QEMU would fail: "unable to map backing store"), and admit when it can."""
    xml = "preferred-memnode-under-strict.xml"
    rc, report = guard_check(xml)
    demand = report.get("demand") if isinstance(report, dict) else None
    run.note("check --json demand: %s" % json.dumps(demand))
    run.expect(demand == [{"pageSizeKiB": TWO_MIB, "hostNodes": [1], "pages": 32}],
               "check does not count the cell's 32 pages on node 1: %s" % json.dumps(demand))

    refused_short_on_node1_then_lands_there(run, define(run, xml))


@scenario()
def a_preferred_memnode_outside_the_global_strict_nodes_fails_in_qemu(run):
    """A fact for the model, with the guard passive (policy = off): a memnode preferring node 0
    under a global strict nodeset of 1 can't start at all, even with room everywhere: the
    kernel intersects the memnode's nodes with the cgroup's cpuset.mems, finds none, and
    QEMU's mbind fails ("cannot bind memory to host NUMA nodes")."""
    write_config("policy = off\n")
    set_pool(run, {0: 64, 1: 64})
    xml = domain_xml("preferred-memnode-under-strict.xml", "mn-disjoint-memnode")
    xml = xml.replace("mode='preferred' nodeset='0-1'", "mode='preferred' nodeset='0'")
    run.require("nodeset='0'/>" in xml, "could not make the disjoint variant")
    with open("/tmp/mn-disjoint-memnode.xml", "w") as f:
        f.write(xml)
    r = virsh("define", "/tmp/mn-disjoint-memnode.xml")
    run.require(r.returncode == 0, "define: " + r.stderr)
    ok, err = start("mn-disjoint-memnode")
    run.note("virsh start: " + (err or "ok"))
    run.expect(not ok and "cannot bind memory to host NUMA nodes" in err,
               "the disjoint memnode did not fail in QEMU's mbind: " + (err or "started"))


def refused_short_on_node1_then_lands_there(run, name):
    """A 64 MiB domain whose pages must all come from node 1: with 16 pages free there (and 64
    on node 0) the guard refuses it naming node 1 and the pool is unchanged; with 64 free there
    it starts, and its 32 pages come from node 1 only."""
    before = set_pool(run, {0: 64, 1: 16})
    ok, err = start(name)
    run.note("node 1 short, virsh start: " + (err or "ok"))
    run.expect(not ok and guard_refused(err) and "on node 1" in err, "not refused by the guard naming node 1: " + err)
    if not ok:
        run.expect(counts() == before, "pool changed by a refused start: %s" % counts_text(counts()))
    virsh("destroy", name)
    before = set_pool(run, {0: 64, 1: 64})
    ok, err = start(name)
    run.require(ok, "refused or failed with room on node 1: " + err)
    after = counts()
    taken = {n: before[n]["free"] - after[n]["free"] for n in before}
    run.note("taken per node %s; cpuset.mems %s" % (taken, cpuset_mems_of(name)))
    run.expect(taken == {0: 0, 1: 32}, "the pages did not land on node 1 only: %s" % taken)
    virsh("destroy", name)


def cpuset_mems_of(name):
    pid = qemu_pid(name)
    if not pid:
        return None
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            path = f.read().strip().split("::", 1)[1]
        with open("/sys/fs/cgroup%s/cpuset.mems.effective" % path) as f:
            return f.read().strip()
    except (OSError, IndexError):
        return None


@scenario()
def restrictive_is_confined_by_the_cgroup_refused_naming_the_node(run):
    """<memory mode='restrictive' nodeset='1'/> gives QEMU no memory policy; libvirt confines it
    through cpuset.mems only. With 16 pages on node 1 and 64 on node 0 the guard refuses it
    naming node 1; with room on node 1 its pages land there only."""
    refused_short_on_node1_then_lands_there(run, define(run, "restrictive-node1.xml"))


@scenario()
def parallel_strict_starts_whose_sum_exceeds_the_node_admit_one(run):
    """Two 64 MiB domains strict on node 1, started at the same time with 48 pages free
    there: exactly one runs, the other is refused by the guard, and neither fails in QEMU."""
    set_pool(run, {0: 64, 1: 48})
    names = [define(run, "strict-node1.xml", "mn-parallel-a"), define(run, "strict-node1.xml", "mn-parallel-b")]
    results = {}

    def go(n):
        results[n] = start(n)

    threads = [threading.Thread(target=go, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in names:
        run.note("%s: %s" % (n, results[n][1] or "ok"))
    admitted = [n for n in names if results[n][0]]
    run.expect(len(admitted) == 1, "admitted %d of 2" % len(admitted))
    for n in names:
        if not results[n][0]:
            run.expect(guard_refused(results[n][1]), "%s was not refused by the guard: %s" % (n, results[n][1]))
        run.expect(not qemu_failed(results[n][1]), "%s failed inside QEMU: %s" % (n, results[n][1]))
    after = counts()
    run.note("after " + counts_text(after))
    run.expect(after[1]["free"] == 16 and after[0]["free"] == 64, "pages not taken from node 1 only: " + counts_text(after))
    for n in names:
        virsh("destroy", n)


def agent_figures_equal_the_kernel(run, name, expect_domain_pages):
    """The running agent's per-node committed and drift, against the kernel's per-node counters;
    with expect_domain_pages, also its per-node pages of the domain against numa_maps."""
    agent = Agent()
    try:
        text = agent.metrics_showing(name)
        run.require(text is not None, "the agent's metrics never showed %s" % name)
        # One more reconciliation after the domain settled, so no figure is from mid-start.
        time.sleep(4)
        with open(agent.path) as f:
            text = f.read()
    finally:
        agent.stop()
    m = parse_metrics(text)
    kernel = counts()
    used = {n: v["nr"] - v["free"] for n, v in kernel.items()}
    pid = qemu_pid(name)
    truth = numa_maps_pages(pid)
    # The host as the agent saw it, for the fixture twin of this scenario.
    dump_host("%s/sysfs-dump-running-%s.txt" % (OUT, name), ["/proc/%d/numa_maps" % pid, "/proc/%d/cmdline" % pid, "/run/libvirt/qemu/%s.pid" % name])
    committed = per_node(m, "hugepage_guard_committed_pages")
    drift = per_node(m, "hugepage_guard_drift_pages")
    run.note("kernel in use per node %s; numa_maps %s; agent committed %s, drift %s" % (used, truth, committed, drift))
    run.expect(committed == used, "the agent's committed per node %s is not the kernel's in-use %s" % (committed, used))
    run.expect(drift == {n: 0 for n in used}, "the agent's drift per node is %s, not 0 on every node" % drift)
    if expect_domain_pages:
        dom = per_node(m, "hugepage_guard_domain_pages", domain=name)
        run.note("agent domain_pages %s" % dom)
        want = {n: truth.get(n, 0) for n in used}
        have = {n: dom.get(n, 0) for n in used}
        run.expect(bool(dom) and have == want, "the agent's pages of %s per node %s are not numa_maps' %s" % (name, dom, truth))


@scenario()
def agent_per_node_figures_equal_the_kernels_for_a_strict_domain(run):
    """A strict domain on node 1: the agent's committed per node equals nr - free per node, and
    its drift is 0 on each node."""
    set_pool(run, {0: 64, 1: 64})
    name = define(run, "strict-node1.xml")
    ok, err = start(name)
    run.require(ok, "start failed: " + err)
    agent_figures_equal_the_kernel(run, name, expect_domain_pages=False)
    virsh("destroy", name)


@scenario(needs="per-node figures from numa_maps")
def agent_per_node_figures_equal_numa_maps_for_a_preferred_domain(run):
    """A preferred domain split 16/16 over nodes 0 and 1: only numa_maps knows where its pages
    are. The agent's committed, drift and per-domain pages per node equal the kernel's."""
    set_pool(run, {0: 16, 1: 64})
    name = define(run, "preferred-node0.xml")
    ok, err = start(name)
    run.require(ok, "start failed: " + err)
    agent_figures_equal_the_kernel(run, name, expect_domain_pages=True)
    virsh("destroy", name)


@scenario(needs="pool growth")
def growth_grows_the_bound_node_only_and_gives_it_back(run):
    """Both pools at 0, growth and shrink on: a strict start on node 1 grows node 1 by exactly
    its 32 pages and node 0 not at all; at stop node 1 is back at 0."""
    write_config("pool.grow = on\npool.shrink = on\npool.grow.min_available = 256M\n")
    set_pool(run, {0: 0, 1: 0})
    name = define(run, "strict-node1.xml")
    ok, err = start(name)
    run.note("virsh start: " + (err or "ok"))
    run.require(ok, "the start with growth on failed: " + err)
    grown = counts()
    run.note("running " + counts_text(grown))
    run.expect(grown[1]["nr"] == 32 and grown[0]["nr"] == 0, "growth was not 32 pages on node 1 only: " + counts_text(grown))
    virsh("destroy", name)
    after = wait_for("shrink", lambda: counts()[1]["nr"] == 0 and counts(), timeout=60)
    run.expect(bool(after), "node 1 was not given back at stop: " + counts_text(counts()))


def dump_host(path, extra=()):
    """Writes every readable hugepage file, the node list, meminfo, buddyinfo, the proc, sysfs,
    cgroup and hugetlbfs lines of /proc/mounts, the root cgroup's controllers and the files in
    `extra` to `path`, one `path<TAB>line` per line (Tests/MultiNode/capture-fixture turns it
    into a fixture tree). Returns the hugetlbfs lines of /proc/mounts."""
    dump = []
    for top in ["/sys/kernel/mm/hugepages"] + ["%s/node%d/hugepages" % (NODE_ROOT, n) for n in nodes()]:
        for d, _, files in sorted(os.walk(top)):
            for f in sorted(files):
                try:
                    with open(os.path.join(d, f)) as fh:
                        dump.append("%s\t%s" % (os.path.join(d, f), fh.read().strip()))
                except PermissionError:  # write-only, e.g. demote
                    dump.append("%s\t(write-only)" % os.path.join(d, f))
    for f in ("%s/online" % NODE_ROOT, "%s/possible" % NODE_ROOT):
        with open(f) as fh:
            dump.append("%s\t%s" % (f, fh.read().strip()))
    with open("/proc/mounts") as fh:
        lines = [l.strip() for l in fh]
    dump += ["/proc/mounts\t" + l for l in lines if l.split()[2] in ("hugetlbfs", "cgroup", "cgroup2", "sysfs", "proc")]
    # libvirtd makes <mount>/libvirt/qemu in each hugetlbfs it found at start; a fixture keeps
    # the directory with an empty .keep file.
    for l in lines:
        if l.split()[2] == "hugetlbfs" and os.path.isdir(l.split()[1] + "/libvirt/qemu"):
            dump.append("%s/libvirt/qemu/.keep\t" % l.split()[1])
    files = ["/proc/meminfo", "/proc/buddyinfo"] + ["%s/node%d/meminfo" % (NODE_ROOT, n) for n in nodes()]
    files += ["/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/cgroup.subtree_control"] + list(extra)
    for f in files:
        with open(f) as fh:
            dump += ["%s\t%s" % (f, l.rstrip("\n")) for l in fh]
    with open(path, "w") as fh:
        fh.write("\n".join(dump) + "\n")
    return [l for l in lines if " hugetlbfs " in l]


@scenario(nodes=(2, 4))
def fixture_trees_name_only_files_the_real_kernel_has(run):
    """Every sysfs file in the multi-node fixture trees exists on the real 2-node kernel, and the
    fixture's hugetlbfs mount lines are spelled as the kernel spells them. The real tree is
    dumped to out/sysfs-dump-<N>nodes.txt, the source of the trees captured from this guest."""
    set_pool(run, {n: 8 * (n + 1) for n in nodes()})
    mounts = dump_host(OUT + "/sysfs-dump-%dnodes.txt" % len(nodes()))
    here = set(nodes())
    for tree in sorted(os.listdir(SHARE + "/fixtures")):
        root = SHARE + "/fixtures/" + tree
        if not os.path.isdir(root + "/sys/devices/system/node"):
            continue
        tree_nodes = {int(x[4:]) for x in os.listdir(root + "/sys/devices/system/node") if re.fullmatch(r"node\d+", x)}
        if len(tree_nodes) < 2 or not tree_nodes <= here:
            continue
        for d, _, files in os.walk(root + "/sys"):
            for f in files:
                real = os.path.join(d, f)[len(root):]
                run.expect(os.path.exists(real), "%s has %s, which the real kernel doesn't" % (tree, real))
        for d, _, _ in os.walk(root + "/dev"):
            if d.endswith("/libvirt/qemu"):
                real = d[len(root):]
                run.expect(os.path.isdir(real), "%s has %s, which libvirtd didn't make here" % (tree, real))
        with open(root + "/proc/mounts") as fh:
            for l in fh:
                if " hugetlbfs " in l:
                    opt = re.search(r"pagesize=(\w+)", l)
                    run.expect(opt is None or any("pagesize=%s" % opt.group(1) in m for m in mounts),
                               "%s spells a hugetlbfs mount '%s'; the kernel's are %s" % (tree, l.strip(), mounts))
    run.note("real hugetlbfs mounts: %s" % mounts)


@scenario(nodes=4)
def four_nodes_strict_over_two_nodes_counts_both_and_only_them(run):
    """4 nodes; strict nodeset 2-3 with 16 + 8 free there and plenty on nodes 0 and 1:
    refused naming nodes 2-3; with 16 + 16 it runs and takes its pages from nodes 2 and 3 only."""
    before = set_pool(run, {0: 64, 1: 64, 2: 16, 3: 8})
    name = define(run, "strict-nodes23.xml")
    ok, err = start(name)
    run.note("virsh start: " + (err or "ok"))
    run.expect(not ok and guard_refused(err) and "on nodes 2-3" in err, "not refused naming nodes 2-3: " + err)
    run.expect(counts() == before, "pool changed by a refused start")
    before = set_pool(run, {0: 64, 1: 64, 2: 16, 3: 16})
    ok, err = start(name)
    run.require(ok, "refused or failed with 32 free on nodes 2-3: " + err)
    after = counts()
    taken = {n: before[n]["free"] - after[n]["free"] for n in before}
    run.note("taken per node %s" % taken)
    run.expect(taken[0] == 0 and taken[1] == 0 and taken[2] + taken[3] == 32, "pages not from nodes 2-3 only: %s" % taken)
    virsh("destroy", name)


@scenario(nodes=4)
def four_nodes_cells_bound_to_different_nodes_are_each_counted_on_their_node(run):
    """Two 32 MiB cells strict on nodes 2 and 3; node 3 has 8 free, node 2 has 64: refused
    naming node 3 although nodes 2-3 together hold 72. With 16 on node 3 it runs, 16 from each."""
    before = set_pool(run, {0: 64, 1: 64, 2: 64, 3: 8})
    name = define(run, "cells-on-nodes23.xml")
    ok, err = start(name)
    run.note("virsh start: " + (err or "ok"))
    run.expect(not ok and guard_refused(err) and "on node 3" in err, "not refused naming node 3: " + err)
    run.expect(counts() == before, "pool changed by a refused start")
    before = set_pool(run, {0: 64, 1: 64, 2: 64, 3: 16})
    ok, err = start(name)
    run.require(ok, "refused or failed with room on both nodes: " + err)
    after = counts()
    taken = {n: before[n]["free"] - after[n]["free"] for n in before}
    run.note("taken per node %s" % taken)
    run.expect(taken == {0: 0, 1: 0, 2: 16, 3: 16}, "pages not 16 from node 2 and 16 from node 3: %s" % taken)
    virsh("destroy", name)


def main(argv):
    if argv[:1] == ["--list"]:
        for name, n, needs, _ in SCENARIOS:
            if int(argv[1]) in n:
                print(name)
        return 0
    here = len(nodes())
    chosen = [s for s in SCENARIOS if (s[0] in argv if argv else here in s[1])]
    unknown = set(argv) - {s[0] for s in SCENARIOS}
    if unknown:
        emit("FAIL harness: unknown scenario(s) %s" % " ".join(sorted(unknown)))
        return 2
    failed = 0
    for name, n, needs, fn in chosen:
        label = name + (" [checks %s]" % needs if needs else "")
        if here not in n:
            emit("FAIL %s: written for %s nodes, this guest has %d" % (label, n, here))
            failed += 1
            continue
        emit("=== %s" % label)
        run = Run(name)
        t0 = time.monotonic()
        try:
            clean_up()
            fn(run)
        except ScenarioFailed:
            pass
        except Exception as e:  # a broken scenario is a failure with its reason, never a hang
            run.failures.append("%s: %s" % (type(e).__name__, e))
            emit("  ✗ %s: %s" % (type(e).__name__, e))
        finally:
            try:
                clean_up()
            except Exception as e:
                emit("  note: clean-up failed: %s" % e)
        took = "(%.0f s)" % (time.monotonic() - t0)
        if run.failures:
            failed += 1
            emit("FAIL %s %s: %s" % (label, took, "; ".join(run.failures)))
        else:
            emit("PASS %s %s" % (label, took))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
