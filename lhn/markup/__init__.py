"""Markdown to safe HTML: the public face and the pipeline of the one package that imports markdown or bleach.

`bounds` keeps Python-Markdown's work linear in the document; `sanitize` is the allow-list sanitiser and linkifier.
"""

from __future__ import annotations

import html as _html
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Collection
from typing import Any

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup, escape

from lhn import offload
from lhn.database import slow_work
from lhn.errors import ValidationFailed
from lhn.markup.bounds import FORMATTING_BUDGET, BoundedExtension, TooSlow, deadline, formatting_cost
from lhn.markup.sanitize import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_PROTOCOLS,
    ALLOWED_TAGS,
    EMAILS,
    LINK_REL,
    URLS,
    sanitize_html,
    sanitize_html_plain,
)

MAX_SOURCE_CHARS = 100_000  # services enforce tighter limits; this guards the renderer itself
# Longer texts render in a worker process: up to this length even the densest document renders in ~50 ms here.
OFFLOAD_CHARS = 1_000
# Wall time (a queue included) before the worker is deemed stuck and killed: far past WORKER_RENDER_SECONDS of CPU,
# since a niced worker on a loaded machine gets its CPU slowly; it catches what never checks the CPU deadline.
OFFLOAD_WAIT_SECONDS = 60.0
# The last resort for what the bounds (bounds.py) don't know: a render that uses more CPU time is refused. In the
# serving process (short texts, or everything under gevent) it holds everyone's GIL, so the budget is tight; in the
# worker it only keeps that process's own core busy, and the longest known-worst documents take 1 s there on a fast
# machine and 3 s on a slow, loaded one (bench/markup_worst.py), which must not be refused.
RENDER_SECONDS = 2.0
WORKER_RENDER_SECONDS = 10.0
TOO_COMPLEX = (
    "This text is too complex to display. Please simplify its formatting (fewer nested brackets, quotes or "
    "lists, or fewer special characters in a row) and try again."
)
TOO_MUCH_FORMATTING = (
    "This text has more formatting than one text can hold (hundreds of table cells, list items, links or short "
    "lines). Please split it into shorter parts or simplify its formatting."
)
# A plain sentence (most chat messages): a letter first, then letters, digits, spaces and , ' " ? ! - with a dot only
# before a space or at the end, no trailing space. Python-Markdown and bleach would only wrap it in <p> (no markup,
# list, link, address or entity can start in it, and it holds no character to escape): skip them.
_PLAIN_SENTENCE = re.compile(r"""[A-Za-z](?:[A-Za-z0-9 ,'"?!-]|\.(?= |$))*(?<! )""")
_EMAILS, _URLS = EMAILS, URLS  # the names tests/test_markup.py compares with bleach's expressions


class _ImagesToLinks(Treeprocessor):
    """Images would load third-party URLs and leak who reads what; show them as links instead."""

    def run(self, root: ET.Element) -> None:
        for img in list(root.iter("img")):
            img.tag = "a"
            src, alt = img.get("src", ""), img.get("alt", "") or img.get("src", "")
            img.attrib.clear()
            img.set("href", src)
            img.text = f"image: {alt}"


class _SafeExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_ImagesToLinks(md), "images_to_links", 0)
        # Raw HTML is never trusted: drop the HTML block and inline-HTML processors so that
        # tags in the source come through as text and are escaped.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


# @username, not inside a word, an email address or a path. Usernames are lowercase in the database.
MENTION_RE = r"(?<![\w@/.])@([A-Za-z][A-Za-z0-9_]{2,29})\b"


def find_mentions(source: str) -> set[str]:
    """The usernames @mentioned in Markdown source, outside code (lowercased; not checked to exist)."""
    without_code = re.sub(r"```.*?```|`[^`\n]*`", " ", source, flags=re.DOTALL)
    return {name.lower() for name in re.findall(MENTION_RE, without_code)}


class _MentionLinks(InlineProcessor):
    """@name becomes a link to the profile, for the usernames the caller says exist."""

    def __init__(self, usernames: Collection[str]) -> None:
        super().__init__(MENTION_RE)
        self.usernames = {u.lower() for u in usernames}

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[ET.Element | None, int | None, int | None]:
        name = m.group(1).lower()
        if name not in self.usernames:
            return None, None, None
        link = ET.Element("a", {"href": f"/u/{name}"})
        link.text = f"@{name}"
        return link, m.start(0), m.end(0)


class _MentionExtension(Extension):
    def __init__(self, usernames: Collection[str]) -> None:
        super().__init__()
        self.usernames = usernames

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.inlinePatterns.register(_MentionLinks(self.usernames), "mentions", 5)


