"""End to end, on a CPU-only machine: ch2's regression notebook with a batch left on the CPU, with a hard-coded
`.cuda()`, and correct, through `autograder check` and through the visible cells in a real Jupyter kernel (run by
nbgrader's own Execute preprocessor), including `%load_ext autograder.student` and `%check`."""
import nbformat
import pytest

from conftest import ROOT, autograder

SOLUTION = ROOT / "solutions" / "ch2_feedforward" / "02_regression.ipynb"
GOOD_BATCH = "xb = X[idx].to(device)"
GOOD_PREDICT = "X = torch.as_tensor(X, dtype=torch.float32).to(device)"


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def variant(tmp_path, name, batch=GOOD_BATCH, predict=GOOD_PREDICT):
    nb = nbformat.read(SOLUTION, as_version=4)
    train, pred = cell(nb, "reg_train"), cell(nb, "reg_predict")
    assert GOOD_BATCH in train.source and GOOD_PREDICT in pred.source
    train.source = train.source.replace(GOOD_BATCH, batch)
    pred.source = pred.source.replace(GOOD_PREDICT, predict)
    folder = tmp_path / name
    folder.mkdir()
    nbformat.write(nb, folder / "02_regression.ipynb")
    return nb, folder / "02_regression.ipynb"


def line_of(nb, grade_id, text):
    return next(i for i, line in enumerate(cell(nb, grade_id).source.splitlines(), 1) if text in line)


@pytest.mark.slow  # ~30-40 s: three checks and a Jupyter kernel that runs the visible cells and %check
def test_device_bugs_are_found_with_their_line_by_check_and_by_the_visible_cells(tmp_path):
    on_cpu, on_cpu_path = variant(tmp_path, "batch_on_cpu", batch="xb = X[idx]",
                                  predict="X = torch.as_tensor(X).to(device)")  # and float64 into a float32 model
    cuda, cuda_path = variant(tmp_path, "cuda", batch="xb = X[idx].cuda()")
    _, good_path = variant(tmp_path, "correct")

    # autograder check: the batch left on the CPU, with the line where it meets the model
    r = autograder("check", on_cpu_path)
    assert r.returncode == 1, r.stdout + r.stderr
    row = next(line for line in r.stdout.splitlines() if "reg_train_test" in line)
    loss_line = line_of(on_cpu, "reg_train", "loss = loss_fn(model(xb), yb)")
    assert row.startswith("  ✘") and "farklı cihazlardaki tensörler" in row, r.stdout
    assert f"({loss_line}. satır: `loss = loss_fn(model(xb), yb)`)" in row
    # ... and an ordinary error: its cell and line, and the grader's Turkish hint
    row = next(line for line in r.stdout.splitlines() if "reg_predict_test" in line)
    assert f"`reg_predict` hücresi, {line_of(on_cpu, 'reg_predict', 'out = model(X)')}. satır: `out = model(X)`" in row
    assert "Veri türleri uyuşmuyor" in row, row

    # hard-coded .cuda(): the grader's static check names the cell and line; the question fails
    r = autograder("check", cuda_path, "--question", "reg_train")
    assert r.returncode == 1
    cuda_line = line_of(cuda, "reg_train", "X[idx].cuda()")
    assert f"`reg_train` hücresi, {cuda_line}. satır: `X[idx].cuda()` cihazı sabit olarak CUDA'ya bağlıyor" in r.stdout
    assert "✘  reg_train_test" in r.stdout and "reg_data_test" not in r.stdout  # one question only

    # a correct notebook: no warning at all
    r = autograder("check", good_path)
    assert r.returncode == 0 and "cihaz" not in r.stdout.lower() and r.stdout.count("✔") == 4, r.stdout

    # The visible cells in a real kernel, as a student runs them (nbgrader's Execute preprocessor).
    from nbgrader.preprocessors import Execute

    setup = cell(on_cpu, "reg_setup").source
    test = cell(on_cpu, "reg_train_test").source
    good = nbformat.read(SOLUTION, as_version=4)
    kernel_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in [
        f"import os\nos.environ['AUTOGRADER_GRADING'] = '1'\nos.environ['AUTOGRADER_COURSE'] = {str(ROOT)!r}\n" + setup,
        cell(on_cpu, "reg_train").source, test,
        cell(cuda, "reg_train").source, test,
        cell(good, "reg_train").source, test,
        f"%load_ext autograder.student\n%check {on_cpu_path} reg_train",
    ]])
    executed, _ = Execute(allow_errors=True, timeout=300).preprocess(kernel_nb, {"metadata": {"path": str(tmp_path)}})

    def shown(i):
        return "\n".join("".join(o.get("traceback", [])) + o.get("text", "") for o in executed.cells[i].outputs)

    assert "✘ Cihaz denetimi: `train_regressor`" in shown(2) and f"({loss_line}. satır: `loss = loss_fn" in shown(2)
    assert "Traceback" not in shown(2)  # the sentence, not a trace into the checker
    assert f"{cuda_line}. satır: `X[idx].cuda()` cihazı sabit olarak CUDA'ya bağlıyor" in shown(4), shown(4)
    assert "✔ Cihaz denetimi: `train_regressor`" in shown(6) and "✘" not in shown(6), shown(6)
    assert "✘  reg_train_test" in shown(7) and "farklı cihazlardaki tensörler" in shown(7), shown(7)
