"""Helpers for hugepage-guard's integration tests on the real libvirtd, QEMU and kernel pool.

Everything here talks to the real host: `virsh -c qemu:///system`, /proc and /sys hugepage
counters, /etc/libvirt/hooks. Host-changing helpers are used only under the host lock
(see conftest.py), and every change is undone by the fixture that made it.
"""
import json
import math
import os
import re
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

URI = "qemu:///system"
REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "Tests" / "Fixtures" / "domains"
LOCK_PATH = "/run/lock/hugepage-guard-host.lock"
HOOK_PATH = Path("/etc/libvirt/hooks/qemu")
CONFIG_PATH = Path("/etc/hugepage-guard/hugepage-guard.conf")
STATE_DIR = Path("/run/hugepage-guard")
LEDGER_PATH = STATE_DIR / "ledger"
SINK_LOG = Path("/var/log/hugepage-guard-test-syslog.log")
SINK_PID = Path("/run/hugepage-guard-test-syslog.pid")
PREFIX = "hgtest-"

KIB_2M = 2048
KIB_1G = 1048576
SYSFS_HP = "/sys/kernel/mm/hugepages/hugepages-{}kB"

# What QEMU says when the pool could not back guest RAM: must never be seen with the hook.
QEMU_OOM_PATTERNS = ("Cannot allocate memory", "unable to map backing store", "os_mem_prealloc",
                     "Insufficient free host memory")


class HostError(AssertionError):
    """The host did not do what a test needed (pool size, libvirtd): fails the test loudly."""


# ------------------------------------------------------------------------------------------
# binaries
# ------------------------------------------------------------------------------------------
def bin_dir():
    d = os.environ.get("HUGEPAGE_GUARD_BIN")
    if not d:
        raise HostError("HUGEPAGE_GUARD_BIN is not set: run through `make test` (it points it at "
                        "`swift build -c release --static-swift-stdlib --show-bin-path`)")
    return Path(d)


def guard_bin():
    return bin_dir() / "hugepage-guard"


def hook_bin():
    return bin_dir() / "hugepage-guard-hook"


def run(cmd, check=False, timeout=120, env=None, input=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          input=input, check=check)


def check_json(xml_path, state_dir=None, config=None):
    """`hugepage-guard check --xml FILE --json` -> (exit status, parsed object)."""
    env = dict(os.environ)
    if state_dir is not None:
        env["HUGEPAGE_GUARD_STATE_DIR"] = str(state_dir)
    if config is not None:
        env["HUGEPAGE_GUARD_CONFIG"] = str(config)
    p = run([str(guard_bin()), "check", "--xml", str(xml_path), "--json"], env=env)
    assert p.returncode in (0, 1), (
        f"hugepage-guard check --xml {xml_path} --json exited {p.returncode}\n"
        f"stdout: {p.stdout}\nstderr: {p.stderr}")
    try:
        obj = json.loads(p.stdout)
    except ValueError as e:
        raise AssertionError(f"check --json printed no JSON object ({e}):\n{p.stdout}\n{p.stderr}")
    for key in ("domain", "decision", "demand", "reasons"):
        assert key in obj, f"check --json lacks key {key!r}: {obj}"
    assert obj["decision"] in ("admit", "refuse"), obj
    assert (p.returncode == 0) == (obj["decision"] == "admit"), \
        f"exit status {p.returncode} does not match decision {obj['decision']}"
    for d in obj["demand"]:
        assert isinstance(d["pageSizeKiB"], int) and isinstance(d["pages"], int), d
        assert d["hostNodes"] is None or isinstance(d["hostNodes"], list), d
    return p.returncode, obj


def model_demand(xml_path):
    """The model's pages per page size (KiB -> pages), with no reservations and default config."""
    with tempfile.TemporaryDirectory(prefix="hgtest-state-") as state:
        _, obj = check_json(xml_path, state_dir=state, config=Path(state) / "absent.conf")
    return demand_by_size(obj), obj


def demand_by_size(obj):
    out = {}
    for d in obj["demand"]:
        if d["pages"]:
            out[d["pageSizeKiB"]] = out.get(d["pageSizeKiB"], 0) + d["pages"]
    return out


