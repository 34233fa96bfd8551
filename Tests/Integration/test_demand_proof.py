"""The proof: the demand model against the real kernel pool.

For every domain XML in Tests/Fixtures/domains, with a generously sized pool, start the VM on
the real libvirtd + QEMU and compare the pages the kernel pool lost, per page size, with the
demand `hugepage-guard check --xml FILE --json` computed from the XML libvirt holds once the
domain is defined (machine type expanded, emulator filled in: what the hook receives). No page
count is written by hand. The hook is not needed here (and its presence does not matter: the
pool is big enough).

A file whose first line says `QEMU refuses: "<message>"` is a shape QEMU can't start: started
without the hook it must fail with that message, and the hook must refuse it with its reason.
"""
import json
import os
import re
import tempfile
from pathlib import Path

import pytest

import hgtest as H

ALL = sorted(H.CORPUS.glob("*.xml"))
REFUSES = re.compile(r'QEMU refuses: "([^"]+)"')


def qemu_refuses(path):
    m = REFUSES.search(path.read_text().splitlines()[0])
    return m.group(1) if m else None


CORPUS = [p for p in ALL if qemu_refuses(p) is None]
UNSTARTABLE = [p for p in ALL if qemu_refuses(p) is not None]


def defined_xml(name, tmp):
    """The XML libvirt holds for a defined domain, in a file."""
    path = Path(tmp) / f"{name}.defined.xml"
    path.write_text(H.virsh("dumpxml", "--inactive", name).stdout)
    return path


def qemu_backends(name):
    """QEMU's memory backends: the -object ones, plus the legacy -mem-path block (QEMU's
    `pc.ram`) when libvirt used `-numa node,mem=` with hugepages."""
    backends = H.qemu_backends(name)
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip())
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    if "-mem-path" in args:
        mem = args[args.index("-m") + 1]
        m = re.match(r"size=(\d+)k", mem)
        size_kib = int(m.group(1)) if m else int(mem) * 1024
        page = H._hugetlbfs_page_kib(args[args.index("-mem-path") + 1])
        backends.append({"id": "pc.ram", "type": "mem-path", "pageKiB": page, "sizeKiB": size_kib,
                         "prealloc": "-mem-prealloc" in args, "reserve": True})
    return backends


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 15, f"only {len(CORPUS)} domain shapes in {H.CORPUS}"
    assert len(UNSTARTABLE) >= 3, f"only {len(UNSTARTABLE)} shapes QEMU can't start in {H.CORPUS}"
    names = [H.xml_name(p.read_text()) for p in ALL]
    assert len(set(names)) == len(names), "duplicate domain names in the corpus"


@pytest.mark.parametrize("fixture", CORPUS, ids=[p.stem for p in CORPUS])
def test_model_demand_equals_pages_qemu_takes(fixture, pool, domains):
    xml = H.prepare_xml(fixture.read_text())
    name, _ = domains.define(xml)

    demand, obj = H.model_demand(defined_xml(name, domains.tmp))
    assert obj["domain"] == name, obj
    for kib in demand:
        assert kib in H.page_sizes(), f"model wants {kib} KiB pages, which this kernel lacks: {obj}"

    # A generous pool: every size the model asks for, with room to spare.
    for kib in H.page_sizes():
        want = demand.get(kib, 0)
        if kib == H.KIB_1G:
            if want:
                pool.at_least(kib, max(2, want))
        else:
            pool.at_least(kib, max(512, want + 64))

    before = H.available_all()
    p = domains.start(name, check=False)
    assert p.returncode == 0, (
        f"{fixture.name} did not start with a generous pool (model demand {obj['demand']}):\n"
        f"{p.stderr}")
    after = H.available_all()
    assert H.dom_state(name) == "running"

    lost = {k: before[k] - after[k] for k in before if before[k] != after[k]}
    backends = qemu_backends(name)

    # virtio-mem: QEMU takes a device's pages when the guest driver plugs blocks, after start.
    # A diskless guest never plugs, so the pool loses the <requested> part only in a real guest.
    deferred = H.virtio_mem_requested_pages(xml)
    expected = dict(demand)
    for kib, pages in deferred.items():
        expected[kib] = expected.get(kib, 0) - pages
    expected = {k: v for k, v in expected.items() if v}

    assert lost == expected, (
        f"{fixture.name}: kernel pool lost {lost} (KiB -> pages), model demand {demand}"
        + (f" minus virtio-mem pages plugged later {deferred}" if deferred else "")
        + f"\nmodel JSON: {obj}\nQEMU backends: {backends}")

    # The rule itself, from QEMU's command line: each preallocated hugepage backend takes
    # ceil(size / page size) pages, and nothing else takes any.
    by_qemu = {}
    for b in backends:
        if b["pageKiB"] and b["pageKiB"] > 4 and b["prealloc"] and b["reserve"] is not False:
            by_qemu[b["pageKiB"]] = by_qemu.get(b["pageKiB"], 0) + H.ceil_div(b["sizeKiB"], b["pageKiB"])
    assert lost == by_qemu, f"pool lost {lost}, QEMU's backends account for {by_qemu}: {backends}"

    # Per backend, when the model lists its backends: same backends, page sizes and pages.
    if "backends" in obj:
        model = {H.norm_id(b["id"]): b for b in obj["backends"]}
        for b in backends:
            m = model.get(H.norm_id(b["id"]))
            huge = b["pageKiB"] if b["pageKiB"] and b["pageKiB"] > 4 else None
            if m is None:
                assert huge is None, f"QEMU backend {b} is missing from the model's backends {obj['backends']}"
                continue
            assert (m.get("pageSizeKiB") or None) == huge, f"page size: model {m}, QEMU {b}"
            if huge and b["reserve"] is not False:
                assert m["pages"] == H.ceil_div(b["sizeKiB"], huge), f"pages: model {m}, QEMU {b}"
        qemu_ids = {H.norm_id(b["id"]) for b in backends}
        extra = [b for k, b in model.items() if k not in qemu_ids and b.get("pages")]
        assert not extra, f"model backends QEMU does not have: {extra}; QEMU: {backends}"


