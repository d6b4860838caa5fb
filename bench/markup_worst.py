"""Worst-case Markdown rendering: every known pathological family at the longest accepted lengths.

Run: .venv/bin/python bench/markup_worst.py [--runs 3] [--only SUBSTRING]

For each family it renders a document of the maximum accepted length for posts (20,000 characters; answers
take 15,000) and for chat (4,000), and of half those lengths, through the whole pipeline (`render_markdown`:
Markdown, then bleach), and prints the best of a few runs and the ratio full/half. An ordinary document of
the same length is measured in the same run as a baseline, because this machine is shared and absolute times
drift. Times are CPU time of this process (`time.process_time`), so other jobs on the machine disturb them less.

Goals (issue 9): worst render at most 50 ms at the maximum length, and doubling the length at most doubles
the time (ratio at most 2 × 1.25 = 2.5). A text over the formatting budget (lhn/markup/bounds.py) is refused
before anything renders; for each family the script also renders the longest prefix within the budget, the
worst document of that kind a person can post. tests/test_markup.py renders every family below at the maximum
length and checks the output; this script only measures.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: import bench.* from the checkout

from bench.generate_posts import paragraphs
from lhn import offload
from lhn.errors import ValidationFailed
from lhn.markup import FORMATTING_BUDGET, clean_text, formatting_cost, render_markdown

POST_MAX, CHAT_MAX = 20_000, 4_000  # lhn/posts/services/common.py POST_BODY_MAX, lhn/config.py CHAT_MESSAGE_MAX
MENTIONED = [f"user{i:04d}" for i in range(2_000)]


def repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def lines(n: int, line: Callable[[int], str]) -> str:
    out, size, i = [], 0, 0
    while size < n:
        out.append(line(i))
        size += len(out[-1]) + 1
        i += 1
    return "\n".join(out)[:n]


def letters(n: int) -> str:
    return repeat("abcdefghij", n)


def soup(alphabet: str, n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def ordinary(n: int) -> str:
    """Prose like the posts benchmark's (bench/generate_posts.py), cut to n characters."""
    rng, text = random.Random(7), ""
    while len(text) < n:
        text += "\n\n".join(paragraphs(rng, 3, (30, 70))) + "\n\n"
    return text[:n]


def guide(n: int) -> str:
    """A long formatted guide as people write one (headings, prose, bold, code, links, lists, small tables),
    cut to n characters: the densest ordinary document, the yardstick of the formatting budget."""
    rng = random.Random(3)
    words = ["the", "a", "team", "site", "nurse", "dose", "weekly", "remission", "clinic", "data", "chart", "review",
             "patients", "families", "measure"]  # fmt: skip

    def say(k: int) -> str:
        return " ".join(rng.choice(words) for _ in range(k))

    parts: list[str] = []
    while sum(map(len, parts)) < n:
        i = len(parts) + 1
        link = f"[{say(3)}](https://example.org/{i})"
        items = "".join(f"- {say(6)} [{say(2)}](https://example.org/{i}/{j})\n" for j in range(4))
        rows = "".join(f"| {say(1)} | {j} | {rng.randint(1, 99)} |\n" for j in range(5))
        parts.append(f"## Step {i}: {say(4)}\n\n{say(30)} **{say(2)}** and `{say(1)}`, see {link}.\n\n{items}\n"
                     f"| site | month | value |\n|---|---|---|\n{rows}\n")  # fmt: skip
    return "".join(parts)[:n]


