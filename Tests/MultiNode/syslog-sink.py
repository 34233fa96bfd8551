#!/usr/bin/env python3
"""The test guest's syslog: each datagram at /dev/log becomes one line of a file (the hook's
decision lines end up in out/syslog.log)."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a") as f:
    while True:
        f.write(s.recv(65536).decode("utf-8", "replace").replace("\n", " ").rstrip("\x00") + "\n")
        f.flush()
