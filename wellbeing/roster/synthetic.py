"""A synthetic district for demos and benchmarks: schools, classes, students, guardians and
staff, drawn in bulk with numpy from one seed. Pure: it returns table rows and writes nothing.

Everything here is invented. Names combine common surnames with common given-name
characters (never a list of real people); school names combine invented place words with
the usual suffixes; phone numbers are random. Student numbers (学籍号) have the national
shape, "G" + an 18-character identity number (region 510502, the birth date, a sequence
code whose last digit is odd for boys, an ISO 7064 MOD 11-2 check character), so imports,
exports and validators see realistic values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from flask_babel import lazy_gettext as _l

from wellbeing.roster.vocabulary import (
    GRADES_BY_KIND,
    Role,
    SchoolKind,
    StudentStatus,
    class_name_zh,
)

DEFAULT_SEED = 510502
DEFAULT_STUDENTS = 40_000
MIN_STUDENTS = 1_000
MAX_STUDENTS = 1_000_000
DEMO_PASSWORD = "wellbeing-demo"
DISTRICT_CODE = "510502"  # 江阳区, 泸州市, 四川省
DISTRICT_NAME = "江阳区"
# 民族 (GB/T 3304 codes): 汉族 nearly everywhere; the minorities of 泸州 (苗族 above all).
HAN_SHARE = 0.97
MINORITY_SHARE = {"06": 0.5, "07": 0.2, "15": 0.15, "03": 0.15}  # 苗, 彝, 土家, 回

# Schools of each kind at the default size; scaled with --students, at least one each.
BASE_SCHOOLS: dict[SchoolKind, int] = {
    SchoolKind.primary: 12,
    SchoolKind.nine_year: 5,
    SchoolKind.junior: 5,
    SchoolKind.complete_secondary: 3,
    SchoolKind.senior: 3,
    SchoolKind.vocational: 2,
}
# The first digit of a school code says its kind, so codes sort by kind.
KIND_DIGIT = {kind: str(position + 1) for position, kind in enumerate(BASE_SCHOOLS)}
# Share of schools of a kind in a town rather than the city; town schools board more
# students, have more left-behind (留守) students and are the ones short of counselors.
RURAL_SHARE = {SchoolKind.primary: 0.45, SchoolKind.nine_year: 0.6, SchoolKind.junior: 0.4}
# Relative size of a school's grade cohort by kind (nine-year schools are small ones).
KIND_SIZE = {
    SchoolKind.primary: 1.0,
    SchoolKind.nine_year: 0.6,
    SchoolKind.junior: 1.0,
    SchoolKind.complete_secondary: 1.3,
    SchoolKind.senior: 1.1,
    SchoolKind.vocational: 0.9,
}
MAX_CLASS_SIZE = {"primary": 45, "secondary": 50}  # 班额: grades 1-6, grades 7-12
MIN_COHORT = 20  # fewest students of one grade in one school
COMMITTEE_FROM_GRADE = 4  # 心理委员 from grade 4 up
COUNSELOR_GAP_SHARE = 0.12  # schools without a counselor (at least one), so the gap shows

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Given-name characters by generation and sex; a name takes one or two of them.
BOY_CHARS = "浩宇轩俊杰博文晨阳睿泽嘉豪思远明哲鸣志航皓然子一峻铭昊翔凯鹏涛钧毅霖琛辰逸骏煜梓诚"
GIRL_CHARS = "欣怡涵诗琪雨萱佳悦可馨思彤婷雅静若曦紫嫣梦瑶晓月婉清语桐芸琳雪妍蕾倩莹梓心一"
PARENT_MAN_CHARS = "建国强志明伟刚勇军平斌波涛林华兵杰亮超磊鹏飞海东峰红卫德成"
PARENT_WOMAN_CHARS = "丽芳敏静燕霞琴红梅玲娟英秀春兰萍艳莉娜洁雪慧琳晶小"
ELDER_MAN_CHARS = "德福贵富海山成元正荣发全明国树清泉云忠学文才"
ELDER_WOMAN_CHARS = "秀英桂兰淑珍玉芬凤琼翠花素梅金莲银春菊香"
CHILD, PARENT, ELDER = 0, 1, 2
# The pools side by side, indexed by 2 * generation + (1 if female): one string to draw from.
_POOLS = (BOY_CHARS, GIRL_CHARS, PARENT_MAN_CHARS, PARENT_WOMAN_CHARS)
_POOLS += (ELDER_MAN_CHARS, ELDER_WOMAN_CHARS)
_POOL_CHARS = "".join(_POOLS)
_POOL_LENGTHS = np.array([len(pool) for pool in _POOLS])
_POOL_STARTS = np.cumsum(_POOL_LENGTHS) - _POOL_LENGTHS

PLACES = (
    "桂园枫林青石白塔柳溪杏坪竹湾清溪云岭梅岭松柏兰亭桃源石桥金沙玉带凤鸣锦屏翠湖银杏"
    "芙蓉长岗新湾沙坪望江春晖明德育才启明东升文昌荷花紫荆丹桂海棠书院滨江龙吟晓峰南苑"
)
TOWNS = "石龙黄桷双河白沙青龙太和永兴龙泉新场高坪仁和安乐三合金鸡清平回龙长乐五通大桥青杠"
# {p}: a place or town word, {q}: "第二" and so on when places run out, {n}: a number.
SCHOOL_NAMES = {
    (SchoolKind.primary, False): "江阳区{p}{q}小学",
    (SchoolKind.primary, True): "江阳区{p}镇{q}中心小学",
    (SchoolKind.nine_year, False): "江阳区{p}{q}实验学校",
    (SchoolKind.nine_year, True): "江阳区{p}镇{q}九年制学校",
    (SchoolKind.junior, False): "江阳区{p}{q}初级中学",
    (SchoolKind.junior, True): "江阳区{p}镇{q}中学",
    (SchoolKind.complete_secondary, False): "泸州市第{n}中学",
    (SchoolKind.senior, False): "泸州市{p}{q}高级中学",
    (SchoolKind.vocational, False): "江阳区{p}{q}职业高级中学",
}
# Numbered city schools start high, away from the real ones' numbers.
FIRST_SCHOOL_NUMBER = 31

GUARDIAN_PAIRS = (("父亲", "母亲"), ("祖父", "祖母"), ("外祖父", "外祖母"))
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = "10X98765432"


@dataclass(frozen=True)
class FixedLogin:
    role: Role
    username: str
    sees: Any  # lazy translated text: str() in the reader's language


# The seven accounts anyone can try; the rest of the staff have no password.
FIXED_LOGINS = (
    FixedLogin(Role.admin, "admin", _l("everything in the district; imports the roster")),
    FixedLogin(Role.monitor, "monitor", _l("district aggregates only, never a student")),
    FixedLogin(Role.school_leader, "leader", _l("one school: overdue follow-ups and late alerts")),
    FixedLogin(
        Role.counselor,
        "counselor",
        _l("one school: alerts, review, 一生一策 files, campaign, students"),
    ),
    FixedLogin(Role.doctor, "doctor", _l("the same school: vision and fitness")),
    FixedLogin(Role.head_teacher, "teacher", _l("one grade-7 class of that school")),
    FixedLogin(Role.committee, "committee", _l("classmates' names in that class")),
)


@dataclass
class SyntheticDistrict:
    """Rows per table, in an order that satisfies the foreign keys; ids start at 1."""

    school_year: int
    tables: dict[str, list[dict[str, Any]]]
    # Where the fixed logins work: username -> "school name" or "school name, class".
    login_places: dict[str, str] = field(default_factory=dict)
    schools_without_counselor: list[str] = field(default_factory=list)


@dataclass
class _School:
    id: int
    code: str
    name: str
    kind: SchoolKind
    rural: bool
    size: float
    has_counselor: bool = True
    students: int = 0


@dataclass
class _Class:
    id: int
    school: _School
    grade: int
    name: str
    first_student: int  # index into the student arrays; a class's students are contiguous
    size: int


@dataclass
class _Students:
    """Column arrays, one entry per student, ordered by class."""

    class_index: np.ndarray
    male: np.ndarray
    birth_ordinal: np.ndarray
    surname: np.ndarray
    names: list[str]
    numbers: list[str]
    boarding: np.ndarray
    left_behind: np.ndarray


def current_school_year(today: date) -> int:
    """The calendar year in which the current school year began (on 1 September)."""
    return today.year if today.month >= 9 else today.year - 1


def generate_district(
    school_year: int,
    *,
    seed: int = DEFAULT_SEED,
    students: int = DEFAULT_STUDENTS,
    password_hash: str | None = None,
) -> SyntheticDistrict:
    """Draw a whole district for the school year that begins in September of
    `school_year`. The same seed, size and year give the same rows; `password_hash`
    goes to the fixed logins only."""
    if not MIN_STUDENTS <= students <= MAX_STUDENTS:
        raise ValueError(f"students must be between {MIN_STUDENTS} and {MAX_STUDENTS}")
    # One independent stream per stage: a change in how guardians or staff are drawn
    # leaves the schools and students of a seed as they were.
    schools_rng, classes_rng, students_rng, staff_rng, guardians_rng, ethnicity_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(6)
    )
    schools = _draw_schools(schools_rng, students)
    classes = _draw_classes(classes_rng, schools, students)
    pupils = _draw_students(students_rng, classes, school_year)
    _leave_without_counselor(staff_rng, schools)
    users, roles, places = _draw_staff(staff_rng, schools, classes, pupils, password_hash)
    tables = {
        "district": [{"id": 1, "code": DISTRICT_CODE, "name": DISTRICT_NAME}],
        "school": [_school_row(school) for school in schools],
        "school_class": [_class_row(item, school_year) for item in classes],
        "student": _student_rows(pupils, classes, _ethnicities(ethnicity_rng, len(pupils.names))),
        "guardian": _guardian_rows(guardians_rng, pupils),
        "user_account": users,
        "role_assignment": roles,
    }
    return SyntheticDistrict(
        school_year=school_year,
        tables=tables,
        login_places=places,
        schools_without_counselor=[s.name for s in schools if not s.has_counselor],
    )


# --- schools and classes -------------------------------------------------------------


def _draw_schools(rng: np.random.Generator, students: int) -> list[_School]:
    scale = students / DEFAULT_STUDENTS
    places = iter(_cycle_names(rng.permutation(len(PLACES) // 2), PLACES))
    towns = iter(_cycle_names(rng.permutation(len(TOWNS) // 2), TOWNS))
    schools: list[_School] = []
    for kind, base in BASE_SCHOOLS.items():
        for number in range(1, max(1, round(base * scale)) + 1):
            rural = bool(rng.random() < RURAL_SHARE.get(kind, 0.0))
            place, qualifier = next(towns if rural else places)
            template = SCHOOL_NAMES[(kind, rural)]
            name = template.format(
                p=place, q=qualifier, n=chinese_number(FIRST_SCHOOL_NUMBER + number - 1)
            )
            size = KIND_SIZE[kind] * float(rng.lognormal(0.0, 0.35))
            code = f"{KIND_DIGIT[kind]}{number:03d}"
            schools.append(_School(len(schools) + 1, code, name, kind, rural, size))
    return schools


def _cycle_names(order: np.ndarray, pool: str) -> list[tuple[str, str]]:
    """Two-character words from the pool in the drawn order; when they run out, the same
    words again with "第二", "第三"... as real districts number their second schools."""
    words = [pool[2 * i : 2 * i + 2] for i in order]
    return [
        (word, "" if cycle == 0 else f"第{chinese_number(cycle + 1)}")
        for cycle in range(MAX_STUDENTS // DEFAULT_STUDENTS * 2)
        for word in words
    ]


def chinese_number(n: int) -> str:
    """1..999 in Chinese numerals, as in school names (三十一, 一百零五)."""
    digits = "零一二三四五六七八九"
    hundreds, tens, ones = n // 100, n // 10 % 10, n % 10
    text = f"{digits[hundreds]}百" if hundreds else ""
    if tens:
        text += ("" if tens == 1 and not hundreds else digits[tens]) + "十"
    elif hundreds and ones:
        text += "零"
    return text + (digits[ones] if ones else "")


def _draw_classes(rng: np.random.Generator, schools: list[_School], total: int) -> list[_Class]:
    grade_totals = _allocate(total, np.array([1.0] * 9 + [0.85] * 3), 0)
    cohorts: dict[tuple[int, int], int] = {}
    for grade in range(1, 13):
        teaching = [s for s in schools if grade in GRADES_BY_KIND[s.kind]]
        weights = np.array([s.size for s in teaching])
        counts = _allocate(int(grade_totals[grade - 1]), weights, MIN_COHORT)
        cohorts.update({(s.id, grade): int(n) for s, n in zip(teaching, counts, strict=True)})
    classes: list[_Class] = []
    first = 0
    for school in schools:
        for grade in GRADES_BY_KIND[school.kind]:
            for number, size in enumerate(_class_sizes(rng, cohorts[(school.id, grade)], grade)):
                classes.append(
                    _Class(len(classes) + 1, school, grade, str(number + 1), first, size)
                )
                first += size
                school.students += size
    return classes


def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split a whole number in proportion to weights (largest remainder), each part at
    least `minimum`; the parts add up to exactly `total`."""
    rest = total - minimum * len(weights)
    if rest < 0:
        raise ValueError("too few students for the number of schools")
    share = weights / weights.sum() * rest
    counts = np.floor(share).astype(np.int64)
    short = rest - int(counts.sum())
    counts[np.argsort(counts - share, kind="stable")[:short]] += 1
    return counts + minimum


