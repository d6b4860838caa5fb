"""Every form in lhn/templates/ is submitted, as a browser would, by at least one test (tests/forms.py).

The test apps mark each rendered `<form>` with its template and line, `submit()` records each form it sends, and
the check at the end of the run (tests/conftest.py runs it last) names every form in the templates that no test
sent. It can only judge a run that includes every test that submits forms: on a part of the suite it says so and
skips."""

import re

import pytest
from jinja2 import Environment

from tests.conftest import PARTIAL
from tests.forms import SOURCE, SUBMITTED, TEMPLATES, mark_forms, page_forms, template_forms


def _opening(form: str) -> str:
    name, line = form.rsplit(":", 1)
    return (TEMPLATES / name).read_text(encoding="utf-8").splitlines()[int(line) - 1].strip()[:110]


def test_every_form_in_the_templates_is_submitted_by_some_test(request):
    partial = request.config.stash.get(PARTIAL, None)
    if partial:
        pytest.skip(f"only judged on a run of every test that submits forms; this run leaves out {partial}")
    forms = template_forms()
    missing = [form for form in forms if form not in SUBMITTED]
    print(f"{len(forms)} forms in lhn/templates/, {len(forms) - len(missing)} submitted through tests/forms.py")
    assert not missing, "no test submits these forms through tests/forms.py:\n" + "\n".join(
        f"  {form}  {_opening(form)}" for form in missing
    )


def test_the_templates_forms_are_found_and_marked_where_they_stand():
    source = '{# <form> in a comment is no form #}\n<form method="post">\n  <button>Go</button></form>\n<FORM>'
    assert mark_forms("x.html", source).splitlines()[1] == f'<form {SOURCE}="x.html:2" method="post">'
    forms = page_forms(Environment(autoescape=True).from_string(mark_forms("x.html", source)).render())
    assert [f.source for f in forms] == ["x.html:2", "x.html:4"]
    every = template_forms()
    assert len(every) == len(set(every))
    tags = sum(len(re.findall(r"<form\b", p.read_text(), re.IGNORECASE)) for p in TEMPLATES.rglob("*.html"))
    assert len(every) == tags  # no template keeps a form inside a Jinja comment today