_local = threading.local()  # greenlet-local under gevent's monkey patching
_EXTENSIONS = ("fenced_code", "tables", "sane_lists", "nl2br")


def _new_markdown(mentions: Collection[str], *, bounded: bool = True) -> markdown.Markdown:
    extensions: list[Any] = [*_EXTENSIONS, _SafeExtension()]
    if mentions:
        extensions.append(_MentionExtension(mentions))
    if bounded:
        extensions.append(BoundedExtension())
    return markdown.Markdown(extensions=extensions, output_format="html")


def _markdown(mentions: Collection[str] = ()) -> markdown.Markdown:
    """A Markdown converter. Instances keep state and are not thread-safe: without mentions, one per
    thread is reused (building one costs more than converting a short chat message); with mentions,
    a fresh one carries the usernames to link."""
    if mentions:
        return _new_markdown(mentions)
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _new_markdown(())
    md.reset()
    return md


def _render(text: str, mentions: Collection[str], *, bounded: bool = True) -> str:
    """Markdown, then bleach. `bounded=False` is the plain pipeline, without the bounds of this package: the
    tests render every demo, bench and sample document both ways and compare them byte for byte."""
    if not bounded:
        return sanitize_html_plain(_new_markdown(mentions, bounded=False).convert(text))
    try:
        return sanitize_html(_markdown(mentions).convert(text))
    except BaseException:
        _local.md = None  # an interrupted converter keeps half a parse in its state: never reuse it
        raise


def _render_plain(source: str, *, mentions: Collection[str] = ()) -> str:
    """What render_markdown returned before the bounds (for tests only: it has no bound on its time)."""
    return _render(clean_text(source)[:MAX_SOURCE_CHARS], mentions, bounded=False)


def _render_within_budget(text: str, mentions: tuple[str, ...], seconds: float) -> str:
    """The bounded pipeline under a CPU deadline of `seconds`, here or in the worker process. Raises TooSlow."""
    with deadline(seconds):
        return _render(text, mentions)


def render_markdown(source: str, *, mentions: Collection[str] = (), field: str = "body") -> Markup:
    """Render user Markdown to sanitised HTML, ready to store beside the source.

    `mentions`: usernames that exist; `@name` for those becomes a link to their profile. A text longer than
    OFFLOAD_CHARS renders in the worker process (lhn.offload), off the CPU time that other requests share.
    Raises ValidationFailed({field: ...}) if the text has more formatting than FORMATTING_BUDGET allows, or is too
    complex to render within its CPU budget.
    """
    slow_work("rendering Markdown")
    text = clean_text(source)[:MAX_SOURCE_CHARS]
    if _PLAIN_SENTENCE.fullmatch(text):  # costs nothing to render, whatever the budget's estimate says
        return Markup(f"<p>{text}</p>")  # noqa: S704 - the pattern admits no character that HTML would read
    if formatting_cost(text) > FORMATTING_BUDGET:
        raise ValidationFailed({field: TOO_MUCH_FORMATTING})
    names = tuple(sorted(mentions))
    try:
        if len(text) > OFFLOAD_CHARS and offload.enabled():
            html = offload.call(
                _render_within_budget, text, names, WORKER_RENDER_SECONDS, timeout=OFFLOAD_WAIT_SECONDS
            )
        else:
            html = _render_within_budget(text, names, RENDER_SECONDS)
    except (TooSlow, offload.Overrun):
        raise ValidationFailed({field: TOO_COMPLEX}) from None
    return Markup(html)  # noqa: S704 - _render's last step IS the sanitiser


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def html_to_text(html: str) -> str:
    """Plain text of HTML this package produced (for search indexes and snippets, never for output as HTML)."""
    return _SPACE.sub(" ", _html.unescape(_TAG.sub(" ", html))).strip()


def clean_text(text: str) -> str:
    """Drop NUL and other control characters (keeping tab and newlines) from user text."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def plain_text(text: str) -> Markup:
    """Escape plain user text for places that take no Markdown (kept here so one package decides)."""
    return escape(clean_text(text))


__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_PROTOCOLS",
    "ALLOWED_TAGS",
    "FORMATTING_BUDGET",
    "LINK_REL",
    "MAX_SOURCE_CHARS",
    "MENTION_RE",
    "RENDER_SECONDS",
    "TOO_COMPLEX",
    "TOO_MUCH_FORMATTING",
    "WORKER_RENDER_SECONDS",
    "clean_text",
    "find_mentions",
    "formatting_cost",
    "html_to_text",
    "plain_text",
    "render_markdown",
    "sanitize_html",
]
