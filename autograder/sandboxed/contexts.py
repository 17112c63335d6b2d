"""Context managers the trusted side may ask the worker to wrap a call in.

The trusted side names them in a ``call`` request (``contexts=["no_grad"]``);
the worker looks them up here. Each is a zero-argument factory.

- ``no_grad``: ``torch.no_grad()``.
- ``build_on_meta``: ``torch.device("meta")`` as the default device, to build a large model the check only needs
  the structure of (its parameters are then given memory with ``to_empty``, uninitialised): random initialisation of
  millions of weights is skipped.
- ``simulate_device``: run device-agnostic code on ``device=torch.device("meta")``
  as if meta were a GPU without a readable memory (see :class:`SimulatedDevice`).
- ``count_ops``: count matmul / conv / rnn-family aten ops by device; the counts
  are left in the notebook's globals under :data:`OP_COUNTS_GLOBAL`.
- ``watch_grad``: count the torch calls that recorded an autograd graph (their result has a ``grad_fn``) and
  those that did not; left in the notebook's globals under :data:`GRAPH_COUNTS_GLOBAL`. Code that runs its
  forward pass under ``torch.no_grad()`` / ``torch.inference_mode()`` records none.
- ``available:cuda+mps``, ``available:cuda``, ``available:mps``, ``available:none``:
  pretend these accelerators are (not) available, to exercise a ``get_device()``.

Everything here runs in the untrusted worker: it shapes how student code runs,
and the trusted side judges what comes back.
"""
from __future__ import annotations

import contextlib
import functools
from collections import Counter

from autograder.wire.names import AVAILABILITY, GRAPH_COUNTS_GLOBAL, OP_COUNTS_GLOBAL


def _no_grad():
    import torch

    return torch.no_grad()


def _build_on_meta():
    import torch

    return torch.device("meta")


# ---------------------------------------------------------------------- simulated device

