"""Submitting a page's form as a browser does: open the page, find the form by its button, and send exactly what a
browser would (every named control in document order, duplicates kept, checkboxes and radios only when ticked, each
select's selected options, the clicked button's name and value where it stands), with what a person typed over it.

It also keeps the books for "every form in lhn/templates/ is submitted by some test": the test apps mark each
`<form` with its template and line (`data-form-source`, see `MarkingLoader`), each submit records the form it sent,
and tests/test_form_coverage.py compares the record with the forms in the templates."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from flask.testing import FlaskClient
from jinja2 import BaseLoader, Environment

TEMPLATES = Path(__file__).resolve().parent.parent / "lhn" / "templates"
SOURCE = "data-form-source"
SUBMITTED: dict[str, list[str]] = {}  # form source ("measures/owners.html:13") -> the tests that submitted it

# --- which forms the templates hold, and marking them as they render ---------------------------------------------

_FORM_TAG = re.compile(r"<form\b", re.IGNORECASE)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def _form_tags(source: str) -> list[tuple[int, int]]:
    """(offset, line) of each `<form` tag in a template's source, leaving out those inside Jinja comments."""
    comments = [m.span() for m in _JINJA_COMMENT.finditer(source)]
    return [
        (m.start(), source.count("\n", 0, m.start()) + 1)
        for m in _FORM_TAG.finditer(source)
        if not any(start <= m.start() < end for start, end in comments)
    ]


def mark_forms(name: str, source: str) -> str:
    """The template's source with `data-form-source="<name>:<line>"` on each of its forms."""
    for offset, line in reversed(_form_tags(source)):
        at = offset + len("<form")
        source = f'{source[:at]} {SOURCE}="{name}:{line}"{source[at:]}'
    return source


def template_forms() -> list[str]:
    """Every form in lhn/templates/, as `<template>:<line>`."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        found += [f"{name}:{line}" for _, line in _form_tags(path.read_text(encoding="utf-8"))]
    return found


class MarkingLoader(BaseLoader):
    """Wraps an app's template loader so each form says where it comes from (test apps only; attributes a browser
    ignores)."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        return mark_forms(template, source), filename, uptodate

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


# --- reading a page's forms ------------------------------------------------------------------------------------


@dataclass
class Control:
    kind: str  # text, hidden, password, checkbox, radio, file, select, textarea, button, ...
    name: str
    value: str = ""
    checked: bool = False  # checkboxes and radios
    disabled: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # selects: (value, selected)
    multiple: bool = False
    label: str = ""  # buttons: the text a person reads
    aria_label: str = ""  # and the name a screen reader gives it, when the text alone would be ambiguous


@dataclass
class PageForm:
    source: str  # "measures/owners.html:13", or "" on a page from an app that doesn't mark its forms
    method: str
    action: str
    enctype: str
    controls: list[Control] = field(default_factory=list)

    @property
    def buttons(self) -> list[Control]:
        return [c for c in self.controls if c.kind in ("submit", "image")]

    def button_labels(self) -> list[str]:
        return [b.aria_label or b.label for b in self.buttons]


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._open: Control | None = None  # a textarea, button or option whose text is being read
        self._text: list[str] = []
        self._select: Control | None = None
        self._option: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            self._form = PageForm(a.get(SOURCE, ""), a.get("method", "get").lower(), a.get("action", ""),
                                  a.get("enctype", "application/x-www-form-urlencoded").lower())  # fmt: skip
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        disabled = "disabled" in a
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                name, value = a.get("name", ""), a.get("value", "")
                self._form.controls.append(
                    Control(kind, name, value, disabled=disabled, label=value, aria_label=a.get("aria-label", ""))
                )
            elif kind not in ("reset", "button"):
                default = "on" if kind in ("checkbox", "radio") else ""
                self._form.controls.append(
                    Control(kind, a.get("name", ""), a.get("value", default), checked="checked" in a, disabled=disabled)
                )
        elif tag == "textarea":
            self._open, self._text = Control("textarea", a.get("name", ""), disabled=disabled), []
        elif tag == "button":
            kind = a.get("type", "submit").lower()
            self._open, self._text = Control(kind if kind in ("reset", "button") else "submit", a.get("name", ""),
                                             a.get("value", ""), disabled=disabled,
                                             aria_label=a.get("aria-label", "")), []  # fmt: skip
        elif tag == "select":
            self._select = Control("select", a.get("name", ""), disabled=disabled, multiple="multiple" in a)
        elif tag == "option" and self._select is not None:
            self._option, self._text = a, []

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        text = "".join(self._text)
        if tag == "textarea" and self._open is not None:
            # As a browser reads the page: CR LF becomes LF, then the newline just after <textarea> is dropped.
            self._open.value = text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\n")
            self._form.controls.append(self._open)
            self._open = None
        elif tag == "button" and self._open is not None:
            self._open.label = " ".join(text.split())
            if self._open.kind == "submit":
                self._form.controls.append(self._open)
            self._open = None
        elif tag == "option" and self._select is not None:
            value = self._option.get("value", " ".join(text.split()))
            self._select.options.append((value, "selected" in self._option))
        elif tag == "select" and self._select is not None:
            self._form.controls.append(self._select)
            self._select = None
        elif tag == "form":
            self._form = None


