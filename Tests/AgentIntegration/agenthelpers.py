"""Helpers the agent tests import: the agent as a child process, and test domains.

They live here rather than in conftest.py so that tests import them by a name of their own:
`conftest` names a different module depending on which suite pytest collected first.
"""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Integration"))
import hgtest as H  # noqa: E402


def stop_process(proc, timeout):
    """Ends `proc`: SIGTERM, then SIGKILL after `timeout` seconds. Its exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class AgentProcess:
    """`hugepage-guard agent` with stdout collected line by line."""

    def __init__(self, state_dir, interval=1.0, extra_env=None):
        self.state_dir = Path(state_dir)
        self.metrics = self.state_dir / "metrics" / "hugepage_guard.prom"
        self.metrics.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update({"HUGEPAGE_GUARD_STATE_DIR": str(self.state_dir),
                    "HUGEPAGE_GUARD_CONFIG": str(self.state_dir / "no-such.conf")})
        env.update(extra_env or {})
        self.proc = subprocess.Popen([str(H.guard_bin()), "agent", "--interval", str(interval),
                                      "--metrics-path", str(self.metrics)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()

    def wait_line(self, *needles, timeout=30, after=0):
        """The first line (from index `after`) containing every needle; fails on timeout."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for i, (_, line) in enumerate(self.lines[after:], start=after):
                    if all(n in line for n in needles):
                        return i, line
                left = deadline - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    text = "\n".join(l for _, l in self.lines)
                    rc = self.proc.poll()
                    why = f"the agent exited with {rc}" if rc is not None else f"none within {timeout}s"
                    err = self.proc.stderr.read() if rc is not None else ""
                    pytest.fail(f"no agent line with {needles}: {why}; agent said:\n{text}\n{err}")
                self.cond.wait(min(left, 0.5))

    def count(self):
        with self.cond:
            return len(self.lines)

    def text(self):
        with self.cond:
            return "\n".join(l for _, l in self.lines)

    def stop(self):
        return stop_process(self.proc, 10)


def hugepage_vm(name, mib=64, dimm_slots=False):
    """A tiny diskless VM backed by 2 MiB pages; with `dimm_slots`, ready for DIMM hotplug."""
    extra = ""
    cpu = ""
    if dimm_slots:
        extra = "<maxMemory slots='4' unit='MiB'>2048</maxMemory>"
        cpu = f"<cpu><numa><cell id='0' cpus='0' memory='{mib}' unit='MiB'/></numa></cpu>"
    return H.prepare_xml(f"""<domain type='kvm'>
  <name>{name}</name>
  {extra}
  <memory unit='MiB'>{mib}</memory>
  <memoryBacking><hugepages><page size='2048' unit='KiB'/></hugepages></memoryBacking>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/><apic/></features>
  {cpu}
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices><serial type='pty'/><console type='pty'/><memballoon model='none'/></devices>
</domain>
""")


def define(name, xml, tmp):
    path = Path(tmp) / f"{name}.xml"
    path.write_text(xml)
    H.virsh("define", str(path))
