"""Static assets: the stylesheet parses (an unclosed block silently swallows every rule after it)."""

from pathlib import Path

CSS = Path(__file__).resolve().parent.parent / "lhn" / "static" / "css"


def test_every_stylesheet_closes_each_block_it_opens():
    for path in CSS.glob("*.css"):
        depth = 0
        for number, line in enumerate(path.read_text().splitlines(), 1):
            depth += line.count("{") - line.count("}")
            assert depth >= 0, f"{path.name}:{number} closes a block that was never opened"
        assert depth == 0, f"{path.name} leaves {depth} block(s) open"