@functools.lru_cache(maxsize=None)
def _simulation_modes():
    """The two torch modes behind ``simulate_device``, built lazily so that importing this stays light."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_map

    aten = torch.ops.aten
    meta = torch.device("meta")

    # Ops that legitimately take tensors from several devices (as on CUDA): copies, indexing
    # with CPU indices, and packed sequences whose lengths / batch sizes must stay on the CPU.
    cross_device = {
        aten._to_copy.default, aten.copy_.default, aten.copy.default, aten._copy_from.default,
        aten._copy_from_and_resize.default, aten.set_.source_Tensor,
        aten.index.Tensor, aten._unsafe_index.Tensor, aten.index_put_.default, aten.index_put.default,
        aten._index_put_impl_.default, aten._unsafe_index_put.default,
        aten._pack_padded_sequence.default, aten._pad_packed_sequence.default,
        aten.lstm.data, aten.gru.data, aten.rnn_tanh.data, aten.rnn_relu.data,
    }
    indexing = {aten.index.Tensor, aten._unsafe_index.Tensor, aten.index_put_.default, aten.index_put.default,
                aten._index_put_impl_.default, aten._unsafe_index_put.default}

    def tensor_args(args, kwargs) -> list:
        # aten arguments nest at most one level (Tensor[], Tensor?[]).
        found = []
        for a in (*args, *kwargs.values()):
            if isinstance(a, torch.Tensor):
                found.append(a)
            elif isinstance(a, (list, tuple)):
                found.extend(b for b in a if isinstance(b, torch.Tensor))
        return found

    def is_cpu_scalar(t) -> bool:
        return t.device.type == "cpu" and t.dim() == 0

    def placeholder(t, device="cpu", dtype=None):
        """What reading a meta tensor gives: zeros of its shape (and a 0 / 0.0 / False for a scalar)."""
        return torch.zeros(t.shape, dtype=dtype or t.dtype, device=device)

    class HostSyncs(TorchFunctionMode):
        """Python-level reads of a meta tensor that never reach the dispatcher."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func is torch.Tensor.__format__ and args[0].is_meta and args[0].dim() == 0:
                return format(placeholder(args[0]).item(), *args[1:])  # f"{loss:.4f}"
            if func is torch.tensor and args and isinstance(args[0], (list, tuple)):
                # torch.tensor([loss1, loss2]) reads each element, as .item() would.
                data = tree_map(lambda v: placeholder(v) if isinstance(v, torch.Tensor) and v.is_meta else v, args[0])
                args = (data, *args[1:])
            return func(*args, **kwargs)

    class MetaAsDevice(TorchDispatchMode):
        """Answers reads of meta tensors with zeros and rejects device mixes that CUDA rejects."""

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            tensors = tensor_args(args, kwargs)
            if not any(t.device == meta for t in tensors):
                return func(*args, **kwargs)

            # Host syncs: .item() / float() / bool() / .tolist(), .cpu() / .to("cpu"), cpu_t.copy_(meta_t).
            if func in (aten._local_scalar_dense.default, aten.item.default):  # item: under inference_mode
                return placeholder(args[0]).item()
            if func is aten._to_copy.default or func.overloadpacket is aten.to:  # aten.to.*: inference_mode
                target, dtype = self.to_target(func, args, kwargs)
                if target.type == "cpu":
                    return placeholder(args[0], target, dtype)
            if func is aten.copy_.default and args[0].device.type == "cpu":
                return args[0].zero_()

            self.check_devices(func, args, tensors)
            if any(is_cpu_scalar(t) for t in tensors):
                args, kwargs = self.cpu_scalars_to_meta(func, args, kwargs)

            # Data-dependent results: a meta tensor cannot say which elements are true; assume all are.
            if func is aten.masked_select.default:
                values, mask = torch.broadcast_tensors(args[0], args[1])
                return values[mask]
            if func in (aten.equal.default, aten.allclose.default):
                return False
            return func(*args, **kwargs)

        @staticmethod
        def to_target(func, args, kwargs):
            """(device, dtype) a copy or `to` op sends its tensor to."""
            device, dtype = kwargs.get("device"), kwargs.get("dtype")
            if func is aten.to.device:
                device, dtype = args[1], args[2] if len(args) > 2 else dtype
            elif func is aten.to.other:
                device, dtype = args[1].device, args[1].dtype
            elif func is aten.to.dtype:
                dtype = args[1] if len(args) > 1 else dtype
            return torch.device(device or args[0].device), dtype

        @staticmethod
        def check_devices(func, args, tensors):
            if func in indexing:
                base = args[0]
                for index in args[1]:
                    if index is not None and index.device.type != "cpu" and index.device != base.device:
                        raise RuntimeError("indices should be either on cpu or on the same device as the indexed "
                                           f"tensor ({base.device})")
                return
            if func in cross_device or func.name().startswith("aten::_foreach"):
                return
            # CUDA lets 0-dim CPU tensors (scalars) mix with device tensors, nothing else.
            devices = {t.device for t in tensors if not is_cpu_scalar(t)}
            if len(devices) > 1:
                other = ", ".join(sorted(str(d) for d in devices if d != meta))
                raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                                   f"meta and {other}! (when checking arguments for {func})")

        @staticmethod
        def cpu_scalars_to_meta(func, args, kwargs):
            """CUDA kernels accept a CPU scalar anywhere; some meta kernels do not (masked_fill, index_fill)."""
            if func in cross_device:
                return args, kwargs
            args, kwargs = list(args), dict(kwargs)
            for i, arg in enumerate(func._schema.arguments):
                if arg.alias_info is not None and arg.alias_info.is_write:
                    continue  # an output stays where it is
                if i < len(args) and not arg.kwarg_only:
                    if isinstance(args[i], torch.Tensor) and is_cpu_scalar(args[i]):
                        args[i] = args[i].to(meta)
                elif isinstance(kwargs.get(arg.name), torch.Tensor) and is_cpu_scalar(kwargs[arg.name]):
                    kwargs[arg.name] = kwargs[arg.name].to(meta)
            return tuple(args), kwargs

    return HostSyncs, MetaAsDevice


@contextlib.contextmanager
def _meta_autocast_disabled():
    """``torch.autocast(device_type=device.type)`` knows no "meta": make it a disabled CPU autocast."""
    import torch

    original = torch.amp.autocast_mode.autocast.__init__

    def init(self, device_type, *args, **kwargs):
        if device_type == "meta":
            device_type, kwargs["enabled"] = "cpu", False
        original(self, device_type, *args, **kwargs)

    torch.amp.autocast_mode.autocast.__init__ = init
    try:
        yield
    finally:
        torch.amp.autocast_mode.autocast.__init__ = original


