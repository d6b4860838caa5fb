"""The sanitiser: bleach's allow-list Cleaner and linkifier, made linear (URL and address finders, tree walker)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import bleach
from bleach import html5lib_shim
from bleach.html5lib_shim import Filter
from bleach.linkifier import EMAIL_RE, URL_RE, LinkifyFilter

from lhn.markup.bounds import check_deadline

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
        "tr", "ul", "mark", "span",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel"],
    "abbr": ["title"],
    "td": ["align"],
    "th": ["align"],
    "span": ["class"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener noreferrer"


def _set_rel(attrs: dict, new: bool = False) -> dict:
    if attrs.get((None, "href")):
        attrs[(None, "rel")] = LINK_REL
    return attrs


# --- linkify in linear time -------------------------------------------------------------------------------
# bleach's linkify expressions are tried at every position of a text, and each try can scan to the end of a
# long run ("aaaa…", "a-a-a-…", "&&&…", "(((…"): quadratic. The finders below return exactly the matches of
# the same expressions (tests/test_markup.py compares them on random strings) but try only starts that can
# be the leftmost match: a lookbehind refuses starts inside a run, and the few starts it wrongly refuses
# (right after the previous match, or the first word boundary of a run) are tried one by one.
_ATOM = r"[-!#$%&'*+/=?^_`{}|~0-9A-Z]"  # a character of an address's local part, as in bleach's EMAIL_RE
_WORDS = re.compile(r"[\w-]+")
_PROTOCOLS = sorted(html5lib_shim.allowed_protocols)  # the protocols bleach's URL_RE recognises


class _EmailFinder:
    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex
        # A match found from inside a dot-atom ("x.y.z") is also found from its first character.
        self.first = re.compile(rf"(?<!{_ATOM})(?<!{_ATOM}\.)(?:{regex.pattern})", regex.flags)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        pos, ahead = 0, None
        while True:
            if ahead is None or ahead.start() < pos:
                ahead = self.first.search(text, pos)
            found = ahead
            for at in (pos, pos + 1) if pos else ():  # the previous match may end inside a dot-atom
                m = self.regex.match(text, at)
                if m and (found is None or m.start() < found.start()):
                    found = m
                    break
            if found is None:
                return
            yield found
            pos = found.end()


class _UrlFinder:
    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex
        head = regex.pattern.lstrip()
        parens = r"\(*  # Match any opening parentheses."
        if not head.startswith(parens):
            raise RuntimeError("bleach's URL_RE changed: review _UrlFinder before upgrading")
        # A start inside a run of "(" or of word characters and hyphens is found from the run's start instead.
        self.first = re.compile(r"(?<!\()\(*(?<![\w-])" + head[len(parens) :], regex.flags)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        runs = [(m.start(), m.end()) for m in _WORDS.finditer(text)]
        pos, ahead, run, failed_until = 0, None, 0, -1
        while True:
            if ahead is None or ahead.start() < pos:
                ahead = self.first.search(text, pos)
            found = ahead
            if pos and (m := self.regex.match(text, pos)) and (found is None or m.start() < found.start()):
                found = m  # the previous match may end inside a run
            # Inside a run R, the domain part of every start reads R to its end and then the same text: only the
            # first start with a word boundary can win, and if it fails, so do the runs after R's dots. A start
            # inside R can also begin a protocol that ends at a ":" right after R.
            while run < len(runs) and runs[run][0] < (limit := found.start() if found else len(text)):
                r, t = runs[run]
                if t <= pos:
                    run += 1
                    continue
                starts = []
                if t < len(text) and text[t] == "." and t > failed_until:
                    s = max(r, pos)
                    while s < t and not _url_boundary(text, s, r):
                        s += 1
                    if s == r and not (r and (_is_word(text[r - 1]) or text[r - 1] == "-")):
                        failed_until = _label_chain_end(text, t)  # `first` tried it and found nothing before limit
                    elif s < t:
                        starts.append((s, True))
                if t < len(text) and text[t] == ":":
                    starts += [(t - len(p), False) for p in _PROTOCOLS if r < t - len(p) and t - len(p) >= pos
                               and text[t - len(p) - 1] == "-" and text[t - len(p) : t].lower() == p]  # fmt: skip
                better = None
                for s, in_chain in sorted(starts):
                    if s >= limit:
                        break
                    if better := self.regex.match(text, s):
                        break
                    if in_chain:
                        failed_until = _label_chain_end(text, t)
                if better is not None:
                    found = better  # the run is looked at again from the end of this match
                    break
                run += 1
            if found is None:
                return
            yield found
            pos = found.end()


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"  # what \w matches in a str pattern


def _url_boundary(text: str, s: int, run_start: int) -> bool:
    """Whether URL_RE may start at s (a word boundary not after "@" or "."), s being in the run from run_start."""
    if s > run_start:
        return _is_word(text[s - 1]) != _is_word(text[s])
    before = text[s - 1] if s else " "
    return _is_word(text[s]) and not _is_word(before) and before not in "@."


def _label_chain_end(text: str, dot: int) -> int:
    """The end of "run.run.run" continuing at `dot`."""
    while dot < len(text) and text[dot] == "." and (m := _WORDS.match(text, dot + 1)):
        dot = m.end()
    return dot


# bleach's EMAIL_RE and URL_RE, found in linear time (tests/test_markup.py checks they find the same matches).
EMAILS, URLS = _EmailFinder(EMAIL_RE), _UrlFinder(URL_RE)


class _Deadline(Filter):
    """Stops sanitising when the render's time is up (see lhn.markup.RENDER_SECONDS)."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in Filter.__iter__(self):
            check_deadline()
            yield token


