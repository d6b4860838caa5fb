"""Static assets: the stylesheet parses (an unclosed block silently swallows every rule after it); pages name
an icon that exists."""

import re
from pathlib import Path

CSS = Path(__file__).resolve().parent.parent / "lhn" / "static" / "css"


def test_every_stylesheet_closes_each_block_it_opens():
    for path in CSS.glob("*.css"):
        depth = 0
        for number, line in enumerate(path.read_text().splitlines(), 1):
            depth += line.count("{") - line.count("}")
            assert depth >= 0, f"{path.name}:{number} closes a block that was never opened"
        assert depth == 0, f"{path.name} leaves {depth} block(s) open"


def test_pages_name_an_icon_the_server_has(client):
    # Without one, browsers ask for /favicon.ico on every first visit and log the 404 as an error.
    page = client.get("/").text
    href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)">', page).group(1)
    with client.get(href) as icon:
        assert icon.status_code == 200
        assert icon.data.startswith(b"<svg")
