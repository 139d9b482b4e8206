"""Applying a roster file to the database: all or nothing, idempotent, in bulk.

Every row is validated (wellbeing.roster.importer) before anything is written; one bad
row means no write at all. Writes are upserts by natural key (学籍号, username, school
code, (school, grade, class name), (student, guardian name)) done with one bulk INSERT
and one bulk UPDATE by primary key per table, after one query per table for the keys
that exist. Rows whose values are unchanged are not written. Functions only flush: the
request (or the CLI command) commits once.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from flask import current_app
from sqlalchemy import delete, insert, select, update

from wellbeing.extensions import db
from wellbeing.roster.importer import (
    DISTRICT_ROLES,
    SCHOOL_ROLES,
    Known,
    Message,
    ParsedRoster,
    RowError,
    class_key,
    read_roster,
    validate,
)
from wellbeing.roster.models import (
    District,
    Guardian,
    Role,
    RoleAssignment,
    School,
    SchoolClass,
    Student,
    StudentStatus,
    User,
)
from wellbeing.roster.signals import roster_imported, students_changed
from wellbeing.security.audit import record_event
from wellbeing.security.passwords import hash_password

log = logging.getLogger(__name__)

# Rows per bulk statement: bounds memory per statement and paces the progress bar.
CHUNK = 10_000
# Generated passwords avoid look-alike characters (0/O, 1/l/I): they are read off paper.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

Progress = Callable[[int], None]


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Credential:
    """A generated password, shown once (page) or written where asked (CLI)."""

    username: str
    display_name: str
    password: str = field(repr=False)  # never in a log line or traceback


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    notes: list[Message] = field(default_factory=list)
    counts: dict[str, KindCounts] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)  # 学籍号 of students now in another class
    # Enrolled students of the file's schools that the students sheet does not list.
    missing: list[str] = field(default_factory=list)
    credentials: list[Credential] = field(default_factory=list)
    roles_added: int = 0
    roles_removed: int = 0
    district_created: bool = False
    # What each area brought in line with the changed students, e.g. {"campaigns": 3}.
    refreshed: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def import_roster(
    data: bytes,
    filename: str = "",
    *,
    password_min_length: int = 10,
    progress: Progress | None = None,
    today: date | None = None,
) -> ImportResult:
    """Read, validate and apply one file (XLSX with one sheet per kind, or a CSV)."""
    return apply_roster(
        read_roster(data, filename),
        password_min_length=password_min_length,
        progress=progress,
        today=today,
    )


def apply_roster(
    parsed: ParsedRoster,
    *,
    password_min_length: int = 10,
    progress: Progress | None = None,
    today: date | None = None,
) -> ImportResult:
    """Validate a read file against the database; write it only if every row is good."""
    existing = _Existing.load(parsed)
    valid = validate(parsed, existing.known(), today=today, password_min_length=password_min_length)
    result = ImportResult(errors=valid.errors, notes=list(parsed.notes))
    if not valid.ok:
        return result
    writer = _Writer(existing, result, progress or (lambda _n: None), password_min_length)
    frames = valid.frames
    if "schools" in frames or _has_district_roles(frames.get("staff")):
        writer.district_id(create=True)
    if "schools" in frames:
        writer.schools(frames["schools"])
    if "classes" in frames:
        writer.classes(frames["classes"])
    if "students" in frames:
        writer.students(frames["students"], valid.columns["students"])
    if "guardians" in frames:
        writer.guardians(frames["guardians"])
    if "staff" in frames:
        writer.staff(frames["staff"])
    db.session.flush()
    # Bulk statements bypass the identity map: drop stale objects so reads see the rows.
    db.session.expire_all()
    if "students" in frames:
        # The areas follow at once (a campaign draws arrivals, follows moves and departures).
        result.refreshed = dict(reply for _, reply in students_changed.send("roster"))
    roster_imported.send("roster", rows=sum(len(frame) for frame in frames.values()))
    log.info("roster import: %s", _summary(result))
    record_event(
        "import",
        target=("roster", "file"),
        detail={
            "counts": {kind: vars(c) for kind, c in result.counts.items()},
            "moved": len(result.moved),
            "missing": len(result.missing),
        },
    )
    return result


def _summary(result: ImportResult) -> str:
    parts = [
        f"{kind} +{c.created} ~{c.updated} ={c.unchanged}" for kind, c in result.counts.items()
    ]
    parts.append(f"moved {len(result.moved)} missing {len(result.missing)}")
    return ", ".join(parts)


def _has_district_roles(staff: pd.DataFrame | None) -> bool:
    return staff is not None and bool(staff["role"].isin(DISTRICT_ROLES).any())


def _frame(rows: Iterable[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


@dataclass
class _Existing:
    """The keys (and compared values) the database holds, one query per table."""

    schools: pd.DataFrame
    classes: pd.DataFrame
    students: pd.DataFrame
    users: pd.DataFrame

    @classmethod
    def load(cls, parsed: ParsedRoster) -> _Existing:
        # 100,000 students are read only when the file refers to students at all.
        needs_students = bool({"students", "guardians", "staff"} & set(parsed.sheets))
        return cls(
            schools=_load_schools(),
            classes=_load_classes(),
            students=_load_students() if needs_students else _frame([], _STUDENT_COLUMNS),
            users=_load_users() if "staff" in parsed.sheets else _frame([], _USER_COLUMNS),
        )

    def known(self) -> Known:
        students = self.students
        return Known(
            school_kinds=dict(zip(self.schools["code"], self.schools["kind"], strict=True)),
            class_keys=frozenset(
                zip(
                    self.classes["school_code"],
                    self.classes["grade"],
                    self.classes["name"],
                    strict=True,
                )
            ),
            student_classes=dict(
                zip(
                    students["student_number"],
                    zip(
                        students["school_code"],
                        students["grade"],
                        students["class_name"],
                        strict=True,
                    ),
                    strict=True,
                )
            ),
            student_users={
                n: u
                for n, u in zip(self.users["student_number"], self.users["username"], strict=True)
                if isinstance(n, str)  # NaN for accounts linked to no student
            },
        )


def _load_schools() -> pd.DataFrame:
    rows = db.session.execute(select(School.id, School.code, School.name, School.kind)).all()
    return _frame(rows, ["id", "code", "name", "kind"])


_CLASS_COLUMNS = ["id", "school_id", "school_code", "grade", "name", "entry_year"]


def _load_classes() -> pd.DataFrame:
    rows = db.session.execute(
        select(
            SchoolClass.id,
            SchoolClass.school_id,
            School.code,
            SchoolClass.grade,
            SchoolClass.name,
            SchoolClass.entry_year,
        ).join(School)
    ).all()
    return _frame(rows, _CLASS_COLUMNS)


_STUDENT_COLUMNS = [
    "id",
    "student_number",
    "name",
    "sex",
    "birth_date",
    "class_id",
    "status",
    "boarding",
    "left_behind",
    "ethnicity",
    "school_code",
    "grade",
    "class_name",
]


def _load_students() -> pd.DataFrame:
    rows = db.session.execute(
        select(
            Student.id,
            Student.student_number,
            Student.name,
            Student.sex,
            Student.birth_date,
            Student.class_id,
            Student.status,
            Student.boarding,
            Student.left_behind,
            Student.ethnicity,
            School.code,
            SchoolClass.grade,
            SchoolClass.name,
        )
        .join(SchoolClass, Student.class_id == SchoolClass.id)
        .join(School, SchoolClass.school_id == School.id)
    ).all()
    return _frame(rows, _STUDENT_COLUMNS)


_USER_COLUMNS = ["id", "username", "display_name", "email", "student_id", "student_number"]


def _load_users() -> pd.DataFrame:
    rows = db.session.execute(
        select(
            User.id,
            User.username,
            User.display_name,
            User.email,
            User.student_id,
            Student.student_number,
        ).outerjoin(Student, User.student_id == Student.id)
    ).all()
    return _frame(rows, _USER_COLUMNS)


def _chunks(rows: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _changed(new: pd.DataFrame, old: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Row-wise: does any compared column differ? (Frames aligned by position.)"""
    changed = pd.Series(False, index=new.index)
    for column in columns:
        changed |= new[column].to_numpy(dtype=object) != old[column].to_numpy(dtype=object)
    return changed


