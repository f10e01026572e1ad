"""Follow one value (a run's config) through a package's code, statically, and count the stops.

Usage::

    python scripts/config_walk.py src/automata run.py:run:cfg            # the whole config
    python scripts/config_walk.py src/automata run.py:run:cfg --parts    # and its parts
    python scripts/config_walk.py src/automata run.py:run:cfg --json     # machine-readable

The entry is ``MODULE_PATH:FUNCTION:PARAM``: a module's path relative to the package folder,
a module-level function or ``Class.method`` of it, one of its parameters. The package's import
name is the folder's name. Nothing is imported or run: each module is parsed with :mod:`ast`.

**The walk.** Be the parameter: read the function's body in source order (a call after its
arguments, an assignment after its value). When a call passes the tracked value as an argument
(positional or keyword) and its callee is a function of the package that resolves statically,
enter the callee with the matching parameters tracked and read it the same way (depth first),
then come back and go on. A function already on the current path is not entered again
(recursion); one entered again from another caller is walked, and counted, again.

**The tracked value**, in a function: the parameter; a local assigned from it (``x = cfg``,
``a, b = cfg, y`` pairwise, ``(x := cfg)``; a local assigned anything else stops being tracked);
``self.X`` where the object carries it (below). With ``--parts`` also: an attribute or subscript
of a tracked value (``cfg.tuning``, ``cfg["x"]``, ``cfg.tuning.n_trials``), ``t.get(...)`` of
one (a subscript with a default), ``str``/``int``/``float``/``bool`` of one, locals assigned
from those, and every name of a tuple unpacked from one.

**Objects.** A method that assigns the tracked value to ``self.X`` makes its object carry ``X``.
``Class(...)`` enters ``Class.__init__`` (or that of the first base class of the package that
defines it); a ``@dataclass`` without its own ``__init__`` stores each argument in the field of
its position or keyword (no code of the package runs there: no stop). A local
``obj = Class(...)`` is of that class (and ``obj2 = obj``); so is ``obj = Class.f(...)`` for a
classmethod ``f``, taken to be a factory: ``obj`` carries what the ``cls(...)``/``Class(...)``
calls inside ``f`` stored. A method called on an object (``self.m(...)`` in its class,
``super().m(...)``, ``obj.m(...)``) is entered when the call passes the tracked value, or when
the method's own body reads ``self.X`` for an ``X`` the object carries; what it stores in
``self`` stays carried.

**Callees resolved:** functions and classes of the same module; imports of the package
(``from pkg.x import f``, ``... import f as g``, ``import pkg.x as m`` then ``m.f``, ``from pkg
import x`` then ``x.f``, relative imports, re-exports through ``__init__.py``; an import inside
a function counts for its whole module); ``self.m``, ``super().m``, ``Class.m``, ``cls.m`` and
``obj.m`` as above. A method is looked up in the static class and its package base classes.

**Not followed**, and listed with counts on the "not followed" line (a profiler's "unknown"
bucket): calls that pass the tracked value to a callee that does not resolve (library and
builtin calls, except the conversions that ``--parts`` takes as the value; calls through
parameters, attributes, returned objects and any variable not typed as above:
``self.engine.run(cfg)``, ``scheduler.run(...)``, Hydra's ``instantiate``); the value spread
with ``*``/``**`` or landing in a callee's ``*args``/``**kwargs``; a class without ``__init__``
that is not a dataclass; recursion; and calls that pass an object carrying the value ("gets an
object carrying it": the walk does not follow the object into the callee).

**Never followed, not listed:** return values (``s = settings(cfg)`` is a new value), module
globals, objects kept in attributes (``self.engine = Engine(cfg)``), properties (not calls),
bodies of nested functions, lambdas and classes (they run later, if at all), subclasses'
overrides (dynamic dispatch), ``getattr``, a method that reads ``self.X`` only through another
method it calls, control flow (both branches of an ``if`` are read).

**Stops.** Entering a function is an event in its module; so is coming back to a caller when the
walk follows another call from it. Consecutive events in the same module are one stop; each time
the walk moves to another module (down into a callee, or back up into a caller's module to go on
there) a new stop starts. The route prints each stop as its module and the functions read there
(each once), then ``N stops in M modules`` (M distinct modules).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONVERSIONS = {"str", "int", "float", "bool"}
Typed = tuple["Cls", set[str]]  # a local's class and the attributes its object carries
Passed = list[tuple[int | str, ast.expr]]  # the tracked arguments of a call: position or keyword


@dataclass(eq=False)
class Module:
    path: str  # relative to the package folder, e.g. "tuning/study.py"
    name: str  # dotted, e.g. "automata.tuning.study"
    tree: ast.Module
    defs: dict[str, ast.AST] = field(default_factory=dict)  # top-level functions and classes
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # (module, name)


@dataclass(frozen=True)
class Fn:
    module: Module
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: ast.ClassDef | None = None

    @property
    def label(self) -> str:
        return f"{self.cls.name}.{self.node.name}" if self.cls else self.node.name

    def decorated(self, name: str) -> bool:
        return any(_dotted(d).endswith(name) for d in self.node.decorator_list)

    def params(self) -> list[str]:
        return [a.arg for a in self.node.args.posonlyargs + self.node.args.args]


@dataclass(frozen=True)
class Cls:
    module: Module
    node: ast.ClassDef


@dataclass
class Frame:
    fn: Fn
    names: set[str]  # tracked locals
    attrs: set[str]  # tracked self.X: what this method's object carries
    self_name: str | None = None
    cls_name: str | None = None  # of a classmethod
    objects: dict[str, Typed] = field(default_factory=dict)  # typed locals
    stored: set[str] = field(default_factory=set)  # self.X assigned the tracked value here
    made: set[str] = field(default_factory=set)  # carried by objects of fn.cls built here


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


class Walk:
    def __init__(self, root: Path, parts: bool = False) -> None:
        self.parts, self.modules = parts, {}
        for file in sorted(root.rglob("*.py")):
            rel = file.relative_to(root)
            dotted = [root.name, *rel.with_suffix("").parts]
            is_package = dotted[-1] == "__init__"
            name = ".".join(dotted[:-1] if is_package else dotted)
            module = Module(rel.as_posix(), name, ast.parse(file.read_text("utf-8"), str(file)))
            self.index(module, is_package)
            self.modules[name] = module
        self.stops: list[tuple[str, list[str]]] = []
        self.not_followed: Counter[str] = Counter()
        self.path: list[Fn] = []

    @staticmethod
    def index(module: Module, is_package: bool) -> None:
        for top in module.tree.body:
            if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                module.defs[top.name] = top
        here = module.name.split(".") + ([""] if is_package else [])
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for a in node.names:  # "import pkg.x" binds "pkg"
                    bound = a.name if a.asname else a.name.split(".")[0]
                    module.imports[a.asname or bound] = (bound, None)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:  # relative: from this module's package, up level - 1 more
                    source = ".".join(here[: -node.level] + ([source] if source else []))
                for a in node.names:
                    module.imports[a.asname or a.name] = (source, a.name)

    # -- resolution ------------------------------------------------------------------------------
    def lookup(self, module: Module, name: str, depth: int = 0) -> Module | Fn | Cls | None:
        """What ``name`` is at the top level of ``module``, if it is of the package."""
        node = module.defs.get(name)
        if isinstance(node, ast.ClassDef):
            return Cls(module, node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return Fn(module, node)
        if name in module.imports and depth < 20:
            source, symbol = module.imports[name]
            found = self.modules.get(source)
            if symbol is None or found is None:
                return found
            return self.lookup(found, symbol, depth + 1) or self.modules.get(f"{source}.{symbol}")
        return self.modules.get(f"{module.name}.{name}")  # a submodule, after "import pkg.x"

    def method(self, cls: Cls, name: str, depth: int = 0) -> Fn | None:
        """``name`` in ``cls``, else in the first base class of the package that defines it."""
        for node in cls.node.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return Fn(cls.module, node, cls.node)
        bases = [self.resolve(b, None, cls.module) for b in cls.node.bases]
        found = [self.method(b, name, depth + 1) for b in bases if isinstance(b, Cls)]
        return next((f for f in found if f), None) if depth < 20 else None

    def resolve(self, node: ast.AST, frame: Frame | None, module: Module) -> Any:
        """A Module, Fn or Cls of the package, ("bound", Fn, receiver) for a method called on
        an object (receiver None for self), or None."""
        own = Cls(module, frame.fn.cls) if frame and frame.fn.cls else None
        if isinstance(node, ast.Name):
            if frame and own and node.id in (frame.cls_name, frame.self_name):
                return own if node.id == frame.cls_name else ("object", None, own)
            if frame and node.id in frame.objects:
                return ("object", node.id, frame.objects[node.id][0])
            return self.lookup(module, node.id)
        if isinstance(node, ast.Call) and _dotted(node) == "super" and own:
            bases = [self.resolve(b, None, own.module) for b in own.node.bases]
            return ("object", None, next((b for b in bases if isinstance(b, Cls)), None))
        if not isinstance(node, ast.Attribute):
            return None
        base = self.resolve(node.value, frame, module)
        if isinstance(base, Module):
            return self.lookup(base, node.attr)
        if isinstance(base, Cls):
            return self.method(base, node.attr)
        if isinstance(base, tuple) and base[0] == "object" and base[2] is not None:
            return ("bound", self.method(base[2], node.attr), base[1])
        return None

    # -- the walk --------------------------------------------------------------------------------
    def tracked(self, node: ast.AST, frame: Frame) -> bool:
        if isinstance(node, ast.Name):
            return node.id in frame.names
        if isinstance(node, ast.Attribute) and _dotted(node.value) == frame.self_name:
            if node.attr in frame.attrs:
                return True
        if not self.parts:
            return False
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return self.tracked(node.value, frame)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr == "get" and self.tracked(node.func.value, frame)
        return (
            isinstance(node, ast.Call)
            and self.conversion(node)
            and self.tracked(node.args[0], frame)
        )

    @staticmethod
    def conversion(node: ast.Call) -> bool:
        return _dotted(node.func) in CONVERSIONS and len(node.args) == 1 and not node.keywords

    @staticmethod
    def carries(name: str, frame: Frame) -> bool:
        return name in frame.objects and bool(frame.objects[name][1])

    def note(self, fn: Fn) -> None:
        """The walk is in ``fn``: a new stop if that is another module than the last stop's."""
        if self.stops and self.stops[-1][0] == fn.module.path:
            if fn.label not in self.stops[-1][1]:
                self.stops[-1][1].append(fn.label)
        else:
            self.stops.append((fn.module.path, [fn.label]))

    def enter(self, fn: Fn, names: set[str], attrs: set[str]) -> Frame:
        frame, params = Frame(fn, set(names), set(attrs)), fn.params()
        if fn.cls and params and fn.decorated("classmethod"):
            frame.cls_name = params[0]
        elif fn.cls and params and not fn.decorated("staticmethod"):
            frame.self_name = params[0]
        self.note(fn)
        self.path.append(fn)
        for stmt in fn.node.body:
            self.visit(stmt, frame)
        self.path.pop()
        return frame

    def visit(self, node: ast.AST, frame: Frame) -> Typed | None:
        """Read ``node`` in evaluation order; for a call, the object it makes, if typed."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            return None
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            if node.value is not None:
                made = self.visit(node.value, frame)
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    self.bind(target, node.value, made, frame)
            return None
        for child in ast.iter_child_nodes(node):
            self.visit(child, frame)
        return self.call(node, frame) if isinstance(node, ast.Call) else None

    def bind(self, target: ast.AST, value: ast.AST, made: Typed | None, frame: Frame) -> None:
        on = self.tracked(value, frame)
        if isinstance(target, ast.Name):
            (frame.names.add if on else frame.names.discard)(target.id)
            made = made or frame.objects.get(_dotted(value))  # obj2 = obj
            frame.objects.pop(target.id, None)
            if made:
                frame.objects[target.id] = made
        elif isinstance(target, ast.Attribute) and _dotted(target.value) == frame.self_name:
            if on:
                frame.attrs.add(target.attr)
                frame.stored.add(target.attr)
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = getattr(value, "elts", [])
            for i, elt in enumerate(target.elts):
                if len(values) == len(target.elts):
                    self.bind(elt, values[i], None, frame)
                elif isinstance(elt, ast.Name):
                    (frame.names.add if on and self.parts else frame.names.discard)(elt.id)

    def call(self, node: ast.Call, frame: Frame) -> Typed | None:
        name = _dotted(node.func) or ast.unparse(node.func)
        passed: Passed = [(i, a) for i, a in enumerate(node.args) if self.tracked(a, frame)]
        passed += [
            (k.arg, k.value) for k in node.keywords if k.arg and self.tracked(k.value, frame)
        ]
        spread = [a.value for a in node.args if isinstance(a, ast.Starred)]
        spread += [k.value for k in node.keywords if k.arg is None]
        if any(self.tracked(a, frame) for a in spread):
            self.not_followed[f"{name} (*, **)"] += 1
        values = [_dotted(a) for a in [*node.args, *(k.value for k in node.keywords)]]
        if any(v == frame.self_name and frame.attrs or self.carries(v, frame) for v in values):
            self.not_followed[f"{name} (gets an object carrying it)"] += 1
        target = self.resolve(node.func, frame, frame.fn.module)
        kind, receiver, carried = "function", None, set()
        if isinstance(target, tuple) and target[0] == "bound" and target[1]:  # method, receiver
            kind, fn, receiver = target
            carried = frame.attrs if receiver is None else frame.objects[receiver][1]
            skip = 0 if fn.decorated("staticmethod") else 1
        elif isinstance(target, Cls):
            kind, fn, skip = "new", self.method(target, "__init__"), 1
            if fn is None:
                return self.construct(target, passed, frame)
        elif isinstance(target, Fn):
            factory = target.cls is not None and target.decorated("classmethod")
            kind, fn, skip = ("factory" if factory else "function"), target, int(factory)
        else:
            if passed and not (self.parts and self.conversion(node)):
                self.not_followed[name] += 1
            return None
        params, kwonly = fn.params()[skip:], {a.arg for a in fn.node.args.kwonlyargs}
        names = {params[k] for k, _ in passed if isinstance(k, int) and k < len(params)}
        names |= {k for k, _ in passed if isinstance(k, str) and (k in params or k in kwonly)}
        if passed and not names:
            self.not_followed[f"{fn.label} (into *args/**kwargs)"] += 1
        me = fn.params()[0] if fn.params() else None
        reads = any(
            isinstance(n, ast.Attribute) and _dotted(n.value) == me and n.attr in carried
            for n in ast.walk(fn.node)
        )
        stored, made = set(), set()
        if (names or reads) and fn in self.path:
            self.not_followed[f"{fn.label} (recursion)"] += 1
        elif names or reads:
            self.note(frame.fn)  # the walk is (back) in the caller's module
            callee = self.enter(fn, names, carried)
            stored, made = callee.stored, callee.made
        if kind == "new":
            if target.node is frame.fn.cls:
                frame.made |= stored
            return (target, stored)
        if kind == "factory":
            return (Cls(fn.module, fn.cls), made)  # type: ignore[arg-type]
        if kind == "bound":  # what a method stores in its object stays there
            carried |= stored
            if receiver is None:
                frame.stored |= stored
        return None

    def construct(self, cls: Cls, passed: Passed, frame: Frame) -> Typed | None:
        """A class without ``__init__``: a dataclass stores its arguments in its fields."""
        if not any(_dotted(d).endswith("dataclass") for d in cls.node.decorator_list):
            if passed:
                self.not_followed[f"{cls.node.name} (no __init__)"] += 1
            return (cls, set())
        body = cls.node.body
        fields = [
            s.target.id
            for s in body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        ]
        stored = {fields[k] for k, _ in passed if isinstance(k, int) and k < len(fields)}
        stored |= {k for k, _ in passed if isinstance(k, str) and k in fields}
        if cls.node is frame.fn.cls:
            frame.made |= stored
        return (cls, stored)


def walk(root: Path, entry: str, parts: bool = False) -> dict[str, Any]:
    """The route of ``entry`` (``MODULE_PATH:FUNCTION:PARAM``) through the package at ``root``."""
    path, function, param = entry.split(":")
    w = Walk(root, parts)
    module = next((m for m in w.modules.values() if m.path == path), None)
    owner, _, name = function.rpartition(".")
    found = w.lookup(module, owner or name) if module else None
    if owner and isinstance(found, Cls):
        found = w.method(found, name)
    kwonly = [a.arg for a in found.node.args.kwonlyargs] if isinstance(found, Fn) else []
    if not isinstance(found, Fn) or param not in found.params() + kwonly:
        raise SystemExit(f"{root}: no function {function}({param}) in module {path}")
    w.enter(found, {param}, set())
    modules = sorted({m for m, _ in w.stops})
    return {
        "entry": entry,
        "mode": "parts" if parts else "whole",
        "stops": [{"module": m, "functions": fns} for m, fns in w.stops],
        "n_stops": len(w.stops),
        "modules": modules,
        "n_modules": len(modules),
        "not_followed": dict(w.not_followed.most_common()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("package", type=Path, help="the package folder, e.g. src/automata")
    parser.add_argument("entry", help="MODULE_PATH:FUNCTION:PARAM, e.g. run.py:run:cfg")
    parser.add_argument("--parts", action="store_true", help="follow sections, derived values")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = walk(args.package, args.entry, args.parts)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{args.entry} ({'with its parts' if args.parts else 'the whole value'})")
    for i, stop in enumerate(result["stops"], 1):
        print(f"{i:3d}. {stop['module']}: {', '.join(stop['functions'])}")
    unknown = ", ".join(f"{k} x{n}" for k, n in result["not_followed"].items())
    print(f"not followed: {unknown or '-'}")
    print(f"{result['n_stops']} stops in {result['n_modules']} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
