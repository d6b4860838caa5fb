"""Bounded Markdown: keeps Python-Markdown's work linear (inline work budget, nesting caps, block fixes, deadline)."""

from __future__ import annotations

import gc
import itertools
import math
import re
import threading
import time
import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

import markdown
from markdown.blockparser import BlockParser
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import ETX, STX, AtomicString

MAX_NESTING = 16  # block quotes and lists nested deeper than this are shown as text
WORK_PER_CHAR, WORK_BASE = 2, 10_000  # characters Python-Markdown's scanning loops may visit, per document

# Python-Markdown scans from every "[", "`" and "](" to the matching character or to the end of the paragraph,
# so unmatched or deeply nested ones cost quadratic time, and nested lists recurse until Python gives up.
# Before it sees a paragraph, _bound_inline models (in linear time, exactly as Python-Markdown 3.11 pairs them)
# how far those scans will go; while a document's total stays within its work budget (proportional to its
# length) nothing changes, so no ordinary document renders differently. Past the budget, the construct that
# costs it is escaped, as a backslash would escape it, so it shows as the characters the author typed.


class _Work:
    """Characters that Python-Markdown's scanning loops may still visit while rendering one document."""

    def __init__(self, size: int) -> None:
        self.left = WORK_PER_CHAR * size + WORK_BASE

    def spend(self, cost: int) -> bool:
        if cost > self.left:
            return False
        self.left -= cost
        return True


_TICK_RUN = re.compile(r"`+")
_LONG_DELIMITER_RUN = re.compile(r"\*{65,}|_{65,}")
_FEW_ESCAPES = 32
_TICKS_AFTER_BACKSLASHES = re.compile(r"(?<!\\)(\\*)(`+)")
_BACKSLASH, _BRACKET, _PAREN_OR_QUOTE = re.compile(r"\\"), re.compile(r"[\[\]]"), re.compile(r"""[()'"]""")


def _backslashes_before(text: str, i: int) -> int:
    k = 0
    while k < i and text[i - k - 1] == "\\":
        k += 1
    return k