class SimulatedDevice:
    """Treat ``torch.device("meta")`` as a GPU whose memory cannot be read.

    Under it, correct device-agnostic code runs to the end on ``device=meta``:
    shapes, dtypes and autograd are real, values are not. Reading a value back
    (``.item()``, ``float(t)``, ``bool(t)``, ``.tolist()``, ``.cpu()``,
    ``.to("cpu")``, ``f"{loss:.3f}"``, ``torch.tensor([t1, t2])``) gives zeros
    (``0.0`` / ``0`` / ``False``, or a zero CPU tensor of the right shape), so
    loss and accuracy bookkeeping works. Mixing devices fails as on CUDA: any op
    with a CPU tensor (other than a 0-dim CPU scalar) next to a meta tensor
    raises "Expected all tensors to be on the same device", an RNN with a CPU
    hidden state raises PyTorch's own "Input and hidden tensors are not at the
    same device". ``.numpy()`` on a meta tensor fails, as on CUDA: it needs
    ``.cpu()`` first. Data-dependent ops assume every element is nonzero, and
    ``torch.autocast(device_type="meta")`` is a disabled autocast.
    """

    def __init__(self):
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self):
        import torch.fx.experimental._config as fx_config

        host_syncs, meta_as_device = _simulation_modes()
        stack = contextlib.ExitStack()
        old = fx_config.meta_nonzero_assume_all_nonzero
        fx_config.meta_nonzero_assume_all_nonzero = True  # x[mask], nonzero(): a size instead of an error
        stack.callback(setattr, fx_config, "meta_nonzero_assume_all_nonzero", old)
        stack.enter_context(_meta_autocast_disabled())
        stack.enter_context(host_syncs())
        stack.enter_context(meta_as_device())
        self._stack = stack
        return self

    def __exit__(self, *exc):
        stack, self._stack = self._stack, None
        return stack.__exit__(*exc)


# ---------------------------------------------------------------------- op counting

OP_FAMILIES = {
    "matmul": {"mm", "addmm", "bmm", "baddbmm", "addbmm", "matmul", "mv", "addmv", "dot", "vdot", "linear",
               "_scaled_mm", "_addmm_activation"},
    "conv": {"convolution", "_convolution", "cudnn_convolution", "cudnn_convolution_transpose", "conv2d", "conv1d",
             "conv3d", "_slow_conv2d_forward", "mkldnn_convolution", "convolution_backward"},
    "rnn": {"lstm", "gru", "rnn_tanh", "rnn_relu", "_cudnn_rnn", "_cudnn_rnn_backward", "lstm_cell", "gru_cell",
            "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell", "miopen_rnn"},
    "attention": {"_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
                  "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_attention_math",
                  "_flash_attention_forward", "_efficient_attention_forward"},
}


def op_family(name: str) -> str | None:
    """'matmul', 'conv', 'rnn', 'attention' or None for an aten op's base name (``mm``, ``addmm_``)."""
    base = name.rstrip("_")
    for family, names in OP_FAMILIES.items():
        if base in names:
            return family
    return None


class CountOps:
    """Counts matmul / conv / rnn / attention aten ops by the device of their first tensor.

    On exit the counts, ``{"cuda:0": {"matmul": 12, "conv": 4}, "cpu": {...}}``,
    are stored in the student's namespace under :data:`OP_COUNTS_GLOBAL`, where
    the trusted side reads them with ``student.get``. Backward ops count too.
    """

    def __init__(self):
        self.counts: dict[str, Counter] = {}
        self._mode = None

    def __enter__(self):
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils._pytree import tree_flatten

        counts = self.counts

        class Counting(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                family = op_family(func._schema.name.split("::")[-1])
                if family is not None:
                    first = next((a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)), None)
                    device = str(first.device) if first is not None else "none"
                    counts.setdefault(device, Counter())[family] += 1
                return func(*args, **kwargs)

        _store_global(OP_COUNTS_GLOBAL, {})
        self._mode = Counting()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        mode, self._mode = self._mode, None
        try:
            return mode.__exit__(*exc)
        finally:
            _store_global(OP_COUNTS_GLOBAL, {d: dict(c) for d, c in self.counts.items()})


