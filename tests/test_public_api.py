"""The public surface: what a notebook imports, and the error discipline behind it."""

from __future__ import annotations

import ast
from pathlib import Path

import qualcode as qc

PACKAGE = Path(qc.__file__).parent


def test_public_names_are_listed_and_documented():
    for name in qc.__all__:
        assert hasattr(qc, name), name
        if name != "__version__":
            assert getattr(qc, name).__doc__, f"{name} has no docstring"


def test_every_exception_derives_from_qualcode_error():
    from qualcode import errors

    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and not issubclass(obj, Warning):
            assert issubclass(obj, qc.QualcodeError), name


def test_library_code_raises_no_bare_builtin_errors():
    bare = {"ValueError", "Exception", "RuntimeError", "TypeError", "KeyError"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and func.id in bare:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, offenders


def test_library_code_does_not_print():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "cli" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert not offenders, offenders


def test_import_loads_no_language_model():
    import subprocess
    import sys

    code = "import sys, qualcode; print('spacy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
