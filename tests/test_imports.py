"""Imports run one way: core imports no other app, each app only those below it, the
project package sits on top, and no module imports another of the project's inside a
function (an import cycle hidden behind a lazy import)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "core",
    "loyalty",
    "redemptions",
    "transactions",
    "activities",
    "backoffice",
    "demo",
    "stamps_server",
]
# Which packages each may import (besides itself): the layers, bottom to top.
ALLOWED = {
    "core": set(),
    "loyalty": {"core"},
    "redemptions": {"core", "loyalty"},
    "transactions": {"core", "loyalty", "redemptions"},
    "activities": {"core", "loyalty", "redemptions", "transactions"},
    "backoffice": {"core", "loyalty", "redemptions", "transactions"},
    "demo": {"core", "loyalty", "redemptions", "transactions", "backoffice"},
    "stamps_server": {
        "core",
        "loyalty",
        "redemptions",
        "transactions",
        "activities",
        "backoffice",
        "demo",
    },
}


def project_modules() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    ]


def imported_packages(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [node.module]
    else:
        return set()
    return {name.split(".")[0] for name in names} & set(PACKAGES)


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def module_level_imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in tree.body:
        if not is_type_checking_block(node):
            found |= imported_packages(node)
    return found


def test_each_package_imports_only_the_packages_below_it() -> None:
    breaches = []
    for path in project_modules():
        package = path.relative_to(ROOT).parts[0]
        tree = ast.parse(path.read_text())
        for imported in module_level_imports(tree) - {package} - ALLOWED[package]:
            breaches.append(f"{path.relative_to(ROOT)} imports {imported}")

    assert breaches == []


def test_no_module_imports_the_project_inside_a_function() -> None:
    lazy = []
    for path in project_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if imported_packages(inner):
                        lazy.append(f"{path.relative_to(ROOT)}:{inner.lineno}")

    assert lazy == []


def test_the_layers_allow_no_cycle() -> None:
    for package, below in ALLOWED.items():
        for other in below:
            assert package not in ALLOWED[other]
