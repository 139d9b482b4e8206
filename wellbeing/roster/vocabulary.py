"""The roster's vocabulary: kinds of school, student statuses, roles. Plain enums with no
database import, so validation code can use them without the app."""

from __future__ import annotations

import enum
import re


class SchoolKind(enum.StrEnum):
    primary = "primary"
    junior = "junior"
    senior = "senior"
    nine_year = "nine_year"
    complete_secondary = "complete_secondary"
    vocational = "vocational"


# Grades each kind of school teaches (1-6 primary, 7-9 junior, 10-12 senior).
GRADES_BY_KIND: dict[SchoolKind, range] = {
    SchoolKind.primary: range(1, 7),
    SchoolKind.junior: range(7, 10),
    SchoolKind.senior: range(10, 13),
    SchoolKind.nine_year: range(1, 10),
    SchoolKind.complete_secondary: range(7, 13),
    SchoolKind.vocational: range(10, 13),
}


# The names Chinese schools use: 一年级 to 九年级, then 高一 to 高三 (grades 10 to 12).
GRADE_NAMES_ZH: dict[int, str] = {
    **{n: f"{word}年级" for n, word in enumerate("一二三四五六七八九", start=1)},
    10: "高一",
    11: "高二",
    12: "高三",
}


def grade_name_zh(grade: int) -> str:
    """七年级, 高一: the grade as a Chinese reader expects it, in every language's letters."""
    return GRADE_NAMES_ZH.get(grade, f"{grade}年级")


def class_name_zh(grade: int, name: str) -> str:
    """七年级1班, 高一10班; a class named in words keeps its name (高一实验班)."""
    suffix = "" if name.endswith("班") else "班"
    return f"{grade_name_zh(grade)}{name}{suffix}"


def class_sort_key(grade: int, name: str) -> tuple[int, int, int, str]:
    """Grade, then class number (2 before 10), then classes named in words by name."""
    digits = name.removesuffix("班")
    if digits.isdigit():
        return (grade, 0, int(digits), "")
    return (grade, 1, 0, name)


class StudentStatus(enum.StrEnum):
    enrolled = "enrolled"
    transferred = "transferred"
    graduated = "graduated"
    withdrawn = "withdrawn"


class Role(enum.StrEnum):
    admin = "admin"
    monitor = "monitor"
    # 分管校领导: the principal or deputy in charge of mental health. Sees the school's
    # overdue work and late alerts (names, classes, times), never counseling content.
    school_leader = "school_leader"
    counselor = "counselor"
    doctor = "doctor"
    head_teacher = "head_teacher"
    committee = "committee"
    student = "student"


# 民族: the codes of GB/T 3304 (the 56 nationalities in the standard's order, then its
# 97 and 98) and their Chinese names. A student's ethnicity is stored as the code.
ETHNICITIES: dict[str, str] = {
    "01": "汉族",
    "02": "蒙古族",
    "03": "回族",
    "04": "藏族",
    "05": "维吾尔族",
    "06": "苗族",
    "07": "彝族",
    "08": "壮族",
    "09": "布依族",
    "10": "朝鲜族",
    "11": "满族",
    "12": "侗族",
    "13": "瑶族",
    "14": "白族",
    "15": "土家族",
    "16": "哈尼族",
    "17": "哈萨克族",
    "18": "傣族",
    "19": "黎族",
    "20": "傈僳族",
    "21": "佤族",
    "22": "畲族",
    "23": "高山族",
    "24": "拉祜族",
    "25": "水族",
    "26": "东乡族",
    "27": "纳西族",
    "28": "景颇族",
    "29": "柯尔克孜族",
    "30": "土族",
    "31": "达斡尔族",
    "32": "仫佬族",
    "33": "羌族",
    "34": "布朗族",
    "35": "撒拉族",
    "36": "毛南族",
    "37": "仡佬族",
    "38": "锡伯族",
    "39": "阿昌族",
    "40": "普米族",
    "41": "塔吉克族",
    "42": "怒族",
    "43": "乌孜别克族",
    "44": "俄罗斯族",
    "45": "鄂温克族",
    "46": "德昂族",
    "47": "保安族",
    "48": "裕固族",
    "49": "京族",
    "50": "塔塔尔族",
    "51": "独龙族",
    "52": "鄂伦春族",
    "53": "赫哲族",
    "54": "门巴族",
    "55": "珞巴族",
    "56": "基诺族",
    "97": "其他",
    "98": "外国血统中国籍人士",
}


# An e-mail address as people type them (name@domain.tld), no spaces, at most 254
# characters (RFC 5321's path limit). Whether it receives mail is the mail server's say.
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
EMAIL_LENGTH = 254


def valid_email(address: str) -> bool:
    return len(address) <= EMAIL_LENGTH and EMAIL.fullmatch(address) is not None
