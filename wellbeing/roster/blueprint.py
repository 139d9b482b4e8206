"""Roster browsing within scope: schools, classes, students; the 心理委员's name list."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, render_template
from flask_login import current_user
from markupsafe import Markup

from wellbeing.paging import paginate
from wellbeing.roster import queries
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.roster.vocabulary import ETHNICITIES
from wellbeing.security.audit import record_event, record_view
from wellbeing.security.policy import active_break_glass_grant, can, requires

bp = Blueprint("roster", __name__)

CLASS_PAGE = 60  # students: a Chinese class has 40 to 55

# Sections the areas add to a student's page (counselors' notes), in the order registered:
# each gets the student and the break-glass grant in force (its id, or None) and returns
# its HTML, or None when the user sees nothing of it. The roster knows no area.
StudentSection = Callable[[Student, int | None], Markup | None]
STUDENT_SECTIONS: list[StudentSection] = []


def register_student_section(section: StudentSection) -> StudentSection:
    STUDENT_SECTIONS.append(section)
    return section


@bp.get("/schools")
@requires("roster.list_schools")
def schools() -> str:
    schools = paginate(queries.schools_in_scope(current_user, "roster.list_schools"))
    return render_template("roster/schools.html", schools=schools)


@bp.get("/schools/<int:school_id>")
@requires("roster.view_school", School)
def school(school: School) -> str:
    classes = paginate(queries.classes_in_scope(current_user, "roster.view_class", school))
    counts = queries.enrolled_counts_by_class([c.id for c in classes])
    return render_template("roster/school.html", school=school, classes=classes, counts=counts)


@bp.get("/classes/<int:class_id>")
@requires("roster.view_class", SchoolClass)
def school_class(school_class: SchoolClass) -> str:
    # A class fits on one page; only an unusually large one is paged.
    students = paginate(school_class.students, per_page=CLASS_PAGE)
    record_view(school_class, len(students))
    return render_template("roster/class.html", school_class=school_class, students=students)


@bp.get("/classes/<int:class_id>/names")
@requires("committee.class_roster", SchoolClass)
def class_names(school_class: SchoolClass) -> str:
    names = [s.name for s in school_class.students if s.status == "enrolled"]
    record_view(school_class, len(names))
    return render_template("roster/class_names.html", school_class=school_class, names=names)


@bp.get("/students/<int:student_id>")
@requires("roster.view_student", Student)
def student(student: Student) -> str:
    # A read under break-glass names its grant in every audit row it makes (the grant
    # holds the purpose, sealed).
    grant = active_break_glass_grant(current_user, student)
    grant_id = grant.id if grant else None
    detail = {"break_glass_grant": grant_id} if grant else None
    record_event("view_student", target=student, detail=detail)
    sections = [html for section in STUDENT_SECTIONS if (html := section(student, grant_id))]
    return render_template(
        "roster/student.html",
        student=student,
        ethnicity=ETHNICITIES.get(student.ethnicity, student.ethnicity),
        show_guardians=can(current_user, "roster.view_guardians", student),
        sections=sections,
    )
