import click


@click.group("roster")
def roster_group() -> None:
    """Roster import (being written)."""
