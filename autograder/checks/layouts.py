"""A student's model structure, read by module order and type, never by attribute or layer names.

``nn.Sequential(OrderedDict(fc1=..., act=...))``, ``seq.add_module("linear0", ...)`` and ``nn.Sequential(*layers)``
are the same model to a student and must be the same to a check. Everything here reads the layers by position
(``model[i]`` for ``nn.Sequential``/``nn.ModuleList``, ``model.children()`` order for other modules) and the
parameters in ``model.named_parameters()`` order, with whatever names the student gave them::

    from autograder.checks.layouts import layout, format_layout, parameters

    got = layout(student, model, "build_regressor(10)")        # [("Linear", 10, 16), ("ReLU",), ("Linear", 16, 1)]
    if got != want:
        fail(f"... {format_layout(want)} olmalıydı, ama {format_layout(got)} geldi.")
    w1, b1, w2, b2 = (t for _, t in parameters(student, model))  # in layer order, any names

A layer is summarised as ``(type name, *attributes)``: ``("Linear", 4, 8)`` (``("Linear", 4, 8, "bias=False")``
without a bias), ``("Dropout", 0.2)``, ``("LeakyReLU", 0.01)``, ``("Conv2d", 1, 8, (3, 3), (1, 1), (1, 1))``,
``("BatchNorm1d", 16)``; other types by name only (``("ReLU",)``). :data:`ATTRIBUTES` lists what is read per type.
All reads go through the worker protocol: nothing of the student's is trusted beyond the values it returns.
"""
from __future__ import annotations

from autograder.checks import fail
from autograder.session import StudentCodeError

__all__ = ["ATTRIBUTES", "short_type", "children", "distinct_children", "layer_summary", "layout", "format_layout",
           "parameters", "OP_KINDS", "traced_ops"]

#: Attributes read for a layer of each type (in this order); floats are rounded to 10 digits.
ATTRIBUTES = {
    "Linear": ("in_features", "out_features"),
    "Bilinear": ("in1_features", "in2_features", "out_features"),
    "Conv1d": ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
    "BatchNorm1d": ("num_features",),
    "BatchNorm2d": ("num_features",),
    "LayerNorm": ("normalized_shape",),
    "Dropout": ("p",),
    "Dropout1d": ("p",),
    "Dropout2d": ("p",),
    "LeakyReLU": ("negative_slope",),
    "ELU": ("alpha",),
    "Softmax": ("dim",),
    "LogSoftmax": ("dim",),
    "MaxPool1d": ("kernel_size", "stride"),
    "MaxPool2d": ("kernel_size", "stride"),
    "AvgPool2d": ("kernel_size", "stride"),
    "AdaptiveAvgPool2d": ("output_size",),
    "AdaptiveMaxPool2d": ("output_size",),
    "Flatten": ("start_dim", "end_dim"),
}

#: Types whose ``bias`` may be switched off: the summary says ``"bias=False"`` when it is.
_HAS_BIAS = {"Linear", "Bilinear", "Conv1d", "Conv2d"}
_INDEXABLE = {"Sequential", "ModuleList"}


def short_type(type_name) -> str:
    """``"torch.nn.modules.linear.Linear"`` -> ``"Linear"``."""
    return str(type_name).rsplit(".", 1)[-1]


def _module_info(student, obj, what: str) -> dict:
    info = student.describe(obj)
    if not info.get("module"):
        fail(f"{what}: bir PyTorch modeli (nn.Module) bekleniyordu, ama {short_type(info.get('type', '?'))} türünde "
             "bir değer geldi (`return` unutulmuş olabilir).")
    return info


def _iterate(student, obj, method: str) -> list:
    """Handles to what ``obj.<method>()`` yields, in order (the generator stays in the worker)."""
    gen = student.call_method(obj, method, keep=True)
    out = []
    while True:
        try:
            out.append(student.call_method(gen, "__next__", keep=True))
        except StudentCodeError as error:
            if error.type == "StopIteration":
                return out
            raise
        if len(out) > 10_000:
            fail("Modelde beklenmeyecek kadar çok katman var.")


def children(student, model, what: str = "model") -> list:
    """Handles to the direct sub-modules of ``model`` in order.

    ``nn.Sequential``/``nn.ModuleList``: by position (``model[i]``), so one instance used twice appears twice.
    Other modules: ``model.children()`` (registration order; a shared instance appears once).
    """
    info = _module_info(student, model, what)
    if short_type(info["type"]) in _INDEXABLE:
        count = int(student.call_method(model, "__len__"))
        return [student.call_method(model, "__getitem__", i, keep=True) for i in range(count)]
    return _iterate(student, model, "children")


def distinct_children(student, model, what: str = "model") -> int:
    """How many *different* module objects ``model.children()`` holds (a reused instance counts once)."""
    _module_info(student, model, what)
    return len(_iterate(student, model, "children"))


def _plain(value):
    if isinstance(value, float):
        return round(value, 10)
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # torch.Size, numpy scalars
        try:
            return _plain(value.tolist())
        except Exception:  # noqa: BLE001 - keep the value as it came
            return value
    return value


