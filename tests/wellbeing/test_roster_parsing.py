"""Roster file reading and validation, without a database (Known stands in for it)."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from wellbeing.roster.importer import (
    KINDS,
    Known,
    decode_csv,
    detect_kind,
    normalize_student_number,
    parse_bool,
    parse_dates,
    parse_ethnicity,
    parse_grade,
    parse_sex,
    read_roster,
    template_csv,
    template_xlsx,
    valid_phone,
    valid_student_number,
    validate,
)

TODAY = date(2026, 11, 29)
KNOWN = Known(
    school_kinds={"SA": "junior"},
    class_keys=frozenset({("SA", 7, "1"), ("SA", 7, "2")}),
    student_classes={
        "G510502201301000011": ("SA", 7, "1"),
        "G510502201301000086": ("SA", 7, "1"),
    },
    student_users={"G510502201301000011": "someone"},
)
STUDENT_HEADER = "student_number,name,sex,birth_date,school_code,grade,class_name"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def check(data: bytes, known: Known = KNOWN) -> list[tuple[str, int | None, str]]:
    result = validate(read_roster(data), known, today=TODAY)
    return [(e.sheet, e.row, e.column) for e in result.errors]


def series(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype=str)


# ----------------------------------------------------------------------------- 学籍号

digits = st.text(alphabet="0123456789", min_size=17, max_size=17)


@given(
    prefix=st.sampled_from("GgLl"),
    body=digits,
    last=st.sampled_from("0123456789Xx"),
    pad=st.sampled_from(["", " ", "\u3000", "\t"]),
)
def test_valid_student_numbers_round_trip(prefix: str, body: str, last: str, pad: str) -> None:
    raw = f"{pad}{prefix}{body}{last}{pad}"
    normalized = normalize_student_number(series(raw))
    assert normalized.iloc[0] == f"{prefix}{body}{last}".upper()
    assert valid_student_number(normalized).iloc[0]


def test_full_width_student_number_is_normalized() -> None:
    assert normalize_student_number(series("Ｇ５１０５０２２０１３０１００００１１")).iloc[0] == (
        "G510502201301000011"
    )


@pytest.mark.parametrize(
    "value",
    ["", "G12345", "X510502201301000011", "G51050220130100001Y", "G5105022013010000111", "510502"],
)
def test_malformed_student_numbers_are_refused(value: str) -> None:
    assert not valid_student_number(normalize_student_number(series(value))).iloc[0]


# ----------------------------------------------------------------------------- scalars


@given(st.text(max_size=12))
def test_sex_parsing_gives_m_f_or_nothing(text: str) -> None:
    assert parse_sex(series(text)).iloc[0] in {"M", "F", None}


@given(st.text(max_size=12))
def test_bool_parsing_gives_true_false_or_nothing(text: str) -> None:
    assert parse_bool(series(text)).iloc[0] in {True, False, None}


@given(st.text(max_size=20))
def test_date_parsing_never_raises(text: str) -> None:
    value = parse_dates(series(text)).iloc[0]
    assert value is pd.NaT or isinstance(value, pd.Timestamp)


@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    style=st.sampled_from(
        [
            "{:%Y-%m-%d}",
            "{:%Y/%m/%d}",
            "{d.year}/{d.month}/{d.day}",
            "{d.year}年{d.month}月{d.day}日",
            "{:%Y-%m-%d} 00:00:00",
        ]
    ),
)
def test_dates_round_trip_in_every_accepted_style(day: date, style: str) -> None:
    text = style.format(day, d=day)
    assert parse_dates(series(text)).iloc[0].date() == day


def test_sex_bool_and_grade_words() -> None:
    assert parse_sex(series("男", "女", "m", "F", "x", "")).tolist() == [
        "M",
        "F",
        "M",
        "F",
        None,
        None,
    ]
    assert parse_bool(series("是", "否", "1", "0", "TRUE", "", "maybe")).tolist() == [
        True,
        False,
        True,
        False,
        True,
        False,
        None,
    ]
    assert parse_grade(series("7", "7.0", "初一", "高三", "七年级", "9年级", "x")).tolist() == [
        7,
        7,
        7,
        12,
        7,
        9,
        pd.NA,
    ]


def test_ethnicity_codes_and_names() -> None:
    values = series(
        "01", "1", "１", "06", "汉族", "汉", "土家族", "土", "97", "", "57", "00", "汉人"
    )  # fmt: skip
    assert parse_ethnicity(values).tolist() == [
        "01",
        "01",
        "01",
        "06",
        "01",
        "01",
        "15",
        "30",
        "97",
        None,
        None,
        None,
        None,
    ]


def test_a_bad_ethnicity_is_refused_with_its_row_and_column() -> None:
    data = csv_bytes(
        STUDENT_HEADER + ",民族",
        "G510502201301000029,甲,M,2013-05-01,SA,7,1,01",
        "G510502201301000037,乙,M,2013-05-01,SA,7,1,苗族",
        "G510502201301000045,丙,M,2013-05-01,SA,7,1,",
        "G510502201301000052,丁,M,2013-05-01,SA,7,1,火星族",
    )
    result = validate(read_roster(data), KNOWN, today=TODAY)
    (error,) = result.errors
    assert (error.sheet, error.row, error.column) == ("students", 4, "民族")
    assert error.render().startswith("students row 4 [民族]: Unknown ethnicity")
    assert result.frames["students"]["ethnicity"].tolist()[:3] == ["01", "06", None]


def test_excel_serial_dates_and_impossible_dates() -> None:
    parsed = parse_dates(series("41395", "2013-02-30", "2013-13-01"))
    assert parsed.iloc[0].date() == date(2013, 5, 1)
    assert parsed.iloc[1:].isna().all()


def test_phone_numbers() -> None:
    assert valid_phone(series("13800000000", "+86-138-0000-0000", "0830-1234567")).all()
    assert not valid_phone(series("12345", "1380000000x", "1" * 21)).any()


# ----------------------------------------------------------------------------- reading


def test_csv_decoding_utf8_bom_and_gbk() -> None:
    text = "学籍号,姓名\n"
    assert decode_csv(text.encode("utf-8")) == text
    assert decode_csv(text.encode("utf-8-sig")) == text
    assert decode_csv(text.encode("gbk")) == text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", ["zh", "en"])
def test_kind_is_detected_from_template_headers(kind: str, language: str) -> None:
    header = template_csv(kind, language).decode("utf-8-sig").splitlines()[0].split(",")
    assert detect_kind(header) == kind


def test_header_aliases_and_hints_are_accepted() -> None:
    data = csv_bytes(
        "Student Number,学生姓名,性别*,出生日期(YYYY-MM-DD),学校代码,年级,班级,备注",
        "G510502201301000029,甲,男,2013-05-01,SA,7,1,anything",
    )
    parsed = read_roster(data)
    assert list(parsed.sheets) == ["students"]
    assert parsed.notes[0].params["columns"] == "备注"
    assert check(data) == []


def test_blank_rows_are_skipped_but_keep_row_numbers() -> None:
    data = csv_bytes(
        STUDENT_HEADER,
        "G510502201301000029,甲,M,2013-05-01,SA,7,1",
        "",
        ",,,,,,",
        "G510502201301000037,乙,Q,2013-05-01,SA,7,1",
    )
    assert check(data) == [("students", 4, "sex")]


def test_unknown_file_and_missing_columns() -> None:
    assert check(csv_bytes("foo,bar", "1,2")) == [("", None, "")]
    assert check(csv_bytes("student_number,name,sex", "G510502201301000029,甲,M")) == [
        ("students", None, column)
        for column in ("birth_date", "school_code", "grade", "class_name")
    ]


def test_undecodable_and_old_excel_files() -> None:
    assert check(b"\xff\xfe\x00\x00\x81") == [("", None, "")]
    assert check(b"\xd0\xcf\x11\xe0rest") == [("", None, "")]


def test_workbook_sheets_by_chinese_names_and_unknown_sheet_ignored() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "学生"
    sheet.append(STUDENT_HEADER.split(","))
    sheet.append(["G510502201301000029", "甲", "女", date(2013, 5, 1), "SA", 7, "1"])
    workbook.create_sheet("说明").append(["请按模板填写"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = read_roster(buffer.getvalue(), "roster.xlsx")
    assert list(parsed.sheets) == ["students"]
    assert parsed.sheets["students"].frame.iloc[0]["birth_date"] == "2013-05-01"
    assert [n.params.get("sheet") for n in parsed.notes] == ["说明"]
    assert check(buffer.getvalue()) == []


# ----------------------------------------------------------------------------- validation


def test_every_bad_row_is_listed_with_its_column() -> None:
    data = csv_bytes(
        STUDENT_HEADER,
        "G510502201301000029,甲,M,2013-05-01,SA,7,1",
        "G51050220130100002,乙,M,2013-05-01,SA,7,1",  # 学籍号 one digit short
        "G510502201301000037,丙,M,1989-12-31,SA,7,1",  # born too early
        "G510502201301000045,丁,M,2013-05-01,SA,13,1",  # no grade 13
        "G510502201301000052,戊,M,2013-05-01,SA,7,9",  # no class 9
        "G510502201301000060,己,M,2013-05-01,SB,7,1",  # no school SB
        "G510502201301000029,庚,X,2013-05-01,SA,7,1",  # repeats row 1, bad sex
    )
    assert check(data) == [
        ("students", 2, "student_number"),
        ("students", 3, "birth_date"),
        ("students", 4, "grade"),
        ("students", 5, "class_name"),
        ("students", 6, "school_code"),
        ("students", 7, "sex"),
        ("students", 7, "student_number"),
    ]


def test_error_messages_name_the_problem() -> None:
    data = csv_bytes(STUDENT_HEADER, "G510502201301000029,甲,M,2030-01-01,SA,7,1")
    (error,) = validate(read_roster(data), KNOWN, today=TODAY).errors
    assert error.render() == (
        "students row 1 [birth_date]: Birth date must lie between 1990-01-01 and 2026-11-29."
    )


def test_duplicates_within_the_file_are_refused() -> None:
    classes = csv_bytes(
        "school_code,grade,class_name,entry_year", "SA,7,3,2026", "SA,7,4,2026", "SA,7,3,2026"
    )
    assert check(classes) == [("classes", 3, "class_name")]
    staff = csv_bytes(
        "username,display_name,role,school_code",
        "wang,王老师,counselor,SA",
        "wang,王老师,doctor,SA",  # another role for the same user: fine
        "wang,王老师,counselor,SA",
        "li,李老师,counselor,SA",
        "li,李四老师,doctor,SA",
    )
    assert check(staff) == [("staff", 3, "role"), ("staff", 5, "display_name")]


def test_classes_refer_to_schools_of_the_same_workbook() -> None:
    workbook = Workbook()
    schools = workbook.active
    schools.title = "schools"
    schools.append(["school_code", "school_name", "kind"])
    schools.append(["SN", "新学校", "小学"])
    classes = workbook.create_sheet("班级")
    classes.append(["学校代码", "年级", "班级", "入学年份"])
    classes.append(["SN", 1, "1", 2026])
    classes.append(["SN", 7, "1", 2026])  # a primary school has no grade 7
    classes.append(["SX", 1, "1", 2026])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert check(buffer.getvalue(), Known()) == [
        ("班级", 2, "年级"),
        ("班级", 3, "学校代码"),
    ]


def test_staff_roles_need_their_scope() -> None:
    data = csv_bytes(
        "username,display_name,role,school_code,grade,class_name,student_number,initial_password",
        "boss,管理员,admin,,,,,",
        "coun,心理老师,心理教师,,,,,",  # counselor without a school
        "head,班主任,班主任,SA,7,,,",  # head teacher without a class
        "kid1,委员,心理委员,SA,7,1,,",  # committee without a student
        "kid2,委员,committee,SA,7,2,G510502201301000086,",  # student of class 1, not 2
        "kid3,委员,committee,SA,7,1,G510502201301000011,",  # linked to 'someone' already
        "xx,某人,principal,,,,,",
        "short,某人,admin,,,,,abc",
        "Bad Name,某人,admin,,,,,",
    )
    assert check(data) == [
        ("staff", 2, "school_code"),
        ("staff", 3, "class_name"),
        ("staff", 4, "student_number"),
        ("staff", 5, "student_number"),
        ("staff", 6, "student_number"),
        ("staff", 7, "role"),
        ("staff", 8, "initial_password"),
        ("staff", 9, "username"),
    ]


def test_passwords_are_never_echoed_in_errors() -> None:
    data = csv_bytes("username,display_name,role,initial_password", "u1,甲,admin,secret")
    (error,) = validate(read_roster(data), KNOWN, today=TODAY).errors
    assert error.column == "initial_password" and error.value == ""


def test_guardians_need_a_known_student_and_a_phone() -> None:
    data = csv_bytes(
        "学籍号,监护人姓名,关系,联系电话",
        "G510502201301000011,家长甲,母亲,13800000000",
        "G510502201301000011,家长甲,母亲,13800000001",
        "G510502201301000029,家长乙,父亲,13800000000",
        "G510502201301000011,家长丙,父亲,call me",
    )
    assert check(data) == [
        ("guardians", 2, "监护人姓名"),
        ("guardians", 3, "学籍号"),
        ("guardians", 4, "联系电话"),
    ]


def test_template_is_valid_on_an_empty_database() -> None:
    for language in ("zh", "en"):
        result = validate(read_roster(template_xlsx(language)), Known(), today=TODAY)
        assert result.ok, result.errors
        assert set(result.frames) == set(KINDS)
