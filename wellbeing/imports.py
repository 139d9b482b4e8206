"""What every all-or-nothing import shares: one problem per bad cell, row or file, as the
`import_problems` macro (templates/_macros.html) lists them; the limits that bound what
reading a file may cost, from the settings; and the translated words for what the
reader (screening.spreadsheets) refuses.

Nothing here needs an application until a function is called with its config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from screening.errors import InputError
from screening.spreadsheets import MIB, CellError, Limits, ReadError, visible


def N_(msgid: str) -> str:
    """Mark a msgid for extraction; it is translated when shown."""
    return msgid


@dataclass(frozen=True)
class ImportProblem:
    """row 1 is the first data row, 0 the header, None the file as a whole."""

    row: int | None
    column: str | None
    value: str
    message: str
    detail: str = ""


# ----------------------------------------------------------------------------- limits


def web_limits(config: Mapping[str, Any]) -> Limits:
    """What an upload may cost a request: a few seconds and a bounded amount of memory.
    Larger rosters go through `wellbeing roster import`."""
    return Limits(
        rows=config["IMPORT_WEB_MAX_ROWS"] or None,
        cells=config["IMPORT_WEB_MAX_CELLS"] or None,
        columns=config["IMPORT_MAX_COLUMNS"],
        unzipped_bytes=config["IMPORT_WEB_MAX_UNZIPPED_MB"] * MIB,
        ratio=config["IMPORT_MAX_ZIP_RATIO"],
        seconds=config["IMPORT_WEB_MAX_SECONDS"] or None,
        file_bytes=config["IMPORT_WEB_MAX_FILE_MB"] * MIB,
    )


def command_limits(config: Mapping[str, Any]) -> Limits:
    """`wellbeing roster import`: higher (or no) ceilings on rows, cells and time, the
    same guards against far cells and zip bombs."""
    return Limits(
        rows=config["IMPORT_COMMAND_MAX_ROWS"] or None,
        cells=config["IMPORT_COMMAND_MAX_CELLS"] or None,
        columns=config["IMPORT_MAX_COLUMNS"],
        unzipped_bytes=config["IMPORT_COMMAND_MAX_UNZIPPED_MB"] * MIB,
        ratio=config["IMPORT_MAX_ZIP_RATIO"],
    )


# ----------------------------------------------------------------------------- messages

# What the reader refuses, by ReadError.code. The roster's msgids of old are kept.
READ_MESSAGES: dict[str, str] = {
    "encoding": N_("The file is neither UTF-8 nor GBK text."),
    "xls": N_("Old .xls workbooks are not supported: save as .xlsx or CSV."),
    "empty": N_("The file is empty."),
    # The reader's detail (a library's words, in English) is left out: it tells the user
    # nothing they can act on.
    "csv": N_("The file is not readable CSV: save it again as CSV (UTF-8) and upload it."),
    "xlsx": N_(
        "The file could not be read as an XLSX workbook: it is damaged, or not a workbook. "
        "Save it again from the spreadsheet program and upload it."
    ),
    "missing_column": N_("The required column is missing."),
    "missing_columns": N_("The required column is missing (also missing: %(also)s)."),
    "duplicate_column": N_("The column appears more than once in the header."),
    "text": N_(
        "The header holds the character %(codepoint)s (a control or invisible character), "
        "which no column name may hold."
    ),
    "rows": N_("The file has data in row %(found)s; at most %(limit)s rows can be read here."),
    "columns": N_(
        "The file has a cell in column %(letters)s; at most %(limit)s columns can be read."
    ),
    "cells": N_("The file holds more than %(limit)s cells, more than can be read here."),
    "file": N_("The file is larger than %(limit)s MB, more than can be read here."),
    "bytes": N_(
        "The workbook unpacks to more than %(limit)s MB of data, more than can be read here."
    ),
    "ratio": N_(
        "The workbook is compressed %(found)s times: that is a zip bomb, not a spreadsheet."
    ),
    "seconds": N_("Reading and checking the file took longer than %(limit)s seconds."),
}
# A cell holding NUL, ESC, BEL, a line break... (screening.text's rule).
TEXT_REFUSED = N_(
    "The value holds the character %(codepoint)s (a control or invisible character), "
    "which text may not hold: retype it."
)
# Limits that a smaller file (or the command line, for the roster) gets past.
SIZE_CODES = frozenset({"rows", "cells", "file", "bytes", "seconds"})


def read_message(error: InputError) -> tuple[str, dict[str, Any]]:
    """The msgid and parameters for a file the reader refused (its header too: a missing
    or repeated column); InputErrors of other kinds keep their own words."""
    if not isinstance(error, ReadError) or error.code not in READ_MESSAGES:
        return error.message, {}
    params = dict(error.params)
    for key in ("limit", "found"):
        if isinstance(params.get(key), int | float):
            number = params[key]
            if error.code in ("file", "bytes") and key == "limit":
                number = number // MIB
            params[key] = f"{number:,}"
    if error.code == "missing_column" and params.get("also"):
        return READ_MESSAGES["missing_columns"], params
    return READ_MESSAGES[error.code], params


def read_problem(error: InputError) -> ImportProblem:
    """A refused file as the one problem of an import, translated."""
    from flask_babel import gettext

    msgid, params = read_message(error)
    return ImportProblem(error.row, error.column, "", gettext(msgid, **params))


def text_problems(errors: list[CellError]) -> list[ImportProblem]:
    """Each refused text cell as a problem naming its row, column and code point."""
    from flask_babel import gettext

    return [
        ImportProblem(
            error.row,
            error.column,
            visible(error.text),
            gettext(TEXT_REFUSED, codepoint=error.codepoint),
        )
        for error in errors
    ]
