"""Markdown to safe HTML. The only module that imports markdown or bleach."""

from __future__ import annotations

import html as _html
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Collection
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup, escape

from lhn.database import slow_work

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
MAX_SOURCE_CHARS = 100_000  # services enforce tighter limits; this guards the renderer itself


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


def _set_rel(attrs: dict, new: bool = False) -> dict:
    if attrs.get((None, "href")):
        attrs[(None, "rel")] = LINK_REL
    return attrs


# Linkify as a filter of the same pass: a separate Linker with skip_tags double-escapes code blocks.
_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=False,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"}, parse_email=True)],
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def _markdown(mentions: Collection[str] = ()) -> markdown.Markdown:
    """A Markdown converter. Instances keep state and are not thread-safe: without mentions, one per
    thread is reused (building one costs more than converting a short chat message); with mentions,
    a fresh one carries the usernames to link."""
    if mentions:
        return markdown.Markdown(
            extensions=[*_EXTENSIONS, _SafeExtension(), _MentionExtension(mentions)], output_format="html"
        )
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = markdown.Markdown(extensions=[*_EXTENSIONS, _SafeExtension()], output_format="html")
    md.reset()
    return md


def render_markdown(source: str, *, mentions: Collection[str] = (), field: str = "body") -> Markup:
    """Render user Markdown to sanitised HTML, ready to store beside the source.

    `mentions`: usernames that exist; `@name` for those becomes a link to their profile. `field`: the form field
    the source came from, named in errors.
    """
    slow_work("rendering Markdown")
    text = clean_text(source)[:MAX_SOURCE_CHARS]
    html = _markdown(mentions).convert(text)
    return Markup(sanitize_html(html))  # noqa: S704 - this IS the sanitiser


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def html_to_text(html: str) -> str:
    """Plain text of HTML this module produced (for search indexes and snippets, never for output as HTML)."""
    return _SPACE.sub(" ", _html.unescape(_TAG.sub(" ", html))).strip()


def sanitize_html(html: str) -> str:
    """Allow-list sanitise HTML and linkify bare URLs; every link gets rel=nofollow ugc noopener."""
    return _cleaner.clean(html)


def clean_text(text: str) -> str:
    """Drop NUL and other control characters (keeping tab and newlines) from user text."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def plain_text(text: str) -> Markup:
    """Escape plain user text for places that take no Markdown (kept here so one module decides)."""
    return escape(clean_text(text))
