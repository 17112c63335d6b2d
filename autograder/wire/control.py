"""Control datagrams between the trusted launcher and the worker template.

Small JSON objects on a SOCK_SEQPACKET socket; a worker's channel travels as a
file descriptor (SCM_RIGHTS). The trusted side validates every reply like any
message from the sandbox: nothing is unpickled, and a reply that is not a JSON
object reads as no reply at all.
"""
from __future__ import annotations

import array
import json
import socket

MAX_CONTROL = 64 * 1024


def send_command(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.send(data)


def recv_command(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """One datagram and the descriptors that came with it (the template's side)."""
    fds = array.array("i")
    data, ancdata, flags, _ = sock.recvmsg(MAX_CONTROL, socket.CMSG_LEN(4 * fds.itemsize))
    received = []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            received.extend(fds)
    if not data:
        return None, received
    return json.loads(data), received


def recv_reply(sock: socket.socket, timeout: float) -> dict | None:
    """The template's reply (the trusted side): a JSON object, or None if it is late, gone or malformed."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(MAX_CONTROL)
    except (OSError, TimeoutError):
        return None
    try:
        reply = json.loads(data) if data else None
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None
