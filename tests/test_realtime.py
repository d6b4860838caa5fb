"""lhn/realtime knows no feature: none of its modules imports one (at module level or inside a function),
and the face services import (lhn.realtime) pulls in no service, so any service may import it."""

import ast
import subprocess
import sys
from pathlib import Path

REALTIME = Path(__file__).resolve().parent.parent / "lhn" / "realtime"
FEATURES = ("chat", "communities", "measures", "moderation", "notifications", "posts", "search", "api")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_realtime_imports_no_feature():
    for path in sorted(REALTIME.glob("*.py")):
        features = {n for n in imported(path) if n.split(".")[:2] in [["lhn", f] for f in FEATURES]}
        assert not features, f"{path.name} imports {sorted(features)}"


def test_the_face_of_realtime_loads_no_service():
    code = "import sys, lhn.realtime; print(sorted(m for m in sys.modules if m.startswith('lhn.') and 'services' in m))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
