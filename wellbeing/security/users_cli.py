"""`wellbeing users`: an administrator's account repairs from the server's shell, for when
nobody can log in to do them (a lost phone, an account with no password)."""

from __future__ import annotations

import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select, update

from wellbeing.extensions import db
from wellbeing.roster.models import User
from wellbeing.security import totp
from wellbeing.security.audit import command_actor, record_event
from wellbeing.security.passwords import hash_password

users_group = AppGroup("users", help="Repair accounts: second factor, password.")
# Read off paper: no look-alike characters (0/O, 1/l/I).
ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    return user


def _end_sessions(user: User) -> None:
    db.session.execute(
        update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
    )


@users_group.command("reset-second-factor")
@click.argument("username")
def reset_second_factor_command(username: str) -> None:
    """Remove USERNAME's second factor and recovery codes (a lost phone); the next
    login with the password enrols a new one. Ends the user's sessions."""
    user = _user(username)
    totp.reset(user)
    _end_sessions(user)
    record_event(
        "totp_reset", target=user, username=command_actor(), detail={"user": user.username}
    )
    db.session.commit()
    click.echo(f"{username}: second factor removed; the next login enrols a new one.")


@users_group.command("set-password")
@click.argument("username")
def set_password_command(username: str) -> None:
    """Give USERNAME a new one-time password, printed once; they must choose their own at
    the next login. Ends the user's sessions."""
    user = _user(username)
    length = max(current_app.config["PASSWORD_MIN_LENGTH"], 12)
    password = "".join(secrets.choice(ALPHABET) for _ in range(length))
    user.password_hash = hash_password(password)
    user.must_change_password = True
    _end_sessions(user)
    record_event(
        "password_reset", target=user, username=command_actor(), detail={"user": user.username}
    )
    db.session.commit()
    click.echo(f"{username}: one-time password {password} (must be changed at the next login)")