def _code_spans(text: str) -> tuple[list[tuple[int, int]], int, int]:
    """The code spans Python-Markdown's backtick pattern finds (with their escaped backslashes before them), how
    many characters its scans read, and how many runs it tried to open. Each opening run looks for the next run
    of the same length, else falls back to the longest shorter run after it, else skips ahead twice its length.
    """
    runs = [(m.start(), m.end()) for m in _TICK_RUN.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for i, (a, b) in enumerate(runs):
        by_length.setdefault(b - a, []).append(i)
    longest = [-1] * (len(runs) + 1)  # longest[j]: the first of the longest runs among runs[j:]
    for j in range(len(runs) - 1, -1, -1):
        f = longest[j + 1]
        longest[j] = j if f < 0 or runs[j][1] - runs[j][0] >= runs[f][1] - runs[f][0] else f
    spans, cost, pos, j, openers = [], 0, 0, 0, 0
    while j < len(runs):
        a, b = runs[j]
        if b <= pos:
            j += 1
            continue
        o, k = (pos, 0) if pos > a else (a, _backslashes_before(text, a))
        if k and (k % 2 or pos > a - k):
            o += 1  # an escaped first backtick: the run opens one later
        elif k:
            o -= k  # an even run of backslashes before it is taken as escaped backslashes
        if o >= b:
            pos, j = b, j + 1
            continue
        length, openers = b - max(o, a), openers + 1
        same = by_length.get(length, [])
        e = bisect_right(same, j)
        if e < len(same):
            end = runs[same[e]][1]
            spans.append((o, end))
            cost += end - o
            pos, j = end, same[e] + 1
            continue
        cost += len(text) - o
        f = longest[j + 1]
        if f >= 0 and runs[f][1] - runs[f][0] < length:
            spans.append((o, runs[f][1]))
            pos, j = runs[f][1], f + 1
        else:
            pos = max(o, a) + 2 * length
    return spans, cost, openers


def _escaped(char: str) -> str:
    """What Python-Markdown's escape pattern makes of a backslash and `char` (turned back into `char` at the end).
    Written directly: real backslashes would cost one substitution each, and each copies the paragraph."""
    return f"{STX}{ord(char)}{ETX}"


def _escape_ticks(match: re.Match[str]) -> str:
    slashes, ticks = match.groups()
    if len(slashes) % 2:  # the first backtick is escaped already
        return slashes + "`" + _escaped("`") * (len(ticks) - 1)
    return slashes + _escaped("`") * len(ticks)


def _dead(text: str, spans: list[tuple[int, int]], escapable: Collection[str]) -> tuple[bytearray, list[int]]:
    """1 for the characters no other inline pattern sees (code spans and backslash-escaped characters), and
    where the escapes are (their backslashes)."""
    dead, escapes = bytearray(len(text)), []
    for o, e in spans:
        dead[o:e] = b"\x01" * (e - o)
    after = 0
    for m in _BACKSLASH.finditer(text):
        i = m.start()
        if i >= after and not dead[i] and i + 1 < len(text) and not dead[i + 1] and text[i + 1] != "\n":
            if text[i + 1] in escapable:
                dead[i] = dead[i + 1] = 1
                escapes.append(i)
            after = i + 2
    return dead, escapes


def _brackets(text: str, dead: bytearray) -> dict[int, int | None]:
    """Each live "[" and its "]" (None if it has none): how far Python-Markdown's link patterns read from it."""
    pairs: dict[int, int | None] = {}
    opened = []
    for m in _BRACKET.finditer(text):
        i = m.start()
        if dead[i]:
            continue
        if text[i] == "[":
            pairs[i] = None
            opened.append(i)
        elif opened:
            pairs[opened.pop()] = i
    return pairs


def _link_scans(text: str, dead: bytearray, closers: Collection[int]) -> dict[int, int]:
    """Each "(" right after a link's "]": where Python-Markdown's destination scan stops. It counts parentheses
    until they balance, unless a quote comes first: then it stops only at a ")" right after a closing quote
    (the first quote, or the other kind once that has been seen twice), else at the end of the paragraph."""
    quotes: dict[str, list[int]] = {'"': [], "'": []}
    closes: dict[str, list[tuple[int, int]]] = {'"': [], "'": []}  # ")" right after a quote: (at, the quote's at)
    matching: dict[int, int] = {}
    opened = []
    for m in _PAREN_OR_QUOTE.finditer(text):
        i, c = m.start(), m.group()
        if dead[i]:
            continue
        if c == "(":
            opened.append(i)
        elif c == ")":
            if opened:
                matching[opened.pop()] = i
            q = i - 1
            while q >= 0 and text[q] == " ":
                q -= 1
            if q >= 0 and not dead[q] and text[q] in closes:
                closes[text[q]].append((i, q))
        else:
            quotes[c].append(i)
    starts = {c: [at for at, _ in v] for c, v in closes.items()}

    def closing(quote: str, opened_at: int) -> int:
        k = bisect_right(starts[quote], opened_at)
        if k < len(starts[quote]) and closes[quote][k][1] == opened_at:
            k += 1  # a ")" right after the opening quote itself closes nothing
        return starts[quote][k] if k < len(starts[quote]) else len(text)

    ends = {}
    for at in (j + 1 for j in closers):
        if at >= len(text) or text[at] != "(" or dead[at]:
            continue
        first = min((q[k] for q in quotes.values() if (k := bisect_right(q, at)) < len(q)), default=len(text))
        if matching.get(at, len(text)) < first:
            ends[at] = matching[at]
        elif first == len(text):
            ends[at] = len(text)
        else:
            other = quotes["'" if text[first] == '"' else '"']
            k = bisect_right(other, first)
            alternative = closing(text[other[k]], other[k]) if k < len(other) else len(text)
            ends[at] = min(closing(text[first], first), alternative)
    return ends


def _bound_inline(text: str, work: _Work, escapable: Collection[str]) -> str:
    """The paragraph (or other inline text) with the constructs it cannot afford escaped."""
    spans: list[tuple[int, int]] = []
    openers = 0
    if "`" in text:
        spans, cost, openers = _code_spans(text)
        if not work.spend(cost):
            text, spans, openers = _TICKS_AFTER_BACKSLASHES.sub(_escape_ticks, text), [], 0
    if not any(c in text for c in "[\\*_"):
        return text
    dead, escapes = _dead(text, spans, escapable)
    # Past a few dozen, backslash escapes are done here, as the escape pattern would do them, because that
    # pattern copies the whole paragraph once per escape. (Not below: where Python-Markdown leaks a placeholder
    # into the page, as it does for \**a**-*\. , the leak would read differently.) Not an escaped backtick
    # if a code span may open: the backtick pattern runs first and counts escaped backticks when it looks for
    # the end of a span.
    escapes = [i for i in escapes if not (openers and text[i + 1] == "`")] if len(escapes) > _FEW_ESCAPES else []
    escape = [j for i in escapes for j in (i, i + 1)]
    # A run of hundreds of "*" nests emphasis hundreds deep, and bleach's parser is quadratic in the depth.
    escape += [i for m in _LONG_DELIMITER_RUN.finditer(text) for i in range(*m.span()) if not dead[i]]
    pairs = _brackets(text, dead)
    if not work.spend(sum((j or len(text)) - i for i, j in pairs.items())):
        # A "[" without its "]" never makes a link: escaping it changes nothing but the time.
        escape += [i for i, j in pairs.items() if j is None]
        pairs = {i: j for i, j in pairs.items() if j is not None}
        if not work.spend(sum(j - i for i, j in pairs.items() if j is not None)):
            escape, pairs = escape + list(pairs), {}
    closers = [j for j in pairs.values() if j is not None]
    if closers and "(" in text:
        ends = _link_scans(text, dead, closers)
        if not work.spend(sum(end - at for at, end in ends.items())):
            endless = [at for at, end in ends.items() if end == len(text)]
            for at in endless:
                dead[at] = 1
            ends = _link_scans(text, dead, closers)
            escape += endless
            if not work.spend(sum(end - at for at, end in ends.items())):
                escape += list(ends)
    if not escape:
        return text
    parts, last, backslashes = [], 0, set(escapes)
    for i in sorted(escape):
        if i in backslashes:
            parts.append(text[last:i])  # the backslash of an escape: its character is written escaped next
        else:
            parts += [text[last:i], _escaped(text[i])]
        last = i + 1
    return "".join([*parts, text[last:]])


class _BoundInlineWork(Treeprocessor):
    """Runs _bound_inline over every text the inline patterns will read, before they read it."""

    def run(self, root: ET.Element) -> None:
        texts = [
            (element, attr)
            for element in root.iter()
            if element is not root
            for attr in ("text", "tail")
            if getattr(element, attr) and not isinstance(getattr(element, attr), AtomicString)
        ]
        work = _Work(sum(len(getattr(element, attr)) for element, attr in texts))
        for element, attr in texts:
            setattr(element, attr, _bound_inline(getattr(element, attr), work, self.md.ESCAPED_CHARS))


def _shallow(parser: BlockParser, test: Callable[[ET.Element, str], bool]) -> Callable[[ET.Element, str], bool]:
    """A nesting processor's test that refuses MAX_NESTING levels down: deeper markers stay text."""
    return lambda parent, block: len(parser.state) < MAX_NESTING and test(parent, block)


def _table_test(table: BlockProcessor) -> Callable[[ET.Element, str], bool]:
    """The table test, given only the rows it reads: the first two, and for a one-column table with borders the
    rows after them up to the first without a pipe. It splits the whole block otherwise, and a long block that
    other processors peel one line at a time would be split again for every line."""
    test = table.test

    def lazy(parent: ET.Element, block: str) -> bool:
        end = block.find("\n", block.find("\n") + 1)
        while end >= 0:
            nxt = block.find("\n", end + 1)
            row = block[end + 1 : nxt if nxt >= 0 else len(block)].strip(" ")
            if not (row.startswith("|") or table.RE_END_BORDER.search(row)):  # type: ignore[attr-defined]
                return test(parent, block[: nxt if nxt >= 0 else len(block)])
            end = nxt
        return test(parent, block)

    return lazy


# Python-Markdown parses a block that holds headings, rules or link definitions between its lines by peeling
# them off one at a time and parsing the rest of the block again: every processor's search reads the rest
# again (quadratic in the number of lines). These searches look for a line that starts a construct, so a rest
# (a suffix of a block, starting a line) has a match only where the whole block had one.
_PEELED_SEARCHES = (("hashheader", "RE"), ("hr", "SEARCH_RE"), ("quote", "RE"), ("reference", "RE"))


class _Misses:
    """Replaces a processor's line search with one that remembers the longest text it found nothing in."""

    def __init__(self, processor: BlockProcessor, attr: str) -> None:
        self.regex: re.Pattern[str] = getattr(processor, attr)
        self.missed = ""
        setattr(processor, attr, self)

    def search(self, text: str, *args: int) -> re.Match[str] | None:
        rest = len(self.missed) - len(text)
        if (
            not args
            and text
            and rest >= 0
            and self.missed.endswith(text)
            and (not rest or self.missed[rest - 1] == "\n")
        ):
            return None
        m = self.regex.search(text, *args)
        if m is None and not args and len(text) > len(self.missed):
            self.missed = text
        return m

    def __getattr__(self, name: str) -> Any:  # match, finditer, ...
        return getattr(self.regex, name)


def _setext_run(run: Callable[[ET.Element, list[str]], None]) -> Callable[[ET.Element, list[str]], None]:
    """The setext heading's run, given only the two lines it reads: it splits the whole block into lines."""

    def lazy(parent: ET.Element, blocks: list[str]) -> None:
        block = blocks[0]
        second = block.find("\n", block.find("\n") + 1)
        if second < 0:
            return run(parent, blocks)
        blocks[0] = block[:second]
        run(parent, blocks)
        blocks.insert(0, block[second + 1 :])  # what it would have put back: the lines after the second
        return None

    return lazy


class _FenceSpaces(Preprocessor):
    """The fenced-code expression splits a run of spaces after "```" between two `[ ]*` in every way (quadratic,
    upstream #1130): keep at most 16 of them."""

    FENCE = re.compile(r"^((?:`{3,}|~{3,}) {16}) +")

    def run(self, lines: list[str]) -> list[str]:
        return [self.FENCE.sub(r"\1", line, count=1) if line[:3] in ("```", "~~~") else line for line in lines]


# The formatting budget. The bounds above keep the work linear, but its constant is Python's: Python-Markdown and
# bleach spend 20-60 µs on each element or entity they make, so a post's 20,000 characters of table cells or list
# items take half a second. formatting_cost estimates a render's CPU time, in µs on the machine where these
# weights were fitted to bench/markup_worst.py's families (each within about 1.3x of its measured time), by
# counting in C-speed regex scans the characters each construct begins with. A text over the budget is refused
# before anything renders; ordinary prose of a post's longest length costs a third of it, a long formatted guide
# (bench/markup_worst.py `guide`) reaches it at about 8,500 characters.
FORMATTING_BUDGET = 40_000
_COST_PER_CHAR = 0.6  # the scans over plain text
_CONSTRUCT_COSTS = [
    (re.compile(r"\n"), 38),  # a line
    (re.compile(r"^[ \t]*(?:[-+*>#=|]|\d+[.)])", re.M), 45),  # a list item, quote, heading or table row
    (re.compile(r"\|"), 44),  # a table cell
    (re.compile(r"\*"), 27),  # emphasis
    (re.compile(r"_"), 3),  # emphasis between words is plain text
    (re.compile(r"`"), 22),  # code
    (re.compile(r"[\[\]]"), 8),  # brackets: the link patterns' scans
    (re.compile(r"\]\(|\]\["), 50),  # a link, image or reference
    (re.compile(r"@"), 60),  # a mention or an address
    (re.compile(r"://|\bwww\."), 70),  # a URL: parsed, checked, linkified
    (re.compile(r"[<>&]"), 19),  # an entity or autolink
    (re.compile(r"\."), 5),  # after a dot, the URL finder tries every top-level domain
]


def formatting_cost(text: str) -> int:
    """An estimate of the CPU time that rendering `text` takes, in µs (see FORMATTING_BUDGET)."""
    return round(_COST_PER_CHAR * len(text)) + sum(weight * len(rx.findall(text)) for rx, weight in _CONSTRUCT_COSTS)


class TooSlow(Exception):
    """The render ran past its deadline (lhn.markup.RENDER_SECONDS)."""


_clock = threading.local()  # greenlet-local under gevent's monkey patching


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Inside the block, check_deadline raises TooSlow once this thread has used `seconds` more CPU time."""
    _clock.deadline = time.thread_time() + seconds
    try:
        yield
    finally:
        _clock.deadline = math.inf


def _gc_time_is_not_the_renders(phase: str, info: dict[str, int]) -> None:
    """A garbage collection that a render happens to trigger sweeps the whole process's heap (seconds, late in a
    long-running process): move the deadline on by its CPU time so that it doesn't count against the text."""
    if getattr(_clock, "deadline", math.inf) == math.inf:
        return
    if phase == "start":
        _clock.gc_started = time.thread_time()
    elif (started := getattr(_clock, "gc_started", None)) is not None:
        _clock.deadline += time.thread_time() - started
        _clock.gc_started = None