class _Writer:
    def __init__(
        self,
        existing: _Existing,
        result: ImportResult,
        progress: Progress,
        password_min_length: int,
    ) -> None:
        self.existing = existing
        self.result = result
        self.progress = progress
        self.password_length = max(12, password_min_length)
        self._district_id: int | None = None

    # -- helpers

    def _upsert(
        self,
        model: type[db.Model],
        kind: str,
        data: pd.DataFrame,
        old: pd.DataFrame,
        compared: list[str],
        on_insert: dict[str, Any] | None = None,
    ) -> None:
        """Insert rows whose old id is missing, update rows that differ, skip the rest.
        `old` is aligned with `data` by position."""
        data = data.reset_index(drop=True)
        old = old.reset_index(drop=True)
        is_new = old["id"].isna()
        changed = ~is_new & _changed(data, old, compared)
        inserts = data[is_new].assign(**(on_insert or {})).to_dict("records")
        updates = (
            data.loc[changed, compared]
            .assign(id=old.loc[changed, "id"].astype("int64"))
            .to_dict("records")
        )
        for chunk in _chunks(inserts):
            db.session.execute(insert(model), chunk)
            self.progress(len(chunk))
        for chunk in _chunks(updates):
            db.session.execute(update(model), chunk)
            self.progress(len(chunk))
        counts = KindCounts(len(inserts), len(updates), len(data) - len(inserts) - len(updates))
        self.progress(counts.unchanged)
        self.result.counts[kind] = counts

    def district_id(self, create: bool = False) -> int | None:
        if self._district_id is None:
            self._district_id = db.session.scalar(
                select(District.id).order_by(District.id).limit(1)
            )
        if self._district_id is None and create:
            # The system serves one district; the first import that needs it creates
            # the one the settings name.
            config = current_app.config
            district = District(code=config["DISTRICT_CODE"], name=config["DISTRICT_NAME"])
            db.session.add(district)
            db.session.flush()
            self._district_id = district.id
            self.result.district_created = True
        return self._district_id

    def _school_ids(self) -> dict[str, int]:
        return dict(db.session.execute(select(School.code, School.id)).all())

    def _class_ids(self) -> dict[str, int]:
        rows = db.session.execute(
            select(School.code, SchoolClass.grade, SchoolClass.name, SchoolClass.id).join(School)
        ).all()
        return {class_key(code, grade, name): id_ for code, grade, name, id_ in rows}

    def _student_ids(self) -> dict[str, int]:
        return dict(db.session.execute(select(Student.student_number, Student.id)).all())

    # -- kinds

    def schools(self, frame: pd.DataFrame) -> None:
        data = frame[["code", "name", "kind"]]
        old = self.existing.schools.set_index("code").reindex(data["code"])
        self._upsert(
            School, "schools", data, old, ["name", "kind"], {"district_id": self.district_id()}
        )

    def classes(self, frame: pd.DataFrame) -> None:
        school_ids = self._school_ids()
        data = pd.DataFrame(
            {
                "school_id": frame["school_code"].map(school_ids).astype("int64"),
                "grade": frame["grade"].astype("int64"),
                "name": frame["name"],
                "entry_year": frame["entry_year"].astype("int64"),
            }
        )
        key = ["school_id", "grade", "name"]
        old = self.existing.classes.set_index(key).reindex(pd.MultiIndex.from_frame(data[key]))
        self._upsert(SchoolClass, "classes", data, old, ["entry_year"])

    def students(self, frame: pd.DataFrame, columns: frozenset[str]) -> None:
        # Optional columns absent from the file leave stored values alone on update.
        optional = [c for c in ("status", "boarding", "left_behind", "ethnicity") if c in columns]
        data = frame[["student_number", "name", "sex", "birth_date"]].assign(
            class_id=frame["key"].map(self._class_ids()).astype("int64")
        )
        for column in optional:
            data[column] = frame[column]
        existing = self.existing.students
        old = existing.set_index("student_number").reindex(data["student_number"])
        defaults = {"status": StudentStatus.enrolled.value, "boarding": False, "left_behind": False}
        compared = ["name", "sex", "birth_date", "class_id", *optional]
        self._upsert(
            Student,
            "students",
            data,
            old,
            compared,
            {k: v for k, v in defaults.items() if k not in optional},
        )
        moved = old["id"].notna().to_numpy() & (
            data["class_id"].to_numpy() != old["class_id"].to_numpy()
        )
        self.result.moved = sorted(data.loc[moved, "student_number"])
        listed = set(data["student_number"])
        in_schools = existing["school_code"].isin(set(frame["school_code"]))
        enrolled = existing["status"] == StudentStatus.enrolled.value
        absent = in_schools & enrolled & ~existing["student_number"].isin(listed)
        self.result.missing = sorted(existing.loc[absent, "student_number"])

    def guardians(self, frame: pd.DataFrame) -> None:
        data = pd.DataFrame(
            {
                "student_id": frame["student_number"].map(self._student_ids()).astype("int64"),
                "name": frame["name"],
                "relation": frame["relation"],
                "phone": frame["phone"],
            }
        )
        rows = db.session.execute(
            select(
                Guardian.id, Guardian.student_id, Guardian.name, Guardian.relation, Guardian.phone
            )
        ).all()
        existing = _frame(rows, ["id", "student_id", "name", "relation", "phone"])
        key = ["student_id", "name"]
        old = existing.set_index(key).reindex(pd.MultiIndex.from_frame(data[key]))
        self._upsert(Guardian, "guardians", data, old, ["relation", "phone"])

    def staff(self, frame: pd.DataFrame) -> None:
        student_ids = self._student_ids() if (frame["student_number"] != "").any() else {}
        accounts = _accounts(frame, student_ids)
        user_ids = self._users(accounts)
        self._roles(frame, user_ids)
        self.progress(len(frame))

    def _users(self, accounts: pd.DataFrame) -> dict[str, int]:
        """Create new accounts, update names and committee links; return username -> id."""
        old = self.existing.users.set_index("username").reindex(accounts["username"])
        old = old.reset_index(drop=True)
        accounts = accounts.reset_index(drop=True)
        is_new = old["id"].isna()
        old_link = old["student_id"].astype("Int64")
        relink = ~is_new & (
            accounts["student_id"].astype("Int64").fillna(-1) != old_link.fillna(-1)
        )
        renamed = ~is_new & (accounts["display_name"] != old["display_name"])
        # An address given replaces the one held; an empty cell leaves it (a user may
        # have typed their own on the profile page).
        readdressed = ~is_new & (accounts["email"] != "") & (accounts["email"] != old["email"])
        # Links are unique: release the old ones before any account takes them again.
        released = [{"id": int(i), "student_id": None} for i in old.loc[relink, "id"]]
        if released:
            db.session.execute(update(User), released)
        self._create_users(accounts[is_new])
        linked = [
            {"id": int(i), "student_id": int(s)}
            for i, s in zip(old.loc[relink, "id"], accounts.loc[relink, "student_id"], strict=True)
            if not pd.isna(s)
        ]
        if linked:
            db.session.execute(update(User), linked)
        names = [
            {"id": int(i), "display_name": n}
            for i, n in zip(
                old.loc[renamed, "id"], accounts.loc[renamed, "display_name"], strict=True
            )
        ]
        if names:
            db.session.execute(update(User), names)
        addresses = [
            {"id": int(i), "email": e}
            for i, e in zip(
                old.loc[readdressed, "id"], accounts.loc[readdressed, "email"], strict=True
            )
        ]
        if addresses:
            db.session.execute(update(User), addresses)
        updated = int((relink | renamed | readdressed).sum())
        self.result.counts["staff"] = KindCounts(
            int(is_new.sum()), updated, len(accounts) - int(is_new.sum()) - updated
        )
        rows = db.session.execute(select(User.username, User.id)).all()
        wanted = set(accounts["username"])
        return {u: i for u, i in rows if u in wanted}

    def _create_users(self, accounts: pd.DataFrame) -> None:
        """New accounts must change their password at first login, given or generated."""
        passwords = []
        for row in accounts.itertuples(index=False):
            password = row.initial_password
            if not password:
                password = "".join(
                    secrets.choice(PASSWORD_ALPHABET) for _ in range(self.password_length)
                )
                self.result.credentials.append(Credential(row.username, row.display_name, password))
            passwords.append(password)
        # argon2 is slow on purpose; its C code releases the GIL, so hash in parallel.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            hashes = list(pool.map(hash_password, passwords))
        rows = [
            {
                "username": row.username,
                "display_name": row.display_name,
                "password_hash": password_hash,
                "must_change_password": True,
                "active": True,
                "student_id": None if pd.isna(row.student_id) else int(row.student_id),
                "email": row.email or None,
            }
            for row, password_hash in zip(accounts.itertuples(index=False), hashes, strict=True)
        ]
        for chunk in _chunks(rows):
            db.session.execute(insert(User), chunk)

    def _roles(self, frame: pd.DataFrame, user_ids: dict[str, int]) -> None:
        """Make each listed user's role assignments exactly those of the file."""
        school_ids = self._school_ids()
        class_ids = self._class_ids() if frame["key"].notna().any() else {}
        district_id = self.district_id()
        wanted = {
            _scope_row(row, user_ids, district_id, school_ids, class_ids)
            for row in frame.itertuples(index=False)
        }
        rows = db.session.execute(
            select(
                RoleAssignment.id,
                RoleAssignment.user_id,
                RoleAssignment.role,
                RoleAssignment.district_id,
                RoleAssignment.school_id,
                RoleAssignment.class_id,
            )
        ).all()
        listed = set(user_ids.values())
        have = {tuple(r[1:]): r[0] for r in rows if r[1] in listed}
        stale = [assignment_id for key, assignment_id in have.items() if key not in wanted]
        for start in range(0, len(stale), CHUNK):
            db.session.execute(
                delete(RoleAssignment).where(RoleAssignment.id.in_(stale[start : start + CHUNK]))
            )
        fields = ("user_id", "role", "district_id", "school_id", "class_id")
        added = [dict(zip(fields, key, strict=True)) for key in sorted(wanted - set(have), key=str)]
        for chunk in _chunks(added):
            db.session.execute(insert(RoleAssignment), chunk)
        self.result.roles_added = len(added)
        self.result.roles_removed = len(stale)