def _class_sizes(rng: np.random.Generator, cohort: int, grade: int) -> list[int]:
    """Classes of nearly equal size (schools balance them), a few places under the cap."""
    cap = MAX_CLASS_SIZE["primary" if grade <= 6 else "secondary"]
    count = max(1, math.ceil(cohort / (cap - 4)))
    sizes = np.full(count, cohort // count)
    sizes[rng.permutation(count)[: cohort % count]] += 1
    return sizes.tolist()


def _stage_start(grade: int) -> int:
    return 1 if grade <= 6 else 7 if grade <= 9 else 10


def _school_row(school: _School) -> dict[str, Any]:
    return {
        "id": school.id,
        "district_id": 1,
        "code": school.code,
        "name": school.name,
        "kind": school.kind.value,
    }


def _class_row(item: _Class, school_year: int) -> dict[str, Any]:
    # entry_year: when the cohort entered its stage (primary, junior, senior), as 2026级.
    return {
        "id": item.id,
        "school_id": item.school.id,
        "grade": item.grade,
        "name": item.name,
        "entry_year": school_year - (item.grade - _stage_start(item.grade)),
    }


# --- students ------------------------------------------------------------------------


def _draw_students(rng: np.random.Generator, classes: list[_Class], school_year: int) -> _Students:
    sizes = np.array([c.size for c in classes])
    class_index = np.repeat(np.arange(len(classes)), sizes)
    grade = np.array([c.grade for c in classes])[class_index]
    male = rng.random(len(class_index)) < 0.52
    # One boy and one girl in every class, so each can have its two 心理委员.
    starts = np.array([c.first_student for c in classes])
    male[starts] = True
    male[starts + 1] = False
    birth = _birth_ordinals(rng, grade, school_year)
    surname = _surnames(rng, len(class_index))
    names = _full_names(rng, surname, np.where(male, 0, 1), CHILD)
    numbers = _student_numbers(rng, birth, male)
    rural = np.array([c.school.rural for c in classes])[class_index]
    boarding_rate = np.array([_boarding_rate(c) for c in classes])[class_index]
    boarding = rng.random(len(class_index)) < boarding_rate
    left_behind = rng.random(len(class_index)) < np.where(rural, 0.3, 0.1)
    return _Students(class_index, male, birth, surname, names, numbers, boarding, left_behind)


def _boarding_rate(item: _Class) -> float:
    if item.grade <= 6:
        return 0.15 if item.school.rural else 0.03
    if item.grade <= 9:
        return 0.45 if item.school.rural else 0.2
    return 0.7 if item.school.kind == SchoolKind.vocational else 0.55


def _birth_ordinals(rng: np.random.Generator, grade: np.ndarray, school_year: int) -> np.ndarray:
    """Grade 1 is born between 1 September seven years before the school year and
    31 August six years before (6 years old by the 31 August cut-off); one in 25 is a
    year older (a late start or a repeated year)."""
    older = rng.random(len(grade)) < 0.04
    fraction = rng.random(len(grade))
    # Birth cohort k starts on 1 September of (school year - 6 - k); grade g is cohort g.
    septembers = np.array([date(school_year - 5 - k, 9, 1).toordinal() for k in range(15)])
    cohort = grade + older.astype(np.int64)
    start = septembers[cohort + 1]
    return start + np.floor(fraction * (septembers[cohort] - start)).astype(np.int64)


def _surnames(rng: np.random.Generator, count: int) -> np.ndarray:
    # Common surnames are far more common: a gently falling weight by rank.
    weights = 1.0 / (np.arange(len(SURNAMES)) + 4.0)
    return rng.choice(len(SURNAMES), size=count, p=weights / weights.sum())


def _full_names(
    rng: np.random.Generator, surname: np.ndarray, female: np.ndarray, generation: int
) -> list[str]:
    """Surname + one or two given-name characters from the pool of that generation and sex."""
    pool = 2 * generation + np.asarray(female, dtype=np.int64)
    start, length = _POOL_STARTS[pool], _POOL_LENGTHS[pool]
    first = start + np.floor(rng.random(len(pool)) * length).astype(np.int64)
    second = start + np.floor(rng.random(len(pool)) * length).astype(np.int64)
    single = rng.random(len(pool)) < 0.2
    return [
        SURNAMES[s] + _POOL_CHARS[a] + ("" if one else _POOL_CHARS[b])
        for s, a, b, one in zip(
            surname.tolist(), first.tolist(), second.tolist(), single.tolist(), strict=True
        )
    ]


def _student_numbers(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray) -> list[str]:
    """G + 510502 + YYYYMMDD + a sequence code (odd last digit for boys) + check character.
    Sequence codes are drawn, then redrawn where a birth date and code repeat."""
    sequence = 2 * rng.integers(0, 500, len(birth)) + male
    while True:
        key = birth * 1000 + sequence
        _, first = np.unique(key, return_index=True)
        repeated = np.ones(len(key), dtype=bool)
        repeated[first] = False
        if not repeated.any():
            break
        sequence[repeated] = 2 * rng.integers(0, 500, int(repeated.sum())) + male[repeated]
    ymd = _ymd(birth)
    body = int(DISTRICT_CODE) * 10**11 + ymd * 1000 + sequence
    check = id_check_characters(body)
    return [f"G{b}{c}" for b, c in zip(body.tolist(), check, strict=True)]


def _ymd(ordinals: np.ndarray) -> np.ndarray:
    days = (ordinals - date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    year = years.astype(np.int64) + 1970
    month = (months - years).astype(np.int64) + 1
    day = (days - months).astype(np.int64) + 1
    return year * 10000 + month * 100 + day


def id_check_characters(body: np.ndarray) -> list[str]:
    """ISO 7064 MOD 11-2 check characters (GB 11643) of 17-digit identity-number bodies."""
    digits = np.stack([body // 10 ** (16 - i) % 10 for i in range(17)], axis=1)
    remainder = (digits * ID_WEIGHTS).sum(axis=1) % 11
    return [ID_CHECK[r] for r in remainder.tolist()]


def _ethnicities(rng: np.random.Generator, count: int) -> list[str]:
    """GB/T 3304 codes: mostly 汉族, the rest from minorities living around 泸州."""
    codes = np.array(list(MINORITY_SHARE))
    minority = rng.choice(codes, size=count, p=list(MINORITY_SHARE.values()))
    return np.where(rng.random(count) < HAN_SHARE, "01", minority).tolist()


def _student_rows(
    pupils: _Students, classes: list[_Class], ethnicities: list[str]
) -> list[dict[str, Any]]:
    class_ids = np.array([c.id for c in classes])[pupils.class_index].tolist()
    births = [date.fromordinal(o) for o in pupils.birth_ordinal.tolist()]
    enrolled = StudentStatus.enrolled.value
    columns = zip(
        pupils.numbers,
        pupils.names,
        pupils.male.tolist(),
        births,
        class_ids,
        pupils.boarding.tolist(),
        pupils.left_behind.tolist(),
        ethnicities,
        strict=True,
    )
    return [
        {
            "id": index,
            "student_number": number,
            "name": name,
            "sex": "M" if male else "F",
            "birth_date": birth,
            "class_id": class_id,
            "status": enrolled,
            "boarding": boarding,
            "left_behind": left_behind,
            "ethnicity": ethnicity,
        }
        for index, (
            number,
            name,
            male,
            birth,
            class_id,
            boarding,
            left_behind,
            ethnicity,
        ) in enumerate(columns, start=1)
    ]


# --- guardians -----------------------------------------------------------------------


def _guardian_rows(rng: np.random.Generator, pupils: _Students) -> list[dict[str, Any]]:
    """One or two guardians per student: parents, or for a left-behind student the
    grandparents on either side. The two of a pair never share a surname, so their names
    differ (one name per student is unique)."""
    count = len(pupils.names)
    pair = np.where(pupils.left_behind, np.where(rng.random(count) < 0.7, 1, 2), 0)
    man_surname = np.where(pair == 2, _other(rng, pupils.surname), pupils.surname)
    woman_surname = _other(rng, man_surname)
    generation = np.where(pair == 0, PARENT, ELDER)
    men = _names_by_generation(rng, man_surname, 0, generation)
    women = _names_by_generation(rng, woman_surname, 1, generation)
    both = rng.random(count) < np.where(pupils.left_behind, 0.6, 0.8)
    woman_first = rng.random(count) < 0.6
    phones = _phones(rng, 2 * count)
    rows: list[dict[str, Any]] = []
    for index, (kind, two, woman, man_name, woman_name) in enumerate(
        zip(pair.tolist(), both.tolist(), woman_first.tolist(), men, women, strict=True)
    ):
        listed = [(GUARDIAN_PAIRS[kind][1], woman_name), (GUARDIAN_PAIRS[kind][0], man_name)]
        if not woman:
            listed.reverse()
        for slot, (relation, name) in enumerate(listed[: 2 if two else 1]):
            rows.append(
                {
                    "id": len(rows) + 1,
                    "student_id": index + 1,
                    "name": name,
                    "relation": relation,
                    "phone": phones[2 * index + slot],
                }
            )
    return rows


def _other(rng: np.random.Generator, surname: np.ndarray) -> np.ndarray:
    """A surname drawn like any other, but never the given one."""
    drawn = _surnames(rng, len(surname))
    return np.where(drawn == surname, (drawn + 1) % len(SURNAMES), drawn)


def _names_by_generation(
    rng: np.random.Generator, surname: np.ndarray, female: int, generation: np.ndarray
) -> list[str]:
    # Draw both generations' names for everyone, keep the wanted one: the draws stay
    # vectorized and the sequence of random numbers stays fixed.
    parents = _full_names(rng, surname, np.full(len(surname), female), PARENT)
    elders = _full_names(rng, surname, np.full(len(surname), female), ELDER)
    return [
        p if g == PARENT else e
        for p, e, g in zip(parents, elders, generation.tolist(), strict=True)
    ]


def _phones(rng: np.random.Generator, count: int) -> list[str]:
    """Mainland mobile numbers, 1[3-9] and nine random digits."""
    second = rng.choice(
        np.array([3, 5, 8, 7, 9, 6, 4]), size=count, p=[0.3, 0.25, 0.25, 0.08, 0.07, 0.03, 0.02]
    )
    rest = rng.integers(0, 10**9, count)
    return [f"1{a}{b:09d}" for a, b in zip(second.tolist(), rest.tolist(), strict=True)]


# --- staff ---------------------------------------------------------------------------


def _leave_without_counselor(rng: np.random.Generator, schools: list[_School]) -> None:
    """A few schools, town schools first, have no counselor: the staffing gap the district
    view is there to show. The demo school (see _demo_school) always keeps its own."""
    demo = _demo_school(schools)
    candidates = [s for s in schools if s is not demo]
    order = sorted(candidates, key=lambda s: (not s.rural, float(rng.random())))
    for school in order[: max(1, round(len(schools) * COUNSELOR_GAP_SHARE))]:
        school.has_counselor = False


def _demo_school(schools: list[_School]) -> _School:
    # The first complete secondary school: it has grade 7, so all six logins meet in it.
    return next(s for s in schools if s.kind == SchoolKind.complete_secondary)


DEMO_MAIL_DOMAIN = "demo.invalid"


class _Accounts:
    """Collects user and role rows; ids are the row positions (from 1)."""

    def __init__(self) -> None:
        self.users: list[dict[str, Any]] = []
        self.roles: list[dict[str, Any]] = []

    def add(
        self,
        username: str,
        display_name: str,
        role: Role,
        scope: tuple[str, int],
        student_id: int | None = None,
    ) -> int:
        user_id = len(self.users) + 1
        self.users.append(
            {
                "id": user_id,
                "username": username,
                "display_name": display_name,
                "password_hash": None,
                "active": True,
                "must_change_password": False,
                "student_id": student_id,
                # Every demo account has an address nobody receives (RFC 2606's .invalid),
                # so the demo's mail shows what would be sent without sending it anywhere.
                "email": f"{username}@{DEMO_MAIL_DOMAIN}",
            }
        )
        scope_ids = {"district_id": None, "school_id": None, "class_id": None}
        scope_ids[scope[0]] = scope[1]
        self.roles.append({"id": len(self.roles) + 1, "user_id": user_id, "role": role.value})
        self.roles[-1].update(scope_ids)
        return user_id

    def make_fixed(self, user_id: int, username: str, password_hash: str | None) -> None:
        self.users[user_id - 1].update(
            username=username, password_hash=password_hash, email=f"{username}@{DEMO_MAIL_DOMAIN}"
        )


def _draw_staff(
    rng: np.random.Generator,
    schools: list[_School],
    classes: list[_Class],
    pupils: _Students,
    password_hash: str | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    accounts = _Accounts()
    fixed = {
        "admin": accounts.add("admin", "区管理员", Role.admin, ("district_id", 1)),
        "monitor": accounts.add("monitor", "区心理健康监测员", Role.monitor, ("district_id", 1)),
    }
    demo_school = _demo_school(schools)
    for school in schools:
        counselor, doctor = _school_staff(rng, accounts, school)
        if school is demo_school and counselor is not None:
            fixed |= {"counselor": counselor, "doctor": doctor}
    for item in classes:
        teacher, committee = _class_staff(rng, accounts, item, pupils)
        if item.school is demo_school and (item.grade, item.name) == (7, "1"):
            fixed |= {"teacher": teacher, "committee": committee[0]}
    # Drawn last, so the staff drawn before them keep their ids and names.
    leaders = _school_leaders(rng, accounts, schools)
    fixed["leader"] = leaders[demo_school.id]
    for username, user_id in fixed.items():
        accounts.make_fixed(user_id, username, password_hash)
    # The demo class is grade 7, class 1 of the demo school: 七年级1班.
    class_place = f"{demo_school.name} {class_name_zh(7, '1')}"
    places = {"counselor": demo_school.name, "doctor": demo_school.name}
    places["leader"] = demo_school.name
    places |= {"teacher": class_place, "committee": class_place}
    return accounts.users, accounts.roles, places


def _staff_names(rng: np.random.Generator, count: int, female_share: float) -> list[str]:
    female = rng.random(count) < female_share
    return _full_names(rng, _surnames(rng, count), female, PARENT)


def _school_staff(
    rng: np.random.Generator, accounts: _Accounts, school: _School
) -> tuple[int | None, int]:
    """Counselors (none in a gap school, two in a large one) and doctors (校医, one or
    two); returns the ids of the first counselor and the first doctor."""
    counselors = (1 + (school.students > 3000)) if school.has_counselor else 0
    doctors = 1 + (school.students > 2000)
    names = iter(_staff_names(rng, counselors + doctors, 0.75))
    scope = ("school_id", school.id)
    counselor_ids = [
        accounts.add(f"c{school.code}-{n}", next(names), Role.counselor, scope)
        for n in range(1, counselors + 1)
    ]
    doctor_ids = [
        accounts.add(f"d{school.code}-{n}", next(names), Role.doctor, scope)
        for n in range(1, doctors + 1)
    ]
    return (counselor_ids[0] if counselor_ids else None), doctor_ids[0]


def _school_leaders(
    rng: np.random.Generator, accounts: _Accounts, schools: list[_School]
) -> dict[int, int]:
    """One 分管校领导 per school (the principal or deputy in charge of mental health):
    the school's id -> the leader's user id."""
    names = _staff_names(rng, len(schools), 0.5)
    return {
        school.id: accounts.add(
            f"l{school.code}", name, Role.school_leader, ("school_id", school.id)
        )
        for school, name in zip(schools, names, strict=True)
    }


def _class_staff(
    rng: np.random.Generator, accounts: _Accounts, item: _Class, pupils: _Students
) -> tuple[int, list[int]]:
    """The head teacher (班主任) and, from grade 4, two 心理委员: a boy and a girl of the
    class, each an account linked to the student."""
    scope = ("class_id", item.id)
    number = f"{item.school.code}-{item.grade:02d}{int(item.name):02d}"
    teacher = accounts.add(f"t{number}", _staff_names(rng, 1, 0.7)[0], Role.head_teacher, scope)
    committee: list[int] = []
    if item.grade >= COMMITTEE_FROM_GRADE:
        members = np.arange(item.first_student, item.first_student + item.size)
        for sex, letter in ((True, "m"), (False, "f")):
            candidates = members[pupils.male[members] == sex]
            chosen = int(candidates[rng.integers(len(candidates))])
            username = f"s{number}{letter}"
            name = pupils.names[chosen]
            committee.append(
                accounts.add(username, name, Role.committee, scope, student_id=chosen + 1)
            )
    return teacher, committee
