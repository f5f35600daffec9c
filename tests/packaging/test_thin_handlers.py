"""Each Lambda function's `app.py` is glue: the entry-point decorator around one call into the library.

Everything that can go wrong in an invocation (event shapes, batch semantics,
wiring, metrics, failures) lives in `gatekeeper.handlers`, where the tests, the
CLI and the demo reach it; `gatekeeper.local.upload_handler` is the same
composition as the upload function's `app.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gatekeeper.handlers import uploads
from gatekeeper.local import upload_handler

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted((ROOT / "functions").glob("*/app.py"))


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the module it was imported from, for every `from X import name`."""
    return {
        alias.asname or alias.name: node.module or ""
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }


@pytest.mark.parametrize("app", APPS, ids=[path.parent.name for path in APPS])
def test_app_is_the_entry_point_decorator_and_one_call_into_the_library(app: Path) -> None:
    tree = ast.parse(app.read_text(encoding="utf-8"))
    # Given the module's statements besides its docstring and imports
    code = [
        node
        for node in tree.body[1:]
        if not isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert ast.get_docstring(tree)
    # Then there is one function, the handler, in the library's entry-point decorator
    (function,) = code
    assert isinstance(function, ast.FunctionDef) and function.name == "lambda_handler"
    imported = _imported_names(tree)
    assert [ast.unparse(d) for d in function.decorator_list] == ["lambda_entry_point"]
    assert imported["lambda_entry_point"] == "gatekeeper.handlers.observability"
    # And its body is one call of a gatekeeper.handlers function with the event and the context
    (statement,) = function.body
    assert isinstance(statement, ast.Return) and isinstance(statement.value, ast.Call)
    call = statement.value
    assert isinstance(call.func, ast.Name) and imported[call.func.id].startswith("gatekeeper.handlers.")
    assert [ast.unparse(a) for a in call.args] == ["event", "context"] and not call.keywords


def test_every_function_of_the_template_has_such_an_app() -> None:
    # Given the code locations of the template's functions (upload, re-evaluation, reference indexing, consent)
    from samtranslator.yaml_helper import yaml_parse

    resources = yaml_parse((ROOT / "template.yaml").read_text(encoding="utf-8"))["Resources"]
    code = sorted(
        Path(r["Properties"]["CodeUri"]).name for r in resources.values() if r["Type"] == "AWS::Serverless::Function"
    )
    # Then each is one of the apps above, and every app is a function of the template
    assert [path.parent.name for path in APPS] == code == ["consent", "gatekeeper", "reevaluate", "references"]


def test_the_local_runner_composes_the_same_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the library's upload handler, watched
    calls = []
    monkeypatch.setattr(uploads, "handle", lambda event, context: calls.append(event) or {"batchItemFailures": []})
    # When the local runner's handler is invoked
    from gatekeeper.local import LocalContext

    response = upload_handler()({"Records": []}, LocalContext())
    # Then it is that function that answered
    assert response == {"batchItemFailures": []} and calls == [{"Records": []}]
