"""The roster's vocabulary: kinds of school, student statuses, roles. Plain enums with no
database import, so validation code can use them without the app."""

from __future__ import annotations

import enum


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


class StudentStatus(enum.StrEnum):
    enrolled = "enrolled"
    transferred = "transferred"
    graduated = "graduated"
    withdrawn = "withdrawn"


class Role(enum.StrEnum):
    admin = "admin"
    monitor = "monitor"
    counselor = "counselor"
    doctor = "doctor"
    head_teacher = "head_teacher"
    committee = "committee"
    student = "student"