class WatchGrad:
    """Counts torch calls by whether they recorded an autograd graph (a result tensor with a ``grad_fn``).

    On exit ``{"graph": n, "no_graph": m}`` is stored under :data:`GRAPH_COUNTS_GLOBAL`. A forward pass outside
    ``torch.no_grad()`` gives ``graph > 0`` even when its output is ``.detach()``-ed afterwards.
    """

    def __init__(self):
        self.counts = {"graph": 0, "no_graph": 0}
        self._mode = None

    def __enter__(self):
        import torch
        from torch.overrides import TorchFunctionMode
        from torch.utils._pytree import tree_flatten

        counts = self.counts

        class Watching(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                result = func(*args, **(kwargs or {}))
                tensors = [t for t in tree_flatten(result)[0] if isinstance(t, torch.Tensor)]
                if tensors:
                    counts["graph" if any(t.grad_fn is not None for t in tensors) else "no_graph"] += 1
                return result

        _store_global(GRAPH_COUNTS_GLOBAL, {})
        self._mode = Watching()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        mode, self._mode = self._mode, None
        try:
            return mode.__exit__(*exc)
        finally:
            _store_global(GRAPH_COUNTS_GLOBAL, dict(self.counts))


def _store_global(name: str, value):
    try:
        from IPython.core.interactiveshell import InteractiveShell
    except ImportError:  # pragma: no cover
        return
    if InteractiveShell.initialized():
        InteractiveShell.instance().user_ns[name] = value


# ---------------------------------------------------------------------- warm-up

def warm_up():
    """Run each context once on a small model, in the template before it forks.

    Their first use in a process costs ~1 s (torch builds its meta kernels, decompositions and Python dispatch
    tables lazily); done here, every forked worker inherits it instead of paying it for each notebook. Nothing of
    it stays visible: no notebook exists yet, so the counts are stored nowhere.
    """
    import torch
    from torch import nn

    def step(device):
        model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Dropout(0.1), nn.Linear(8, 3)).to(device)
        rnns = [nn.RNN(2, 3, batch_first=True).to(device), nn.LSTM(2, 3, batch_first=True).to(device),
                nn.GRU(2, 3, batch_first=True).to(device), nn.LSTMCell(2, 3).to(device)]
        params = list(model.parameters()) + [p for r in rnns for p in r.parameters()]
        # Not Adam: its first step asks CUDA whether it is there, which leaves CUDA unusable in forked workers.
        for optimizer in (torch.optim.SGD(params, lr=0.1, momentum=0.9),):
            x = torch.randn(4, 1, 4, 4, device=device)
            y = torch.tensor([0, 1, 2, 0], device=device)
            loss = nn.functional.cross_entropy(model(x), y)
            seq = torch.randn(4, 5, 2, device=device)
            for rnn in rnns[:3]:
                out, _ = rnn(seq)
                loss = loss + nn.functional.mse_loss(out[:, -1], torch.zeros(4, 3, device=device))
            h, c = rnns[3](seq[:, 0])
            loss = loss + nn.functional.binary_cross_entropy_with_logits(h.sum(1), torch.ones(4, device=device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                (model(x).argmax(1) == y).float().mean().item()
            w = torch.zeros(3, dtype=torch.float64, device=device)
            w += 0.1 * (torch.ones(3, dtype=torch.float64, device=device) @ torch.eye(3, dtype=torch.float64,
                                                                                       device=device))
            float(loss.item()), w.cpu().tolist()

    # Nothing here may touch CUDA (torch.random.fork_rng asks it for its devices, Adam's step whether it is there):
    # a CUDA touched before the fork cannot be used in the forked workers (on a GPU grader), and on a CPU one a
    # hard-coded "cuda" would get "cannot re-initialize CUDA" instead of "no NVIDIA driver".
    rng = torch.get_rng_state()
    try:
        with SimulatedDevice(), CountOps(), WatchGrad():
            step(torch.device("meta"))
        with CountOps(), WatchGrad():
            step(torch.device("cpu"))
    except Exception:  # noqa: BLE001 - a convenience: the contexts work without it, only slower the first time
        pass
    finally:
        torch.set_rng_state(rng)


# ---------------------------------------------------------------------- accelerator availability

@contextlib.contextmanager
def patched_availability(cuda: bool, mps: bool):
    """Make torch report CUDA / MPS as (not) available, for exercising a student's ``get_device()``.

    Patches ``torch.cuda.is_available``, ``torch.cuda.device_count``,
    ``torch.backends.mps.is_available`` / ``is_built`` and
    ``torch.accelerator.is_available`` / ``current_accelerator``. Nothing is
    really usable: only what the functions report changes.
    """
    import torch

    accelerator = "cuda" if cuda else "mps" if mps else None
    patches = [
        (torch.cuda, "is_available", lambda: cuda),
        (torch.cuda, "device_count", lambda: 1 if cuda else 0),
        (torch.backends.mps, "is_available", lambda: mps),
        (torch.backends.mps, "is_built", lambda: mps),
    ]
    if hasattr(torch, "accelerator"):
        patches += [
            (torch.accelerator, "is_available", lambda: accelerator is not None),
            (torch.accelerator, "current_accelerator",
             lambda check_available=False: torch.device(accelerator) if accelerator else None),
        ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


CONTEXTS = {
    "no_grad": _no_grad,
    "build_on_meta": _build_on_meta,
    "simulate_device": SimulatedDevice,
    "count_ops": CountOps,
    "watch_grad": WatchGrad,
    **{name: (lambda flags=flags: patched_availability(*flags)) for name, flags in AVAILABILITY.items()},
}
