"""A check's seed reaches the worker with its first request, and a hidden check's bare assert never shows the
values it compared."""
import json
import shutil

import numpy as np

from conftest import autograder, running_student

CELLS = {"code": "import random\nimport numpy as np\nimport torch\n"
                 "def draws():\n    return [random.random(), float(np.random.rand()), float(torch.rand(()))]\n"}


def _expected(seed):
    import random

    import torch

    return [random.Random(seed).random(), float(np.random.RandomState(seed % 2**32).rand()),
            float(torch.rand((), generator=torch.Generator().manual_seed(seed)))]


def test_the_seed_applies_before_the_next_request_and_only_once():
    with running_student("nb", CELLS) as student:
        student.seed(7)
        assert student.call("draws") == _expected(7)
        second = student.call("draws")
        assert second != _expected(7)  # the seed came once, with the first request: the streams went on
        student.seed(11)
        student.seed(12)  # the last seed before a request counts
        assert student.call("draws") == _expected(12)
        student.seed(3)
        assert student.has("draws")  # a request that runs no student code takes the seed along too
        assert student.call("draws") == _expected(3)


def test_a_bare_assert_in_a_hidden_check_does_not_show_the_expected_value(mini_course, tmp_path):
    # Through the CLI: in this test process, pytest's own assertion rewriting would rewrite the check file too.
    (mini_course / "source" / "mini" / "checks" / "test_mini.py").write_text(
        "from autograder.checks import grade\n\n\n"
        "@grade('double_test', weight=2)\n"
        "def test_double_values(student):\n"
        "    assert list(student.call('double', [1.0, 2.0])) == [2.0, 4.0, 4242.0]\n\n\n"
        "@grade('scale_test')\n"
        "def test_scale(student):\n"
        "    assert student.has('scale_inplace_free')\n")
    folder = tmp_path / "class" / "ali"
    folder.mkdir(parents=True)
    shutil.copy(mini_course / "solutions" / "mini" / "mini.ipynb", folder / "mini.ipynb")
    out = tmp_path / "out"
    r = autograder("grade", "mini", folder.parent, "--out", out, "--workers", "1", "--quiet", cwd=mini_course)
    assert r.returncode == 0, r.stderr
    checks = {c["check"].split("::")[-1]: c for c in json.loads((out / "results" / "ali.json").read_text())["checks"]}
    assert not checks["test_double_values"]["passed"] and checks["test_scale"]["passed"]
    assert checks["test_double_values"]["message"] == "Kontrol başarısız oldu."
    assert "4242" not in (out / "feedback" / "ali.html").read_text()
