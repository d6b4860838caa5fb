"""Notification forms: preferences (a delivery per category, time zone, quiet hours). Rules live in services."""

from __future__ import annotations

from typing import Any

from wtforms import HiddenField, SelectField

from lhn.forms import ButtonField, Form, choices
from lhn.notifications.services import CATEGORIES, DELIVERIES, Preferences, time_zones

HOURS = [("", "No quiet hours")] + [(str(h), f"{h:02d}:00") for h in range(24)]


class PreferencesForm(Form):
    """One select per category (built from services.CATEGORIES), then the time zone and quiet hours."""

    time_zone = SelectField("Time zone", choices=[], description="Digests and quiet hours follow your local time.")
    quiet_start = SelectField("Quiet hours from", choices=choices(HOURS))
    quiet_end = SelectField("until", choices=choices(HOURS),
                            description="Email due in quiet hours waits until they end.")  # fmt: skip

    def category_fields(self) -> list[Any]:
        return [self[key] for key, _, _ in CATEGORIES]

    def deliveries(self) -> dict[str, str]:
        return {key: self[key].data for key, _, _ in CATEGORIES}

    def hours(self) -> tuple[int | None, int | None]:
        start, end = self.quiet_start.data, self.quiet_end.data
        return (int(start) if start else None), (int(end) if end else None)


for _key, _label, _help in CATEGORIES:
    setattr(PreferencesForm, _key, SelectField(_label, choices=choices(DELIVERIES), description=_help))


def preferences_form(prefs: Preferences) -> PreferencesForm:
    """The form filled with the person's preferences (what they sent, on POST)."""
    data: dict[str, Any] = dict(prefs.deliveries)
    data.update(time_zone=prefs.time_zone, quiet_start="" if prefs.quiet_start is None else str(prefs.quiet_start),
                quiet_end="" if prefs.quiet_end is None else str(prefs.quiet_end))  # fmt: skip
    form = PreferencesForm(data=data)
    form.time_zone.choices = choices([(z, z.replace("_", " ")) for z in time_zones()])
    return form


class FollowForm(Form):
    """The follow / unfollow button on a post, measure, channel or community page; `next` is where to go back."""

    action = ButtonField(values=("follow", "unfollow"))
    next = HiddenField()
