"""Submitting a page's form as a browser does: open the page, find the form by its button, and send every field it
rendered, in document order (checked boxes only, each select's selected option, textareas' text), with what a
person typed over it."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict


class _Form:
    def __init__(self, action: str) -> None:
        self.action = action
        self.fields: list[tuple[str, str]] = []
        self.buttons: dict[str, tuple[str, str] | None] = {}  # label -> the (name, value) it sends, if named
        self.boxes: dict[str, str] = {}  # unticked checkboxes and radios: name -> a value they send when chosen


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self._form: _Form | None = None
        self._text: list[str] | None = None  # a textarea's or a button's text being read
        self._tag: dict[str, Any] = {}
        self._select: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = _Form(a.get("action", ""))
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "image"):
                self._form.buttons[a.get("value", "")] = (a["name"], a.get("value", "")) if a.get("name") else None
            elif a.get("name") and kind != "file" and (kind not in ("checkbox", "radio") or "checked" in a):
                self._form.fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
            elif a.get("name") and kind in ("checkbox", "radio"):
                self._form.boxes[a["name"]] = a.get("value", "on")
        elif tag in ("textarea", "button"):
            self._tag, self._text = a, []
        elif tag == "select":
            self._select = {"name": a.get("name", ""), "multiple": "multiple" in a, "options": [], "chosen": []}
        elif tag == "option" and self._select is not None:
            self._tag, self._text = a, []

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        text = "".join(self._text or [])
        if tag == "textarea" and self._tag.get("name"):
            self._form.fields.append((self._tag["name"], text.removeprefix("\n")))
        elif tag == "button" and self._tag.get("type", "submit") == "submit":
            named = (self._tag["name"], self._tag.get("value", "")) if self._tag.get("name") else None
            self._form.buttons[" ".join(text.split())] = named
        elif tag == "option" and self._select is not None:
            value = self._tag.get("value", text.strip())
            self._select["options"].append(value)
            if "selected" in self._tag:
                self._select["chosen"].append(value)
        elif tag == "select" and self._select is not None:
            chosen = self._select["chosen"] or ([] if self._select["multiple"] else self._select["options"][:1])
            self._form.fields += [(self._select["name"], value) for value in chosen]
            self._select = None
        elif tag == "form":
            self._form = None
        if tag in ("textarea", "button", "option"):
            self._text = None


def submit(client: FlaskClient, url: str, button: str, **typed: str) -> Any:
    """Open `url`, take the form whose submit button reads `button`, replace the fields named in `typed` with
    what a person typed, and send it all (with the button, if it has a name) to the form's action."""
    return submit_page(client, client.get(url).get_data(as_text=True), url, button, **typed)


def submit_page(client: FlaskClient, html: str, url: str, button: str, **typed: str) -> Any:
    """As submit, on a page already in hand (a form re-rendered with errors, `url` the address it came from).
    Naming an unticked checkbox or radio group in `typed` chooses it (the value typed; its own value for "")."""
    parser = _Forms()
    parser.feed(html)
    form = next(f for f in parser.forms if button in f.buttons)
    data: MultiDict[str, str] = MultiDict()
    for name, value in form.fields:
        data.add(name, typed.get(name, value))
    for name, value in form.boxes.items():
        if name in typed and name not in data:
            data.add(name, typed[name] or value)
    missing = set(typed) - {name for name, _ in form.fields} - set(form.boxes)
    assert not missing, f"the form has no field {missing}"
    if form.buttons[button]:
        data.add(*form.buttons[button])  # type: ignore[misc]
    return client.post(form.action or url, data=data)
