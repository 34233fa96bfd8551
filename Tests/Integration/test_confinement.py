"""The premise of the model's confinement rule, on the real libvirtd: with the domain-wide
`<numatune><memory mode='strict'|'restrictive'>`, libvirt puts QEMU's emulator in a cpuset cgroup
whose `cpuset.mems` is that nodeset, so every backend, whatever its own memnode mode, takes its
pages there. The model must say the same: every item confined to those nodes.

This host has one NUMA node, so the test checks the mechanism (the cgroup and where the pages
are, from numa_maps); multi-node arithmetic is in the unit tests on 2- and 8-node fixture hosts.
"""
import re
from pathlib import Path

import pytest

import hgtest as H


def emulator_cpuset_mems(name):
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip())
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpuset" in controllers.split(","):
            return (Path("/sys/fs/cgroup/cpuset") / path.lstrip("/") / "cpuset.mems").read_text().strip()
        if controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            return (Path("/sys/fs/cgroup") / path.lstrip("/") / "cpuset.mems.effective").read_text().strip()
    raise AssertionError(f"QEMU of {name} is in no cpuset cgroup:\n{Path(f'/proc/{pid}/cgroup').read_text()}")


def huge_pages_by_node(name):
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip())
    nodes = {}
    for line in Path(f"/proc/{pid}/numa_maps").read_text().splitlines():
        if " huge " not in f" {line} ":
            continue
        for node, pages in re.findall(r"\bN(\d+)=(\d+)", line):
            nodes[int(node)] = nodes.get(int(node), 0) + int(pages)
    return nodes


def expand(nodeset):
    out = set()
    for part in nodeset.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


@pytest.mark.parametrize("stem", ["numatune-restrictive", "numatune-strict", "numatune-memnode"])
def test_global_strict_or_restrictive_confines_every_backend_through_the_cpuset(stem, pool, domains, tmp_path):
    xml = H.prepare_xml((H.CORPUS / f"{stem}.xml").read_text())
    global_nodes = expand(re.search(r"<memory mode='(?:strict|restrictive)' nodeset='([^']+)'", xml).group(1))
    name, _ = domains.define(xml)
    path = tmp_path / f"{name}.xml"
    path.write_text(H.virsh("dumpxml", "--inactive", name).stdout)
    demand, obj = H.model_demand(path)
    for kib, pages in demand.items():
        pool.at_least(kib, pages + 64)

    p = domains.start(name, check=False)
    assert p.returncode == 0, p.stderr
    assert expand(emulator_cpuset_mems(name)) == global_nodes
    for item in obj["demand"]:
        assert item["hostNodes"] is not None and set(item["hostNodes"]) <= global_nodes, obj["demand"]
    on = huge_pages_by_node(name)
    assert on and set(on) <= global_nodes, f"hugepages on nodes {on}, cpuset {global_nodes}"
