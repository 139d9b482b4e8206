"""Parent letters, per class and round: who gets one, and the log of what was printed.

A vision letter goes to the parents of a student with screening myopia (advice:
cycloplegic refraction at an eye clinic) or, failing that, poor uncorrected vision
(advice: an eye examination). Students wearing orthokeratology lenses are already under
an eye clinic's care and get none. A fitness letter goes where the year's rating is
"fail". Printing is an action (POST): it writes one log row per letter, sharing a batch
id, and one audit row for the batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wellbeing.extensions import db
from wellbeing.health import queries
from wellbeing.health.models import FitnessRecord, LetterLog, VisionRecord
from wellbeing.health.rounds import VisionRound
from wellbeing.roster.models import SchoolClass, Student
from wellbeing.security.audit import record_event
from wellbeing.security.fields import new_uid


@dataclass
class Letter:
    student: Student
    reason: str  # myopia, poor_vision or fitness_fail
    record: VisionRecord | FitnessRecord
    printed: LetterLog | None = None


def chinese_round(kind: str, round_key: str) -> str:
    """The round as the (always Chinese) letters name it: 2026年秋季, 2026—2027学年."""
    if kind == "vision":
        year, season = round_key.split("-")
        return f"{year}年{'春季' if season == 'spring' else '秋季'}"
    start = int(round_key)
    return f"{start}—{start + 1}学年"


def vision_reason(record: VisionRecord | None) -> str | None:
    if record is None or record.status != "measured" or record.ortho_k:
        return None
    if record.myopia:
        return "myopia"
    if record.poor_vision:
        return "poor_vision"
    return None


def vision_letters(school_class: SchoolClass, vision_round: VisionRound) -> list[Letter]:
    students = queries.enrolled_students(school_class)
    ids = [student.id for student in students]
    records = queries.vision_by_student(ids, vision_round)
    printed = queries.letters_printed(ids, "vision", vision_round.key)
    letters = []
    for student in students:
        record = records.get(student.id)
        reason = vision_reason(record)
        if reason:
            letters.append(Letter(student, reason, record, printed.get(student.id)))
    return letters


def fitness_letters(school_class: SchoolClass, school_year: int) -> list[Letter]:
    students = queries.enrolled_students(school_class)
    ids = [student.id for student in students]
    records = queries.fitness_by_student(ids, school_year)
    printed = queries.letters_printed(ids, "fitness", str(school_year))
    letters = []
    for student in students:
        record = records.get(student.id)
        if record is not None and record.status == "measured" and record.rating == "fail":
            letters.append(Letter(student, "fitness_fail", record, printed.get(student.id)))
    return letters


def log_printed(
    letters: list[Letter], kind: str, round_key: str, school_class: SchoolClass, user: Any
) -> str:
    """Record that these letters were printed now; returns the batch id."""
    batch = new_uid()
    for letter in letters:
        letter.printed = LetterLog(
            student_id=letter.student.id,
            kind=kind,
            round_key=round_key,
            reason=letter.reason,
            batch=batch,
            printed_by_id=user.id,
        )
        db.session.add(letter.printed)
    db.session.flush()
    record_event(
        "export",
        target=school_class,
        detail={"kind": f"parent_letters_{kind}", "round": round_key, "letters": len(letters)},
    )
    return batch