# ------------------------------------------------------------------------------------------
# kernel pool
# ------------------------------------------------------------------------------------------
def page_sizes():
    return sorted(int(m.group(1)) for p in Path("/sys/kernel/mm/hugepages").iterdir()
                  if (m := re.match(r"hugepages-(\d+)kB$", p.name)))


def counts(kib):
    base = Path(SYSFS_HP.format(kib))
    return {k: int((base / f"{k}_hugepages").read_text())
            for k in ("nr", "free", "resv", "surplus")}


def available(kib):
    c = counts(kib)
    return c["free"] - c["resv"]


def available_all():
    return {k: available(k) for k in page_sizes()}


def set_nr(kib, n):
    """Set the persistent pool size for one page size; fail loudly if the kernel can't."""
    path = "/proc/sys/vm/nr_hugepages" if kib == default_page_kib() else SYSFS_HP.format(kib) + "/nr_hugepages"
    for _ in range(3):
        Path(path).write_text(f"{n}\n")
        if counts(kib)["nr"] == n:
            return
        # Freeing pages for a bigger pool may need a compaction pass first.
        try:
            Path("/proc/sys/vm/compact_memory").write_text("1\n")
        except OSError:
            pass
        time.sleep(0.5)
    raise HostError(f"kernel could not set the {kib} KiB pool to {n} pages "
                    f"(it has {counts(kib)['nr']}): not enough contiguous memory?")


def set_available(kib, n):
    """Resize the pool so that exactly n pages of this size are free and unreserved."""
    c = counts(kib)
    target = c["nr"] + (n - (c["free"] - c["resv"]))
    if target < 0:
        raise HostError(f"cannot make {n} {kib} KiB pages available: {c}")
    set_nr(kib, target)
    got = available(kib)
    if got != n:
        raise HostError(f"asked for {n} available {kib} KiB pages, kernel shows {got}: {counts(kib)}")


def default_page_kib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Hugepagesize:"):
            return int(line.split()[1])
    raise HostError("no Hugepagesize in /proc/meminfo")


