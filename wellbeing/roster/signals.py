"""What the roster announces, for the areas above it to follow (the roster knows no area).

    students_changed.connect(receiver)   # receiver(sender) -> (name, how many refreshed)

`students_changed` is sent after an import has changed students (arrivals, moves,
departures), inside the import's transaction: a receiver's writes commit or roll back
with the import.

`roster_imported` is sent after every import that was applied (schools, classes,
students, guardians or staff), inside its transaction, with `rows`: the rows the file
brought."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()
students_changed = _signals.signal("students-changed")
roster_imported = _signals.signal("roster-imported")
