import click


@click.command("demo")
def demo_command() -> None:
    """Build the synthetic demo district (being written)."""