# ------------------------------------------------------------------------------------------
# libvirt
# ------------------------------------------------------------------------------------------
def virsh(*args, check=True, timeout=120):
    p = run(["virsh", "-c", URI, *args], timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"virsh {' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def libvirt_ready():
    try:
        return run(["virsh", "-c", URI, "list"], timeout=15).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def wait_libvirt(seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if libvirt_ready():
            return
        time.sleep(0.3)
    raise HostError(f"libvirtd does not answer `virsh -c {URI} list` after {seconds} s")


_KVM = None


def kvm_usable():
    global _KVM
    if _KVM is None:
        _KVM = (os.access("/dev/kvm", os.R_OK | os.W_OK)
                and run(["virsh", "-c", URI, "domcapabilities", "--virttype", "kvm"],
                        timeout=60).returncode == 0)
    return _KVM


def domain_type():
    return "kvm" if kvm_usable() else "qemu"


def prepare_xml(text, name=None):
    """Fixture XML -> XML to define: domain type for this host, optional new name (and no uuid)."""
    text = re.sub(r"<domain\s+type=['\"]kvm['\"]", f"<domain type='{domain_type()}'", text, count=1)
    if name is not None:
        text = re.sub(r"<name>[^<]*</name>", f"<name>{name}</name>", text, count=1)
        text = re.sub(r"\s*<uuid>[^<]*</uuid>", "", text, count=1)
    return text


def xml_name(text):
    m = re.search(r"<name>([^<]*)</name>", text)
    assert m, "domain XML without <name>"
    return m.group(1)


def small_domain(name, mem_kib, page_kib=None, memfd=False):
    """A tiny diskless VM; page_kib None = no hugepages, 0 = <hugepages/> (default size)."""
    mb = ""
    if page_kib is not None:
        hp = "<hugepages/>" if page_kib == 0 else \
            f"<hugepages><page size='{page_kib}' unit='KiB'/></hugepages>"
        src = "<source type='memfd'/>" if memfd else ""
        mb = f"<memoryBacking>{hp}{src}</memoryBacking>"
    return prepare_xml(f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='KiB'>{mem_kib}</memory>
  {mb}
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices><serial type='pty'/><console type='pty'/><memballoon model='none'/></devices>
</domain>
""")


def dom_state(name):
    p = virsh("domstate", name, check=False)
    return p.stdout.strip() if p.returncode == 0 else None


def dom_id(name):
    p = virsh("domid", name, check=False)
    return p.stdout.strip() if p.returncode == 0 else None


def exists(name):
    return virsh("dominfo", name, check=False).returncode == 0


def remove_domain(name):
    """Destroy and undefine; quiet when it is already gone."""
    if not exists(name):
        return
    if dom_state(name) not in (None, "shut off"):
        virsh("destroy", name, check=False)
    virsh("managedsave-remove", name, check=False)
    p = virsh("undefine", name, check=False)
    if p.returncode != 0 and exists(name):
        virsh("undefine", "--nvram", name, check=False)
    assert not exists(name), f"could not undefine {name}"


def pid_alive(pid):
    """A live process that is not a zombie (PID 1 here may be slow to reap daemons)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def libvirtd_pid():
    try:
        pid = int(Path("/run/libvirtd.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def systemd_is_init():
    try:
        return Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def reload_libvirtd():
    """SIGHUP: libvirtd looks for hook scripts again."""
    if systemd_is_init():
        run(["systemctl", "reload", "libvirtd"], check=True)
    else:
        pid = libvirtd_pid()
        if pid is None:
            raise HostError("libvirtd is not running (no live pid in /run/libvirtd.pid)")
        os.kill(pid, signal.SIGHUP)
    time.sleep(0.5)
    wait_libvirt()


def restart_libvirtd():
    """Stop libvirtd and start it again, as scripts/setup-host does. Running VMs keep running."""
    if systemd_is_init():
        run(["systemctl", "restart", "libvirtd"], check=True)
    else:
        pid = libvirtd_pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.time() + 60
            while time.time() < deadline:
                if not pid_alive(pid):
                    break
                time.sleep(0.1)
            else:
                raise HostError(f"libvirtd (pid {pid}) did not exit within 60 s of SIGTERM")
        p = subprocess.run(["libvirtd", "-d"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        if p.returncode != 0:
            raise HostError(f"`libvirtd -d` exited {p.returncode}")
    wait_libvirt()


# ------------------------------------------------------------------------------------------
# ledger / status / syslog
# ------------------------------------------------------------------------------------------
def ledger_text():
    try:
        return LEDGER_PATH.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def status_text():
    """`hugepage-guard status --json` output if the command works, else None."""
    try:
        p = run([str(guard_bin()), "status", "--json"], timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout if p.returncode == 0 else None


def reservation_mentions(name):
    """True if the ledger (or `status --json`) still holds an entry naming this domain."""
    if re.search(rf"(^|[^\w-]){re.escape(name)}([^\w-]|$)", ledger_text()):
        return True
    st = status_text()
    return bool(st and re.search(rf"\"{re.escape(name)}\"", st))


def sink_active():
    try:
        pid = int(SINK_PID.read_text().strip())
    except (OSError, ValueError):
        return False
    return pid_alive(pid) and Path("/dev/log").is_socket()


class SyslogWatch:
    """Reads what the test syslog sink received after mark()."""

    def __init__(self):
        self.active = sink_active()
        self.offset = 0
        self.mark()

    def mark(self):
        self.offset = SINK_LOG.stat().st_size if (self.active and SINK_LOG.exists()) else 0

    def lines(self):
        if not self.active:
            return []
        with open(SINK_LOG, "rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", "replace").splitlines()

    def wait_for(self, *needles, timeout=5.0):
        """The first line after mark() containing every needle; None if the sink is not in use."""
        if not self.active:
            return None
        deadline = time.time() + timeout
        while True:
            for line in self.lines():
                if all(n in line for n in needles):
                    return line
            if time.time() > deadline:
                raise AssertionError(
                    f"no syslog line with {needles} in {SINK_LOG}; lines since mark:\n"
                    + "\n".join(self.lines()[-20:]))
            time.sleep(0.1)


def decision_line_matches(line, decision, name):
    return line is None or (f"decision={decision}" in line and name in line)


def ceil_div(a, b):
    return -(-a // b)


# ------------------------------------------------------------------------------------------
# virtio-mem: QEMU preallocates only what the guest plugs, after start
# ------------------------------------------------------------------------------------------
UNIT_BYTES = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2, "mib": 1024**2,
              "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3, "t": 1024**4,
              "tib": 1024**4, "tb": 1000**4}


def _kib(el):
    unit = (el.get("unit") or "KiB").lower()
    return math.ceil(int(el.text.strip()) * UNIT_BYTES[unit] / 1024)


def virtio_mem_requested_pages(xml_text):
    """Pages per size that virtio-mem devices will take only once a guest driver plugs them.

    A diskless test guest has no driver, so at start the kernel pool does not lose these.
    Page size: the device's own <source><pagesize>, else the domain's <page> for its node,
    else the master <page>, else the default size when <hugepages/> is empty.
    """
    root = ET.fromstring(xml_text)
    out = {}
    for dev in root.findall("./devices/memory[@model='virtio-mem']"):
        req = dev.find("./target/requested")
        if req is None:
            continue
        node = (dev.findtext("./target/node") or "0").strip()
        ps = dev.find("./source/pagesize")
        if ps is not None:
            page = _kib(ps)
        else:
            hp = root.find("./memoryBacking/hugepages")
            if hp is None:
                continue
            page = None
            for p in hp.findall("page"):
                ns = p.get("nodeset")
                if ns is not None and node in _expand(ns):
                    page = _kib(_size_el(p))
            if page is None:
                for p in hp.findall("page"):
                    if p.get("nodeset") is None:
                        page = _kib(_size_el(p))
            if page is None:
                page = default_page_kib()
        if page <= 4:
            continue
        out[page] = out.get(page, 0) + ceil_div(_kib(req), page)
    return out


def _size_el(p):
    e = ET.Element("x", unit=p.get("unit") or "KiB")
    e.text = p.get("size")
    return e


def _expand(nodeset):
    out = set()
    for part in nodeset.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.update(str(i) for i in range(int(a), int(b) + 1))
        else:
            out.add(part.strip())
    return out


# ------------------------------------------------------------------------------------------
# QEMU's own memory backends, read from the running QEMU's command line
# ------------------------------------------------------------------------------------------
def norm_id(backend_id):
    """Backend ids compared without punctuation: 'memvirtio-mem0' ~ 'memvirtiomem0'."""
    return re.sub(r"[^a-z0-9]", "", backend_id.lower())


def _hugetlbfs_page_kib(path):
    """Page size (KiB) of the hugetlbfs mount holding path; None if it is not on hugetlbfs."""
    best = None
    for line in Path("/proc/mounts").read_text().splitlines():
        dev, mnt, fstype, opts = line.split()[:4]
        if fstype != "hugetlbfs" or not (path == mnt or path.startswith(mnt.rstrip("/") + "/")):
            continue
        if best is None or len(mnt) > len(best[0]):
            size = default_page_kib()
            for o in opts.split(","):
                if o.startswith("pagesize="):
                    v = o[len("pagesize="):]
                    mult = {"K": 1, "M": 1024, "G": 1024 * 1024}[v[-1].upper()]
                    size = int(v[:-1]) * mult
            best = (mnt, size)
    return best[1] if best else None


def qemu_backends(name):
    """Memory backends of a running domain's QEMU: [{id, pageKiB|None, sizeKiB, prealloc, reserve}]."""
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip())
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    out = []
    for i, a in enumerate(args[:-1]):
        if a != "-object" or not args[i + 1].startswith("{"):
            continue
        o = json.loads(args[i + 1])
        qt = o.get("qom-type", "")
        if not qt.startswith("memory-backend-"):
            continue
        page = None
        if qt == "memory-backend-file":
            page = _hugetlbfs_page_kib(o.get("mem-path", ""))
        elif qt == "memory-backend-memfd" and o.get("hugetlb"):
            page = int(o.get("hugetlbsize", default_page_kib() * 1024)) // 1024
        out.append({"id": o["id"], "type": qt, "pageKiB": page, "sizeKiB": int(o["size"]) // 1024,
                    "prealloc": bool(o.get("prealloc")), "reserve": o.get("reserve", True)})
    return out
