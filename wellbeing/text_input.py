"""Typed text from the web: every form field, and every query-string or JSON value the
app stores or searches with, passes screening.text's one rule (normalised to NFC; control
characters and the other characters nobody types refused). A refusal is a translated
message that names the character (包含不允许的字符 U+001B), shown beside its field, and
the request stores nothing of it: never a 500 (PostgreSQL refuses NUL in text).

WTForms: derive forms from TextForm, and every text field (StringField and its kinds;
TextAreaField as multi-line text) is normalised and checked before its own validators.
Give validators and filters by keyword (`validators=[...]`).

    class CampaignForm(TextForm):
        name = StringField(_l("Campaign name"), validators=[Length(max=100)])

Values a view reads itself (request.form, request.args, a JSON object):

    fields = TextFields(request.form)
    reason = fields.get("reason", _("Reason"))
    if fields.errors:  # field name -> message; report them as the view reports errors
        ...
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import Field, Form, PasswordField, StringField, TextAreaField
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation

from screening.text import InvalidText, clean_text


def refusal(problem: InvalidText, label: str | None = None) -> str:
    """What people are told about a refused value, with the field's name when the
    message does not stand beside the field."""
    if label:
        return _(
            "%(field)s: contains the character %(codepoint)s, which is not allowed.",
            field=label,
            codepoint=problem.codepoint,
        )
    return _(
        "Contains the character %(codepoint)s, which is not allowed.", codepoint=problem.codepoint
    )


def cleaned_or_empty(value: Any, *, multiline: bool = False) -> str:
    """The value cleaned, or "" when it holds a refused character: for a value whose
    refusal needs no words of its own (a typed access code that cannot be one is simply
    not found)."""
    try:
        return clean_text(value, multiline=multiline) if isinstance(value, str) else ""
    except InvalidText:
        return ""


class TextFields:
    """Text values a view reads itself from request.form, request.args or a JSON object,
    each cleaned; every refusal is kept, by field name, as a translated message (all of
    them, not only the first)."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        self.source = source
        self.errors: dict[str, str] = {}

    def get(
        self, name: str, label: str | None = None, *, multiline: bool = False, default: str = ""
    ) -> str:
        """The cleaned value; `default` when it is absent or refused. A value that is not
        text (a JSON number) is read as its text."""
        value = self.source.get(name)
        if value is None:
            return default
        try:
            return clean_text(str(value), multiline=multiline)
        except InvalidText as problem:
            self.errors[name] = refusal(problem, label)
            return default

    @property
    def messages(self) -> list[str]:
        return list(self.errors.values())


# ----------------------------------------------------------------------------- WTForms


def _nfc(value: Any) -> Any:
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


class TypedText:
    """The validator every text field of a TextForm runs first. A refused value stops
    the field's other validators (an inline `validate_<field>` may search with it)."""

    def __init__(self, multiline: bool) -> None:
        self.multiline = multiline

    def __call__(self, form: Form, field: Field) -> None:
        if not isinstance(field.data, str):
            return
        try:
            clean_text(field.data, multiline=self.multiline)
        except InvalidText as problem:
            raise StopValidation(refusal(problem)) from None


class TextForm(FlaskForm):
    """A FlaskForm whose text fields follow screening.text's rule. Passwords are checked
    but not normalised: a password is hashed exactly as typed, and normalising it now
    would change which text matches a password set before."""

    class Meta:
        def bind_field(self, form: Form, unbound_field: UnboundField, options: dict) -> Field:
            kind = unbound_field.field_class
            if issubclass(kind, StringField):
                given = unbound_field.kwargs
                check = TypedText(multiline=issubclass(kind, TextAreaField))
                options = {**options, "validators": [check, *(given.get("validators") or ())]}
                if not issubclass(kind, PasswordField):
                    options["filters"] = [_nfc, *(given.get("filters") or ())]
            return unbound_field.bind(form=form, **options)
