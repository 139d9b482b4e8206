"""The `wellbeing` command: Flask's (run, shell, routes), Flask-Migrate's `db`, and ours."""

from __future__ import annotations

from flask.cli import FlaskGroup

from wellbeing import create_app
from wellbeing.demo import demo_command
from wellbeing.demo_mailbox import mailbox_command
from wellbeing.district.refresh import district_group
from wellbeing.health_cli import fitness_group, vision_group
from wellbeing.instruments_cli import instruments_group, score_command
from wellbeing.review.cli import risk_group
from wellbeing.roster.cli import roster_group
from wellbeing.scheduler.cli import scheduler_group, serve_command
from wellbeing.security.audit_cli import audit_group, compliance_group, retention_group
from wellbeing.security.keys_cli import keys_group
from wellbeing.security.users_cli import users_group

cli = FlaskGroup(create_app=lambda: create_app(), help="Wellbeing: student wellbeing screening.")
cli.add_command(demo_command)
cli.add_command(mailbox_command)
cli.add_command(roster_group)
cli.add_command(score_command)
cli.add_command(instruments_group)
cli.add_command(vision_group)
cli.add_command(fitness_group)
cli.add_command(risk_group)
cli.add_command(keys_group)
cli.add_command(users_group)
cli.add_command(audit_group)
cli.add_command(retention_group)
cli.add_command(compliance_group)
cli.add_command(scheduler_group)
cli.add_command(serve_command)
cli.add_command(district_group)


def main() -> None:
    cli.main(prog_name="wellbeing")
