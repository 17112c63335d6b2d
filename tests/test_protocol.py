import math
import socket
import struct

import numpy as np
import pytest
import torch

from autograder.wire.protocol import (
    HEADER, MAGIC, Channel, Handle, MetaTensorInfo, PeerClosed, ProtocolError, ReplyTimeout, decode_value,
    encode_value, pack,
)


def roundtrip(value, make_handle=None):
    tree, tensors = encode_value(value, make_handle)
    blob = pack({"v": tree}, tensors)
    a, b = socket.socketpair()
    with a, b:
        a.sendall(blob)
        msg, t = Channel(b).receive(deadline=None)
    return decode_value(msg["v"], t)


def test_plain_values_roundtrip():
    value = [None, True, 3, -2**70, 1.5, "ğüşıöç", (1, 2), {"a": [1], 2: "b"}, slice(1, None, 2)]
    assert roundtrip(value) == value


def test_non_finite_floats_roundtrip():
    out = roundtrip([float("nan"), float("inf"), -float("inf")])
    assert math.isnan(out[0]) and out[1] == math.inf and out[2] == -math.inf


def test_arrays_and_tensors_keep_type_dtype_shape():
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = torch.randn(3, 2, dtype=torch.float64)
    out = roundtrip([arr, t, np.float64(2.5), torch.device("cpu"), torch.float16, torch.Size([2, 3])])
    assert isinstance(out[0], np.ndarray) and out[0].dtype == np.int32 and np.array_equal(out[0], arr)
    assert isinstance(out[1], torch.Tensor) and out[1].dtype == torch.float64 and torch.equal(out[1], t)
    assert out[2] == 2.5 and isinstance(out[2], np.float64)
    assert out[3] == torch.device("cpu") and out[4] is torch.float16 and out[5] == torch.Size([2, 3])


def test_meta_tensors_travel_as_descriptions():
    out = roundtrip(torch.empty(4, 5, device="meta"))
    assert isinstance(out, MetaTensorInfo) and out.shape == (4, 5) and out.device == "meta"


def test_forged_float_subclass_becomes_a_handle():
    class Liar(float):
        def __eq__(self, other):
            return True

    out = roundtrip(Liar(1.0), make_handle=lambda obj: {"$handle": 7, "type": type(obj).__name__, "repr": ""})
    assert isinstance(out, Handle) and out.type == "Liar"


def test_tensor_subclass_sends_plain_data():
    class Sneaky(torch.Tensor):
        pass

    t = torch.ones(2).as_subclass(Sneaky)
    out = roundtrip(t)
    assert type(out) is torch.Tensor and torch.equal(out, torch.ones(2))


def test_unknown_objects_need_a_handle_maker():
    with pytest.raises(TypeError):
        encode_value(object())


def _receive(raw: bytes, **kw):
    a, b = socket.socketpair()
    with a, b:
        a.sendall(raw)
        a.shutdown(socket.SHUT_WR)
        return Channel(b, **kw).receive(deadline=None)


@pytest.mark.parametrize("raw", [
    b"XXXX" + struct.pack("<II", 2, 0) + b"{}",                      # bad magic
    HEADER.pack(MAGIC, 5, 0) + b"nope!",                             # not JSON
    HEADER.pack(MAGIC, 3, 0) + b"[1]",                               # not an object
    HEADER.pack(MAGIC, 11, 0) + b'{"v": NaN} ',                      # non-standard constant
    HEADER.pack(MAGIC, 2, 4) + b"{}" + b"junk",                      # corrupt tensor blob
])
def test_malformed_messages_are_rejected(raw):
    with pytest.raises(ProtocolError):
        _receive(raw)


def test_oversized_reply_is_rejected_before_reading_it():
    with pytest.raises(ProtocolError, match="too large"):
        _receive(HEADER.pack(MAGIC, 10**9, 0), max_json=1000)


def test_truncated_reply_means_peer_closed():
    with pytest.raises(PeerClosed):
        _receive(HEADER.pack(MAGIC, 100, 0) + b"{")


@pytest.mark.parametrize("tree", [
    {"$nope": 1}, {"$array": "9"}, {"$float": "1e5"}, {"$dtype": "os.system"}, {"$handle": "1"}, {},
])
def test_bad_tags_are_rejected(tree):
    with pytest.raises(ProtocolError):
        decode_value(tree, {})


def test_deep_nesting_is_rejected():
    tree = []
    for _ in range(200):
        tree = [tree]
    with pytest.raises(ProtocolError):
        decode_value(tree, {})


def test_silent_peer_times_out():
    a, b = socket.socketpair()
    with a, b:
        with pytest.raises(ReplyTimeout):
            import time
            Channel(b).receive(deadline=time.monotonic() + 0.2)
