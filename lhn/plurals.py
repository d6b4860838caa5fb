"""Counts in words ("1 answer", "2 answers", "3 people"): the one pluralisation helper, a Jinja filter in every
template (`{{ post.answer_count | plural("answer") }}`, `{{ n | noun("reply", "replies") }}`). English only."""

from __future__ import annotations


def noun(count: int | float, singular: str, plural_form: str | None = None) -> str:
    """The word for `count` of a thing: `singular` for one (or minus one), else `plural_form` (singular + "s")."""
    return singular if abs(count) == 1 else (plural_form or singular + "s")


def plural(count: int | float, singular: str, plural_form: str | None = None) -> str:
    """`count` and the word for it: "1 answer", "0 answers", "1,200 members", "2 replies" (with plural_form)."""
    number = f"{count:,}" if isinstance(count, int) else f"{count:,g}"
    return f"{number} {noun(count, singular, plural_form)}"
