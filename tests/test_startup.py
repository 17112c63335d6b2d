"""The deferred start-up costs of autograder.startup: nothing paid at import, nothing changed in behaviour."""
import subprocess
import sys

import pytest


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_reading_a_notebook_does_not_build_the_iri_grammar():
    pytest.importorskip("rfc3987_syntax")
    out = _run("import sys, autograder, nbformat, jsonschema\n"
               "nbformat.validate(nbformat.v4.new_notebook())\n"
               "print('rfc3987_syntax.syntax_helpers' in sys.modules)")
    assert out == "False"


def test_iri_formats_are_still_validated_by_the_real_module():
    pytest.importorskip("rfc3987_syntax")
    out = _run("import sys, autograder\n"
               "from jsonschema import Draft7Validator\n"
               "fc = Draft7Validator.FORMAT_CHECKER\n"
               "print(fc.conforms('https://example.org/ağ?x=1', 'iri'), fc.conforms('no iri ::', 'iri'),"
               " 'rfc3987_syntax.syntax_helpers' in sys.modules)")
    assert out == "True False True"


def test_other_attributes_and_a_later_import_get_the_real_module():
    pytest.importorskip("rfc3987_syntax")
    out = _run("import sys, autograder, jsonschema\n"
               "import rfc3987_syntax\n"
               "print(rfc3987_syntax.RFC3987_SYNTAX_PARSER_TYPE, type(sys.modules['rfc3987_syntax']).__name__)\n"
               "import rfc3987_syntax as again\n"
               "print(again.is_valid_syntax('iri', 'https://example.org/'))")
    assert out.splitlines() == ["earley module", "True"]


def test_a_module_that_is_not_installed_gets_no_stand_in(monkeypatch):
    from autograder import startup

    monkeypatch.setattr(startup, "_IRI_MODULE", "no_such_module_for_the_autograder")
    startup.defer_iri_grammar()
    assert "no_such_module_for_the_autograder" not in sys.modules


# ---------------------------------------------------------------------------- torch._dynamo

_DEFERRED = "import sys, torch\nfrom autograder.startup import defer_dynamo\ndefer_dynamo()\n"
_KIND = "type(sys.modules['torch._dynamo']).__name__"


def test_training_with_optimizers_does_not_import_the_compiler():
    pytest.importorskip("torch")
    out = _run(_DEFERRED +
               "m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))\n"
               "for opt in (torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), torch.optim.Adam(m.parameters())):\n"
               "    for _ in range(2):\n"
               "        opt.zero_grad(); m(torch.ones(5, 3)).pow(2).mean().backward(); opt.step()\n"
               "print(" + _KIND + ", 'torch._dynamo.eval_frame' in sys.modules, 'sympy' in sys.modules)")
    assert out == "_DeferredPackage False False"


def test_optimizer_steps_are_the_same_with_the_stand_in():
    pytest.importorskip("torch")
    code = ("torch.manual_seed(0)\n"
            "m = torch.nn.LSTM(2, 3, batch_first=True)\n"
            "opt = torch.optim.Adam(m.parameters(), lr=0.01)\n"
            "for _ in range(3):\n"
            "    opt.zero_grad(); m(torch.randn(4, 5, 2))[0].sum().backward(); opt.step()\n"
            "print(repr([p.detach().sum().item() for p in m.parameters()]))\n")
    deferred = _run(_DEFERRED + code).splitlines()
    plain = _run("import sys, torch\nimport torch._dynamo\n" + code).splitlines()
    assert deferred == plain


def test_a_submodule_or_another_attribute_hands_over_to_the_real_module():
    pytest.importorskip("torch")
    out = _run(_DEFERRED +
               "import torch._dynamo.config as config\n"
               "real = sys.modules['torch._dynamo']\n"
               "print(" + _KIND + ", config is real.config, torch._dynamo is real)\n"
               "f = torch.compile(lambda x: x * 2 + 1, backend='eager')\n"
               "print(f(torch.ones(2)).tolist())")
    assert out.splitlines() == ["module True True", "[3.0, 3.0]"]
    out = _run(_DEFERRED + "print(torch._dynamo.is_compiling(), " + _KIND + ")")
    assert out == "False module"


def test_a_function_disabled_before_the_compiler_was_imported_is_disabled_after():
    pytest.importorskip("torch")
    out = _run(_DEFERRED +
               "calls = []\n"
               "def eager(x):\n"
               "    calls.append(torch.compiler.is_compiling())\n"
               "    return x + 1\n"
               "disabled = torch._dynamo.disable(eager)\n"
               "print(disabled(torch.ones(1)).item(), " + _KIND + ")\n"
               "f = torch.compile(lambda x: disabled(x) * 2, backend='eager')\n"
               "print(f(torch.ones(1)).item(), calls, " + _KIND + ")")
    assert out.splitlines() == ["2.0 _DeferredPackage", "4.0 [False, False] module"]


