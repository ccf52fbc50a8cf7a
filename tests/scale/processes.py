"""What a command's process tree is and where it listens, read from Linux ``/proc`` (proc(5))."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

LISTEN = "0A"  # the TCP state column of /proc/net/tcp{,6} (include/net/tcp_states.h)


def descendants(root: int) -> list[int]:
    """Every live process below ``root``."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def listening(root: int) -> dict[str, str]:
    """``ip:port`` -> command name, for each TCP port that ``root`` or a process below it listens on."""
    owners: dict[str, str] = {}
    for pid in [root, *descendants(root)]:
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    owners[link[len("socket:[") : -1]] = name
        except OSError:
            continue
    found = {}
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != LISTEN or fields[9] not in owners:
                continue
            host, port = fields[1].split(":")
            raw = bytes.fromhex(host)  # 32-bit words in host (little-endian) order
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found[f"{socket.inet_ntop(family, raw)}:{int(port, 16)}"] = owners[fields[9]]
    return found


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback
