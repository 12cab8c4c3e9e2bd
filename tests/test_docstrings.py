"""The public face of behavnb has numpydoc docstrings.

Every function, class and method that the notebooks (their code cells) or README.md (its python blocks
and the ``bn.x.y`` / ``behavnb.x.y`` names in its inline code) call or name is collected by reading the
code statically (``ast``) and resolving each name by importing it: ``bn.preprocess.clean``,
``P = bn.preprocess`` then ``P.clean``, ``from behavnb.models import vqmap`` then ``vqmap.VQMAPConfig``,
``project = bn.project.Project(...)`` then ``project.write_poses`` (an instance's class comes from the
constructor, or from the return annotation of the function that made it).

Each docstring is then checked with numpydoc's validator for the codes in ``CHECKED``: a missing
docstring, an undocumented or an unknown parameter, and a missing Returns section where the function
returns a value. A Raises section is encouraged, not required.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import re
import textwrap
import types
from pathlib import Path

import numpydoc.validate as numpydoc_validate  # in the test extra: a missing numpydoc must fail here, not skip
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = {"GL08", "PR01", "PR02", "RT01"}
MIN_OBJECTS = 60  # the notebooks name well over a hundred: fewer means the collector broke


# --- resolving names -------------------------------------------------------------------------------

class _Instance:
    """An instance of a behavnb class: what ``x`` is after ``x = SomeClass(...)``."""

    def __init__(self, cls: type):
        self.cls = cls


def _ours(obj) -> bool:
    return str(getattr(obj, "__module__", "") or "").split(".")[0] == "behavnb"


def _get(obj, attr: str):
    """``getattr`` that also imports submodules (``behavnb.stats.power``); None when missing."""
    if inspect.ismodule(obj):
        try:
            return getattr(obj, attr)
        except AttributeError:
            try:
                return importlib.import_module(f"{obj.__name__}.{attr}")
            except ImportError:
                return None
    try:
        return getattr(obj, attr)
    except Exception:
        return None


def _raw_class_attr(cls: type, attr: str):
    """The attribute as stored in the class body (property, classmethod, function), or None."""
    for klass in inspect.getmro(cls):
        if attr in vars(klass):
            return vars(klass)[attr]
    return None


def _annotation_class(func, annotation):
    """The behavnb class a return annotation names (``"Skeleton"``, ``"Health | None"``), else None."""
    if isinstance(annotation, type):
        return annotation if _ours(annotation) else None
    if not isinstance(annotation, str):
        return None
    namespace = getattr(inspect.unwrap(func), "__globals__", {})
    for part in annotation.strip("'\"").split("|"):
        part = part.strip()
        if not re.fullmatch(r"[A-Za-z_][\w.]*", part) or part == "None":
            continue
        head, *rest = part.split(".")
        obj = namespace.get(head, getattr(builtins, head, None))
        for name in rest:
            obj = _get(obj, name) if obj is not None else None
        if inspect.isclass(obj) and _ours(obj):
            return obj
    return None


def _returns_annotation(func):
    """``func``'s return annotation as written (a string under ``from __future__ import annotations``)."""
    try:
        return inspect.signature(func, eval_str=False).return_annotation
    except (TypeError, ValueError):
        return inspect.Signature.empty


def _returns(value):
    """What calling ``value`` gives, if it can be told without running it."""
    if inspect.isclass(value):
        return _Instance(value) if _ours(value) else None
    func = getattr(value, "__func__", value)
    if not callable(func):
        return None
    annotation = _returns_annotation(func)
    if annotation in ("Self",) and inspect.ismethod(value) and inspect.isclass(value.__self__):
        return _Instance(value.__self__)
    cls = _annotation_class(func, annotation)
    return _Instance(cls) if cls is not None else None


def _qualname(obj) -> str | None:
    """The importable name of a behavnb function, class, method or property; None for anything else."""
    if isinstance(obj, property):
        obj = obj.fget
    obj = getattr(obj, "__func__", obj)  # classmethod / bound method
    obj = inspect.unwrap(obj) if callable(obj) else obj
    if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not _ours(obj):
        return None
    if "<locals>" in obj.__qualname__ or "<lambda>" in obj.__qualname__:
        return None
    return f"{obj.__module__}.{obj.__qualname__}"


class Collector(ast.NodeVisitor):
    """Walk code in order, binding names to behavnb objects and recording every object used."""

    def __init__(self, where: str):
        self.where = where
        self.env: dict[str, object] = {}
        self.found: dict[str, set[str]] = {}  # qualified name -> where it is used
        self.unresolved: set[str] = set()

    # the value of an expression: a module/class/function, an _Instance, or None (unknown)
    def value(self, node: ast.AST):
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.value(node.value)
            if base is None:
                return None
            if isinstance(base, _Instance):
                raw = _raw_class_attr(base.cls, node.attr)
                if raw is None:
                    return None  # an instance attribute (set in __init__ or a dataclass field)
                if isinstance(raw, property):
                    return raw
                return getattr(base.cls, node.attr)
            if isinstance(base, property):
                cls = _annotation_class(base.fget, _returns_annotation(base.fget))
                return None if cls is None else self.value_of_attr(_Instance(cls), node)
            got = _get(base, node.attr)
            if got is None and (inspect.ismodule(base) or inspect.isclass(base)) and _ours(base):
                self.unresolved.add(f"{ast.unparse(node)} ({self.where})")
            return got
        if isinstance(node, ast.Call):
            func = self.value(node.func)
            return None if func is None or isinstance(func, _Instance) else _returns(func)
        return None

    def value_of_attr(self, inst: _Instance, node: ast.Attribute):
        raw = _raw_class_attr(inst.cls, node.attr)
        return None if raw is None else (raw if isinstance(raw, property) else getattr(inst.cls, node.attr))

    def record(self, obj, raw=None):
        if isinstance(obj, _Instance):
            return
        name = _qualname(raw if raw is not None else obj)
        if name:
            self.found.setdefault(name, set()).add(self.where)

    def bind(self, target: ast.AST, value):
        if isinstance(target, ast.Name):
            if value is None:
                self.env.pop(target.id, None)
            else:
                self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                self.bind(t, None)

    # statements that bind names
    def visit_Import(self, node: ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] != "behavnb":
                continue
            module = importlib.import_module(alias.name)
            if alias.asname:
                self.env[alias.asname] = module
            else:
                self.env["behavnb"] = importlib.import_module("behavnb")

    def visit_ImportFrom(self, node: ast.ImportFrom):
        if not node.module or node.module.split(".")[0] != "behavnb":
            return
        module = importlib.import_module(node.module)
        for alias in node.names:
            obj = _get(module, alias.name)
            if obj is None:
                self.unresolved.add(f"{node.module}.{alias.name} ({self.where})")
                continue
            self.env[alias.asname or alias.name] = obj
            self.record(obj)

    def visit_Assign(self, node: ast.Assign):
        self.visit(node.value)
        value = self.value(node.value)
        for target in node.targets:
            self.visit(target)
            self.bind(target, value)

    def visit_AnnAssign(self, node: ast.AnnAssign):
        if node.value is not None:
            self.visit(node.value)
            self.bind(node.target, self.value(node.value))

    def visit_For(self, node: ast.For):
        self.visit(node.iter)
        self.bind(node.target, None)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    # names used
    def visit_Attribute(self, node: ast.Attribute):
        obj = self.value(node)
        if obj is not None:
            base = self.value(node.value)
            raw = _raw_class_attr(base.cls, node.attr) if isinstance(base, _Instance) else None
            self.record(obj, raw)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id in self.env:
            self.record(self.env[node.id])


def _code(source: str) -> str:
    """Notebook cell source without IPython magics and shell lines."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def sources() -> list[tuple[str, list[str]]]:
    """(where, [code, ...]) for every notebook and for README.md's python blocks."""
    out = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        out.append((path.name, [_code("".join(c["source"])) for c in cells if c["cell_type"] == "code"]))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^([ \t]*)```python\n(.*?)^[ \t]*```", readme, flags=re.S | re.M)
    out.append(("README.md", [textwrap.dedent(body) for _, body in blocks]))
    return out


INLINE = re.compile(r"(?<![\w.])(?:bn|behavnb)(?:\.\w+)+")


def readme_inline_names() -> list[str]:
    """``bn.x.y`` / ``behavnb.x.y`` names inside README.md's inline code spans."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = re.sub(r"```.*?```", "", readme, flags=re.S)
    return [m for span in re.findall(r"`([^`\n]+)`", readme) for m in INLINE.findall(span)]


def collect() -> tuple[dict[str, set[str]], set[str]]:
    """All behavnb objects the notebooks and README use (name -> where), and the names that did not resolve."""
    found: dict[str, set[str]] = {}
    unresolved: set[str] = set()
    collectors = []
    for where, codes in sources():
        c = Collector(where)
        for code in codes:
            c.visit(ast.parse(code, filename=where))
        collectors.append(c)
    inline = Collector("README.md inline code")
    inline.env = {"bn": importlib.import_module("behavnb"), "behavnb": importlib.import_module("behavnb")}
    for name in readme_inline_names():
        inline.visit(ast.parse(name, mode="eval"))
    collectors.append(inline)
    for c in collectors:
        for name, places in c.found.items():
            found.setdefault(name, set()).update(places)
        unresolved |= c.unresolved
    return found, unresolved


FOUND, UNRESOLVED = collect()


# --- validating ------------------------------------------------------------------------------------

def _load(name: str):
    obj = numpydoc_validate.Validator._load_obj(name)
    if isinstance(obj, property):
        return obj
    raw = None
    module, _, rest = name.rpartition(".")
    parent = numpydoc_validate.Validator._load_obj(module) if module else None
    if inspect.isclass(parent):
        raw = _raw_class_attr(parent, rest)
    if isinstance(raw, (classmethod, staticmethod)):
        return raw.__func__  # validated as the function it wraps (numpydoc skips bound methods' returns)
    return obj


def _returns_none(obj) -> bool:
    return _returns_annotation(obj) in (None, "None")


def problems(name: str, obj=None) -> list[str]:
    """``"name: CODE message"`` for every checked numpydoc error of one object (loaded by ``name`` if not given)."""
    obj = _load(name) if obj is None else obj
    if isinstance(obj, property):
        return [] if (obj.__doc__ or "").strip() else [f"{name}: GL08 The object does not have a docstring"]
    result = numpydoc_validate.validate(numpydoc_validate.get_doc_object(obj))
    out = []
    for code, message in result["errors"]:
        if code not in CHECKED or (code == "RT01" and _returns_none(obj)):
            continue
        out.append(f"{name}: {code} {message}")
    return out


def _with_doc(func, doc: str):
    """A copy of ``func`` with another docstring (the original is left alone)."""
    copy = types.FunctionType(func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    copy.__kwdefaults__, copy.__annotations__, copy.__doc__ = func.__kwdefaults__, func.__annotations__, doc
    copy.__module__, copy.__qualname__ = func.__module__, func.__qualname__
    return copy


def test_collector_finds_the_public_api():
    names = set(FOUND)
    assert len(names) >= MIN_OBJECTS, f"only {len(names)} behavnb objects found in the notebooks and README: {sorted(names)}"
    # one of each way of naming: dotted calls, a module alias (P = bn.preprocess), from-imports of a module
    # and of a function, an instance's method, a classmethod, README's code block and its inline code
    for expected in ("behavnb.io.load_poses", "behavnb.preprocess.screen_session", "behavnb.models.vqmap.VQMAPConfig",
                     "behavnb.export.video.clip_frames", "behavnb.project.Project.write_poses",
                     "behavnb.inputs.Skeleton.from_dataset", "behavnb.batch.run_batch", "behavnb.preprocess.qc.qc_table"):
        assert expected in names, f"{expected} not collected"


def test_named_objects_exist():
    assert not UNRESOLVED, "the notebooks or README name behavnb objects that do not exist:\n" + "\n".join(sorted(UNRESOLVED))


def test_the_checks_catch_what_they_should():
    """A named function that loses its Parameters or Returns section fails; a None-returning one needs no Returns."""
    from behavnb import preprocess

    doc = inspect.getdoc(preprocess.clean)
    assert problems("behavnb.preprocess.clean") == []
    no_params = re.sub(r"Parameters\n-+\n.*?\n\n(?=Returns)", "", doc, flags=re.S)
    assert "Parameters" not in no_params
    codes = [p.split(": ")[1][:4] for p in problems("clean", _with_doc(preprocess.clean, no_params))]
    assert codes == ["PR01"], codes
    no_returns = re.sub(r"Returns\n-+\n.*?\n\n(?=Raises)", "", doc, flags=re.S)
    assert "RT01" in " ".join(problems("clean", _with_doc(preprocess.clean, no_returns)))
    assert "GL08" in " ".join(problems("clean", _with_doc(preprocess.clean, None)))
    from behavnb.runtime import seed_everything  # returns None: no Returns section wanted

    assert problems("seed_everything", _with_doc(seed_everything, "Seed.\n\nParameters\n----------\nseed : int\n    S.")) == []


def test_docstrings():
    failures = [p for name in sorted(FOUND) for p in problems(name)]
    if failures:
        pytest.fail(f"{len(failures)} docstring problem(s) in {len({f.split(':')[0] for f in failures})} of "
                    f"{len(FOUND)} objects named by the notebooks and README:\n" + "\n".join(failures), pytrace=False)