def page_forms(html: str) -> list[PageForm]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


# --- sending one ---------------------------------------------------------------------------------------------


def _label_matches(button: Control, label: str) -> bool:
    return label in (button.label, button.aria_label) and not button.disabled


def _find(forms: list[PageForm], button: str, action_has: str | None, which: int | None) -> tuple[PageForm, Control]:
    found = [(f, b) for f in forms for b in f.buttons if _label_matches(b, button)]
    if action_has is not None:
        found = [(f, b) for f, b in found if action_has in f.action]
    labels = [f"{f.action or '(this page)'}: {f.button_labels()}" for f in forms]
    where = f" and {action_has!r} in its action" if action_has else ""
    assert found, f"no form with a button {button!r}{where}: {labels}"
    if which is not None:
        return found[which]
    assert len(found) == 1, f"{len(found)} forms have a button {button!r}; say which (action_has=, which=): {labels}"
    return found[0]


def _typed_into(control: Control, typed: Any, *, first: bool) -> tuple[bool, str | None]:
    """What a person did to one control: (whether it's sent, its value). `first`: the first control of its name."""
    if control.kind in ("checkbox", "radio"):
        if isinstance(typed, bool):
            assert control.kind == "checkbox", f"pick a radio {control.name!r} by its value, not {typed!r}"
            return typed, control.value
        chosen = [typed] if isinstance(typed, str) else list(typed)
        return control.value in chosen, control.value
    assert first, f"{control.name!r} appears more than once as a {control.kind} field; forge it instead"
    if control.kind == "hidden":
        raise AssertionError(f"{control.name!r} is hidden: a person can't type into it (forge it, if that's the test)")
    if control.kind == "select":
        offered = [value for value, _ in control.options]
        assert typed in offered, f"{control.name!r} offers {offered}, not {typed!r} (forge it, if that's the test)"
        return True, typed
    return True, str(typed)