def _accounts(frame: pd.DataFrame, student_ids: dict[str, int]) -> pd.DataFrame:
    """One row per username: display name, first initial password, committee link."""
    linked = frame["student_number"].where(frame["role"] == Role.committee.value, "")
    return (
        frame.assign(
            student_id=linked.map(student_ids).astype("Int64"),
            initial_password=frame["initial_password"].where(frame["initial_password"] != ""),
            email=frame["email"].where(frame["email"] != ""),
        )
        .groupby("username", sort=False)
        .agg(
            display_name=("display_name", "first"),
            initial_password=("initial_password", "first"),
            student_id=("student_id", "first"),
            email=("email", "first"),
        )
        .reset_index()
        .fillna({"initial_password": "", "email": ""})
    )


def _scope_row(
    row: Any,
    user_ids: dict[str, int],
    district_id: int | None,
    school_ids: dict[str, int],
    class_ids: dict[str, int],
) -> tuple[int, str, int | None, int | None, int | None]:
    """(user, role, district, school, class) with exactly one scope node set."""
    user_id = user_ids[row.username]
    if row.role in DISTRICT_ROLES:
        return (user_id, row.role, district_id, None, None)
    if row.role in SCHOOL_ROLES:
        return (user_id, row.role, None, school_ids[row.school_code], None)
    return (user_id, row.role, None, None, class_ids[row.key])
