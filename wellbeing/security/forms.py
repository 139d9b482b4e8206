from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from wellbeing.text_input import TextForm


class LoginForm(TextForm):
    # Longer names cannot exist (user_account.username is 64 characters).
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class PasswordChangeForm(TextForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class EnrolForm(TextForm):
    code = StringField(
        _l("Six-digit code from the app"), validators=[DataRequired(), Length(max=12)]
    )


class SecondFactorForm(TextForm):
    code = StringField(
        _l("Code from the app, or a recovery code"), validators=[DataRequired(), Length(max=40)]
    )