def layer_summary(student, layer) -> tuple:
    """``(type name, *attributes)`` of one layer (see :data:`ATTRIBUTES`)."""
    info = student.describe(layer)
    kind = short_type(info.get("type", "?"))
    values = []
    for attr in ATTRIBUTES.get(kind, ()):
        try:
            values.append(_plain(student.get(layer, attr)))
        except StudentCodeError:
            values.append("?")
    if kind in _HAS_BIAS and info.get("module"):
        own = [entry[0] for entry in info.get("parameters", [])]
        if "bias" not in own:
            values.append("bias=False")
    return (kind, *values)


def layout(student, model, what: str = "model", container: str | None = "Sequential") -> list[tuple]:
    """The layers of ``model`` in order, each as :func:`layer_summary`.

    ``container``: the type the task asks for (fails with a Turkish message otherwise); None accepts any module.
    """
    info = _module_info(student, model, what)
    kind = short_type(info["type"])
    if container is not None and kind != container:
        fail(f"{what}: bir nn.{container} bekleniyordu, ama {kind} geldi: katmanları `nn.{container}(...)` içinde "
             "sırayla verin.")
    return [layer_summary(student, layer) for layer in children(student, model, what)]


def format_layout(items) -> str:
    """``[Linear(4, 8), ReLU, Dropout(0.2)]`` for a list of summaries."""
    def one(item):
        name, *args = item
        text = ", ".join(f"{a:g}" if isinstance(a, float) else str(a) for a in args)
        return f"{name}({text})" if args else name
    return "[" + ", ".join(one(i) for i in items) + "]"


def parameters(student, model, what: str = "model") -> list[tuple[str, object]]:
    """``[(name, tensor), ...]`` in ``model.named_parameters()`` order, by value, whatever the names are."""
    info = _module_info(student, model, what)
    return [(name, student.get(model, name)) for name, *_ in info.get("parameters", [])]


# ---------------------------------------------------------------------- the order a forward pass runs

#: Canonical kinds of the layers and functional ops :func:`traced_ops` names (everything else: its own name).
OP_KINDS = {
    "Conv2d": "conv", "conv2d": "conv", "Conv1d": "conv", "conv1d": "conv",
    "ReLU": "relu", "relu": "relu", "relu_": "relu",
    "MaxPool2d": "maxpool", "max_pool2d": "maxpool", "_max_pool2d": "maxpool", "AvgPool2d": "avgpool", "avg_pool2d": "avgpool",
    "AdaptiveAvgPool2d": "adaptiveavgpool", "adaptive_avg_pool2d": "adaptiveavgpool",
    "AdaptiveMaxPool2d": "adaptivemaxpool", "adaptive_max_pool2d": "adaptivemaxpool",
    "BatchNorm2d": "batchnorm", "BatchNorm1d": "batchnorm", "batch_norm": "batchnorm",
    "Linear": "linear", "linear": "linear", "Flatten": "flatten", "flatten": "flatten",
    "Softmax": "softmax", "softmax": "softmax", "Dropout": "dropout", "dropout": "dropout",
}


def _callee_path(callee: str) -> str | None:
    """``getattr(getattr(self.a, "0"), "1")`` / ``self.a.b`` -> ``"a.0.1"`` / ``"a.b"``; None if not a submodule."""
    import re

    previous = None
    while previous != callee:
        previous = callee
        callee = re.sub(r'getattr\(([\w.]+), "([^"]+)"\)', r"\1.\2", callee)
    return callee[5:] if callee.startswith("self.") else None


def _callee(statement: str) -> str | None:
    """What a line of traced code calls: ``x = getattr(self.f, "0")(y)`` -> ``getattr(self.f, "0")``."""
    import re

    match = re.match(r"\s*\w+ = ", statement)
    if not match:
        return None
    rest = statement[match.end():]
    if rest.startswith("getattr("):
        depth = 0
        for i, char in enumerate(rest):
            depth += char == "("
            depth -= char == ")"
            if depth == 0 and char == ")":
                return rest[:i + 1] if rest[i + 1:i + 2] == "(" else None
        return None
    match = re.match(r"([\w.]+)\(", rest)
    return match.group(1) if match else None


def traced_ops(student, model, what: str = "model") -> list[str] | None:
    """The layers and functional ops of ``model``'s forward pass in the order they run, as canonical kinds
    (:data:`OP_KINDS`: ``["conv", "relu", "maxpool", ...]``), whatever the layers are called and whether they are
    modules (``nn.ReLU()``) or functions (``F.relu``, ``torch.relu``, ``x.relu()``).

    Read by ``torch.fx.symbolic_trace`` in the worker; None when the forward pass cannot be traced (control flow
    on values): the caller then cannot judge the order and must not fail the student for it.
    """
    import re

    _module_info(student, model, what)
    try:
        graph_module = student.call_method("torch", "fx.symbolic_trace", model, keep=True)
        code = student.get(graph_module, "code")
    except StudentCodeError:
        return None
    if not isinstance(code, str):
        return None
    kinds: list[str] = []
    types: dict[str, str] = {}
    for line in code.splitlines():
        callee = _callee(line.split(";")[0])
        if callee is None:
            continue
        path = _callee_path(callee)
        if path is not None:
            if path not in types:
                try:
                    sub = student.call_method(graph_module, "get_submodule", path, keep=True)
                    types[path] = short_type(student.describe(sub).get("type", "?"))
                except StudentCodeError:
                    types[path] = "?"
            name = types[path]
        else:
            name = callee.rsplit(".", 1)[-1]
        kinds.append(OP_KINDS.get(name, name))
    return kinds
