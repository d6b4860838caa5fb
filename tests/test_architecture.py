"""The shape of the house (../shared/ARCHITECTURE.md, STYLE.md rules 1, 7 and 14), checked on the source: imports
point one way, no module imports itself round a circle, every feature folder holds the standard files, no import
sits at the bottom of a module and no module grows past 500 lines.

`violations(root)` reads a package with `ast` (nothing is imported) and returns what breaks the rules, one line
each. Today's main breaks some of them while the restructuring of issue 12 is under way: KNOWN lists those, and
the test wants exactly that list, so a new violation fails it and so does a fixed one (shrink KNOWN then)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

LHN = Path(__file__).resolve().parent.parent / "lhn"

# Rule 7: accounts <- communities <- posts, measures, chat <- moderation, programme, pro; search and notifications
# listen (they may read every feature; no feature reads them). A feature imports only features of a lower rank;
# features of one rank don't import each other (posts, measures and chat meet through communities or signals).
RANKS = {
    "accounts": 0,
    "communities": 1,
    "posts": 2,
    "measures": 2,
    "chat": 2,
    "moderation": 3,
    "programme": 3,  # the improvement programme ties a community's measures, ideas and PDSA cycles together
    "pro": 3,  # patient-reported outcomes: a person's own answers, and (later) their share in co-owned measures
    "research": 4,  # studies matched to people's own research profiles: reads pro's consents and scores
    "search": 4,
    "notifications": 4,
}
# The app's assembly may import every feature: the factory registers blueprints, handlers and socket events
# (lhn/__init__.py), lhn/models.py makes every mapper known to it and to Alembic, the CLI's commands and the demo
# seed call each feature's services. Everything else outside the features is infrastructure (the database,
# errors, markup, realtime, inputs, forms, the API's auth and error format, ...): it knows no feature.
# lhn/layout.py assembles the page chrome (the unread count, sanction banners) from the features that own them.
ASSEMBLY = {"lhn", "lhn.models", "lhn.cli", "lhn.demo", "lhn.layout"}
# Infrastructure may know who a person is, and nothing else: the API, sockets and mail authenticate and badge
# people (accounts is rank 0, so nothing it reaches can reach back up).
IDENTITY = "accounts"
# STYLE.md rule 1: every feature has its data, its rules and its pages. permissions.py, forms.py, api.py,
# sockets.py, mydata.py and demo.py exist where a feature has such things (search checks no permission of its
# own and has no form to submit), so only these are required; each may be a module or a package of that name.
REQUIRED = ("models", "services", "views")
STANDARD = ("models", "services", "permissions", "forms", "views", "api", "sockets", "mydata", "demo")
MAX_LINES = 500
LONG_ALLOWED = {"lhn/measures/spc.py"}  # cohesive SPC maths (issue 12)
SKIP = ("migrations",)  # Alembic's scripts: generated, never imported by the app

# Violations accepted for now (none): the test fails on a new one, and on a listed one that is gone.
KNOWN: list[str] = []  # issue 12 fixed them all; keep it empty


# --- reading the package -----------------------------------------------------------------------------------


def modules(root: Path) -> dict[str, Path]:
    """Module name -> file, for every .py file under the package at `root` (a package is named by its __init__)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[0] in SKIP:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((root.name, *parts))] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import in the tree under `node`, at any depth (functions too), but those under `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            children: list[ast.AST] = child.orelse  # type: ignore[assignment]  # only the else branch runs
        else:
            children = [child]
        for node in children:
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield node
            yield from _imports(node)


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's own modules that module `name` (at `path`) imports. `from a import b` imports the module a.b
    when there is one, else a; relative imports are resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in targets:
            while target and target not in known:  # `import lhn.posts.services.answers as x` -> the module itself
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(root: Path) -> dict[str, set[str]]:
    known = modules(root)
    return {name: imported(name, path, known) for name, path in known.items()}


# --- the rules ------------------------------------------------------------------------------------------------


def _feature(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANKS else None


def direction(edges: dict[str, set[str]]) -> list[str]:
    """Imports against rule 7: infrastructure importing a feature, a feature importing a higher or equal rank."""
    found = []
    for source, targets in sorted(edges.items()):
        if source in ASSEMBLY:
            continue
        mine = _feature(source)
        for target in sorted(targets):
            theirs = _feature(target)
            if theirs is None or theirs == mine:
                continue
            if mine is None and theirs != IDENTITY:
                found.append(f"direction: {source} (infrastructure) imports {target}")
            elif mine is not None and RANKS[theirs] >= RANKS[mine]:
                found.append(f"direction: {source} imports {target} ({mine} may not import {theirs})")
    return found


def cycles(edges: dict[str, set[str]]) -> list[str]:
    """Each set of modules that import each other round a circle (a strongly connected component), once."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative: the chains are long
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        found.append("cycle: " + " <-> ".join(sorted(members)))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def feature_files(root: Path) -> list[str]:
    """STYLE.md rule 1: the required files (module or package), and no sibling of a standard one (api_teams.py,
    data_views.py): a grown standard file becomes a package of its name, modules named by sub-domain."""
    found = []
    for feature in sorted(RANKS):
        folder = root / feature
        if not folder.is_dir():
            continue
        names = {p.stem for p in folder.glob("*.py")} | {
            p.name for p in folder.iterdir() if (p / "__init__.py").exists()
        }
        found += [f"files: {root.name}/{feature} has no {need}.py (nor {need}/)" for need in REQUIRED
                  if need not in names]  # fmt: skip
        for name in sorted(names - set(STANDARD)):
            words = name.split("_")
            sibling = next((s for s in STANDARD if s in words), None)
            if sibling:
                found.append(f"files: {root.name}/{feature}/{name}.py beside {sibling}: make {sibling} a package")
    return found


def bottom_imports(root: Path) -> list[str]:
    """An import after the module's first function or class: it hides a dependency (often a cycle)."""
    found = []
    for name, path in sorted(modules(root).items()):
        seen_code = False
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                seen_code = True
            elif seen_code and (
                late := node if isinstance(node, ast.Import | ast.ImportFrom) else next(_imports(node), None)
            ):
                found.append(f"bottom import: {name}: {ast.unparse(late)}")
    return found


def long_modules(root: Path) -> list[str]:
    found = []
    for path in sorted(modules(root).values()):
        relative = path.relative_to(root.parent).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and relative not in LONG_ALLOWED:
            found.append(f"long: {relative} is over {MAX_LINES} lines")  # no count: it changes with every edit
    return found


def violations(root: Path = LHN) -> list[str]:
    edges = graph(root)
    return [*direction(edges), *cycles(edges), *feature_files(root), *bottom_imports(root), *long_modules(root)]


# --- the tests ------------------------------------------------------------------------------------------------


def test_the_house_keeps_its_shape() -> None:
    found = violations()
    new = [v for v in found if v not in KNOWN]
    fixed = [v for v in KNOWN if v not in found]
    assert not new, "New violations of ARCHITECTURE.md / STYLE.md (fix them):\n" + "\n".join(new)
    assert not fixed, "Fixed, well done: remove these lines from KNOWN in tests/test_architecture.py:\n" + "\n".join(
        fixed
    )


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, str]:
    """A small package that keeps every rule; each test breaks one."""
    files = {"lhn/__init__.py": "from lhn.posts import views\n", "lhn/database.py": '"""Base."""\n'}
    for feature in ("accounts", "communities", "posts"):
        files[f"lhn/{feature}/__init__.py"] = ""
        for name in REQUIRED:
            files[f"lhn/{feature}/{name}.py"] = "from lhn.database import *\n"
    files["lhn/communities/services.py"] = "from lhn.accounts import services\n"
    files["lhn/posts/services.py"] = "import lhn.communities.services\nfrom . import models\n"
    files["lhn/posts/views.py"] = (
        "from lhn.posts.services import ask\n\n\ndef show():\n    from lhn.posts import models\n"
    )
    return files


def test_the_checker_passes_a_tree_that_keeps_the_rules(tmp_path: Path, tree: dict[str, str]) -> None:
    assert violations(write(tmp_path, tree) / "lhn") == []


def test_the_checker_finds_a_reverse_import(tmp_path: Path, tree: dict[str, str]) -> None:
    tree["lhn/accounts/services.py"] = "from lhn.posts.models import Post\n"  # accounts knows posts
    tree["lhn/database.py"] = "def f():\n    from lhn.communities import models\n"  # infrastructure knows a feature
    tree["lhn/markup.py"] = "from lhn.accounts import models\n"  # who a person is: allowed (IDENTITY)
    tree["lhn/communities/models.py"] = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import lhn.posts\n"
    assert violations(write(tmp_path, tree) / "lhn") == [
        "direction: lhn.accounts.services imports lhn.posts.models (accounts may not import posts)",
        "direction: lhn.database (infrastructure) imports lhn.communities.models",
    ]


def test_the_checker_finds_a_cycle_also_through_a_function_level_import(tmp_path: Path, tree: dict[str, str]) -> None:
    tree["lhn/posts/models.py"] = "def f():\n    from lhn.posts.views import show\n"
    tree["lhn/posts/forms.py"] = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .views import x\n"
    tree["lhn/posts/views.py"] = "from lhn.posts import forms, services\n"
    assert violations(write(tmp_path, tree) / "lhn") == [
        "cycle: lhn.posts.models <-> lhn.posts.services <-> lhn.posts.views"
    ]


def test_the_checker_finds_a_bottom_import_sibling_files_and_long_modules(tmp_path: Path, tree: dict[str, str]) -> None:
    tree["lhn/posts/models.py"] = "import os\n\n\nclass Post:\n    pass\n\n\nfrom lhn.database import Base\n"
    tree["lhn/posts/answer_views.py"] = "\n" * 501
    del tree["lhn/accounts/views.py"]
    tree["lhn/communities/views/__init__.py"] = tree.pop("lhn/communities/views.py")  # a package is fine
    assert violations(write(tmp_path, tree) / "lhn") == [
        "files: lhn/accounts has no views.py (nor views/)",
        "files: lhn/posts/answer_views.py beside views: make views a package",
        "bottom import: lhn.posts.models: from lhn.database import Base",
        "long: lhn/posts/answer_views.py is over 500 lines",
    ]