def form_data(form: PageForm, clicked: Control, typed: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The form data set a browser builds: controls in tree order, the clicked button among them."""
    entries: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for control in form.controls:
        if not control.name or control.disabled:
            continue
        if control.kind in ("submit", "image"):
            if control is clicked:
                entries.append((control.name, control.value))
            continue
        first = control.name not in seen
        seen.add(control.name)
        if control.name in typed:
            if control.kind == "file":
                entries.append((control.name, typed[control.name]))
                continue
            if control.kind == "select" and control.multiple:
                entries += [(control.name, value) for value in typed[control.name]]
                continue
            sent, value = _typed_into(control, typed[control.name], first=first)
            if sent:
                entries.append((control.name, value))
        elif control.kind in ("checkbox", "radio"):
            if control.checked:
                entries.append((control.name, control.value))
        elif control.kind == "select":
            chosen = [value for value, selected in control.options if selected]
            if not chosen and not control.multiple and control.options:
                chosen = [control.options[0][0]]
            entries += [(control.name, value) for value in chosen]
        elif control.kind == "file":
            entries.append((control.name, (b"", "")))  # no file chosen: an empty part with an empty filename
        else:
            entries.append((control.name, control.value))
    return entries


def _rendered_twice(form: PageForm) -> list[str]:
    """Names that a form renders on more than one control that always sends a value (a hidden input beside the
    same field from `hidden_tag()`, say). Checkbox groups, radios, multiple selects and buttons may share a name:
    a browser sends only the ticked, chosen or clicked ones."""
    single = [c.name for c in form.controls if c.name and not c.disabled and not c.multiple
              and c.kind not in ("checkbox", "radio", "submit", "image")]  # fmt: skip
    return sorted({name for name in single if single.count(name) > 1})


def _crlf(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")  # as browsers send line breaks


def _page(client: FlaskClient, url: str, page: Any) -> str:
    if page is None:
        opened = client.get(url)
        assert opened.status_code == 200, f"GET {url} answered {opened.status_code}"
        return opened.get_data(as_text=True)
    return page if isinstance(page, str) else page.get_data(as_text=True)


def forms_on(client: FlaskClient, url: str) -> list[PageForm]:
    """The forms of the page at `url`, as rendered."""
    return page_forms(_page(client, url, None))


def submit(
    client: FlaskClient,
    url: str,
    button: str,
    *,
    action_has: str | None = None,
    which: int | None = None,
    page: Any = None,
    forge: Mapping[str, str | Iterable[str]] | None = None,
    follow_redirects: bool = False,
    **typed: Any,
) -> Any:
    """Open `url` (or read `page`, a response or HTML already at hand, as after a POST), take the form with a
    submit button labelled `button` (its text or aria-label; when several forms have that button, `action_has=` a
    part of the form's action, or `which=` its place among them) and send it as a browser would after a person typed
    `typed` into it:

    - text, textarea, password: the value typed; a hidden field can't be typed into;
    - a checkbox: True / False to tick or untick it, or the value(s) of a group to tick;
    - a radio or a select: the value of an option the page offers (a list for a multiple select);
    - a file: `(bytes, filename)`.

    `forge` replaces whatever the form sends under a name (as a tampered request would), for tests of bad input."""
    html = _page(client, url, page)
    form, clicked = _find(page_forms(html), button, action_has, which)
    twice = _rendered_twice(form)
    assert not twice, f"the form renders {twice} more than once: a browser sends every copy, the server reads one"
    names = {c.name for c in form.controls}
    missing = set(typed) - names
    assert not missing, f"the form has no field {missing}; it has {sorted(names - {''})}"
    entries = form_data(form, clicked, typed)
    if forge:
        entries = [(k, v) for k, v in entries if k not in forge]
        for name, forged in forge.items():
            entries += [(name, forged)] if isinstance(forged, str) else [(name, v) for v in forged]
    if form.source:
        SUBMITTED.setdefault(form.source, []).append(_current_test())
    target = urljoin(url, form.action) if form.action else url
    return send(client, target, form, entries, follow_redirects=follow_redirects)


def send(client: FlaskClient, target: str, form: PageForm, entries: list[tuple[str, Any]], *,
         follow_redirects: bool = False) -> Any:  # fmt: skip
    """Send `entries` (form_data's, perhaps altered) to `target` by the form's method and encoding, as a browser
    does."""
    parts = urlsplit(target)
    path = parts.path
    if form.method == "get":
        query = urlencode([(k, v) for k, v in entries if isinstance(v, str)])
        return client.get(f"{path}?{query}", follow_redirects=follow_redirects)
    if parts.query:
        path += "?" + parts.query
    if form.enctype == "multipart/form-data":
        boundary, body = _multipart(entries)
        return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}",
                           follow_redirects=follow_redirects)  # fmt: skip
    body = urlencode([(k, _crlf(v)) for k, v in entries]).encode()  # in document order, duplicates kept
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded",
                       follow_redirects=follow_redirects)  # fmt: skip


def _multipart(entries: list[tuple[str, Any]]) -> tuple[str, bytes]:
    """A multipart body with the parts in document order (werkzeug's encoder groups them by name)."""
    boundary = f"----LHNTestForm{uuid.uuid4().hex}"
    body = io.BytesIO()
    for name, value in entries:
        body.write(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):  # a file: (bytes, filename); no file chosen sends an empty one
            content, filename = value
            body.write(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                       "Content-Type: application/octet-stream\r\n\r\n".encode())  # fmt: skip
            body.write(content)
        else:
            body.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            body.write(_crlf(value).encode())
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return boundary, body.getvalue()


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