def test_torchvision_imports_without_the_compiler_and_its_question_gets_the_real_answer():
    pytest.importorskip("torchvision")
    _SUB = "type(sys.modules['torch._dynamo.utils']).__name__"
    out = _run(_DEFERRED +
               "import torchvision, torchvision.ops\n"
               "print(" + _KIND + ", " + _SUB + ", 'sympy' in sys.modules)\n"
               "asked = sys.modules['torchvision.ops.roi_align'].is_compile_supported('cpu')\n"
               "real = sys.modules['torch._dynamo.utils']\n"
               "print(asked == real.is_compile_supported('cpu'), " + _KIND + ", " + _SUB + ",\n"
               "      sys.modules['torch._dynamo'].utils is real, hasattr(real, 'counters'))")
    assert out.splitlines() == ["_DeferredPackage _DeferredSubmodule False", "True module module True True"]
    # Anything else of the stand-in submodule, or the compiler, hands over the same way.
    out = _run(_DEFERRED +
               "from torch._dynamo.utils import is_compile_supported\n"
               "from torch._dynamo.utils import counters\n"
               "print(" + _KIND + ", " + _SUB + ", sys.modules['torch._dynamo'].utils.counters is counters)\n"
               "print(torch.compile(lambda x: x + 1, backend='eager')(torch.ones(1)).item(), is_compile_supported('cpu')"
               " == sys.modules['torch._dynamo.utils'].is_compile_supported('cpu'))")
    assert out.splitlines() == ["module module True", "2.0 True"]
    out = _run(_DEFERRED + "import torchvision\nprint(torch.compile(lambda x: x * 3, backend='eager')(torch.ones(1)).item(),"
               " " + _KIND + ", " + _SUB + ", sys.modules['torch._dynamo'].utils is sys.modules['torch._dynamo.utils'])")
    assert out == "3.0 module module True"


def test_no_stand_in_once_the_real_module_is_imported():
    pytest.importorskip("torch")
    out = _run("import sys, torch, torch._dynamo\nfrom autograder.startup import defer_dynamo\ndefer_dynamo()\n"
               "print(" + _KIND + ", len([f for f in sys.meta_path if type(f).__name__ == '_SubmoduleOfDeferred']))")
    assert out == "module 0"


def test_freezing_collects_garbage_first_and_keeps_what_is_alive_out_of_later_collections():
    code = (
        "import gc, weakref\n"
        "from autograder.startup import freeze_imports\n"
        "class Node: pass\n"
        "dead = Node(); dead.me = dead; probe = weakref.ref(dead); del dead\n"  # a cycle: only the collector frees it
        "alive = Node()\n"
        "gc.disable(); freeze_imports()\n"
        "assert probe() is None, 'garbage was frozen'\n"
        "assert gc.get_freeze_count() > 1000\n"
        "assert not any(o is alive for o in gc.get_objects()), 'alive objects are still walked'\n"
        "later = Node(); later.me = later; probe = weakref.ref(later); del later\n"
        "gc.collect(); assert probe() is None, 'objects made later are collected as usual'\n"
        "print('ok')\n")
    assert _run(code) == "ok"


def test_the_grading_command_exits_through_a_frozen_heap(monkeypatch):
    from autograder import cli

    frozen = []
    monkeypatch.setattr(cli, "main", lambda: 3)
    monkeypatch.setattr("gc.freeze", lambda: frozen.append(True))
    with pytest.raises(SystemExit) as exit_:
        cli.run()
    assert exit_.value.code == 3 and frozen == [True]


def test_the_collector_is_paused_for_the_imports_and_on_again_after_the_freeze():
    code = (
        "import gc, weakref\n"
        "from autograder.startup import freeze_imports, pause_collector\n"
        "class Node: pass\n"
        "pause_collector()\n"
        "assert not gc.isenabled()\n"
        "dead = Node(); dead.me = dead; probe = weakref.ref(dead); del dead\n"
        "for _ in range(100000): Node().me = 1\n"  # would have triggered collections
        "assert probe() is not None, 'collected while paused'\n"
        "freeze_imports()\n"
        "assert gc.isenabled() and probe() is None\n"
        "print('ok')\n")
    assert _run(code) == "ok"


@pytest.mark.parametrize("warm", [True, False], ids=["forked from a template", "fresh worker"])
def test_workers_run_student_code_with_the_collector_on(warm):
    # Templates and fresh workers pause the collector while they import; a worker left without it would keep
    # every cycle a student's training loop makes.
    from autograder.grading import GradeOptions, close_launchers, launcher_for
    from autograder.isolation import Limits
    from autograder.session import CellToRun, NotebookRun, Student

    launcher = launcher_for(GradeOptions(warm=warm), ("numpy",))
    run = NotebookRun("nb", [CellToRun("code", "import gc\nenabled = gc.isenabled()\n")],
                      Limits(cell_timeout=60.0, submission_timeout=300.0), launcher)
    try:
        assert Student(run).get("enabled") is True
    finally:
        run.close()
        close_launchers()
