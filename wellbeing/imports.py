"""What every all-or-nothing import reports when it refuses a file: one problem per bad
cell, row or file, as the `import_problems` macro (templates/_macros.html) lists them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImportProblem:
    """row 1 is the first data row, 0 the header, None the file as a whole."""

    row: int | None
    column: str | None
    value: str
    message: str
    detail: str = ""
