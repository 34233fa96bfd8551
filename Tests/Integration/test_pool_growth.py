"""Pool growth on the real libvirtd, QEMU and kernel: the pool grows by exactly a refused
start's shortfall, gives it back at stop, and never grows past the floor or a cap.

Each test holds the host lock (through `hook`/`pool`), writes its own config file (the
`hook` fixture hid the host's and puts it back), sizes the pools from what it finds and
restores every pool after. Fixture order: `hook` before `pool` before `domains`, so domains
are destroyed while the hook is still installed (their `release end` gives the pages back).
"""
import json
import threading
import time

import hgtest as H

MIB = 1024
P2M = H.KIB_2M
P1G = H.KIB_1G


def set_config(text):
    H.CONFIG_PATH.parent.mkdir(parents=True, exist_ok=True)
    H.CONFIG_PATH.write_text(text)


def nr(kib):
    return H.counts(kib)["nr"]


def pool_snapshot():
    return {k: H.counts(k) for k in H.page_sizes()}


def vm(domains, name, mem_mib, page_kib=P2M):
    name, path = domains.define(H.small_domain(name, mem_mib * MIB, page_kib))
    demand, obj = H.model_demand(path)
    assert set(demand) == {page_kib}, obj
    return name, path, demand[page_kib]


def assert_no_qemu_oom(text):
    for pat in H.QEMU_OOM_PATTERNS:
        assert pat not in text, f"a start failed inside QEMU ({pat!r}), not in the hook:\n{text}"


def wait_nr(kib, want, seconds=30):
    """`release end` runs inside `virsh destroy`; wait a little for the kernel's count anyway."""
    deadline = time.time() + seconds
    while nr(kib) != want and time.time() < deadline:
        time.sleep(0.2)
    return nr(kib)


def stop(name):
    H.virsh("destroy", name, check=False)


def test_pool_at_zero_grows_by_exactly_the_vms_pages_and_returns_to_zero(hook, pool, domains, syslog):
    set_config("pool.grow = on\n")
    name, _, pages = vm(domains, "hgtest-grow-64m", 64)
    pool.set_nr(P2M, 0)
    syslog.mark()
    p = domains.start(name, check=False)
    assert p.returncode == 0, f"the start was refused with growth on:\n{p.stderr}"
    assert H.dom_state(name) == "running"
    assert nr(P2M) == pages, f"the pool grew to {nr(P2M)}, not by exactly the VM's {pages} pages"
    assert H.available(P2M) == 0, H.counts(P2M)
    assert f"grown=2048@*:{pages}" in H.ledger_text(), H.ledger_text()
    line = syslog.wait_for("event=pool_grown", name)
    assert line is None or f"grown=2048@any:{pages}" in line, line

    stop(name)
    assert wait_nr(P2M, 0) == 0, f"the pool is {nr(P2M)} after the stop, not back at 0"
    line = syslog.wait_for("event=pool_shrunk", name)
    assert line is None or f"pages=2048@any:{pages}" in line, line


def test_1g_page_vm_starts_with_the_1g_pool_at_zero(hook, pool, domains):
    set_config("pool.grow = on\n")
    name, _, pages = vm(domains, "hgtest-grow-1g", 1024, P1G)
    assert pages == 1
    pool.set_nr(P1G, 0)
    p = domains.start(name, check=False)
    print(f"\n--- 1 GiB VM, 1 GiB pool at 0, growth on ---\nexit {p.returncode}\n{p.stderr}")
    assert p.returncode == 0, f"the 1 GiB-page VM was refused:\n{p.stderr}"
    assert nr(P1G) == 1, H.counts(P1G)
    assert H.available(P1G) == 0, H.counts(P1G)
    stop(name)
    assert wait_nr(P1G, 0) == 0, H.counts(P1G)


def test_floor_refuses_growth_and_leaves_the_pool(hook, pool, domains, syslog):
    total = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal:")).split()[1])
    set_config(f"pool.grow = on\npool.grow.min_available = {total + 1024 * 1024}K\n")
    name, _, pages = vm(domains, "hgtest-grow-floor", 64)
    pool.set_nr(P2M, 0)
    before = pool_snapshot()
    syslog.mark()
    p = domains.start(name, check=False)
    print(f"\n--- floor ---\n{p.stderr}")
    assert p.returncode != 0, "started although growth would cross the floor"
    assert_no_qemu_oom(p.stderr)
    assert "pool.grow.min_available" in p.stderr and "floor" in p.stderr, p.stderr
    assert pool_snapshot() == before, "a refused start changed the pool"
    line = syslog.wait_for("event=pool_grow_refused", name)
    assert line is None or "limit=floor" in line, line


def test_cap_below_the_shortfall_refuses_and_leaves_the_pool(hook, pool, domains, syslog):
    name, _, pages = vm(domains, "hgtest-grow-cap", 64)
    set_config(f"pool.grow = on\npool.grow.max.2M = {pages - 1}\n")
    pool.set_nr(P2M, 0)
    before = pool_snapshot()
    syslog.mark()
    p = domains.start(name, check=False)
    print(f"\n--- cap ---\n{p.stderr}")
    assert p.returncode != 0, "started although growth would pass the cap"
    assert_no_qemu_oom(p.stderr)
    assert f"pool.grow.max.2M = {pages - 1}" in p.stderr, p.stderr
    assert pool_snapshot() == before, "a refused start changed the pool"
    line = syslog.wait_for("event=pool_grow_refused", name)
    assert line is None or "limit=cap" in line, line


