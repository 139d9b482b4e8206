"""A user's own profile: the name shown, and the e-mail address notifications go to."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import Length, ValidationError

from wellbeing.extensions import db
from wellbeing.roster.vocabulary import EMAIL_LENGTH, valid_email
from wellbeing.security.policy import requires
from wellbeing.text_input import TextForm

bp = Blueprint("profile", __name__)


def _an_address(_form: TextForm, field: StringField) -> None:
    if field.data and not valid_email(field.data.strip()):
        raise ValidationError(_("Not an e-mail address: check the @ and the part after it."))


class ProfileForm(TextForm):
    email = StringField(
        _l("E-mail address"),
        validators=[Length(max=EMAIL_LENGTH), _an_address],
        description=_l("Optional. Notifications are sent here too; leave it empty for none."),
    )


@bp.route("/profile", methods=["GET", "POST"])
@requires("profile")
def profile() -> str | Response:
    user = current_user._get_current_object()
    form = ProfileForm(data={"email": user.email or ""})
    if form.validate_on_submit():
        user.email = form.email.data.strip() or None
        db.session.flush()
        flash(_("Your profile has been saved."), "info")
        return redirect(url_for("profile.profile"))
    return render_template("profile/profile.html", form=form, user=user)
