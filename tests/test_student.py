"""The student's side: check_device in a plain kernel, where an error is located, --question, the Jupyter hooks."""
import textwrap
import types

import pytest
import torch
from torch import nn

from autograder import student
from autograder.session import CellToRun
from autograder.student import DeviceCheckFailed, check_device

TRAIN = '''import torch
from torch import nn


def train(model, X, y, epochs=1, lr=0.1, device="cpu"):
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        for start in range(0, len(X), 4):
            xb = X[start:start + 4]BATCH
            yb = y[start:start + 4].to(device)
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
    return [loss.item()]
'''


def cell_function(source: str, name: str, shell):
    """Define ``name`` in an IPython cell, as a notebook does (linecache holds the cell, frames name it)."""
    result = shell.run_cell(source, store_history=False)
    assert result.success, result.error_in_exec
    return shell.user_ns[name]


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


@pytest.fixture
def data():
    torch.manual_seed(0)
    return torch.randn(8, 3), torch.randn(8, 1)


def test_a_correct_function_passes_and_the_callers_objects_stay(shell, data, capsys):
    train = cell_function(TRAIN.replace("BATCH", ".to(device)"), "train", shell)
    model = nn.Linear(3, 1)
    before = model.weight.detach().clone()
    check_device(train, model, *data)
    assert "✔ Cihaz denetimi: `train`" in capsys.readouterr().out
    assert model.weight.device.type == "cpu" and torch.equal(model.weight.detach(), before)


def test_a_batch_left_on_the_cpu_is_named_with_its_line(shell, data):
    train = cell_function(TRAIN.replace("BATCH", ""), "train", shell)
    with pytest.raises(DeviceCheckFailed) as info:
        check_device(train, nn.Linear(3, 1), *data)
    text = str(info.value)
    assert "farklı cihazlardaki tensörler" in text  # the grader's sentence
    assert "13. satır: `loss = nn.functional.mse_loss(model(xb), yb)`" in text
    assert info.value._render_traceback_()[0].startswith("✘ Cihaz denetimi:")


def test_hard_coded_cuda_is_found_in_the_source_with_its_cell_line(shell, data):
    train = cell_function(TRAIN.replace("BATCH", ".cuda()"), "train", shell)
    with pytest.raises(DeviceCheckFailed) as info:
        check_device(train, nn.Linear(3, 1), *data)
    assert "`train` içinde, 10. satır: `X[start:start + 4].cuda()` cihazı sabit olarak CUDA'ya bağlıyor" in str(info.value)


def test_a_model_or_result_left_on_the_cpu(shell, data):
    ignores = cell_function("def fit(model, X, device='cpu'):\n    return model(X)\n", "fit", shell)
    with pytest.raises(DeviceCheckFailed, match="hâlâ CPU'da"):
        check_device(ignores, nn.Linear(3, 1), data[0])
    makes = cell_function("import torch\ndef make(n, device='cpu'):\n    return torch.zeros(n)\n", "make", shell)
    with pytest.raises(DeviceCheckFailed, match="dönen tensör"):
        check_device(makes, 3)
    check_device(makes, 3, result_on_device=False)


def test_an_op_the_simulation_cannot_run_is_a_note_not_a_failure(shell, capsys):
    gap = cell_function("import torch\ndef uniq(x, device='cpu'):\n    return torch.unique(x.to(device))\n", "uniq", shell)
    check_device(gap, torch.tensor([1, 1, 2]))
    assert "atlandı" in capsys.readouterr().out


def test_locate_names_the_cell_and_line_of_the_last_notebook_frame():
    cells = [CellToRun("reg_predict", "def f(x):\n    return x @ x\n"), CellToRun("reg_predict_test", "f(1)\n")]
    trace = textwrap.dedent(f'''\
        Traceback (most recent call last):
          File "<ipython-input-1-{student._cell_hash(cells[1].source)}>", line 1, in <module>
            f(1)
          File "<ipython-input-1-{student._cell_hash(cells[0].source)}>", line 2, in f
            return x @ x
        TypeError: unsupported operand''')
    assert student.locate(trace, cells) == "`reg_predict` hücresi, 2. satır: `return x @ x`"
    text = student.describe_error({"type": "RuntimeError", "traceback": trace,
                                   "message": "mat1 and mat2 must have the same dtype, but got Double and Float"}, cells)
    assert text.startswith("`reg_predict` hücresi, 2. satır") and "float32" in text  # the grader's dtype hint
    assert student.locate("no frames here", cells) == ""
    assert student.describe_error({"type": "DeviceCheckFailed", "message": "a\nb"}, cells) == "a b"


def test_question_ids():
    spec = types.SimpleNamespace(grade_cells=[types.SimpleNamespace(grade_id="reg_train_test"),
                                              types.SimpleNamespace(grade_id="np_xor_answer")])
    assert student._question_cells(spec, "reg_train") == {"reg_train_test"}
    assert student._question_cells(spec, "reg_train_test") == {"reg_train_test"}
    assert student._question_cells(spec, "nope") == set() and not student.question_in(spec, "nope")
    assert student._question_cells(spec, None) is None


def test_the_jupyter_extension_registers_check(tmp_path, monkeypatch):
    registered = {}
    fake = types.SimpleNamespace(register_magic_function=lambda fn, kind, name: registered.setdefault(name, fn),
                                 user_ns={})
    student.load_ipython_extension(fake)
    seen = []
    monkeypatch.setattr(student, "check", lambda notebook=None, question=None: seen.append((notebook, question)))
    registered["check"]("02_regression.ipynb reg_train")
    assert seen == [("02_regression.ipynb", "reg_train")]
    nb = tmp_path / "02_regression.ipynb"
    nb.write_text("{}")
    assert student._notebook_path(types.SimpleNamespace(user_ns={"__session__": str(nb)})) == str(nb)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert student._notebook_path(types.SimpleNamespace(user_ns={})) is None


def test_the_cells_random_numbers_are_unchanged(shell, data):
    source = TRAIN.replace("BATCH", ".to(device)") + ("\n\ndef shuffled(model, X, y, device='cpu'):\n"
                                                      "    torch.randperm(10)\n"
                                                      "    return train(model, X, y, device=device)\n")
    shuffled = cell_function(source, "shuffled", shell)
    model = nn.Linear(3, 1)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_device(shuffled, model, *data)
    assert torch.equal(torch.rand(3), expected)


def test_a_model_whose_forward_makes_its_state_on_the_cpu(shell):
    source = ("import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
              "        super().__init__()\n        self.rnn = nn.RNN(1, 4, batch_first=True)\n\n"
              "    def forward(self, x):\n        h0 = torch.zeros(1, x.size(0), 4DEVICE)\n"
              "        return self.rnn(x, h0)[0]\n")
    good = cell_function(source.replace("DEVICE", ", device=x.device"), "Net", shell)()
    check_device(good, torch.randn(2, 3, 1))
    assert next(good.parameters()).device.type == "cpu"  # the caller's model stays where it was
    bad = cell_function(source.replace("DEVICE", ""), "Net", shell)()
    with pytest.raises(DeviceCheckFailed, match=r"`Net.forward`.*11\. satır: `h0 = torch.zeros\(1, x.size\(0\), 4\)`|"
                                                r"`Net.forward`.*12\. satır"):
        check_device(bad, torch.randn(2, 3, 1))