@pytest.mark.parametrize("stem", ["plain-default", "numa2-nodeset-master", "dimm-two-cells"])
def test_check_domain_matches_check_xml(stem, domains, tmp_path):
    """`check --domain NAME` (XML read from libvirt) gives the same demand as `check --xml`."""
    xml = H.prepare_xml((H.CORPUS / f"{stem}.xml").read_text())
    name, path = domains.define(xml)
    _, by_xml = H.check_json(path, state_dir=tmp_path, config=tmp_path / "absent.conf")
    env = dict(os.environ, HUGEPAGE_GUARD_STATE_DIR=str(tmp_path),
               HUGEPAGE_GUARD_CONFIG=str(tmp_path / "absent.conf"))
    p = H.run([str(H.guard_bin()), "check", "--domain", name, "--json"], env=env)
    assert p.returncode in (0, 1), f"check --domain {name} exited {p.returncode}:\n{p.stdout}{p.stderr}"
    by_domain = json.loads(p.stdout)
    assert by_domain["domain"] == name
    assert H.demand_by_size(by_domain) == H.demand_by_size(by_xml), (by_domain, by_xml)


@pytest.mark.parametrize("fixture", UNSTARTABLE, ids=[p.stem for p in UNSTARTABLE])
def test_shape_qemu_cannot_start_fails_without_the_hook_and_is_refused_by_it(fixture, pool, domains, tmp_path):
    qemu_message = qemu_refuses(fixture)
    xml = H.prepare_xml(fixture.read_text())
    name, _ = domains.define(xml)
    live = defined_xml(name, tmp_path)
    pool.at_least(H.KIB_2M, 512)

    # Without the hook (the pool is big enough for the pages): it fails inside QEMU.
    p = domains.start(name, check=False)
    assert p.returncode != 0, f"{fixture.name} started, but its first line says QEMU refuses it"
    assert qemu_message in p.stderr, f"{fixture.name}: expected QEMU's '{qemu_message}', got:\n{p.stderr}"

    # The guard, as libvirt runs it at prepare begin: refused, with our reason.
    env = {"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HUGEPAGE_GUARD_STATE_DIR": str(tmp_path / "state"), "HUGEPAGE_GUARD_CONFIG": str(tmp_path / "absent.conf")}
    h = H.run([str(H.hook_bin()), name, "prepare", "begin", "-"], env=env, input=live.read_text())
    assert h.returncode == 1, f"hook admitted {fixture.name}: {h.stderr}"
    assert "QEMU can't start it" in h.stderr, h.stderr
    assert re.search(r"backend \S+ is", h.stderr), f"the refusal names no backend: {h.stderr}"
    # The size the refusal names is the size QEMU was given.
    size = re.search(r"resize memfd to (\d+)", p.stderr)
    if size:
        assert f"{int(size.group(1)) // 1024} KiB" in h.stderr, (p.stderr, h.stderr)


def test_installed_hook_refuses_a_shape_qemu_cannot_start_before_qemu_runs(hook, pool, domains):
    """The same refusal through libvirt itself: the hook gets the XML libvirt passes at prepare."""
    fixture = H.CORPUS / "memfd-odd-147m.xml"
    name, _ = domains.define(H.prepare_xml(fixture.read_text()))
    pool.at_least(H.KIB_2M, 512)
    p = domains.start(name, check=False)
    assert p.returncode != 0
    assert "hugepage-guard refused to start domain" in p.stderr and "QEMU can't start it" in p.stderr, p.stderr
    assert "pc.ram" in p.stderr and "146 MiB" in p.stderr and "148 MiB" in p.stderr, p.stderr
    assert not any(s in p.stderr for s in ("failed to resize memfd",) + H.QEMU_OOM_PATTERNS), p.stderr
