"""The wire format between the trusted grader and the sandboxed worker.

Nothing here ever unpickles. A message is a fixed header, a JSON document and an
optional safetensors blob that carries every array and tensor of the message::

    b"AGv1" | json length (u32 LE) | blob length (u32 LE) | JSON (UTF-8) | blob

Values inside the JSON are plain JSON where JSON can say it (None, bool, int,
str, list) and small tagged objects everywhere else, e.g. ``{"$tuple": [...]}``
or ``{"$tensor": "3", "device": "cuda:0", "requires_grad": false}`` where
``"3"`` names a tensor in the blob. Objects that cannot travel by value (a
model, an optimizer, a function) stay in the worker and travel as a handle.

Decoding is strict: the trusted side validates every tag, size and key, and a
message that breaks a rule raises :class:`ProtocolError`, which fails that one
submission, never the grader.
"""
from __future__ import annotations

import json
import math
import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"AGv1"
HEADER = struct.Struct("<4sII")

#: Limits on one message coming back from a worker. A reply beyond them fails
#: the submission that sent it; the limits are generous for any honest answer.
MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_BLOB_BYTES = 512 * 1024 * 1024
MAX_DEPTH = 64
MAX_ITEMS = 200_000


class ProtocolError(Exception):
    """A message that is malformed, oversized or late."""


class PeerClosed(ProtocolError):
    """The other side closed the channel (for a worker: it died)."""


class ReplyTimeout(ProtocolError):
    """No complete reply arrived before the deadline."""


@dataclass(frozen=True)
class Handle:
    """An object that lives in the worker, known to the trusted side by id only."""

    id: int
    type: str = "object"
    repr: str = ""

    def __str__(self) -> str:  # used in feedback messages
        return f"<{self.type}>"


# --------------------------------------------------------------------------- encoding

def _torch():
    import torch  # imported lazily: protocol users that never see tensors stay light

    return torch


