"""The one Markdown door: every XSS payload comes out inert, links are safe and marked as user content."""

import re
from html.parser import HTMLParser

import pytest

from lhn.markup import LINK_REL, clean_text, render_markdown

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    '<a href="vbscript:msgbox(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '"><svg/onload=alert(1)>',
    "<style>body{display:none}</style>",
    "<object data=x></object><embed src=x>",
    '<div onmouseover="alert(1)">hover</div>',
    "![x](javascript:alert(1))",
    '[x](https://ok.example "title" onclick=alert(1))',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<form action=https://evil.example><input name=p></form>",
    "<a href='java\tscript:alert(1)'>tab</a>",
    "[x]( javascript:alert(1))",
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content=0;url=https://evil.example>",
]

FORBIDDEN_TAGS = {
    "script",
    "svg",
    "math",
    "iframe",
    "style",
    "object",
    "embed",
    "form",
    "input",
    "noscript",
    "base",
    "meta",
    "img",
    "textarea",
}
SAFE_URL = re.compile(r"^(https?:|mailto:)", re.I)


class _Tags(HTMLParser):
    """Parses the output as a browser would and records every real tag and attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in FORBIDDEN_TAGS, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            if name in ("href", "src", "action"):
                assert value is not None, html
                assert SAFE_URL.match(value.strip()), html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_inert(payload: str) -> None:
    assert_inert(str(render_markdown(payload)))


def test_the_inertness_check_itself_catches_live_markup() -> None:
    for live in ("<script>x</script>", '<a href="javascript:x">a</a>', '<p onclick="x">p</p>'):
        with pytest.raises(AssertionError):
            assert_inert(live)


def test_raw_html_is_shown_as_text_not_dropped() -> None:
    assert "&lt;b&gt;bold&lt;/b&gt;" in render_markdown("<b>bold</b>")


def test_markdown_renders_formatting_lists_and_tables() -> None:
    html = render_markdown("**strong** _em_\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<strong>strong</strong>" in html
    assert "<li>one</li>" in html
    assert "<table>" in html


def test_links_get_user_content_rel_and_bare_urls_are_linked() -> None:
    html = render_markdown("See https://example.org/a and [b](https://example.org/b)")
    assert html.count(f'rel="{LINK_REL}"') == 2
    assert 'href="https://example.org/a"' in html


def test_only_http_https_mailto_links_survive() -> None:
    html = render_markdown("[a](ftp://x.example) [b](mailto:a@b.example) [c](http://c.example)")
    assert "ftp:" not in html
    assert 'href="mailto:a@b.example"' in html
    assert 'href="http://c.example"' in html


def test_images_become_links_so_pages_never_load_third_party_urls() -> None:
    html = render_markdown("![scan](https://tracker.example/pixel.png)")
    assert "<img" not in html
    assert 'href="https://tracker.example/pixel.png"' in html


def test_code_blocks_are_escaped_once() -> None:
    html = render_markdown("```\n<b>x</b> & y\n```")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html
    assert "&amp;lt;" not in html


def test_control_characters_are_removed() -> None:
    assert clean_text("a\x00b\x07c\r\nd") == "abc\nd"
