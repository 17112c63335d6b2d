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