class _Encoder:
    """Turns a Python value into (JSON tree, tensors) — the worker's direction.

    ``keep_unknown`` decides what happens to values that cannot travel: either a
    handle is made through ``make_handle`` or a TypeError is raised.
    """

    def __init__(self, make_handle=None):
        self.tensors: dict[str, Any] = {}
        self.make_handle = make_handle
        self.torch = None

    def _add_tensor(self, t) -> str:
        key = str(len(self.tensors))
        self.tensors[key] = t
        return key

    def encode(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise TypeError("value nested too deeply")
        # Exact type checks on purpose: a subclass of float with a forged __eq__
        # must not travel as a float.
        tp = type(value)
        if value is None or tp is bool or tp is str:
            return value
        if tp is int:
            if abs(value) >= 2**63:
                return {"$bigint": str(value)}
            return value
        if tp is float:
            if math.isfinite(value):
                return value
            return {"$float": repr(value)}  # 'nan', 'inf', '-inf'
        if tp is list:
            return [self.encode(v, depth + 1) for v in value]
        if tp is tuple:
            return {"$tuple": [self.encode(v, depth + 1) for v in value]}
        if tp is dict:
            return {"$dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        if tp is slice:
            return {"$slice": [self.encode(value.start), self.encode(value.stop), self.encode(value.step)]}
        if value is Ellipsis:
            return {"$ellipsis": True}
        if tp is Handle:
            return {"$handle": value.id}
        if tp is np.ndarray or (isinstance(value, np.generic) and tp.__module__ == "numpy"):
            arr = np.asarray(value)
            if arr.dtype.kind not in "biufc":
                return self._unknown(value, f"numpy array of dtype {arr.dtype}")
            torch = self.torch or _torch()
            t = torch.from_numpy(np.array(arr, copy=True, order="C"))  # keeps 0-d arrays 0-d
            out = {"$array": self._add_tensor(t)}
            if isinstance(value, np.generic):
                out["scalar"] = True
            return out
        torch = self.torch or _torch()
        self.torch = torch
        if tp is torch.device:
            return {"$device": str(value)}
        if tp is torch.dtype:
            return {"$dtype": str(value).removeprefix("torch.")}
        if tp is torch.Size:
            return {"$size": [int(v) for v in value]}
        if isinstance(value, torch.Tensor):
            if tp is not torch.Tensor and tp is not torch.nn.Parameter:
                # A tensor subclass may override operators; only its raw data travels.
                value = value.as_subclass(torch.Tensor)
            info = {
                "device": str(value.device),
                "requires_grad": bool(value.requires_grad),
                "shape": [int(s) for s in value.shape],
                "dtype": str(value.dtype).removeprefix("torch."),
            }
            if value.device.type == "meta" or value.is_sparse or value.layout != torch.strided:
                return {"$meta": info}
            data = value.detach().to("cpu").contiguous().clone()
            return {"$tensor": self._add_tensor(data), **info}
        return self._unknown(value, tp.__name__)

    def _unknown(self, value, what):
        if self.make_handle is None:
            raise TypeError(f"cannot send a value of type {what}")
        return self.make_handle(value)


def encode_value(value, make_handle=None):
    """Encode ``value``; returns (json tree, dict of tensors)."""
    enc = _Encoder(make_handle)
    tree = enc.encode(value)
    return tree, enc.tensors


# --------------------------------------------------------------------------- decoding

class _Decoder:
    def __init__(self, tensors: dict, *, handles_as: str = "handle", handle_lookup=None):
        self.tensors = tensors
        self.items = 0
        self.handle_lookup = handle_lookup  # worker side: id -> object

    def decode(self, node, depth: int = 0):
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ProtocolError("too many items in one message")
        if depth > MAX_DEPTH:
            raise ProtocolError("message nested too deeply")
        if node is None or isinstance(node, (bool, str)):
            return node
        if isinstance(node, int):
            return node
        if isinstance(node, float):
            return node
        if isinstance(node, list):
            return [self.decode(v, depth + 1) for v in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise ProtocolError(f"unexpected JSON node {type(node).__name__}")
        tag = next(iter(node))
        if tag == "$tuple":
            return tuple(self.decode(v, depth + 1) for v in self._list(node[tag]))
        if tag == "$dict":
            out = {}
            for pair in self._list(node[tag]):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ProtocolError("bad dict entry")
                key = self.decode(pair[0], depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise ProtocolError("unhashable dict key") from None
                out[key] = self.decode(pair[1], depth + 1)
            return out
        if tag == "$float":
            text = node[tag]
            if text not in ("nan", "inf", "-inf"):
                raise ProtocolError("bad float tag")
            return float(text)
        if tag == "$bigint":
            text = node[tag]
            if not isinstance(text, str) or len(text) > 400:
                raise ProtocolError("bad bigint")
            try:
                return int(text)
            except ValueError:
                raise ProtocolError("bad bigint") from None
        if tag == "$slice":
            parts = self._list(node[tag])
            if len(parts) != 3:
                raise ProtocolError("bad slice")
            return slice(*(self.decode(p, depth + 1) for p in parts))
        if tag == "$ellipsis":
            return Ellipsis
        if tag in ("$array", "$tensor"):
            key = node[tag]
            if not isinstance(key, str) or key not in self.tensors:
                raise ProtocolError("reference to a missing tensor")
            t = self.tensors[key]
            if tag == "$array":
                if t.dtype == _torch().bfloat16:
                    raise ProtocolError("bfloat16 numpy array")
                arr = t.numpy()
                return arr[()] if node.get("scalar") else arr
            return t
        if tag == "$meta":
            return MetaTensorInfo.from_json(node[tag])
        if tag == "$device":
            return _torch().device(self._str(node[tag]))
        if tag == "$dtype":
            name = self._str(node[tag])
            torch = _torch()
            dt = getattr(torch, name, None)
            if not isinstance(dt, torch.dtype):
                raise ProtocolError(f"unknown dtype {name!r}")
            return dt
        if tag == "$size":
            return _torch().Size([int(v) for v in self._list(node[tag])])
        if tag == "$handle":
            hid = node[tag]
            if type(hid) is not int:
                raise ProtocolError("bad handle id")
            if self.handle_lookup is not None:
                return self.handle_lookup(hid)
            return Handle(hid, self._str(node.get("type", "object"))[:200], self._str(node.get("repr", ""))[:500])
        raise ProtocolError(f"unknown tag {tag!r}")

    @staticmethod
    def _list(v):
        if not isinstance(v, list):
            raise ProtocolError("expected a list")
        return v

    @staticmethod
    def _str(v):
        if not isinstance(v, str):
            raise ProtocolError("expected a string")
        return v


@dataclass(frozen=True)
class MetaTensorInfo:
    """A tensor without data (meta device, sparse): only what describes it."""

    shape: tuple
    dtype: str
    device: str
    requires_grad: bool

    @classmethod
    def from_json(cls, info):
        if not isinstance(info, dict):
            raise ProtocolError("bad tensor description")
        try:
            return cls(tuple(int(s) for s in info["shape"]), str(info["dtype"]), str(info["device"]),
                       bool(info["requires_grad"]))
        except (KeyError, TypeError, ValueError):
            raise ProtocolError("bad tensor description") from None


def decode_value(tree, tensors, handle_lookup=None):
    return _Decoder(tensors, handle_lookup=handle_lookup).decode(tree)


# --------------------------------------------------------------------------- framing

def pack(message: dict, tensors: dict | None = None) -> bytes:
    """Serialise one message (a JSON-able dict plus named tensors)."""
    body = json.dumps(message, allow_nan=False, separators=(",", ":")).encode()
    blob = b""
    if tensors:
        from safetensors.torch import save

        blob = save(tensors)
    return HEADER.pack(MAGIC, len(body), len(blob)) + body + blob


def unpack(body: bytes, blob: bytes) -> tuple[dict, dict]:
    try:
        message = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    tensors = {}
    if blob:
        from safetensors import SafetensorError
        from safetensors.torch import load

        try:
            tensors = load(blob)
        except (SafetensorError, ValueError, RuntimeError, OverflowError) as exc:
            raise ProtocolError(f"malformed tensor blob: {exc}") from None
    return message, tensors


def _reject_constant(name):
    raise ProtocolError(f"non-standard JSON constant {name}")


class Channel:
    """A framed, size-checked message channel over a connected socket."""

    def __init__(self, sock: socket.socket, *, max_json: int = MAX_JSON_BYTES, max_blob: int = MAX_BLOB_BYTES):
        self.sock = sock
        self.max_json = max_json
        self.max_blob = max_blob

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: dict, tensors: dict | None = None) -> None:
        try:
            self.sock.sendall(pack(message, tensors))
        except (BrokenPipeError, ConnectionResetError, OSError) as exc:
            raise PeerClosed(f"channel closed while sending: {exc}") from None

    def receive(self, deadline: float | None = None) -> tuple[dict, dict]:
        """Read one message; ``deadline`` is a ``time.monotonic()`` value or None."""
        header = self._read_exact(HEADER.size, deadline)
        magic, json_len, blob_len = HEADER.unpack(header)
        if magic != MAGIC:
            raise ProtocolError("bad message header")
        if json_len > self.max_json:
            raise ProtocolError(f"reply too large ({json_len} bytes of JSON)")
        if blob_len > self.max_blob:
            raise ProtocolError(f"reply too large ({blob_len} bytes of tensors)")
        body = self._read_exact(json_len, deadline)
        blob = self._read_exact(blob_len, deadline) if blob_len else b""
        return unpack(body, blob)

    def _read_exact(self, n: int, deadline: float | None) -> bytes:
        chunks = []
        remaining = n
        while remaining:
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise ReplyTimeout("no reply before the deadline")
                ready, _, _ = select.select([self.sock], [], [], wait)
                if not ready:
                    raise ReplyTimeout("no reply before the deadline")
            try:
                chunk = self.sock.recv(min(remaining, 1 << 20))
            except (ConnectionResetError, OSError) as exc:
                raise PeerClosed(f"channel closed: {exc}") from None
            if not chunk:
                raise PeerClosed("channel closed")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def socketpair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    os.set_inheritable(b.fileno(), True)
    return a, b
