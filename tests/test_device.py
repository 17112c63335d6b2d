"""Device checks: the meta simulation in a real worker, error explanations, the static check.

One worker runs a small "student notebook" with correct and buggy variants of
device-sensitive code; the tests call into it the way hidden checks do.
"""
from __future__ import annotations


import pytest
import torch

from autograder.checks import CheckFailed
from autograder.device import (
    DeviceSimulationUnsupported, check_device, contexts_for, expect_get_device, expect_on_device,
    expect_ops_on_device, explain_device_error, grading_device, hardcoded_device_uses, run_counting_ops,
    run_on_device,
)
from autograder.session import StudentCodeError
from autograder.sandboxed.contexts import CONTEXTS, SimulatedDevice

META = torch.device("meta")

SETUP = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
"""

MODELS = """
class MLP(nn.Module):
    def __init__(self, n_in=6, n_out=3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Linear(16, n_out))
    def forward(self, x):
        return self.net(x)

class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 3 * 3, 3)
    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.flatten(1))

class SeqModel(nn.Module):
    # batch_first LSTM/GRU classifier; h0_on_input_device=False is the classic bug
    def __init__(self, cell="LSTM", h0_on_input_device=True):
        super().__init__()
        self.cell, self.ok = cell, h0_on_input_device
        self.rnn = getattr(nn, cell)(2, 8, batch_first=True)
        self.fc = nn.Linear(8, 3)
    def forward(self, x):
        h0 = torch.zeros(1, x.size(0), 8, device=x.device) if self.ok else torch.zeros(1, x.size(0), 8)
        out, _ = self.rnn(x, (h0, torch.zeros_like(h0)) if self.cell == "LSTM" else h0)
        return self.fc(out[:, -1])

class NoiseInForward(nn.Module):
    # bug: the noise tensor is created on the CPU
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3)
    def forward(self, x):
        return self.fc(x + 0.1 * torch.randn(x.shape))

class Scaled(nn.Module):
    # mode "attribute": a plain tensor attribute (bug); "buffer": register_buffer; "scalar": a 0-dim CPU tensor
    def __init__(self, mode):
        super().__init__()
        self.fc = nn.Linear(6, 3)
        scale = torch.ones(3) * 2
        if mode == "attribute":
            self.scale = scale
        elif mode == "buffer":
            self.register_buffer("scale", scale)
        else:
            self.scale = torch.tensor(2.0)
    def forward(self, x):
        return self.fc(x) * self.scale
"""

TRAINING = """
def make_model(kind, *args):
    return {"mlp": MLP, "cnn": CNN, "seq": SeqModel, "noise": NoiseInForward, "scaled": Scaled}[kind](*args)

def train(model, X, y, device, epochs=2, optimizer="adam", move_batches=True, move_model=True):
    if move_model:
        model.to(device)
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True)
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            if move_batches:
                xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.size(0)
        print(f"epoch {epoch}: loss {loss:.4f}", loss)
        history.append(total / len(loader.dataset))
    return history

def evaluate(model, X, y, device):
    model.eval()
    correct, n, losses, preds = 0, 0, [], []
    with torch.no_grad():
        for xb, yb in DataLoader(TensorDataset(X, y), batch_size=8):
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            losses.append(float(nn.functional.cross_entropy(out, yb)))
            pred = out.argmax(dim=1)
            correct += (pred == yb).sum().item()
            n += yb.size(0)
            preds.extend(pred.cpu().tolist())
            if bool(torch.isnan(out).any()):
                raise ValueError("nan")
    return {"accuracy": correct / n, "loss": sum(losses) / len(losses), "preds": preds,
            "probs": torch.softmax(out, 1).cpu().numpy(), "summary": torch.tensor(losses).mean().item()}

def to_numpy_without_cpu(model, X, device):
    model.to(device)
    return model(X.to(device)).detach().numpy()

def unique_labels(y, device):
    return torch.unique(y.to(device)).tolist()

def hardcoded(model, X, device):
    return model.cuda()(X.cuda()).argmax(1).tolist()
"""

GET_DEVICE = """
def get_device():
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")

def get_device_no_mps():
    return "cuda" if torch.cuda.is_available() else "cpu"

