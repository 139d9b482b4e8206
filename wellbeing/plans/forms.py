"""Reading the plan's form (the body of a version) and the small forms of the plan page.
The plan's form repeats rows (measures, review dates): it is read by hand with
TextFields rather than WTForms, and every refusal joins the services' problems."""

from __future__ import annotations

from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from screening.text import InvalidText, clean_text
from wellbeing.plans.services import MAX_ITEMS, empty_body
from wellbeing.text_input import TextFields, cleaned_or_empty, refusal

BLANK_ROWS = 2  # empty measure rows and review dates offered under the filled ones


def body_from_form(form: MultiDict) -> tuple[dict[str, Any], dict[str, str]]:
    """The body as typed, and the refusals of typed text by field."""
    fields = TextFields(form)
    body = empty_body()
    for name in ("summary", "strengths", "risk_factors", "change"):
        body[name] = fields.get(name, multiline=True)
    body["goals"] = [line for line in fields.get("goals", multiline=True).splitlines()]
    for index in range(MAX_ITEMS + BLANK_ROWS + 5):
        if f"measure-what-{index}" not in form:
            continue
        body["measures"].append(
            {
                key: fields.get(f"measure-{key.replace('_', '-')}-{index}")
                for key in ("owner", "who", "what", "how_often")
            }
        )
    body["responsible"] = {
        "counselor_id": fields.get("counselor_id"),
        "head_teacher_id": fields.get("head_teacher_id") or None,
        "guardian": fields.get("guardian"),
    }
    body["review_dates"] = []
    for value in form.getlist("review_date"):
        try:
            body["review_dates"].append(clean_text(value))
        except InvalidText as problem:
            fields.errors["review_dates"] = refusal(problem)
    return body, fields.errors


def form_rows(body: dict[str, Any]) -> dict[str, Any]:
    """What the form shows: the body's rows and a few blank ones."""
    blank = {"owner": "", "who": "", "what": "", "how_often": ""}
    return {
        "measures": list(body.get("measures") or []) + [dict(blank)] * BLANK_ROWS,
        "review_dates": list(body.get("review_dates") or []) + [""] * BLANK_ROWS,
        "goals": "\n".join(body.get("goals") or []),
    }


def typed_date(value: str) -> date | None:
    try:
        return date.fromisoformat(cleaned_or_empty(value).strip())
    except ValueError:
        return None
