"""This machine's addresses, for tests that something is reachable on loopback only."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from typing import Optional


def non_loopback_ipv4() -> Optional[str]:
    """An IPv4 address of this machine other than 127.x, or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing address
            address = probe.getsockname()[0]
        except OSError:
            address = None
    if address and not ipaddress.ip_address(address).is_loopback:
        return address
    try:
        listing = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True)
    except OSError:
        return None
    for line in listing.stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            return fields[fields.index("inet") + 1].split("/")[0]
    return None
