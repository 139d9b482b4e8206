"""The import form: which round, which date by default, which file."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice

from wellbeing.health.labels import round_label, school_year_label
from wellbeing.health.rounds import recent_school_years, recent_vision_rounds
from wellbeing.text_input import TextForm


class ImportForm(TextForm):
    kind = SelectField(
        _l("Records"),
        choices=[SelectChoice("vision", _l("Vision")), SelectChoice("fitness", _l("Fitness"))],
        default="vision",
    )
    vision_round = SelectField(_l("Vision round"))
    school_year = SelectField(_l("Fitness school year"))
    measured_on = DateField(_l("Date of measurement, where the file has none"))
    file = FileField(
        _l("File (XLSX or CSV)"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["xlsx", "csv"], _l("Only XLSX and CSV files can be imported.")),
        ],
    )

    def set_choices(self, today: date) -> None:
        self.vision_round.choices = [
            SelectChoice(r.key, round_label(r)) for r in recent_vision_rounds(today, count=4)
        ]
        self.school_year.choices = [
            SelectChoice(str(y), school_year_label(y)) for y in recent_school_years(today, count=3)
        ]
        if not self.measured_on.data:
            self.measured_on.data = today