def get_device_always_cpu():
    return torch.device("cpu")
"""


@pytest.fixture(scope="module")
def student(student_running):
    sources = {"setup": SETUP, "models": MODELS, "training": TRAINING, "get_device": GET_DEVICE}
    with student_running("device_checks", sources) as s:
        yield s


def data(kind="mlp", n=24):
    g = torch.Generator().manual_seed(0)
    shape = {"mlp": (n, 6), "noise": (n, 6), "scaled": (n, 6), "cnn": (n, 1, 6, 6), "seq": (n, 5, 2)}[kind]
    return torch.randn(shape, generator=g), torch.randint(0, 3, (n,), generator=g)


def train_on_meta(student, kind, *model_args, **kwargs):
    model = student.call("make_model", kind, *model_args, keep=True)
    X, y = data(kind)
    return model, run_on_device(student, "train", model, X, y, device=META, what="train", **kwargs)


# ---------------------------------------------------------------------- correct code runs on meta

@pytest.mark.parametrize("kind, model_args, optimizer", [
    ("mlp", (), "adam"), ("cnn", (), "sgd"), ("seq", ("LSTM",), "adam"), ("seq", ("GRU",), "sgd"),
    ("scaled", ("buffer",), "adam"), ("scaled", ("scalar",), "adam"),
])
def test_correct_training_runs_on_meta(student, kind, model_args, optimizer):
    model, history = train_on_meta(student, kind, *model_args, optimizer=optimizer)
    assert history == [0.0, 0.0]  # loss.item() answered with a placeholder, bookkeeping intact
    expect_on_device(student, model, META, what="model")
    info = student.describe(model)
    assert info["parameters"] and all(p[2] == "meta" for p in info["parameters"])


def test_evaluation_reads_values_as_placeholders(student):
    model, _ = train_on_meta(student, "mlp")
    X, y = data("mlp")
    result = run_on_device(student, "evaluate", model, X, y, device=META)
    assert result["accuracy"] == 0.0 and result["loss"] == 0.0 and result["summary"] == 0.0
    assert result["preds"] == [0] * len(y)
    assert result["probs"].shape == (8, 3)  # the last batch, as a zero CPU array of the right shape


def test_the_same_code_really_trains_on_cpu(student):
    model = student.call("make_model", "mlp", keep=True)
    X, y = data("mlp")
    history = run_on_device(student, "train", model, X, y, device="cpu", epochs=2)
    assert all(h > 0 for h in history)
    expect_on_device(student, model, "cpu")


# ---------------------------------------------------------------------- bugs fail as on a GPU

def test_missing_batch_move_fails_with_explanation(student):
    with pytest.raises(CheckFailed) as info:
        train_on_meta(student, "mlp", move_batches=False)
    text = str(info.value)
    assert "train" in text and "xb.to(device)" in text and "farklı cihaz" in text
    assert "(satır: `return self.net(x)`)" in text  # the deepest line of student code is named


def test_model_never_moved_fails(student):
    with pytest.raises(CheckFailed, match="farklı cihaz"):
        train_on_meta(student, "mlp", move_model=False)
    model = student.call("make_model", "mlp", keep=True)
    with pytest.raises(CheckFailed, match=r"`net\.0\.weight` parametresi .* `cpu` cihazında.*model\.to\(device\)"):
        expect_on_device(student, model, META)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_rnn_hidden_state_on_cpu_fails(student, cell):
    with pytest.raises(CheckFailed, match=r"h0/c0.*device=x\.device"):
        train_on_meta(student, "seq", cell, False)


def test_tensor_created_in_forward_without_device_fails(student):
    with pytest.raises(CheckFailed, match="device=x.device"):
        train_on_meta(student, "noise")


def test_plain_tensor_attribute_fails_but_buffer_and_scalar_pass(student):
    with pytest.raises(CheckFailed, match="register_buffer"):
        train_on_meta(student, "scaled", "attribute")
    train_on_meta(student, "scaled", "buffer")
    train_on_meta(student, "scaled", "scalar")  # CUDA accepts 0-dim CPU tensors too


def test_numpy_without_cpu_fails_as_on_cuda(student):
    model = student.call("make_model", "mlp", keep=True)
    with pytest.raises(CheckFailed, match=r"\.detach\(\)\.cpu\(\)"):
        run_on_device(student, "to_numpy_without_cpu", model, data("mlp")[0], device=META)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_hardcoded_cuda_fails_without_gpu(student):
    model = student.call("make_model", "mlp", keep=True)
    with pytest.raises(CheckFailed, match=r"GPU yok.*torch\.cuda\.is_available\(\)"):
        run_on_device(student, "hardcoded", model, data("mlp")[0], device=META)


def test_unsupported_op_is_not_blamed_on_the_student(student):
    with pytest.raises(DeviceSimulationUnsupported):
        run_on_device(student, "unique_labels", data("mlp")[1], device=META)
    assert run_on_device(student, "unique_labels", torch.tensor([2, 0, 2]), device="cpu") == [0, 2]


def test_contexts_are_registered():
    assert {"no_grad", "simulate_device", "count_ops", "available:none"} <= set(CONTEXTS)


def test_other_errors_propagate(student):
    with pytest.raises(StudentCodeError):
        run_on_device(student, "make_model", "no-such-kind", device_arg=None, device=META)


# ---------------------------------------------------------------------- op counts, get_device

def test_count_ops_by_device(student):
    model = student.call("make_model", "cnn", keep=True)
    X, y = data("cnn")
    history, counts = run_counting_ops(student, "train", model, X, y, device=META, epochs=1)
    assert history == [0.0]
    assert set(counts) == {"meta"} and counts["meta"]["conv"] > 0 and counts["meta"]["matmul"] > 0
    expect_ops_on_device(counts, META)
    with pytest.raises(CheckFailed, match="CPU'da yapıldı"):
        expect_ops_on_device({"cpu": {"matmul": 3}}, "cuda")
    # Code that ignores `device` runs fine on the CPU even under the simulation: the counts catch it.
    model = student.call("make_model", "mlp", keep=True)
    _, counts = run_counting_ops(student, "train", model, *data("mlp"), device=META, epochs=1, move_model=False,
                                 move_batches=False)
    assert set(counts) == {"cpu"}
    with pytest.raises(CheckFailed, match=r"0 tanesi orada, \d+ tanesi CPU'da"):
        expect_ops_on_device(counts, META, what="train")
    with pytest.raises(CheckFailed, match="parametresi"):
        expect_on_device(student, model, META)
    model = student.call("make_model", "seq", "LSTM", keep=True)
    _, counts = run_counting_ops(student, "train", model, *data("seq"), device="cpu", epochs=1)
    assert counts["cpu"]["matmul"] > 0  # on the CPU an LSTM decomposes into matmuls


def test_get_device_under_each_availability(student):
    expect_get_device(student, "get_device")
    expect_get_device(student, "get_device_no_mps", mps=False)
    with pytest.raises(CheckFailed, match="`mps` döndürmeliydi"):
        expect_get_device(student, "get_device_no_mps")
    with pytest.raises(CheckFailed, match="hem CUDA hem MPS varken `cuda` döndürmeliydi, ama `cpu`"):
        expect_get_device(student, "get_device_always_cpu")
    assert student.call("get_device") == torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---------------------------------------------------------------------- real GPU path

@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_real_gpu_path(student):
    cuda = torch.device("cuda")
    assert check_device("cuda") == cuda and contexts_for(cuda) == []
    model = student.call("make_model", "cnn", keep=True)
    X, y = data("cnn")
    history, counts = run_counting_ops(student, "train", model, X, y, device=cuda, epochs=1)
    assert all(h > 0 for h in history)
    expect_on_device(student, model, cuda)
    expect_ops_on_device(counts, cuda)
    assert counts["cuda:0"]["conv"] > 0
    with pytest.raises(CheckFailed, match="farklı cihaz"):
        train_model = student.call("make_model", "mlp", keep=True)
        run_on_device(student, "train", train_model, *data("mlp"), device=cuda, move_batches=False)
    with pytest.raises(CheckFailed, match="h0/c0"):
        seq = student.call("make_model", "seq", "LSTM", False, keep=True)
        run_on_device(student, "train", seq, *data("seq"), device=cuda)


# ---------------------------------------------------------------------- trusted-side helpers

def _provoke(fn):
    """The (type, message) PyTorch raises for ``fn`` under the simulation."""
    try:
        with SimulatedDevice():
            fn()
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__, str(exc)
    raise AssertionError("no error")


def test_explanations_of_real_messages():
    m = lambda *s: torch.ones(*s, device="meta")  # noqa: E731
    lstm = torch.nn.LSTM(2, 4, batch_first=True, device="meta")
    provoked = {
        "mixed": _provoke(lambda: m(3) + torch.ones(3)),
        "hidden": _provoke(lambda: lstm(m(1, 5, 2), (torch.zeros(1, 1, 4), torch.zeros(1, 1, 4)))),
        "params": _provoke(lambda: torch.nn.GRU(2, 4)(m(5, 1, 2))),
        "numpy": _provoke(lambda: m(3).numpy()),
        "index": _provoke(lambda: torch.ones(3)[torch.tensor([0], device="meta")]),
        "lengths": _provoke(lambda: torch.nn.utils.rnn.pack_padded_sequence(
            m(1, 5, 2), torch.tensor([5], device="meta"), batch_first=True)),
    }
    expected = {"mixed": "register_buffer", "hidden": "h0/c0", "params": "model.to(device)", "numpy": ".numpy()",
                "index": "indeks", "lengths": "lengths.cpu()"}
    for key, (exc_type, message) in provoked.items():
        sentence = explain_device_error(exc_type, message)
        assert sentence and expected[key] in sentence, (key, message, sentence)

    real_texts = [  # as PyTorch writes them elsewhere (CUDA builds, the prims reference, a CPU-only build)
        ("RuntimeError", "Expected all tensors to be on the same device, but got mat2 is on cpu, different from other "
                         "tensors on cuda:0 (when checking argument in method wrapper_CUDA_mm)", "register_buffer"),
        ("RuntimeError", "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and "
                         "cpu! (when checking argument for argument target in method wrapper_CUDA_nll_loss_forward)",
         "register_buffer"),
        ("RuntimeError", "Tensor on device meta is not on the expected device cpu!", "register_buffer"),
        ("RuntimeError", "Expected object of device type cuda but got device type cpu for argument #1 'self' in call "
                         "to _th_addmm", "register_buffer"),
        ("RuntimeError", "tensor's device does not match the module's device", "register_buffer"),
        ("RuntimeError", "Input type (torch.cuda.FloatTensor) and weight type (torch.FloatTensor) should be the same",
         "model.to(device)"),
        ("RuntimeError", "Input type (torch.FloatTensor) and weight type (torch.cuda.FloatTensor) should be the same",
         "xb = xb.to(device)"),
        ("AssertionError", "Torch not compiled with CUDA enabled", "GPU yok"),
        ("RuntimeError", "Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and "
                         "installed a driver from http://www.nvidia.com/Download/index.aspx", "GPU yok"),
        ("NotImplementedError", "Cannot copy out of meta tensor; no data!", ".item()"),
        ("RuntimeError", "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False.",
         "map_location"),
    ]
    for exc_type, message, needle in real_texts:
        sentence = explain_device_error(exc_type, message)
        assert sentence and needle in sentence, (message, sentence)

    assert explain_device_error("RuntimeError", "Input type (torch.FloatTensor) and weight type (torch.DoubleTensor) "
                                                "should be the same") is None
    assert explain_device_error("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (4x3 and 4x2)") is None
    assert explain_device_error("AssertionError", "devices should be on the same device") is None  # a student's assert


def test_grading_device(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_DEVICE", raising=False)
    assert grading_device("cpu") == torch.device("cpu")
    assert grading_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert check_device("cpu") == META and contexts_for(META) == ["simulate_device"]
    monkeypatch.setenv("AUTOGRADER_DEVICE", "cpu")
    assert check_device() == META
    with pytest.raises(ValueError):
        grading_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            grading_device("cuda")


STATIC = '''\
import torch
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = Net().cuda()
x = x.to("cuda")
y = torch.zeros(3, device="cuda:0")
dev = torch.device("cuda")
DEVICE = "cuda"
if torch.cuda.is_available():
    model = model.cuda()
    w = torch.ones(2, device="cuda")
use_cuda = torch.cuda.is_available()
if use_cuda:
    z = z.cuda()
d = "cuda" if torch.cuda.is_available() else "cpu"
state = torch.load("m.pt", map_location="cuda")
x = x.to(device)
if device.type == "cuda":
    torch.cuda.synchronize()
print("cuda")
def get_device():
    if torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
def train(model, epochs=3, device="cuda", *, eval_device="cuda:1"):
    return model.to(device)
def evaluate(model, device=None, name="cuda"):
    pass
'''


def test_static_check_flags_the_right_lines():
    findings = hardcoded_device_uses(STATIC)
    assert [f.line for f in findings] == [3, 4, 5, 6, 7, 15, 24, 24]
    assert findings[0].code == "Net().cuda()"
    for f in findings:
        assert f"{f.line}. satır" in f.message and 'torch.device("cuda" if torch.cuda.is_available() else "cpu")' \
            in f.message and "x.to(device)" in f.message


def test_static_check_survives_magics_and_bad_code():
    assert [f.line for f in hardcoded_device_uses("%matplotlib inline\n!pip install x\nm = m.cuda()\n")] == [3]
    assert hardcoded_device_uses("def broken(:\n    x.cuda()\n") == []


def test_hardcoded_scan_is_kept_for_small_cells_only():
    from autograder import device

    device._cached_hardcoded_device_uses.cache_clear()
    small = "import torch\nx = torch.zeros(2).cuda()\n"
    first = hardcoded_device_uses(small)
    first.append("changed by a caller")  # each call gets its own list: the cached findings stay as they were
    assert [f.line for f in hardcoded_device_uses(small)] == [2]
    assert device._cached_hardcoded_device_uses.cache_info().hits == 1
    big = small + "#" * device._CACHED_SOURCE_CHARS
    assert [f.line for f in hardcoded_device_uses(big)] == [2]
    assert device._cached_hardcoded_device_uses.cache_info().currsize == 1  # the large cell was not kept


def test_expect_no_hardcoded_device_names_the_cell_and_its_line():
    from autograder.checks import CheckFailed
    from autograder.device import expect_no_hardcoded_device
    from autograder.session import CellToRun

    class FakeStudent:
        source_cells = [CellToRun("helpers", "import torch\nx = 1\n"),
                        CellToRun("train", "def train(model, device):\n    model.cuda()\n\ndef other():\n"
                                           "    return torch.zeros(1).cuda()\n")]

    with pytest.raises(CheckFailed, match=r"`train` hücresi, 2\. satır \(`train` içinde\): `model.cuda\(\)`"):
        expect_no_hardcoded_device(FakeStudent(), names=["train"])
    with pytest.raises(CheckFailed, match=r"`train` hücresi, 2\. satır"):
        expect_no_hardcoded_device(FakeStudent())
    FakeStudent.source_cells = FakeStudent.source_cells[:1]
    expect_no_hardcoded_device(FakeStudent())  # nothing to report


def test_an_rnn_input_left_on_the_cpu_blames_the_input():
    from autograder.device import explain_device_error

    message = ("Input and parameter tensors are not at the same device, found input tensor at cpu and parameter "
               "tensor at cuda:0")
    assert "Girdi CPU'da kalmış" in explain_device_error("RuntimeError", message)
    swapped = message.replace("input tensor at cpu", "input tensor at cuda:0").replace("parameter tensor at cuda:0",
                                                                                       "parameter tensor at cpu")
    assert "Modelin ağırlıkları" in explain_device_error("RuntimeError", swapped)


def test_simulation_reads_values_under_inference_mode():
    import torch

    from autograder.sandboxed.contexts import SimulatedDevice

    with SimulatedDevice():
        t = torch.ones(2, device="meta")
        with torch.inference_mode():
            assert t.sum().item() == 0.0
            assert t.cpu().device.type == "cpu"
            assert t.to("cpu", torch.float64).dtype == torch.float64
            assert t.to(torch.zeros(1)).device.type == "cpu"
            assert t.to(torch.float16).device.type == "meta"
