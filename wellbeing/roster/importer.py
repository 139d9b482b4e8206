"""Roster files: reading (CSV in UTF-8/GBK, XLSX) and validation of every row.

Files are read by screening.spreadsheets, the reader every import shares: as a stream,
within Limits (the web's are lower than the command's), with text cells under
screening.text's rule (a control character is an error of its sheet, row and column).
Nothing here touches the database. What the database already holds arrives as a
`Known` snapshot, so the same checks run in pure tests and in the import service.
Validation is vectorized with pandas: a 100,000-row file is checked column by column,
and only bad rows become Python objects (one `RowError` each).

Messages are English msgids marked with N_ (extracted by pybabel, translated where
shown); their parameters stay separate so the page and the CLI can translate them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from screening import exports
from screening.errors import InputError
from screening.spreadsheets import (
    COMMAND_LIMITS,
    ZIP_MAGIC,
    Deadline,
    Limits,
    ReadError,
    Table,
    decode_text,
    open_workbook,
    visible,
)
from wellbeing.imports import TEXT_REFUSED, read_message

# Enums only; nothing here opens a session.
from wellbeing.roster.vocabulary import (
    EMAIL_LENGTH,
    ETHNICITIES,
    GRADES_BY_KIND,
    Role,
    SchoolKind,
    StudentStatus,
    valid_email,
)

KINDS: tuple[str, ...] = ("schools", "classes", "students", "guardians", "staff")
ClassKey = tuple[str, int, str]  # (school code, grade, class name)
Translate = Callable[..., str]

STUDENT_NUMBER = re.compile(r"[GL]\d{17}[\dX]")
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{2,64}")
PHONE = re.compile(r"\+?[0-9-]{7,20}")
EARLIEST_BIRTH = date(1990, 1, 1)
EARLIEST_ENTRY_YEAR = 1990
# Roles a file may grant; `student` accounts are not staff and are not imported.
IMPORTABLE_ROLES = tuple(r.value for r in Role if r is not Role.student)
DISTRICT_ROLES = {Role.admin.value, Role.monitor.value}
SCHOOL_ROLES = {Role.school_leader.value, Role.counselor.value, Role.doctor.value}
CLASS_ROLES = {Role.head_teacher.value, Role.committee.value}


def N_(msgid: str) -> str:
    """Mark a msgid for extraction; it is translated when shown."""
    return msgid


BAD_NUMBER = N_("Not a student number (学籍号): G or L, then 17 digits, then a digit or X.")


def _identity(msgid: str, **params: Any) -> str:
    return msgid % params if params else msgid


@dataclass(frozen=True)
class Message:
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, translate: Translate = _identity) -> str:
        """The text, through a gettext-like function (flask_babel.gettext on the page)."""
        return translate(self.msgid, **self.params)


@dataclass(frozen=True)
class RowError:
    """One bad cell. row 1 is the first data row; None means the sheet or its header."""

    sheet: str
    row: int | None
    column: str
    value: str
    reason: Message

    def render(self, translate: Translate = _identity) -> str:
        where = self.sheet if self.row is None else f"{self.sheet} row {self.row}"
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}: {self.reason.render(translate)}"


# ----------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    aliases: tuple[str, ...]
    max_length: int | None = None


def _col(name: str, required: bool, *aliases: str, max_length: int | None = None) -> Column:
    return Column(name, required, (name, *aliases), max_length)


SCHOOL_CODE = ("学校代码", "学校编码", "学校编号", "学校标识码", "学校识别码", "school code")
GRADE = ("年级",)
CLASS_NAME = ("class", "班级", "班级名称", "班名", "班")
STUDENT_NO = ("student_no", "学籍号", "全国学籍号", "学籍编号")

COLUMNS: dict[str, tuple[Column, ...]] = {
    "schools": (
        _col("school_code", True, *SCHOOL_CODE, max_length=20),
        _col("school_name", True, "学校名称", "学校", "校名", max_length=100),
        _col("kind", True, "school_kind", "type", "学校类型", "类型", "办学类型", "学段"),
    ),
    "classes": (
        _col("school_code", True, *SCHOOL_CODE, max_length=20),
        _col("grade", True, *GRADE),
        _col("class_name", True, *CLASS_NAME, max_length=40),
        _col("entry_year", True, "入学年份", "入学年度", "入学年"),
    ),
    "students": (
        _col("student_number", True, *STUDENT_NO),
        _col("name", True, "student_name", "姓名", "学生姓名", max_length=50),
        _col("sex", True, "gender", "性别"),
        _col(
            "birth_date", True, "birthdate", "date_of_birth", "birthday", "出生日期", "出生年月日"
        ),
        _col("school_code", True, *SCHOOL_CODE, max_length=20),
        _col("grade", True, *GRADE),
        _col("class_name", True, *CLASS_NAME, max_length=40),
        _col("status", False, "学籍状态", "状态", "在籍状态"),
        _col("boarding", False, "住校", "是否住校", "寄宿", "是否寄宿", "住宿", "是否住宿"),
        _col("left_behind", False, "留守儿童", "是否留守儿童", "留守"),
        _col("ethnicity", False, "民族", "民族代码"),
    ),
    "guardians": (
        _col("student_number", True, *STUDENT_NO),
        _col(
            "guardian_name",
            True,
            "guardian",
            "name",
            "监护人",
            "监护人姓名",
            "家长姓名",
            "家长",
            "姓名",
            max_length=50,
        ),
        _col("relation", True, "relationship", "关系", "与学生关系", "监护人关系", max_length=20),
        _col(
            "phone", True, "telephone", "mobile", "电话", "联系电话", "手机", "手机号", "手机号码"
        ),
    ),
    "staff": (
        _col(
            "username",
            True,
            "user_name",
            "login",
            "用户名",
            "账号",
            "帐号",
            "登录名",
            max_length=64,
        ),
        _col(
            "display_name", True, "name", "姓名", "显示名", "教师姓名", "教职工姓名", max_length=100
        ),
        _col("role", True, "角色"),
        _col("school_code", False, *SCHOOL_CODE, max_length=20),
        _col("grade", False, *GRADE),
        _col("class_name", False, *CLASS_NAME, max_length=40),
        _col("student_number", False, *STUDENT_NO),
        _col("initial_password", False, "password", "初始密码", "密码"),
        _col("email", False, "e-mail", "mail", "邮箱", "电子邮箱", "电子邮件", max_length=254),
    ),
}

SHEET_NAMES: dict[str, str] = {
    **{kind: kind for kind in KINDS},
    "学校": "schools",
    "班级": "classes",
    "学生": "students",
    "监护人": "guardians",
    "教职工": "staff",
}

# Headers of the downloadable template, by language.
CHINESE_HEADERS: dict[str, str] = {
    "school_code": "学校代码",
    "school_name": "学校名称",
    "kind": "学校类型",
    "grade": "年级",
    "class_name": "班级",
    "entry_year": "入学年份",
    "student_number": "学籍号",
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "status": "学籍状态",
    "boarding": "住校",
    "left_behind": "留守儿童",
    "ethnicity": "民族",
    "guardian_name": "监护人姓名",
    "relation": "关系",
    "phone": "联系电话",
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "initial_password": "初始密码",
    "email": "电子邮箱",
}
CHINESE_SHEETS = {kind: name for name, kind in SHEET_NAMES.items() if name != kind}

# ----------------------------------------------------------------------------- words

SEX_WORDS = {"m": "M", "f": "F", "男": "M", "女": "F", "male": "M", "female": "F"}
TRUE_WORDS = {"true", "1", "是", "yes", "y", "t"}
FALSE_WORDS = {"false", "0", "否", "no", "n", "f", ""}
BOOL_WORDS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
KIND_WORDS = {
    **{k.value: k.value for k in SchoolKind},
    "小学": "primary",
    "初中": "junior",
    "初级中学": "junior",
    "高中": "senior",
    "高级中学": "senior",
    "九年一贯制": "nine_year",
    "九年一贯制学校": "nine_year",
    "完全中学": "complete_secondary",
    "职业高中": "vocational",
    "职高": "vocational",
    "中职": "vocational",
}
STATUS_WORDS = {
    **{s.value: s.value for s in StudentStatus},
    "": "enrolled",
    "在读": "enrolled",
    "在籍": "enrolled",
    "转出": "transferred",
    "转学": "transferred",
    "已转出": "transferred",
    "毕业": "graduated",
    "已毕业": "graduated",
    "退学": "withdrawn",
    "辍学": "withdrawn",
}
ROLE_WORDS = {
    **{r: r for r in IMPORTABLE_ROLES},
    "管理员": "admin",
    "系统管理员": "admin",
    "监测员": "monitor",
    "区级监测": "monitor",
    # The principal or deputy in charge of mental health.
    "分管校领导": "school_leader",
    "校领导": "school_leader",
    "分管校长": "school_leader",
    "分管副校长": "school_leader",
    "心理教师": "counselor",
    "心理老师": "counselor",
    "心理辅导员": "counselor",
    "心理健康教师": "counselor",
    "校医": "doctor",
    "保健医生": "doctor",
    "班主任": "head_teacher",
    "心理委员": "committee",
}


def _ethnicity_words() -> dict[str, str]:
    """GB/T 3304 code from the code, a one-digit code, the name, or the name without 族."""
    words = {code: code for code in ETHNICITIES}
    words |= {code.lstrip("0"): code for code in ETHNICITIES if code.startswith("0")}
    words |= {name: code for code, name in ETHNICITIES.items()}
    short = [(name.removesuffix("族"), code) for code, name in ETHNICITIES.items()]
    counts = Counter(word for word, _code in short)
    # Without 族 only where no other name (or code) reads the same.
    words |= {word: code for word, code in short if counts[word] == 1 and word not in words}
    return words


ETHNICITY_WORDS = _ethnicity_words()
GRADE_WORDS = {
    **{f"{n}年级": i for i, n in enumerate("一二三四五六七八九", start=1)},
    "十年级": 10,
    "十一年级": 11,
    "十二年级": 12,
    "初一": 7,
    "初二": 8,
    "初三": 9,
    "高一": 10,
    "高二": 11,
    "高三": 12,
}


# ----------------------------------------------------------------------------- pure parsers
# Each takes a Series of stripped strings and returns parsed values, missing (NA) where
# the text is not valid. They never raise on any text.


def _nfkc(values: pd.Series) -> pd.Series:
    # Full-width digits and letters (common in Chinese spreadsheets) become ASCII.
    return values.astype(str).str.normalize("NFKC").str.strip()


def _words(values: pd.Series, words: Mapping[str, Any]) -> pd.Series:
    key = _nfkc(values).str.lower().str.replace(r"[\s-]+", "_", regex=True)
    return key.map(words).astype(object).where(key.isin(list(words)), None)


def normalize_student_number(values: pd.Series) -> pd.Series:
    """Uppercase ASCII form of each 学籍号; not yet checked."""
    return _nfkc(values).str.upper()


def valid_student_number(values: pd.Series) -> pd.Series:
    """Whether each normalized value is a 学籍号 (G) or a temporary number (L)."""
    return values.astype(str).str.fullmatch(STUDENT_NUMBER.pattern)


def parse_sex(values: pd.Series) -> pd.Series:
    """'M'/'F' from M/F/男/女 (any case), None otherwise."""
    return _words(values, SEX_WORDS)


def parse_bool(values: pd.Series) -> pd.Series:
    """True/False from true/false/1/0/是/否/yes/no, empty is False; None otherwise."""
    return _words(values, BOOL_WORDS)


def parse_ethnicity(values: pd.Series) -> pd.Series:
    """GB/T 3304 two-digit code from a code ('01', '1', '1.0') or a name ('汉族', '汉');
    None otherwise (an empty cell included: unknown)."""
    text = _nfkc(values).str.replace(r"\.0+$", "", regex=True)
    return _words(text, ETHNICITY_WORDS)


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates from YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, 2013年5月1日 or an Excel serial
    day number; NaT where the text is no real date (2013-02-30 included)."""
    text = (
        _nfkc(values)
        .str.replace(r"[ T]00:00(:00)?$", "", regex=True)  # a datetime cell's midnight
        .str.replace(r"[/.年月]", "-", regex=True)
        .str.removesuffix("日")
    )
    parts = text.str.extract(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
    numbers = parts.apply(pd.to_numeric, errors="coerce")
    numbers.columns = ["year", "month", "day"]
    parsed = pd.to_datetime(numbers, errors="coerce")
    serial = text.str.fullmatch(r"\d{5}(\.0+)?")
    if serial.any():
        days = pd.to_numeric(text.where(serial), errors="coerce")
        from_serial = pd.to_datetime(days, unit="D", origin="1899-12-30", errors="coerce")
        parsed = parsed.where(~serial, from_serial)
    return parsed


def parse_int(values: pd.Series, words: Mapping[str, int] | None = None) -> pd.Series:
    """Whole numbers ('7', '7.0', '7年级', '初一'); NA otherwise."""
    text = _nfkc(values)
    number = pd.to_numeric(
        text.str.removesuffix("年级")
        .str.replace(r"\.0+$", "", regex=True)
        .where(lambda s: s.str.fullmatch(r"\d{1,4}"), None),
        errors="coerce",
    )
    result = number.astype("Int64")
    if words:
        result = result.fillna(text.map(words).astype("Int64"))
    return result


def parse_grade(values: pd.Series) -> pd.Series:
    return parse_int(values, GRADE_WORDS)


def normalize_phone(values: pd.Series) -> pd.Series:
    return _nfkc(values).str.replace(r"[\s()]", "", regex=True)


def valid_phone(values: pd.Series) -> pd.Series:
    digits = values.str.count(r"\d")
    return values.str.fullmatch(PHONE.pattern) & (digits >= 7)


def class_key(school_code: Any, grade: Any, class_name: Any) -> str:
    """One string per class, for vectorized membership tests."""
    return f"{school_code}\x1f{grade}\x1f{class_name}"


def _class_keys(school_code: pd.Series, grade: pd.Series, class_name: pd.Series) -> pd.Series:
    return school_code + "\x1f" + grade.astype(str) + "\x1f" + class_name


# ----------------------------------------------------------------------------- reading


@dataclass
class Sheet:
    kind: str
    label: str  # the sheet's name in a workbook, the kind for a CSV file
    frame: pd.DataFrame  # canonical columns, stripped text; index 1 = first data row
    headers: dict[str, str]  # canonical column -> header as written in the file

    @property
    def rows(self) -> int:
        return len(self.frame)


@dataclass
class ParsedRoster:
    sheets: dict[str, Sheet] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    # Reading and checking share one time ceiling (the web's); None: no ceiling.
    deadline: Deadline | None = None

    @property
    def rows(self) -> int:
        return sum(sheet.rows for sheet in self.sheets.values())


def _header_key(text: Any) -> str:
    # "出生日期 (YYYY-MM-DD)*" and "Birth Date" both reduce to their bare name.
    key = unicodedata.normalize("NFKC", str(text)).lower()
    key = re.sub(r"\(.*?\)|\*", "", key)
    return re.sub(r"[\s_\-]+", "", key)


_ALIASES: dict[str, dict[str, str]] = {
    kind: {_header_key(alias): column.name for column in columns for alias in column.aliases}
    for kind, columns in COLUMNS.items()
}


def _match_headers(kind: str, headers: Iterable[str]) -> dict[str, str]:
    """canonical column -> the file's header, for the headers this kind knows."""
    matched: dict[str, str] = {}
    for header in headers:
        canonical = _ALIASES[kind].get(_header_key(header))
        if canonical is not None and canonical not in matched:
            matched[canonical] = header
    return matched


def detect_kind(headers: Iterable[str]) -> str | None:
    """The kind whose columns the headers match best (at least two of them)."""
    headers = list(headers)
    scores = {kind: len(_match_headers(kind, headers)) for kind in KINDS}
    best = max(KINDS, key=lambda kind: (scores[kind], -_missing_count(kind, headers)))
    return best if scores[best] >= 2 else None


def _missing_count(kind: str, headers: list[str]) -> int:
    return len(_missing_columns(kind, _match_headers(kind, headers)))


def _missing_columns(kind: str, matched: Mapping[str, str]) -> list[str]:
    return [c.name for c in COLUMNS[kind] if c.required and c.name not in matched]


def decode_csv(data: bytes) -> str | None:
    """UTF-8 (with or without BOM) when it decodes strictly, else GBK; None if neither.
    GB18030 is used for GBK: a superset, so names with rarer characters survive."""
    try:
        return decode_text(data)
    except ReadError:
        return None


def _sheet_error(label: str, msgid: str, column: str = "", **params: Any) -> RowError:
    """An error of a whole sheet or file (its header, its encoding...), not of a row."""
    return RowError(label, None, column, "", Message(msgid, params))


def _add_sheet(
    parsed: ParsedRoster, label: str, table: Table, kind: str | None, strict: bool
) -> None:
    """Map headers, read the known columns (blank rows dropped, row numbers kept),
    record missing columns."""
    headers = table.header
    kind = kind or detect_kind(headers)
    if kind is None or (not strict and _missing_count(kind, headers)):
        if strict:
            parsed.errors.append(
                _sheet_error(label, N_("Cannot tell what this file holds from its header row."))
            )
        else:
            parsed.notes.append(
                Message(
                    N_("Sheet %(sheet)s was ignored: its columns match no kind of roster data."),
                    {"sheet": label},
                )
            )
        return
    if kind in parsed.sheets:
        parsed.errors.append(
            _sheet_error(
                label,
                N_("Another sheet already holds %(kind)s: %(other)s."),
                kind=kind,
                other=parsed.sheets[kind].label,
            )
        )
        return
    matched = _match_headers(kind, headers)
    for column in _missing_columns(kind, matched):
        parsed.errors.append(_sheet_error(label, N_("Missing column."), column))
    ignored = [h for h in headers if h and h not in matched.values()]
    if ignored:
        parsed.notes.append(
            Message(
                N_("Columns ignored in %(sheet)s: %(columns)s."),
                {"sheet": label, "columns": ", ".join(ignored)},
            )
        )
    parsed.sheets[kind] = Sheet(kind, label, _read_frame(parsed, label, table, matched), matched)


def _read_frame(
    parsed: ParsedRoster, label: str, table: Table, matched: Mapping[str, str]
) -> pd.DataFrame:
    """The matched columns as stripped text, indexed by row number (blank rows are not
    read). A cell holding a character text may not hold is an error here; it reads as
    its visible form."""
    names, headers = list(matched), list(matched.values())
    rows, columns = [], [[] for _ in names]
    for block in table.blocks(headers, []):
        rows.append(block.rows)
        for slot, header in enumerate(headers):
            columns[slot].append(block.text[header])
        parsed.errors += [
            RowError(
                label,
                error.row,
                error.column,
                visible(error.text)[:60],
                Message(TEXT_REFUSED, {"codepoint": error.codepoint}),
            )
            for error in block.errors
        ]
    frame = pd.DataFrame(
        {
            name: np.concatenate(parts) if parts else np.array([], dtype=object)
            for name, parts in zip(names, columns, strict=True)
        },
        index=np.concatenate(rows) if rows else np.array([], dtype=np.int64),
        dtype=object,
    )
    return frame.astype(str)


def read_roster(
    data: bytes,
    filename: str = "",
    limits: Limits = COMMAND_LIMITS,
    deadline: Deadline | None = None,
) -> ParsedRoster:
    """Read an uploaded or local file: XLSX (every sheet) or CSV of one kind, told apart
    by content (a renamed file still reads), within the limits (the web's are lower
    than the command's). The file name labels errors of the whole file; a file beyond a
    limit, or unreadable, is that one error."""
    parsed = ParsedRoster(deadline=deadline or limits.deadline())
    label = filename
    try:
        for table in open_workbook(data, filename, limits, parsed.deadline):
            if data.startswith(ZIP_MAGIC):
                label = table.name
                kind = SHEET_NAMES.get(unicodedata.normalize("NFKC", label).strip().lower())
                _add_sheet(parsed, label, table, kind, strict=kind is not None)
            else:
                # A CSV file's rows are named by their kind ("students row 3"), like a sheet's.
                kind = detect_kind(table.header)
                label = kind or filename
                _add_sheet(parsed, label, table, kind, strict=True)
    except InputError as error:
        return ParsedRoster(errors=[_read_error(label, error)], deadline=parsed.deadline)
    if data.startswith(ZIP_MAGIC) and not parsed.sheets and not parsed.errors:
        parsed.errors.append(
            _sheet_error(filename, N_("No sheet of the workbook holds roster data."))
        )
    return parsed


def _read_error(label: str, error: InputError) -> RowError:
    """A file the reader refused, as the roster's one error."""
    msgid, params = read_message(error)
    row = error.row or None  # the header (0) is the sheet's
    return RowError(label, row, error.column or "", "", Message(msgid, params))


# ----------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Known:
    """What the database already holds, for references the file does not define."""

    school_kinds: Mapping[str, str] = field(default_factory=dict)  # code -> kind
    class_keys: frozenset[ClassKey] = frozenset()
    student_classes: Mapping[str, ClassKey] = field(default_factory=dict)
    student_users: Mapping[str, str] = field(default_factory=dict)  # 学籍号 -> linked username


@dataclass
class ValidRoster:
    """Typed frames, one per kind present (index = row number), and every error found."""

    frames: dict[str, pd.DataFrame]
    columns: dict[str, frozenset[str]]  # canonical columns present per kind
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Checker:
    def __init__(self, known: Known, today: date, min_password: int) -> None:
        self.known = known
        self.today = today
        self.min_password = min_password
        self.errors: list[RowError] = []

    def flag(
        self,
        sheet: Sheet,
        mask: pd.Series,
        column: str,
        msgid: str,
        **params: Any,
    ) -> None:
        """Record an error for every row where mask is true. A Series parameter gives
        each row its own value (e.g. the row it duplicates)."""
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        shown = sheet.frame.get(column)
        header = sheet.headers.get(column, column)
        for row in mask.index[mask.to_numpy()]:
            row_params = {
                k: v.at[row] if isinstance(v, pd.Series) else v for k, v in params.items()
            }
            value = "" if shown is None or column == "initial_password" else str(shown.at[row])
            self.errors.append(
                RowError(sheet.label, int(row), header, value[:60], Message(msgid, row_params))
            )

    def text(self, sheet: Sheet, column: str) -> pd.Series | None:
        """A stripped text column: required cells filled, lengths within the schema."""
        spec = next(c for c in COLUMNS[sheet.kind] if c.name == column)
        if column not in sheet.frame:
            return None
        values = sheet.frame[column]
        if spec.required:
            self.flag(sheet, values == "", column, N_("Required value missing."))
        if spec.max_length:
            self.flag(
                sheet,
                values.str.len() > spec.max_length,
                column,
                N_("Too long: at most %(n)d characters."),
                n=spec.max_length,
            )
        return values

    def parsed_value(
        self, sheet: Sheet, column: str, parsed: pd.Series, msgid: str, required: bool = True
    ) -> pd.Series:
        """Flag cells that did not parse (empty ones only when the column is required)."""
        raw = sheet.frame[column]
        empty = raw == ""
        if required:
            self.flag(sheet, empty, column, N_("Required value missing."))
        self.flag(sheet, parsed.isna() & ~empty, column, msgid)
        return parsed

    def duplicates(self, sheet: Sheet, key: pd.Series, column: str, msgid: str) -> None:
        """Flag every repeat of a key, naming the row where it first appears."""
        present = key.notna() & (key != "")
        repeated = key.duplicated() & present
        if repeated.any():
            rows = pd.Series(key.index, index=key.index)
            first = rows.groupby(key.to_numpy()).transform("first")
            self.flag(sheet, repeated, column, msgid, first=first)

    def school_exists(
        self, sheet: Sheet, code: pd.Series, file_schools: set[str], rows: pd.Series | None = None
    ) -> pd.Series:
        """Flag codes (of the given rows) known neither to the file nor the database."""
        exists = code.isin(file_schools | set(self.known.school_kinds))
        checked = (code != "") if rows is None else rows & (code != "")
        self.flag(
            sheet,
            checked & ~exists,
            "school_code",
            N_("No such school in this file or the database."),
        )
        return exists

    def grade(self, sheet: Sheet) -> pd.Series:
        grade = parse_grade(sheet.frame["grade"])
        message = N_("Grade must be a whole number from 1 to 12.")
        self.parsed_value(sheet, "grade", grade, message)
        out_of_range = grade.notna() & ((grade < 1) | (grade > 12))
        self.flag(sheet, out_of_range, "grade", message)
        return grade.where(~out_of_range.fillna(False))

    def student_number(self, sheet: Sheet) -> pd.Series:
        number = normalize_student_number(sheet.frame["student_number"])
        empty = number == ""
        self.flag(sheet, empty, "student_number", N_("Required value missing."))
        self.flag(sheet, ~empty & ~valid_student_number(number), "student_number", BAD_NUMBER)
        return number


def _schools(c: _Checker, sheet: Sheet) -> pd.DataFrame:
    code = _nfkc(c.text(sheet, "school_code"))
    name = c.text(sheet, "school_name")
    kind = c.parsed_value(
        sheet,
        "kind",
        _words(sheet.frame["kind"], KIND_WORDS),
        N_(
            "Unknown school kind: use primary, junior, senior, nine_year, complete_secondary "
            "or vocational (小学, 初中, 高中, 九年一贯制, 完全中学, 职业高中)."
        ),
    )
    c.duplicates(sheet, code, "school_code", N_("Same school code as row %(first)d."))
    return pd.DataFrame({"code": code, "name": name, "kind": kind})


def _classes(c: _Checker, sheet: Sheet, schools: pd.DataFrame | None) -> pd.DataFrame:
    code = _nfkc(c.text(sheet, "school_code"))
    name = c.text(sheet, "class_name")
    grade = c.grade(sheet)
    year = c.parsed_value(
        sheet,
        "entry_year",
        parse_int(sheet.frame["entry_year"]),
        N_("Entry year must be a year like 2025."),
    )
    bad_year = year.notna() & ((year < EARLIEST_ENTRY_YEAR) | (year > c.today.year + 1))
    c.flag(
        sheet,
        bad_year,
        "entry_year",
        N_("Entry year must lie between %(first)d and %(last)d."),
        first=EARLIEST_ENTRY_YEAR,
        last=c.today.year + 1,
    )
    file_kinds = (
        dict(zip(schools["code"], schools["kind"], strict=True)) if schools is not None else {}
    )
    exists = c.school_exists(sheet, code, set(file_kinds))
    kinds = code.map({**c.known.school_kinds, **file_kinds})
    taught = pd.Series(
        [_teaches(k, g) for k, g in zip(kinds, grade, strict=True)], index=sheet.frame.index
    )
    c.flag(
        sheet,
        exists & ~taught,
        "grade",
        N_("A %(kind)s school does not teach grade %(grade)s."),
        kind=kinds,
        grade=grade,
    )
    key = _class_keys(code, grade, name).where(grade.notna())
    c.duplicates(sheet, key, "class_name", N_("Same class as row %(first)d."))
    return pd.DataFrame(
        {"school_code": code, "grade": grade, "name": name, "entry_year": year, "key": key}
    )


def _teaches(kind: Any, grade: Any) -> bool:
    """Whether a school of this kind teaches the grade (unknown kind or grade: no opinion)."""
    if kind not in SchoolKind._value2member_map_ or pd.isna(grade):
        return True
    return int(grade) in GRADES_BY_KIND[SchoolKind(kind)]


def _class_reference(
    c: _Checker,
    sheet: Sheet,
    code: pd.Series,
    grade: pd.Series,
    name: pd.Series,
    file_schools: set[str],
    file_classes: set[str],
    rows: pd.Series | None = None,
) -> pd.Series:
    """Check school and class exist (database or this file); return each row's class key."""
    rows = pd.Series(True, index=code.index) if rows is None else rows
    school_ok = c.school_exists(sheet, code, file_schools, rows)
    key = _class_keys(code, grade, name)
    known_classes = file_classes | {class_key(*k) for k in c.known.class_keys}
    missing = rows & school_ok & grade.notna() & (name != "") & ~key.isin(known_classes)
    c.flag(
        sheet,
        missing,
        "class_name",
        N_("No such class in this file or the database: grade %(grade)s, class %(name)s."),
        grade=grade,
        name=name,
    )
    return key


def _students(
    c: _Checker, sheet: Sheet, file_schools: set[str], file_classes: set[str]
) -> pd.DataFrame:
    number = c.student_number(sheet)
    name = c.text(sheet, "name")
    sex = c.parsed_value(
        sheet, "sex", parse_sex(sheet.frame["sex"]), N_("Sex must be M, F, 男 or 女.")
    )
    born = c.parsed_value(
        sheet,
        "birth_date",
        parse_dates(sheet.frame["birth_date"]),
        N_("Not a date: write YYYY-MM-DD."),
    )
    implausible = (born < pd.Timestamp(EARLIEST_BIRTH)) | (born > pd.Timestamp(c.today))
    c.flag(
        sheet,
        implausible,
        "birth_date",
        N_("Birth date must lie between %(first)s and %(last)s."),
        first=EARLIEST_BIRTH.isoformat(),
        last=c.today.isoformat(),
    )
    code = _nfkc(c.text(sheet, "school_code"))
    grade = c.grade(sheet)
    class_name = c.text(sheet, "class_name")
    key = _class_reference(c, sheet, code, grade, class_name, file_schools, file_classes)
    c.duplicates(sheet, number, "student_number", N_("Same student number as row %(first)d."))
    frame = pd.DataFrame(
        {
            "student_number": number,
            "name": name,
            "sex": sex,
            "birth_date": born.dt.date.astype(object),
            "school_code": code,
            "grade": grade,
            "class_name": class_name,
            "key": key,
        }
    )
    if "status" in sheet.frame:
        frame["status"] = c.parsed_value(
            sheet,
            "status",
            _words(sheet.frame["status"], STATUS_WORDS),
            N_("Unknown status: use enrolled, transferred, graduated or withdrawn."),
            required=False,
        )
    for column in ("boarding", "left_behind"):
        if column in sheet.frame:
            frame[column] = c.parsed_value(
                sheet,
                column,
                parse_bool(sheet.frame[column]),
                N_("Yes or no expected: true/false, 1/0, 是/否 or empty."),
                required=False,
            )
    if "ethnicity" in sheet.frame:
        frame["ethnicity"] = c.parsed_value(
            sheet,
            "ethnicity",
            parse_ethnicity(sheet.frame["ethnicity"]),
            N_("Unknown ethnicity: use a GB/T 3304 code (01 to 56, 97, 98) or a name like 汉族."),
            required=False,
        )
    return frame


def _guardians(c: _Checker, sheet: Sheet, file_students: set[str]) -> pd.DataFrame:
    number = c.student_number(sheet)
    name = c.text(sheet, "guardian_name")
    relation = c.text(sheet, "relation")
    phone = normalize_phone(sheet.frame["phone"])
    empty = phone == ""
    c.flag(sheet, empty, "phone", N_("Required value missing."))
    c.flag(
        sheet,
        ~empty & ~valid_phone(phone),
        "phone",
        N_("Not a phone number: 7 to 20 digits, with an optional + and dashes."),
    )
    known = file_students | set(c.known.student_classes)
    c.flag(
        sheet,
        valid_student_number(number) & ~number.isin(known),
        "student_number",
        N_("No such student in this file or the database."),
    )
    c.duplicates(
        sheet,
        number + "\x1f" + name,
        "guardian_name",
        N_("Same student and guardian as row %(first)d."),
    )
    return pd.DataFrame(
        {"student_number": number, "name": name, "relation": relation, "phone": phone}
    )


def _optional(sheet: Sheet, column: str) -> pd.Series:
    if column in sheet.frame:
        return sheet.frame[column]
    return pd.Series("", index=sheet.frame.index, dtype=str)


def _staff(
    c: _Checker,
    sheet: Sheet,
    file_schools: set[str],
    file_classes: set[str],
    students: pd.DataFrame | None,
) -> pd.DataFrame:
    username = _nfkc(c.text(sheet, "username"))
    c.flag(
        sheet,
        (username != "") & ~username.str.fullmatch(USERNAME.pattern),
        "username",
        N_("User names hold 2 to 64 letters, digits and . _ @ - only."),
    )
    display = c.text(sheet, "display_name")
    role = c.parsed_value(
        sheet,
        "role",
        _words(sheet.frame["role"], ROLE_WORDS),
        N_(
            "Unknown role: use admin, monitor, school_leader, counselor, doctor, "
            "head_teacher or committee."
        ),
    )
    # Pad absent optional columns (on a copy) so every role's rule reads the same way.
    padded = sheet.frame.copy()
    optional = ("school_code", "grade", "class_name", "student_number", "initial_password", "email")
    for column in optional:
        padded[column] = _optional(sheet, column)
    sheet = replace(sheet, frame=padded)
    code = _nfkc(sheet.frame["school_code"])
    class_name = sheet.frame["class_name"]
    c.text(sheet, "school_code")
    c.text(sheet, "class_name")
    at_school = role.isin(SCHOOL_ROLES | CLASS_ROLES)
    in_class = role.isin(CLASS_ROLES)
    committee = role == Role.committee.value
    c.flag(sheet, at_school & (code == ""), "school_code", N_("This role needs a school code."))
    grade = parse_grade(sheet.frame["grade"])
    c.flag(sheet, in_class & grade.isna(), "grade", N_("This role needs a grade from 1 to 12."))
    c.flag(sheet, in_class & (class_name == ""), "class_name", N_("This role needs a class."))
    c.flag(
        sheet,
        grade.notna() & ((grade < 1) | (grade > 12)),
        "grade",
        N_("Grade must be a whole number from 1 to 12."),
    )
    c.school_exists(sheet, code, file_schools, rows=role.isin(SCHOOL_ROLES))
    key = _class_reference(
        c, sheet, code, grade, class_name, file_schools, file_classes, rows=in_class
    )
    number = normalize_student_number(sheet.frame["student_number"])
    _committee_links(c, sheet, username, number, key, committee, students)
    password = sheet.frame["initial_password"]
    c.flag(
        sheet,
        (password != "") & (password.str.len() < c.min_password),
        "initial_password",
        N_("Initial password too short: at least %(n)d characters."),
        n=c.min_password,
    )
    c.flag(
        sheet,
        (password != "") & (password.str.lower() == username.str.lower()),
        "initial_password",
        N_("The password must not be the user name."),
    )
    scope = (
        code.where(role.isin(SCHOOL_ROLES), "")
        .where(~in_class, key)
        .where(~role.isin(DISTRICT_ROLES), "")
    )
    c.duplicates(
        sheet,
        (username + "\x1f" + role.fillna("") + "\x1f" + scope.fillna("")).where(role.notna()),
        "role",
        N_("Same user, role and scope as row %(first)d."),
    )
    email = _staff_email(c, sheet, username)
    first_display = display.groupby(username.to_numpy()).transform("first")
    c.flag(
        sheet,
        (username != "") & (display != first_display),
        "display_name",
        N_("Another row gives this user name a different display name."),
    )
    return pd.DataFrame(
        {
            "username": username,
            "display_name": display,
            "role": role,
            "school_code": code,
            "grade": grade,
            "class_name": class_name,
            "key": key.where(in_class),
            "student_number": number.where(committee, ""),
            "initial_password": password,
            "email": email,
        }
    )


def _staff_email(c: _Checker, sheet: Sheet, username: pd.Series) -> pd.Series:
    """The optional e-mail address: well formed, and one per user name."""
    email = _nfkc(sheet.frame["email"]).str.strip()
    c.text(sheet, "email")
    c.flag(
        sheet,
        (email != "") & (email.str.len() <= EMAIL_LENGTH) & ~email.map(valid_email),
        "email",
        N_("Not an e-mail address: check the @ and the part after it."),
    )
    given = email.where(email != "")
    first = given.groupby(username.to_numpy()).transform("first")
    c.flag(
        sheet,
        given.notna() & first.notna() & (given != first),
        "email",
        N_("Another row gives this user name a different e-mail address."),
    )
    return email


def _committee_links(
    c: _Checker,
    sheet: Sheet,
    username: pd.Series,
    number: pd.Series,
    key: pd.Series,
    committee: pd.Series,
    students: pd.DataFrame | None,
) -> None:
    """A 心理委员's account is linked to one student, who belongs to that class."""
    c.flag(
        sheet,
        committee & (number == ""),
        "student_number",
        N_("A committee member needs the student number of their own account."),
    )
    well_formed = committee & (number != "") & valid_student_number(number)
    c.flag(
        sheet,
        committee & (number != "") & ~valid_student_number(number),
        "student_number",
        BAD_NUMBER,
    )
    classes = {n: class_key(*k) for n, k in c.known.student_classes.items()}
    if students is not None:
        classes.update(zip(students["student_number"], students["key"], strict=True))
    student_class = number.map(classes)
    c.flag(
        sheet,
        well_formed & student_class.isna(),
        "student_number",
        N_("No such student in this file or the database."),
    )
    c.flag(
        sheet,
        well_formed & student_class.notna() & (student_class != key),
        "student_number",
        N_("This student is not in the committee member's class."),
    )
    # A link held by an account outside the file stays; one inside the file is replaced.
    linked = number.map(c.known.student_users)
    taken = linked.notna() & (linked != username) & ~linked.isin(set(username))
    c.flag(
        sheet,
        well_formed & taken,
        "student_number",
        N_("This student is already linked to the account %(user)s."),
        user=linked,
    )
    # Within the file: one student per account, one account per student.
    links = pd.DataFrame({"user": username, "number": number})[well_formed]
    users_per_student = links.groupby("number")["user"].transform("nunique")
    numbers_per_user = links.groupby("user")["number"].transform("nunique")
    c.flag(
        sheet,
        (users_per_student > 1).reindex(number.index, fill_value=False),
        "student_number",
        N_("Two accounts are linked to this student."),
    )
    c.flag(
        sheet,
        (numbers_per_user > 1).reindex(number.index, fill_value=False),
        "student_number",
        N_("One account can be linked to one student only."),
    )


def _check_sheets(
    c: _Checker, sheets: Mapping[str, Sheet], frames: dict[str, pd.DataFrame], deadline: Deadline
) -> None:
    """Each kind in the order they refer to each other, within the time left."""
    if "schools" in sheets:
        frames["schools"] = _schools(c, sheets["schools"])
    schools = set(frames["schools"]["code"]) if "schools" in frames else set()
    deadline.check()
    if "classes" in sheets:
        frames["classes"] = _classes(c, sheets["classes"], frames.get("schools"))
    classes = set(frames["classes"]["key"].dropna()) if "classes" in frames else set()
    deadline.check()
    if "students" in sheets:
        frames["students"] = _students(c, sheets["students"], schools, classes)
    students = set(frames["students"]["student_number"]) if "students" in frames else set()
    deadline.check()
    if "guardians" in sheets:
        frames["guardians"] = _guardians(c, sheets["guardians"], students)
    deadline.check()
    if "staff" in sheets:
        frames["staff"] = _staff(c, sheets["staff"], schools, classes, frames.get("students"))
    deadline.check()


def validate(
    parsed: ParsedRoster,
    known: Known | None = None,
    *,
    today: date | None = None,
    password_min_length: int = 10,
) -> ValidRoster:
    """Check every row of every sheet; the result lists all errors, including those
    found while reading. Frames are typed (ints, dates, booleans) and keyed by row."""
    c = _Checker(known or Known(), today or date.today(), password_min_length)
    # A sheet with missing required columns is not checked row by row: every row
    # would repeat the header's error.
    broken = {e.sheet for e in parsed.errors if e.row is None}
    sheets = {k: s for k, s in parsed.sheets.items() if s.label not in broken}
    frames: dict[str, pd.DataFrame] = {}
    try:
        _check_sheets(c, sheets, frames, parsed.deadline or Deadline(None))
    except ReadError as error:  # out of time: what is left unchecked is not imported
        c.errors.append(_read_error("", error))
    order = {kind: i for i, kind in enumerate(KINDS)}
    label_order = {s.label: order[k] for k, s in parsed.sheets.items()}
    errors = sorted(
        parsed.errors + c.errors,
        key=lambda e: (label_order.get(e.sheet, -1), e.row or 0),
    )
    columns = {k: frozenset(s.frame.columns) for k, s in parsed.sheets.items()}
    return ValidRoster(frames, columns, errors)


# ----------------------------------------------------------------------------- template

# Synthetic example rows: an invented school, names that are no one's (示例 = example).
EXAMPLE_ROWS: dict[str, dict[str, str]] = {
    "schools": {"school_code": "S9001", "school_name": "示例实验中学", "kind": "junior"},
    "classes": {"school_code": "S9001", "grade": "7", "class_name": "1", "entry_year": "2025"},
    "students": {
        "student_number": "G000000201301010001",
        "name": "示例学生",
        "sex": "F",
        "birth_date": "2013-01-01",
        "school_code": "S9001",
        "grade": "7",
        "class_name": "1",
        "status": "enrolled",
        "boarding": "否",
        "left_behind": "否",
        "ethnicity": "01",
    },
    "guardians": {
        "student_number": "G000000201301010001",
        "guardian_name": "示例家长",
        "relation": "母亲",
        "phone": "13800000000",
    },
    "staff": {
        "username": "example.committee",
        "display_name": "示例学生",
        "role": "committee",
        "school_code": "S9001",
        "grade": "7",
        "class_name": "1",
        "student_number": "G000000201301010001",
        "initial_password": "",
        "email": "",
    },
}


def template_rows(language: str = "zh") -> dict[str, list[list[str]]]:
    """One table per kind: the header row (Chinese or English) and one example row."""
    tables = {}
    for kind, columns in COLUMNS.items():
        names = [c.name for c in columns]
        headers = [CHINESE_HEADERS[n] if language == "zh" else n for n in names]
        tables[kind] = [headers, [EXAMPLE_ROWS[kind][n] for n in names]]
    return tables


def template_xlsx(language: str = "zh") -> bytes:
    """The workbook template: one sheet per kind, cells stored as text (the text format
    keeps 学籍号 and phone numbers from turning into numbers)."""
    sheets = [
        exports.Sheet(
            CHINESE_SHEETS[kind] if language == "zh" else kind,
            [[exports.Formatted(value, "@") for value in row] for row in rows],
            widths=[20] * len(rows[0]),
        )
        for kind, rows in template_rows(language).items()
    ]
    return exports.xlsx_bytes(sheets)


def template_csv(kind: str, language: str = "zh") -> bytes:
    """One kind's template as CSV in UTF-8 with BOM (Excel opens it as UTF-8)."""
    return exports.csv_bytes(template_rows(language)[kind], lineterminator="\n")
