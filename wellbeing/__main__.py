"""`python -m wellbeing ...` is the same as the `wellbeing` command."""

from wellbeing.cli import main

main()
