"""The package's import graph follows the documented layer order (docs/design.md, "Layers").

A room (``behavnb.<room>``) may import rooms of its own layer or of earlier layers, never later ones; rooms
form no import cycle; the package's own imports sit at module top, and an import inside a function says why
on its line (a heavy optional dependency that must wait, or the one lazy hook of ``behavnb/__init__``).
The graph is read from the source with ``ast``, so imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "behavnb"

#: The layers, lowest first: the same order as docs/design.md.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "utils"),                          # the ground floor: imports nothing of behavnb
    ("runtime", "resources", "parallel", "lock"),  # the machine: device, threads, bundled data, Dask, locks
    ("io",),                                      # pose files in, poses and tables out
    ("project", "manifest", "skeleton"),          # the run directory, the sessions table, keypoint roles
    ("synth",),                                   # synthetic cohorts with ground truth
    ("preprocess",),
    ("features",),
    ("inputs",),                                  # every model's input matrices and their normalisation
    ("windows",),
    ("models",),                                  # config dataclasses + nn.Modules
    ("train",),
    ("embed",),
    ("codes", "segment"),
    ("hierarchy",),
    ("stats",),
    ("evaluate", "health", "demos"),              # what a trained model learned, and whether to trust it
    ("plot", "widgets"),
    ("export",),
    ("report", "series", "batch", "cli"),         # papermill runs, Dask batches, the HTML report, the CLI
]
LAYER = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, bool, str]]:
    """(imported behavnb module, line, inside a function?, source line) for every import of the package."""
    tree = ast.parse(path.read_text())
    lines = path.read_text().splitlines()
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    top = {id(node) for node in tree.body}
    for node in tree.body:  # imports under `if TYPE_CHECKING:` or try/except at module level are top-level too
        if isinstance(node, ast.If | ast.Try):
            top |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            if base == "behavnb" or base.startswith("behavnb."):
                targets = [f"{base}.{a.name}" if base == "behavnb" else base for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name == "behavnb" or a.name.startswith("behavnb.")]
        for t in targets:
            out.append((t, node.lineno, id(node) not in top, lines[node.lineno - 1]))
    return out


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _graph() -> dict[str, set[tuple[str, str, int]]]:
    """room -> {(imported room, file, line)} over every module of the package."""
    graph: dict[str, set[tuple[str, str, int]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        room = _room(_module(path))
        if room is None:
            continue
        for target, line, _, _ in _imports(path):
            other = _room(target)
            if other is not None and other != room and other != "__version__":
                graph.setdefault(room, set()).add((other, str(path.relative_to(PACKAGE.parent)), line))
    return graph


def test_every_room_has_a_layer():
    rooms = {_room(_module(p)) for p in PACKAGE.rglob("*.py")} - {None}
    rooms = {r for r in rooms if not r.startswith("_")}
    assert sorted(rooms - set(LAYER)) == [], "a new module: give it a layer here and in docs/design.md"
    assert sorted(set(LAYER) - rooms) == [], "a layer names a module that no longer exists"


def test_no_upward_imports():
    upward = [f"{file}:{line}: {room} (layer {LAYER[room]}) imports {other} (layer {LAYER[other]})"
              for room, edges in _graph().items() for other, file, line in edges
              if other in LAYER and room in LAYER and LAYER[other] > LAYER[room]]
    assert upward == [], "\n".join(sorted(upward))


def test_no_import_cycles_between_rooms():
    graph = {room: {other for other, _, _ in edges} for room, edges in _graph().items()}
    seen: dict[str, int] = {}  # 1 = on the stack, 2 = done
    cycles: list[list[str]] = []

    def visit(room: str, stack: list[str]) -> None:
        seen[room] = 1
        for other in sorted(graph.get(room, ())):
            if seen.get(other) == 1:
                cycles.append(stack[stack.index(other):] + [room, other] if other in stack else [room, other])
            elif other not in seen:
                visit(other, stack + [room])
        seen[room] = 2

    for room in sorted(graph):
        if room not in seen:
            visit(room, [])
    assert cycles == [], f"import cycles: {cycles}"


def test_package_imports_sit_at_module_top_or_say_why():
    """An import of behavnb inside a function must carry a comment saying why it waits."""
    hidden = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for target, line, inside, text in _imports(path):
            reason = text.partition("#")[2].strip()
            if inside and (not reason or reason.startswith("noqa")):  # a lint pragma is not a reason
                hidden.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text.strip()}")
    assert hidden == [], "imports inside functions without a reason:\n" + "\n".join(hidden)


@pytest.mark.parametrize("room", ["errors", "utils"])
def test_the_ground_floor_imports_nothing_of_behavnb(room):
    path = PACKAGE / f"{room}.py"
    assert [t for t, *_ in _imports(path)] == []
