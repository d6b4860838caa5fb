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
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lhn.accounts.demo import DEMO_PASSWORD
from tests.live.chat_client import api_token

pytestmark = pytest.mark.live

ST = Path(sys.executable).parent / "st"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Operations that would end the fuzzer's own access midway (its token, its account, its password).
EXCLUDED = ["--exclude-path-regex", "^/tokens/", "--exclude-path", "/me/password",
            "--exclude-by", 'method == "DELETE" and path == "/me"']  # fmt: skip


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
def test_every_operation_answers_as_documented_and_never_500(demo_server, login):
    live, work = demo_server
    token = api_token(live.url, login, DEMO_PASSWORD)
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
