"""No button or menu action hands its ``checked`` flag to a slot's optional first parameter.

``clicked``/``triggered``/``toggled`` carry a bool; PySide passes it to a Python slot that accepts an
argument, so ``button.clicked.connect(self.print_selected)`` called ``print_selected(printer=False)``
(issue 9.7: the Print button never printed). This reads the UI's source and names every such
connection, directly or through a helper that forwards its slot to ``clicked.connect``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ecmo_desktop.ui

SIGNALS = {"clicked", "triggered", "toggled"}
UI = Path(ecmo_desktop.ui.__file__).parent


def _optional_first(fn: ast.FunctionDef) -> bool:
    args = fn.args.args[1:] if fn.args.args and fn.args.args[0].arg in ("self", "cls") else fn.args.args
    return bool(args) and len(fn.args.defaults) >= len(args)


def _forwarders(tree: ast.Module) -> dict[str, int]:
    """Module functions that pass one of their parameters straight to ``X.clicked.connect`` (name →
    position).
    """
    found: dict[str, int] = {}
    for fn in tree.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        names = [a.arg for a in fn.args.args]
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "connect"
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr in SIGNALS
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in names
            ):
                found[fn.name] = names.index(node.args[0].id)
    return found


def offending_connections(source: str, name: str) -> list[str]:
    tree = ast.parse(source)
    methods: dict[str, list[ast.FunctionDef]] = {}
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef):
                    methods.setdefault(fn.name, []).append(fn)
    functions = {fn.name: fn for fn in tree.body if isinstance(fn, ast.FunctionDef)}
    forwarders = _forwarders(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        slot: ast.expr | None = None
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "connect"
            and isinstance(func.value, ast.Attribute)
            and func.value.attr in SIGNALS
            and node.args
        ):
            slot = node.args[0]
        elif isinstance(func, ast.Name) and func.id in forwarders and len(node.args) > forwarders[func.id]:
            slot = node.args[forwarders[func.id]]
        if slot is None:
            continue
        if isinstance(slot, ast.Attribute) and isinstance(slot.value, ast.Name) and slot.value.id == "self":
            candidates = methods.get(slot.attr, [])
        elif isinstance(slot, ast.Name):
            candidates = [functions[slot.id]] if slot.id in functions else []
        else:
            candidates = []
        if any(_optional_first(fn) for fn in candidates):
            found.append(f"{name}:{node.lineno}: {ast.unparse(slot)}")
    return found


def test_no_checked_flag_reaches_an_optional_parameter() -> None:
    found = [
        hit
        for path in sorted(UI.rglob("*.py"))
        for hit in offending_connections(path.read_text(encoding="utf-8"), str(path.relative_to(UI)))
    ]
    assert found == [], "connect a no-argument slot (or lambda _checked=False: …) instead:\n" + "\n".join(
        found
    )


def test_the_check_finds_the_print_button_mistake() -> None:
    source = """
class Tab:
    def __init__(self):
        self.print_button.clicked.connect(self.print_selected)
        self.ok.clicked.connect(self.accept)
        _button("x", self.save)
        self.action.triggered.connect(lambda _checked=False: self.go())
    def print_selected(self, printer=None): ...
    def accept(self): ...
    def save(self, path: str | None = None): ...
def _button(text, slot):
    b.clicked.connect(slot)
"""
    assert [hit.split(": ", 1)[1] for hit in offending_connections(source, "t.py")] == [
        "self.print_selected",
        "self.save",
    ]