def test_parallel_starts_with_growth_never_pass_the_cap(hook, pool, domains):
    names = []
    for i in range(5):
        name, _, pages = vm(domains, f"hgtest-grow-par{i}", 64)
        names.append(name)
    cap = 3 * pages + pages // 2            # room for 3 of the 5
    set_config(f"pool.grow = on\npool.grow.max.2M = {cap}\n")
    pool.set_nr(P2M, 0)
    before = pool_snapshot()

    results = {}

    def start(n):
        results[n] = domains.start(n, check=False)

    threads = [threading.Thread(target=start, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    started = [n for n in names if results[n].returncode == 0]
    for n in names:
        assert_no_qemu_oom(results[n].stderr)
        if results[n].returncode != 0:
            assert "hugepage-guard" in results[n].stderr and "pool.grow.max.2M" in results[n].stderr, results[n].stderr
    print(f"\n--- parallel: {len(started)} of {len(names)} started, pool {H.counts(P2M)} ---")
    assert len(started) == cap // pages, f"{len(started)} started; the cap holds {cap // pages}"
    assert nr(P2M) <= cap, H.counts(P2M)
    assert nr(P2M) == len(started) * pages, H.counts(P2M)
    assert all(H.dom_state(n) == "running" for n in started)
    for n in started:
        stop(n)
    assert wait_nr(P2M, before[P2M]["nr"]) == before[P2M]["nr"], H.counts(P2M)
    assert pool_snapshot() == before


def test_plan_predicts_how_many_more_start(hook, pool, domains):
    name, path, pages = vm(domains, "hgtest-plan-0", 64)
    cap = 4 * pages + 5
    set_config(f"pool.grow = on\npool.grow.max.2M = {cap}\n")
    pool.set_nr(P2M, 0)
    before = pool_snapshot()
    p = H.run([str(H.guard_bin()), "plan", "--xml", str(path), "--json"])
    assert p.returncode == 0, p.stderr
    plan = json.loads(p.stdout)
    print(f"\n--- plan ---\n{plan}")
    n = plan["withGrowth"]
    assert plan["asIs"] == 0 and n >= 1, plan
    assert plan["growthLimit"] == "cap", plan
    text = H.run([str(H.guard_bin()), "plan", "--xml", str(path), "--count", str(n + 1)])
    assert text.returncode == 1 and "do not fit" in text.stdout, text.stdout + text.stderr

    copies = [name] + [vm(domains, f"hgtest-plan-{i}", 64)[0] for i in range(1, n + 1)]
    outcomes = []
    for c in copies:
        r = domains.start(c, check=False)
        assert_no_qemu_oom(r.stderr)
        outcomes.append(r.returncode == 0)
    assert outcomes == [True] * n + [False], f"plan said {n} more fit; starts went {outcomes}"
    for c in copies[:n]:
        stop(c)
    assert wait_nr(P2M, before[P2M]["nr"]) == before[P2M]["nr"], H.counts(P2M)


def test_agent_gives_back_what_was_grown_for_a_domain_that_is_gone(pool, tmp_path):
    """A crash between the growth and `release end`: the ledger says `started` with grown pages,
    libvirt knows no such running domain. The agent logs it and gives the pages back."""
    import os
    import subprocess
    state = tmp_path / "state"
    conf = tmp_path / "guard.conf"
    conf.write_text("pool.grow = on\npool.shrink = on\n")
    env = dict(os.environ, HUGEPAGE_GUARD_STATE_DIR=str(state), HUGEPAGE_GUARD_CONFIG=str(conf))
    name = "hgtest-grow-gone"
    xml = H.small_domain(name, 64 * MIB, P2M)
    pool.set_nr(P2M, 0)
    p = H.run([str(H.hook_bin()), name, "prepare", "begin", "-"], env=env, input=xml)
    assert p.returncode == 0, p.stderr
    assert nr(P2M) == 32, H.counts(P2M)
    assert H.run([str(H.hook_bin()), name, "started", "begin", "-"], env=env, input=xml).returncode == 0
    assert "grown=2048@*:32" in (state / "ledger").read_text()
    time.sleep(1.1)   # the agent treats entries written in the second it lists domains as maybe starting

    metrics = tmp_path / "metrics" / "hugepage_guard.prom"
    metrics.parent.mkdir()
    agent = subprocess.Popen([str(H.guard_bin()), "agent", "--interval", "1", "--metrics-path", str(metrics)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = []
    try:
        deadline = time.time() + 60
        found = None
        while time.time() < deadline and found is None:
            line = agent.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            if "event=pool_shrunk" in line and name in line:
                found = line
        assert found, "the agent never gave the pages back:\n" + "\n".join(seen)
        assert "pages=2048@any:32" in found, found
        assert wait_nr(P2M, 0) == 0, H.counts(P2M)
        deadline = time.time() + 30
        while time.time() < deadline and "hugepage_guard_pool_shrink_pages_total 32" not in (metrics.read_text() if metrics.exists() else ""):
            time.sleep(0.3)
        assert "hugepage_guard_pool_shrink_pages_total 32" in metrics.read_text(), metrics.read_text()
        assert "hugepage_guard_pool_grow_total{result=\"ok\"} 1" in metrics.read_text(), metrics.read_text()
    finally:
        agent.terminate()
        try:
            agent.wait(10)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
    assert "grown=" not in (state / "ledger").read_text()
