"""schemathesis against the real server's /api/v1/openapi.json, on SQLite and on PostgreSQL: every operation, as a
patient and as a site admin, with a fixed seed and a bounded number of examples. 0 server errors; every response
conforms to the document (status codes, content types, bodies). Path ids and names are drawn mostly from what the
demo holds, so requests reach real posts, measures and channels, and otherwise generated (huge, negative, malformed).

The counts (operations, requests, failures) are printed; run `scripts/test tests/live/test_api_fuzz.py -s` to see
them. FUZZ_EXAMPLES (default 10) sets the examples per operation and phase. .ci/run runs it, with the rest of
tests/live, beside the PostgreSQL suite (tests/live/conftest.py: LHN_LIVE_RUN_APART).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.servers import LiveServer, create_postgres_database, flask_command, postgres_available

pytestmark = pytest.mark.live

ST = Path(sys.executable).parent / "st"
DEMO_PASSWORD = "lhn-demo-2026"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Operations that would end the fuzzer's own access midway (its token, its account, its password).
EXCLUDED = ["--exclude-path-regex", "^/tokens/", "--exclude-path", "/me/password",
            "--exclude-by", 'method == "DELETE" and path == "/me"']  # fmt: skip


# On both databases: PostgreSQL refuses what SQLite takes (a NUL in text, an id beyond its 4-byte INTEGER), and the
# fuzzer found a 500 on PostgreSQL for every operation with an id in its path before lhn.inputs.MAX_INT said so.
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, demo_database_template, tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    drop = None
    if request.param == "sqlite":
        shutil.copy(demo_database_template, work / "lhn.sqlite3")
        database_url = f"sqlite:///{work / 'lhn.sqlite3'}"
    else:
        if not postgres_available():
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
        database_url, drop = create_postgres_database("lhn_fuzz")
        flask_command(database_url, "db", "upgrade")
        flask_command(database_url, "lhn", "seed-demo")
    unlimited = {"LHN_CHAT_RATE_LIMIT": "100000 per minute", "LHN_WRITE_RATE_LIMIT": "100000 per minute"}
    live = LiveServer(database_url, env=unlimited, log_path=work / "server.log").start(60)
    yield live, work
    live.stop()
    if drop is not None:
        drop()


def _token(url: str, login: str) -> str:
    answer = requests.post(f"{url}/api/v1/tokens", json={"login": login, "password": DEMO_PASSWORD, "name": "fuzz"},
                           timeout=30)  # fmt: skip
    answer.raise_for_status()
    return answer.json()["token"]


def _config(url: str, token: str, path: Path) -> Path:
    """Dictionaries of what exists: ids 1-40 (the demo's are small) and the demo's names, each drawn 80 % of
    the time for its parameter; the rest is generated."""
    headers = {"Authorization": f"Bearer {token}"}
    slugs = [c["slug"] for c in requests.get(f"{url}/api/v1/communities", headers=headers, timeout=30).json()["items"]]
    names = ["admin", "dr_lind", "sam_mod", "ibd_teen", "mum_of_two", "data_mika"]
    sites = ["riverside-childrens", "lakeside-clinic", "northgate-university-hospital", "gut-friends"]
    dictionaries = {"ids": list(range(1, 41)), "slugs": slugs, "names": names, "sites": sites}
    lines = ["[dictionaries]", *(f"{name} = {{ values = {json.dumps(values)} }}" for name, values in
                                 dictionaries.items()), "", "[parameters]"]  # fmt: skip
    document = requests.get(f"{url}/api/v1/openapi.json", timeout=30).json()
    path_names = {m for p in document["paths"] for m in re.findall(r"{(\w+)}", p)}
    for name in sorted(path_names):
        dictionary = "ids" if name.endswith("id") else {"slug": "slugs", "username": "names"}.get(name, "slugs")
        lines.append(f'"path.{name}" = {{ dictionary = "{dictionary}", probability = 0.8 }}')
    lines.append('"query.site" = { dictionary = "sites", probability = 0.5 }')
    path.write_text("\n".join(lines) + "\n")  # TOML: JSON's lists of strings and numbers are TOML's too
    return path


@pytest.mark.parametrize("login", ["ibd_teen", "admin"])  # a patient first: the admin may suspend people
def test_every_operation_answers_as_documented_and_never_500(server, login):
    live, work = server
    token = _token(live.url, login)
    config = _config(live.url, token, work / f"{login}.toml")
    command = [str(ST), "--config-file", str(config), "run", f"{live.url}/api/v1/openapi.json",
               "-H", f"Authorization: Bearer {token}", "--seed", "2026", "-n", str(EXAMPLES), "--checks", CHECKS,
               "--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-color", "--max-failures", "20",
               "--request-timeout", "30", *EXCLUDED]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    tested = re.search(r"Tested: (\d+)", summary)
    cases = re.search(r"(\d+) generated, (.*)", summary)
    print(f"\nschemathesis as {login}: {tested.group(1) if tested else '?'} operations, "
          f"{cases.group(0) if cases else '?'} test cases")  # fmt: skip
    assert run.returncode == 0, run.stdout[-15000:] + run.stderr[-3000:]
    assert tested is not None
    assert int(tested.group(1)) >= 95  # every operation but the excluded ones