class _Walker(html5lib_shim.getTreeWalker("etree")):  # type: ignore[misc]
    """html5lib's ElementTree walker, but it remembers where each element is among its parent's children
    instead of searching for it when it leaves the element (quadratic in the number of siblings: thousands
    of table rows, list items or line breaks). Same tokens, in the same order; html5lib names the methods."""

    def getFirstChild(self, node: Any) -> Any:
        element, key, parents, flag = node if isinstance(node, tuple) else (node, None, [], None)
        if flag in ("text", "tail"):
            return None
        if element.text:
            return element, key, parents, "text"
        if len(element):
            parents.append((element, key))
            return element[0], 0, parents, None
        return None

    def getNextSibling(self, node: Any) -> Any:
        if not isinstance(node, tuple):
            return None
        element, key, parents, flag = node
        if flag == "text":
            if len(element):
                parents.append((element, key))
                return element[0], 0, parents, None
            return None
        if element.tail and flag != "tail":
            return element, key, parents, "tail"
        if key < len(parents[-1][0]) - 1:
            return parents[-1][0][key + 1], key + 1, parents, None
        return None

    def getParentNode(self, node: Any) -> Any:
        if not isinstance(node, tuple):
            return None
        element, key, parents, flag = node
        if flag == "text":
            return (element, key, parents, None) if parents else element
        parent, parent_key = parents.pop()
        return (parent, parent_key, parents, None) if parents else parent


def _make_cleaner(*filters: Callable[..., Filter], **linkify: Any) -> bleach.Cleaner:
    # Linkify as a filter of the same pass: a separate Linker with skip_tags double-escapes code blocks.
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=False,
        strip_comments=True,
        filters=[
            partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"}, parse_email=True, **linkify),
            *filters,
        ],
    )


# A Cleaner keeps its parser's state between calls, so each thread (greenlet, under gevent) has its own: shared,
# concurrent renders mixed their trees.
_local = threading.local()


def _cleaner() -> bleach.Cleaner:
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = _local.cleaner = _make_cleaner(_Deadline, url_re=URLS, email_re=EMAILS)
        cleaner.walker = _Walker
    return cleaner


def sanitize_html(html: str) -> str:
    """Allow-list sanitise HTML and linkify bare URLs; every link gets rel=nofollow ugc noopener."""
    try:
        return _cleaner().clean(html)
    except BaseException:
        _local.cleaner = None  # interrupted (the deadline) midway: its parser state is half a document
        raise


def sanitize_html_plain(html: str) -> str:
    """sanitize_html as bleach does it, without our finders, walker or deadline (the plain pipeline, for tests)."""
    return _make_cleaner().clean(html)
