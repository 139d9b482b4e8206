"""The organisation (district, school, class) and its people (students, guardians, users)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.vocabulary import GRADES_BY_KIND, Role, SchoolKind, StudentStatus

__all__ = [
    "GRADES_BY_KIND",
    "District",
    "Guardian",
    "Role",
    "RoleAssignment",
    "School",
    "SchoolClass",
    "SchoolKind",
    "Student",
    "StudentStatus",
    "User",
]


def _in(values: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in values)


class District(db.Model):
    __tablename__ = "district"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))

    schools: Mapped[list[School]] = relationship(back_populates="district", order_by="School.code")


class School(db.Model):
    __tablename__ = "school"
    __table_args__ = (CheckConstraint(f"kind IN ({_in(SchoolKind)})", name="kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))

    district: Mapped[District] = relationship(back_populates="schools")
    classes: Mapped[list[SchoolClass]] = relationship(
        back_populates="school", order_by=lambda: SchoolClass.ordering()
    )


class SchoolClass(db.Model):
    """A class (班级). Named SchoolClass because `class` is a Python keyword."""

    __tablename__ = "school_class"
    __table_args__ = (
        UniqueConstraint("school_id", "grade", "name", name="uq_school_class_grade_name"),
        CheckConstraint("grade BETWEEN 1 AND 12", name="grade"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    grade: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))
    entry_year: Mapped[int] = mapped_column(Integer)

    school: Mapped[School] = relationship(back_populates="classes")

    @classmethod
    def ordering(cls) -> tuple:
        """ORDER BY grade, then class number: 2 before 10 (names of digits sort by length
        first), as `vocabulary.class_sort_key` orders them in Python."""
        return (cls.grade, func.length(cls.name), cls.name)

    students: Mapped[list[Student]] = relationship(
        back_populates="school_class", order_by="Student.student_number"
    )


class Student(db.Model):
    __tablename__ = "student"
    __table_args__ = (
        CheckConstraint("sex IN ('M', 'F')", name="sex"),
        CheckConstraint(f"status IN ({_in(StudentStatus)})", name="status"),
        CheckConstraint("ethnicity IS NULL OR length(ethnicity) = 2", name="ethnicity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    # 学籍号: the national student number, the key for every import.
    student_number: Mapped[str] = mapped_column(String(19), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=StudentStatus.enrolled.value)
    boarding: Mapped[bool] = mapped_column(Boolean, default=False)
    # 留守儿童: both parents work away from home.
    left_behind: Mapped[bool] = mapped_column(Boolean, default=False)
    # 民族: the two-digit GB/T 3304 code (vocabulary.ETHNICITIES); None when unknown.
    ethnicity: Mapped[str | None] = mapped_column(String(2))

    school_class: Mapped[SchoolClass] = relationship(back_populates="students")
    guardians: Mapped[list[Guardian]] = relationship(
        back_populates="student", order_by="Guardian.id", cascade="all, delete-orphan"
    )


class Guardian(db.Model):
    __tablename__ = "guardian"
    __table_args__ = (UniqueConstraint("student_id", "name", name="uq_guardian_student_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    relation: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str] = mapped_column(String(20))

    student: Mapped[Student] = relationship(back_populates="guardians")


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    # Where mail notifications go (optional); checked by roster.vocabulary.valid_email.
    email: Mapped[str | None] = mapped_column(String(254))
    # None means no password is set: the account cannot log in until an admin sets one.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # A 心理委员 is a student of their class; this links their account to that student.
    student_id: Mapped[int | None] = mapped_column(ForeignKey("student.id"), unique=True)
    # Raised by logout and password change: sessions holding an older value are refused.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    student: Mapped[Student | None] = relationship()
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RoleAssignment.id"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def has_role(self, role: Role | str) -> bool:
        return any(assignment.role == role for assignment in self.roles)


class RoleAssignment(db.Model):
    """A role held over one node of the organisation tree (its scope)."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        CheckConstraint(f"role IN ({_in(Role)})", name="role"),
        # Exactly one scope node: the district, a school, or a class.
        CheckConstraint(
            "(CASE WHEN district_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN school_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN class_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_scope",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("school_class.id"), index=True)

    user: Mapped[User] = relationship(back_populates="roles")
    district: Mapped[District | None] = relationship()
    school: Mapped[School | None] = relationship()
    school_class: Mapped[SchoolClass | None] = relationship()