gc.callbacks.append(_gc_time_is_not_the_renders)


def check_deadline() -> None:
    """Raises TooSlow if this thread's render is past its deadline (never outside a `deadline` block)."""
    # CPU time of this thread: a loaded machine slows a render down but doesn't make it fail. (Under gevent a
    # render never yields, so no other greenlet's time is counted.)
    if time.thread_time() > getattr(_clock, "deadline", math.inf):
        raise TooSlow


_calls = itertools.count()


def _checked(method: Callable[..., Any], every: int = 1) -> Callable[..., Any]:
    """`method`, checking the deadline first (on every `every`-th call: reading the CPU clock takes a while)."""

    def call(*args: Any) -> Any:
        if every == 1 or next(_calls) % every == 0:
            check_deadline()
        return method(*args)

    return call


class BoundedExtension(Extension):
    """Registered last: bounds the work of every processor the other extensions registered."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.register(_FenceSpaces(md), "lhn_fence_spaces", 27)  # before fenced_code (25)
        md.treeprocessors.register(_BoundInlineWork(md), "lhn_bound_inline", 25)  # before inline (20)
        blocks = md.parser.blockprocessors
        for name in ("indent", "olist", "ulist", "quote"):
            blocks[name].test = _shallow(md.parser, blocks[name].test)
        blocks["table"].test = _table_test(blocks["table"])
        blocks["setextheader"].run = _setext_run(blocks["setextheader"].run)
        self.searches = [_Misses(blocks[name], attr) for name, attr in _PEELED_SEARCHES]
        md.registerExtension(self)  # so that md.reset() calls self.reset()
        # The last resort: every processor and pattern checks the clock before it runs.
        for processor in [*md.preprocessors, *md.treeprocessors, *md.postprocessors]:
            processor.run = _checked(processor.run)
        for block in blocks:
            block.test, block.run = _checked(block.test, every=16), _checked(block.run)
        for pattern in md.inlinePatterns:
            pattern.handleMatch = _checked(pattern.handleMatch, every=16)

    def reset(self) -> None:
        for search in self.searches:
            search.missed = ""