# name -> (document of about n characters, "literal": every character of it must come out as text)
FAMILIES: dict[str, tuple[Callable[[int], str], bool]] = {
    # links and images: nested, unclosed and unbalanced brackets (upstream #798, #1619)
    "[ run": (lambda n: "[" * n, True),
    "[a run": (lambda n: repeat("[a ", n), True),
    "nested [ ]": (lambda n: "[" * (n // 2) + "]" * (n // 2), True),
    "![ run": (lambda n: repeat("![", n), True),
    "[]( run": (lambda n: repeat("[](", n), True),
    "[x](y) links": (lambda n: repeat("[link](x) ", n), False),
    "![x](y) images": (lambda n: repeat("![x](y) ", n), False),
    "[a][b] references": (lambda n: repeat("[a][b] ", n), True),
    "nested links": (lambda n: "[" * (n // 5) + "a" + repeat("](x)", n - n // 5 - 1), False),
    "nested images": (lambda n: "[![" * (n // 11) + "a" + repeat("](x)](y)", n - 3 * (n // 11) - 1), False),
    "[a]( then ( run": (lambda n: "[a](" + "(" * (n - 4), True),
    "( run": (lambda n: "(" * n, True),
    '[a](x "y) quotes': (lambda n: repeat('[a](x "y) ', n), False),
    "[a](< run": (lambda n: repeat("[a](<", n), True),
    "[ then ](<x>": (lambda n: "[" * (n // 6) + repeat("](<x>", n - n // 6), False),
    "[ and `": (lambda n: repeat("[`", n), False),
    "[ and *": (lambda n: repeat("[*", n), False),
    "[ and newline": (lambda n: repeat("[\n", n), False),
    # code spans (upstream #1617) and fences (#1130)
    "` run": (lambda n: "`" * n, True),
    "``a` runs": (lambda n: repeat("``a`", n), True),
    "` ladder": (lambda n: " ".join("`" * (i + 1) for i in range(n))[:n], True),
    "\\` escaped ticks": (lambda n: repeat("\\`", n), False),
    "fence then spaces": (lambda n: "```" + " " * (n - 3), False),
    "fence ladder": (lambda n: lines(n, lambda i: "`" * (i + 3)), False),
    "open fence": (lambda n: "```\n" + repeat("a\n", n - 4), False),
    # emphasis
    "*a run": (lambda n: repeat("*a", n), False),
    "**a run": (lambda n: repeat("**a", n), False),
    "_a run": (lambda n: repeat("_a", n), False),
    "*a_ run": (lambda n: repeat("*a_", n), False),
    "*a* words": (lambda n: repeat("*a* ", n), False),
    "* run, one word": (lambda n: "*" * (n // 2) + "a" + "*" * (n // 2 - 1), False),
    # angle brackets, entities, escapes
    "< run": (lambda n: "<" * n, True),
    "< then letters": (lambda n: "<" + letters(n - 1), True),
    "<http:// then letters": (lambda n: "<http://" + letters(n - 8), True),
    "<a@ then letters": (lambda n: "<a@" + letters(n - 3), True),
    "<http://a.b> autolinks": (lambda n: repeat("<http://a.b> ", n), False),
    "& run": (lambda n: "&" * n, True),
    "&a run": (lambda n: repeat("&a", n), True),
    "&# run": (lambda n: repeat("&#", n), True),
    "&amp; entities": (lambda n: repeat("&amp;", n), False),
    "\\ run": (lambda n: "\\" * n, False),
    "\\[ escapes": (lambda n: repeat("\\[", n), False),
    # blocks: nesting, tables, and long blocks that Python-Markdown peels line by line
    "> run": (lambda n: ">" * n, False),
    "> ladder": (lambda n: lines(n, lambda i: ">" * (i + 1) + " a"), False),
    "- - - one line": (lambda n: repeat("- ", n - 1) + "a", False),
    "1. 1. one line": (lambda n: repeat("1. ", n - 1) + "a", False),
    "> - one line": (lambda n: repeat("> - ", n - 1) + "a", False),
    "list indent ladder": (lambda n: lines(n, lambda i: "  " * i + "- a"), False),
    "list items": (lambda n: repeat("- a\n", n), False),
    "| run": (lambda n: "|" * n, True),
    "a| run": (lambda n: repeat("a|", n), True),
    "table, wide": (lambda n: repeat("|a", n // 2) + "\n" + repeat("|-", n // 2), False),
    "table, many rows": (lambda n: "|a|b|\n|-|-|\n" + repeat("|a|b|\n", n - 12), False),
    "----| line": (lambda n: "-" * (n - 1) + "|", True),
    "headings in one block": (lambda n: repeat("a\n# h\n", n), False),
    "rules in one block": (lambda n: repeat("a\n***\n", n), False),
    "setext in one block": (lambda n: repeat("a\n=\n", n), False),
    "definitions in one block": (lambda n: repeat("a\n[x]: /u\n", n), False),
    "lines": (lambda n: repeat("a\n", n), False),
    # mentions (rendered with 2,000 existing usernames) and bare links for bleach's linkifier
    "@mentions": (lambda n: repeat("@user0001 ", n), False),
    "bare URLs": (lambda n: repeat("http://a.example/x ", n), False),
    "bare emails": (lambda n: repeat("a@b.example ", n), False),
    "one long URL": (lambda n: "http://a.example/" + letters(n - 17), False),
    "one long address": (lambda n: letters(n // 2) + "@" + letters(n // 2 - 5) + ".com", False),
    "a- run": (lambda n: repeat("a-", n), True),
    "a-b. run": (lambda n: repeat("a-b.", n), True),
    "a. run": (lambda n: repeat("a.", n), True),
    "~ run": (lambda n: "~" * n, True),
    # random soups of the characters above
    "soup of markup": (lambda n: soup("[]()!*_`<>&\\|#@-~ \n", n), False),
    "soup of links": (lambda n: soup("[]()!*_`<a ", n, seed=2), False),
}
BASELINE = "ordinary prose"


def cell(name: str) -> str:
    """A family's name for a Markdown table: its punctuation backslash-escaped, so bench/README.md shows it."""
    return re.sub(r"([!-/:-@[-`{-~])", r"\\\1", name)


def render(name: str, source: str) -> None:
    render_markdown(source, mentions=MENTIONED if name == "@mentions" else ())


def best(name: str, source: str, runs: int) -> tuple[float, bool]:
    """Best CPU time of a few renders, and whether the text was refused (over the formatting budget, which
    render_markdown checks before anything renders, or past its CPU budget)."""
    times, refused = [], False
    for _ in range(runs):
        start = time.process_time()
        try:
            render(name, source)
        except ValidationFailed:
            refused = True
        times.append(time.process_time() - start)
    return min(times), refused


def longest_accepted(source: str) -> int:
    """The longest prefix of `source` within the formatting budget (by bisection: the cost grows with the prefix)."""
    low, high = 0, len(source)
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if formatting_cost(clean_text(source[:mid])) <= FORMATTING_BUDGET else (low, mid - 1)
    return low


def slowest_accepted(length: int) -> tuple[str, str]:
    """The worst text a member can post at `length` characters at most: of each family, the longest prefix within
    the formatting budget; the family whose prefix renders slowest here, and that prefix."""
    offload.enabled = lambda: False  # type: ignore[method-assign]  # time the render in this process
    prefixes = {name: (text := make(length))[: longest_accepted(text)] for name, (make, _) in FAMILIES.items()}
    return max(prefixes.items(), key=lambda item: best(*item, runs=2)[0])


def main() -> None:
    # Measure the render's own CPU here: in the server a long text renders in the worker process (lhn.offload),
    # whose CPU this process's clock never sees (every row then read ~0.5 ms, the cost of handing it over).
    offload.enabled = lambda: False  # type: ignore[method-assign]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="best of this many renders per cell")
    parser.add_argument("--only", default="", help="families whose name contains this")
    args = parser.parse_args()
    rows = [(BASELINE, ordinary), ("formatted guide", guide)]
    rows += [(name, make) for name, (make, _) in FAMILIES.items() if args.only in name]
    print(f"best of {args.runs} renders, CPU ms, * = refused (over the formatting budget); ratio = time at the "
          f"maximum / time at half of it; longest = the longest accepted prefix of the {POST_MAX:,}-character text")
    print(f"| {'family':<32} | {'20,000':>8} | {'10,000':>8} | {'ratio':>5} "
          f"| {'4,000':>7} | {'2,000':>7} | {'ratio':>5} | {'longest':>7} | {'its ms':>6} |")  # fmt: skip
    print(f"|{'-' * 34}|{'-' * 9}:|{'-' * 9}:|{'-' * 6}:|{'-' * 8}:|{'-' * 8}:|{'-' * 6}:|{'-' * 8}:|{'-' * 7}:|")
    worst = ("", 0.0)
    for name, make in rows:
        cells = [best(name, make(n), args.runs) for n in (POST_MAX, POST_MAX // 2, CHAT_MAX, CHAT_MAX // 2)]
        longest = longest_accepted(make(POST_MAX))
        longest_ms, _ = best(name, make(POST_MAX)[:longest], args.runs)
        for ms, refused in [*cells, (longest_ms, False)]:
            if not refused and name != BASELINE:
                worst = max(worst, (name, ms * 1000), key=lambda w: w[1])
        shown = [f"{'*' if refused else ''}{ms * 1000:.1f}" for ms, refused in cells]
        print(f"| {cell(name):<32} | {shown[0]:>8} | {shown[1]:>8} | {cells[0][0] / cells[1][0]:>5.2f} "
              f"| {shown[2]:>7} | {shown[3]:>7} | {cells[2][0] / cells[3][0]:>5.2f} "
              f"| {longest:>7,} | {longest_ms * 1000:>6.1f} |", flush=True)  # fmt: skip
    print(f"worst accepted render: {worst[0]} ({worst[1]:.1f} ms)")


if __name__ == "__main__":
    main()
