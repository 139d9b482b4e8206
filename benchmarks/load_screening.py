"""The computer-room load test of the screening runner (issue 6), on loopback against
gunicorn with the production settings, on SQLite or PostgreSQL.

The model: `--students` students (300) enter their access codes at uniform random times
within `--entry-seconds` (60); each answers the battery (`--items`, default the 100-item
`mht_shaped` test instrument) with one autosave per answer, thinking a uniform random
`--think` (3-6 s) before each answer, then submits. Each student is one httpx client with
its own cookie jar: GET /s/ (the form's csrf_token), POST /s/ with the printed code (303 to
/s/run/0), GET each section page (its meta csrf-token; the first page's static files once),
POST /s/answer per item, POST /s/submit (303), GET /s/done.

Baseline: the bare endpoint GET /ping of the same server, measured idle before the load and
at a low steady rate (`--ping-rate`, 5/s) during it; every latency figure gives its ratio
to the ping's same percentile under the same load. `code_entry` is the POST /s/ alone;
`code_entry_to_page` adds the GET /s/run/0 its redirect leads to.

Afterwards the database is checked in an app context: every student who submitted has a
screened_valid target, every acknowledged answer is in the sealed raw answers of the
responses (or in the sealed drafts, for a student stopped before submitting) with the value
sent; lost answers and HTTP errors are counted. A failed autosave (a network error or a
5xx) is retried as runner.js does (after 1, 2, 4 ... s) and still counted as an error.
Answers are random but drawn so that the instrument's validity rules pass and no critical
item is endorsed (a screened_valid target is the expected outcome).

`--saturation`: no think time; concurrency doubles every `--step-seconds` (1, 2, 4, ...)
until the autosave p95 of a step exceeds 500 ms; reports the most autosaves per second
sustained with p95 under 500 ms, against the pings per second the same client gets from
the bare endpoint at that concurrency.

Every run is bounded: `--max-seconds` (counted from the start) stops the load (unfinished
students are reported, exit status 2), and a watchdog stops the server and exits (status 3)
if the whole script overruns it by 6 minutes. Exit status 1: an error, a lost answer or a
submitted target not screened_valid.

Run (from the repository root):
    .venv/bin/python benchmarks/load_screening.py --quick                  # ~1 minute
    .venv/bin/python benchmarks/load_screening.py --db sqlite              # ~9 minutes
    .venv/bin/python benchmarks/load_screening.py --db postgresql          # ~9 minutes
    .venv/bin/python benchmarks/load_screening.py --saturation --db postgresql
PostgreSQL: `--database-url` (default wellbeing_bench on loopback, created when missing);
its public schema is DROPPED and recreated, then migrated with `wellbeing db upgrade`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import html
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
SITE = Path(__file__).resolve().parent / "loadsite"
GUNICORN_CONF = SITE / "gunicorn.conf.py"
INSTRUMENTS = ROOT / "tests" / "screening" / "fixtures" / "good"
POSTGRES_DEFAULT = "postgresql+psycopg://wellbeing:wellbeing@127.0.0.1:5432/wellbeing_bench"
GOALS_MS = {"autosave_p95": 150.0, "submit_p95": 500.0}
SATURATION_P95_MS = 500.0
# Time for migrating, seeding and checking the database beyond the load's bound.
WATCHDOG_MARGIN = 360.0
AUTOSAVE_RETRIES = 5
# Requests and the status each must answer with.
EXPECTED = {
    "entry_page": 200,
    "code_entry": 303,
    "section_page": 200,
    "static": 200,
    "autosave": 200,
    "submit": 303,
    "done_page": 200,
    "ping": 200,
}
LATENCY_KINDS = ("code_entry", "code_entry_to_page", "autosave", "submit")

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


# ----------------------------------------------------------------------------- settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--database-url", default=POSTGRES_DEFAULT, help="for --db postgresql")
    parser.add_argument("--students", type=int, help="default 300 (--quick 60, saturation 1500)")
    parser.add_argument("--entry-seconds", type=float, help="default 60 (--quick 10)")
    parser.add_argument("--think", help="seconds between answers, MIN-MAX (default 3-6)")
    parser.add_argument("--items", default="mht_shaped", help="instrument refs, comma-separated")
    parser.add_argument("--saturation", action="store_true")
    parser.add_argument("--step-seconds", type=float, default=15.0, help="saturation step")
    parser.add_argument("--max-concurrency", type=int, default=256, help="saturation ramp cap")
    parser.add_argument("--max-seconds", type=float, help="bound of the load phase")
    parser.add_argument("--quick", action="store_true", help="60 students, think 0.2-0.5 s")
    parser.add_argument("--ping-rate", type=float, default=5.0, help="pings per second")
    parser.add_argument("--worker-class", default=None, help="override gunicorn.conf.py")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None, help="random seed of the students")
    parser.add_argument("--server-log", type=Path, help="keep gunicorn's error log here")
    args = parser.parse_args(argv)
    if args.saturation:
        # No think time: --think only gives the seconds each answer reports.
        defaults = {"students": 1500, "entry_seconds": 0.0, "think": "3-6", "max_seconds": 420}
    elif args.quick:
        defaults = {"students": 60, "entry_seconds": 10.0, "think": "0.2-0.5", "max_seconds": 180}
    else:
        defaults = {"students": 300, "entry_seconds": 60.0, "think": "3-6", "max_seconds": 900}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    low, _, high = args.think.partition("-")
    args.think_range = (float(low), float(high or low))
    if args.think_range[0] > args.think_range[1] or args.think_range[0] < 0:
        parser.error("--think must be MIN-MAX seconds")
    args.battery = [ref.strip() for ref in args.items.split(",") if ref.strip()]
    return args


def fresh_keys() -> str:
    """A random key-encryption key in WELLBEING_KEYS form (like tests' TEST_KEYS)."""
    return "kload:" + base64.b64encode(secrets.token_bytes(32)).decode()


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WELLBEING_")}
    env.update(
        {
            "WELLBEING_ENVIRONMENT": "production",
            "WELLBEING_SECRET_KEY": secrets.token_urlsafe(48),
            "WELLBEING_KEYS": fresh_keys(),
            "WELLBEING_DATABASE_URL": database_url,
            "WELLBEING_INSTRUMENT_DIRS": str(INSTRUMENTS),
            # Plain HTTP on loopback: the production example's Secure cookies would not
            # come back over http://.
            "WELLBEING_SESSION_COOKIE_SECURE": "false",
        }
    )
    return env


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        known = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if known is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "wellbeing"), "db", "upgrade"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )


def build_app(env: dict[str, str]) -> Any:
    """The app of the server's settings, for seeding and checking in this process."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("WELLBEING_")})
    from wellbeing import create_app

    return create_app()


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in its own process group; stopped by its own pid and group only."""

    def __init__(self, env: dict[str, str], args: argparse.Namespace, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            str(BIN / "gunicorn"),
            "-c",
            str(GUNICORN_CONF),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        if args.worker_class:
            command += ["--worker-class", args.worker_class]
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        self.command = command
        self.log_path = log_path
        # gunicorn's error log and the app's own log records (an unhandled error's
        # traceback goes to stderr through logging's last-resort handler) in one file.
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def wait_ready(self, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:
                if httpx.get(self.base + "/ping", timeout=2).status_code == 200:
                    # Every worker builds its app lazily: touch them all.
                    for _ in range(20):
                        httpx.get(self.base + "/ping", timeout=5)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready in {seconds} s: {self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User and system CPU time of the master and its workers so far."""
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        except OSError:
            pass
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def exceptions(self) -> dict[str, int]:
        """The exception lines of the tracebacks in the server's log, counted."""
        found: dict[str, int] = defaultdict(int)
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {}
        for line in text.splitlines():
            if re.match(r"^[\w.]+(Error|Exception|Timeout)\b.*:", line):
                found[line[:200]] += 1
        return dict(found)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# ----------------------------------------------------------------------------- HTML


_TAG = re.compile(r"<(input|meta|script|link)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r'([\w:-]+)\s*=\s*"([^"]*)"')


def _tags(text: str, name: str) -> Iterable[dict[str, str]]:
    for match in _TAG.finditer(text):
        if match.group(1).lower() == name:
            yield {k.lower(): html.unescape(v) for k, v in _ATTR.findall(match.group(2))}


def form_csrf(text: str) -> str | None:
    for attrs in _tags(text, "input"):
        if attrs.get("name") == "csrf_token":
            return attrs.get("value")
    return None


def meta_csrf(text: str) -> str | None:
    for attrs in _tags(text, "meta"):
        if attrs.get("name") == "csrf-token":
            return attrs.get("content")
    return None


def static_assets(text: str) -> list[str]:
    found = [a.get("src", "") for a in _tags(text, "script")]
    found += [a.get("href", "") for a in _tags(text, "link") if a.get("rel") == "stylesheet"]
    return [url for url in found if url.startswith("/static/")]


# ----------------------------------------------------------------------------- recording


@dataclass
class Recorder:
    started: float = field(default_factory=time.perf_counter)
    # kind -> [(seconds since start at completion, latency in seconds)]
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    retries: int = 0

    def add(self, kind: str, latency: float) -> None:
        self.samples[kind].append((time.perf_counter() - self.started, latency))

    def error(self, message: str) -> None:
        self.errors.append(message)

    async def request(
        self, client: httpx.AsyncClient, kind: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response | None:
        """One request, timed; None (and an error recorded) unless it has the expected
        status (and, for an autosave, says it saved). A failed autosave (a network error
        or a 5xx) is retried like runner.js does: after 1, 2, 4 ... s (jittered), at
        most AUTOSAVE_RETRIES times; every failure still counts as an error."""
        for failures in range(AUTOSAVE_RETRIES + 1):
            response, retryable = await self._once(client, kind, method, url, **kwargs)
            if response is not None or not retryable or kind != "autosave":
                return response
            if failures < AUTOSAVE_RETRIES:
                self.retries += 1
                await asyncio.sleep(min(30.0, 2.0**failures) * random.uniform(0.8, 1.2))
        return None

    async def _once(
        self, client: httpx.AsyncClient, kind: str, method: str, url: str, **kwargs: Any
    ) -> tuple[httpx.Response | None, bool]:
        self.requests += 1
        begun = time.perf_counter()
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            waited = (time.perf_counter() - begun) * 1000
            self.error(f"{kind} {method} {url}: {type(error).__name__} {error} ({waited:.0f} ms)")
            return None, True
        latency = time.perf_counter() - begun
        self.statuses[kind][response.status_code] += 1
        if response.status_code != EXPECTED[kind]:
            self.error(
                f"{kind} {method} {url}: status {response.status_code} after "
                f"{latency * 1000:.0f} ms, request id {response.headers.get('x-request-id')}"
            )
            return None, response.status_code >= 500
        if kind == "autosave":
            try:
                saved = response.json().get("saved") is True
            except ValueError:
                saved = False
            if not saved:
                self.error(f"autosave {url}: answer not saved: {response.text[:100]}")
                return None, False
        self.add(kind, latency)
        return response, False

    def latencies(self, kind: str, since: float = 0.0, until: float = float("inf")) -> list[float]:
        return [lat for at, lat in self.samples.get(kind, []) if since <= at < until]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


# ----------------------------------------------------------------------------- students


@dataclass
class Student:
    target_id: int
    code: str
    # [(instrument id, [(item id, value, seconds thought)])]
    plan: list[tuple[str, list[tuple[str, int, float]]]]


@dataclass
class Outcome:
    # target id -> instrument id -> item id -> value, for acknowledged autosaves
    sent: dict[int, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )
    submitted: set[int] = field(default_factory=set)
    finished: int = 0


def answer_plan(
    instruments: list[Any], rng: random.Random, think: tuple[float, float]
) -> list[tuple[str, list[tuple[str, int, float]]]]:
    """Random answers and think times that pass the instrument's validity rules and
    endorse no critical item."""
    from screening.scoring import score_response

    plan = []
    for instrument in instruments:
        for _ in range(200):
            answers = {item.id: rng.choice(item.values) for item in instrument.items}
            seconds = {item.id: round(rng.uniform(*think), 2) for item in instrument.items}
            score = score_response(instrument, answers, seconds)
            if score.valid and not score.critical:
                break
        else:
            raise RuntimeError(f"no valid random answers to {instrument.ref}")
        plan.append(
            (
                instrument.id,
                [(item.id, answers[item.id], seconds[item.id]) for item in instrument.items],
            )
        )
    return plan


def client_for(base: str) -> httpx.AsyncClient:
    # A student's own connections (a browser opens a few); idle ones kept for a minute.
    return httpx.AsyncClient(
        base_url=base,
        timeout=httpx.Timeout(30.0),
        limits=httpx.Limits(max_connections=2, keepalive_expiry=60.0),
        follow_redirects=False,
    )


async def enter(rec: Recorder, client: httpx.AsyncClient, student: Student) -> str | None:
    """Code entry through the first section page: the page's csrf token, or None."""
    from wellbeing.campaigns.codes import display

    page = await rec.request(client, "entry_page", "GET", "/s/")
    token = form_csrf(page.text) if page is not None else None
    if token is None:
        if page is not None:
            rec.error("entry_page: no csrf_token field")
        return None
    begun = time.perf_counter()
    posted = await rec.request(
        client,
        "code_entry",
        "POST",
        "/s/",
        data={"code": display(student.code), "csrf_token": token},
    )
    if posted is None:
        return None
    if not posted.headers.get("location", "").endswith("/s/run/0"):
        rec.error(f"code_entry: redirected to {posted.headers.get('location')!r}")
        return None
    first = await rec.request(client, "section_page", "GET", "/s/run/0")
    if first is None:
        return None
    rec.add("code_entry_to_page", time.perf_counter() - begun)
    for asset in static_assets(first.text):
        await rec.request(client, "static", "GET", asset)
    meta = meta_csrf(first.text)
    if meta is None:
        rec.error("section_page: no csrf-token meta")
    return meta


async def answer(
    rec: Recorder,
    client: httpx.AsyncClient,
    student: Student,
    outcome: Outcome,
    token: str,
    think: bool,
) -> bool:
    """Every section and item, then submit and the closing page. False on an error."""
    for section, (instrument_id, items) in enumerate(student.plan):
        if section > 0:
            page = await rec.request(client, "section_page", "GET", f"/s/run/{section}")
            if page is None:
                return False
            token = meta_csrf(page.text) or token
        for item_id, value, seconds in items:
            if think:
                await asyncio.sleep(seconds)
            body = {"instrument": instrument_id, "item": item_id, "value": value}
            body["seconds"] = seconds
            saved = await rec.request(
                client, "autosave", "POST", "/s/answer", json=body, headers={"X-CSRFToken": token}
            )
            if saved is None:
                return False
            outcome.sent[student.target_id][instrument_id][item_id] = value
    submitted = await rec.request(client, "submit", "POST", "/s/submit", data={"csrf_token": token})
    if submitted is None:
        return False
    outcome.submitted.add(student.target_id)
    done = await rec.request(client, "done_page", "GET", "/s/done")
    return done is not None


async def room_student(
    rec: Recorder, base: str, student: Student, delay: float, outcome: Outcome
) -> None:
    await asyncio.sleep(delay)
    async with client_for(base) as client:
        token = await enter(rec, client, student)
        if token is not None and await answer(rec, client, student, outcome, token, True):
            outcome.finished += 1


async def pinger(rec: Recorder, base: str, rate: float, stop: asyncio.Event) -> None:
    async with client_for(base) as client:
        due = time.perf_counter()
        while not stop.is_set():
            await rec.request(client, "ping", "GET", "/ping")
            due += 1.0 / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))


async def loop_lag(rec: Recorder, stop: asyncio.Event, interval: float = 0.05) -> None:
    """How late the client's event loop wakes up: a loaded client would inflate every
    latency it measures."""
    while not stop.is_set():
        begun = time.perf_counter()
        await asyncio.sleep(interval)
        rec.add("client_loop_lag", time.perf_counter() - begun - interval)


async def idle_pings(base: str, count: int = 200) -> list[float]:
    rec = Recorder()
    async with client_for(base) as client:
        for _ in range(20):
            await rec.request(client, "ping", "GET", "/ping")
        rec.samples.clear()
        for _ in range(count):
            await rec.request(client, "ping", "GET", "/ping")
    return rec.latencies("ping")


async def run_room(
    base: str, students: list[Student], args: argparse.Namespace, deadline: float
) -> tuple[Recorder, Outcome, float, bool]:
    rec, outcome, stop = Recorder(), Outcome(), asyncio.Event()
    rng = random.Random(args.seed)
    background = [
        asyncio.create_task(pinger(rec, base, args.ping_rate, stop)),
        asyncio.create_task(loop_lag(rec, stop)),
    ]
    tasks = [
        asyncio.create_task(room_student(rec, base, s, rng.uniform(0, args.entry_seconds), outcome))
        for s in students
    ]
    _, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.perf_counter() - rec.started
    stop.set()
    await asyncio.gather(*background, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            rec.error(f"student task: {task.exception()!r}")
    return rec, outcome, elapsed, bool(pending)


# ----------------------------------------------------------------------------- saturation


@dataclass
class Step:
    concurrency: int
    begun: float
    ended: float = 0.0
    autosaves: int = 0
    p50: float = float("nan")
    p95: float = float("nan")

    @property
    def rate(self) -> float:
        return self.autosaves / max(1e-9, self.ended - self.begun)


async def saturation_worker(
    rec: Recorder, base: str, queue: asyncio.Queue[Student], outcome: Outcome
) -> None:
    while not queue.empty():
        student = queue.get_nowait()
        async with client_for(base) as client:
            token = await enter(rec, client, student)
            if token is None or not await answer(rec, client, student, outcome, token, False):
                continue
            outcome.finished += 1


async def ping_worker(rec: Recorder, base: str, stop: asyncio.Event) -> None:
    async with client_for(base) as client:
        while not stop.is_set():
            await rec.request(client, "ping", "GET", "/ping")


async def run_saturation(
    base: str, students: list[Student], args: argparse.Namespace, deadline: float
) -> tuple[Recorder, Outcome, list[Step], dict[str, float]]:
    rec, outcome, stop = Recorder(), Outcome(), asyncio.Event()
    queue: asyncio.Queue[Student] = asyncio.Queue()
    for student in students:
        queue.put_nowait(student)
    lag = asyncio.create_task(loop_lag(rec, stop))
    workers: list[asyncio.Task[None]] = []
    steps: list[Step] = []
    warmup = min(3.0, args.step_seconds / 4)
    concurrency = 1
    while concurrency <= args.max_concurrency:
        if time.monotonic() + args.step_seconds > deadline or queue.empty():
            break
        while len(workers) < concurrency:
            workers.append(asyncio.create_task(saturation_worker(rec, base, queue, outcome)))
        now = time.perf_counter() - rec.started
        step = Step(concurrency, now + warmup)
        await asyncio.sleep(args.step_seconds)
        step.ended = time.perf_counter() - rec.started
        window = rec.latencies("autosave", step.begun, step.ended)
        step.autosaves = len(window)
        step.p50, step.p95 = percentile(window, 50), percentile(window, 95)
        steps.append(step)
        print(
            f"# step concurrency {concurrency}: {step.rate:.1f} autosaves/s, "
            f"p50 {step.p50 * 1000:.1f} ms, p95 {step.p95 * 1000:.1f} ms",
            flush=True,
        )
        if queue.empty() and all(w.done() for w in workers):
            break
        if not step.p95 <= SATURATION_P95_MS / 1000:
            break
        concurrency *= 2
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    # The floor: the same client at the best step's concurrency against the bare endpoint.
    best = best_step(steps)
    ping: dict[str, float] = {}
    if best is not None and time.monotonic() + args.step_seconds / 2 < deadline + 60:
        ping_rec, ping_stop = Recorder(), asyncio.Event()
        pingers = [
            asyncio.create_task(ping_worker(ping_rec, base, ping_stop))
            for _ in range(best.concurrency)
        ]
        await asyncio.sleep(args.step_seconds / 2)
        ping_stop.set()
        await asyncio.gather(*pingers, return_exceptions=True)
        elapsed = time.perf_counter() - ping_rec.started
        values = ping_rec.latencies("ping")
        ping = {
            "rate": len(values) / elapsed,
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "concurrency": best.concurrency,
        }
        rec.errors += ping_rec.errors
        rec.requests += ping_rec.requests
    stop.set()
    await lag
    return rec, outcome, steps, ping


def best_step(steps: list[Step]) -> Step | None:
    under = [s for s in steps if s.p95 <= SATURATION_P95_MS / 1000 and s.autosaves]
    return max(under, key=lambda s: s.rate) if under else None


# ----------------------------------------------------------------------------- output


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def figure(name: str, value: str, unit: str, ratio: float, baseline: str) -> None:
    shown = f"{ratio:.3g}" if ratio == ratio else "n/a"
    print(f"{name}: {value} {unit} (ratio {shown} vs {baseline})", flush=True)


def print_latencies(rec: Recorder, ping: list[float]) -> None:
    ping50, ping95 = percentile(ping, 50), percentile(ping, 95)
    for kind in LATENCY_KINDS:
        values = rec.latencies(kind)
        if not values:
            continue
        p50, p95 = percentile(values, 50), percentile(values, 95)
        figure(f"{kind}_p50", ms(p50), "ms", p50 / ping50, "ping_p50")
        figure(f"{kind}_p95", ms(p95), "ms", p95 / ping95, "ping_p95")


def print_goals(rec: Recorder) -> None:
    for name, goal in GOALS_MS.items():
        kind, _, _ = name.rpartition("_")
        p95 = percentile(rec.latencies(kind), 95) * 1000
        verdict = "met" if p95 <= goal else "MISSED"
        print(f"# goal {name} <= {goal:.0f} ms: {verdict} ({p95:.1f} ms)")


def print_checks(rec: Recorder, verdict: Any, outcome: Outcome, students: int) -> None:
    figure("http_errors", str(len(rec.errors)), "count", len(rec.errors) / rec.requests, "requests")
    figure(
        "lost_answers",
        str(verdict.lost_answers),
        "count",
        verdict.lost_answers / max(1, verdict.answers_expected),
        "answers_acknowledged",
    )
    figure(
        "screened_valid",
        str(verdict.screened_valid),
        "students",
        verdict.screened_valid / max(1, verdict.screened_valid + len(verdict.other_states)),
        "targets_submitted",
    )
    print(
        f"# students {students}, finished {outcome.finished}, submitted "
        f"{len(outcome.submitted)}; answers acknowledged {verdict.answers_expected}, found "
        f"{verdict.answers_found}; targets not screened_valid {len(verdict.other_states)}"
    )
    for example in verdict.examples:
        print(f"# lost: {example}")
    for state in sorted(set(verdict.other_states.values())):
        print(f"# state {state}: {list(verdict.other_states.values()).count(state)} targets")
    for message in rec.errors[:10]:
        print(f"# error: {message}")


def print_statuses(rec: Recorder) -> None:
    for kind in EXPECTED:
        if kind in rec.statuses:
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(rec.statuses[kind].items()))
            print(f"# {kind} statuses {{{counts}}}")


# ----------------------------------------------------------------------------- main


def watchdog(seconds: float, server_box: list[Server]) -> threading.Timer:
    def stop_everything() -> None:
        print(f"# watchdog: the run exceeded {seconds:.0f} s; stopping", flush=True)
        for server in server_box:
            server.stop()
        os._exit(3)

    timer = threading.Timer(seconds, stop_everything)
    timer.daemon = True
    timer.start()
    return timer


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    server_box: list[Server] = []
    timer = watchdog(args.max_seconds + WATCHDOG_MARGIN, server_box)
    workdir = Path(tempfile.mkdtemp(prefix="load-screening-"))
    try:
        if args.db == "postgresql":
            url = args.database_url
            reset_postgres(url)
        else:
            url = f"sqlite:///{workdir / 'load.sqlite'}"
        env = server_env(url)
        migrate(env)
        app = build_app(env)
        from loadsite.seed import battery_of, seed, verify

        begun = time.perf_counter()
        seeded = seed(app, args.students, args.battery)
        instruments = battery_of(app, seeded.campaign_id)
        rng = random.Random(args.seed)
        students = [
            Student(target_id, code, answer_plan(instruments, rng, args.think_range))
            for target_id, code in seeded.targets
        ]
        items = sum(len(i.items) for i in instruments)
        print(
            f"# seeded {len(students)} targets, battery {','.join(args.battery)} "
            f"({items} items) in {time.perf_counter() - begun:.1f} s",
            flush=True,
        )
        server = Server(env, args, workdir / "gunicorn.log")
        server_box.append(server)
        server.wait_ready()
        settings = " ".join(server.command[1:]).replace(str(ROOT) + "/", "")
        experiments = " ".join(f"{k}={v}" for k, v in env.items() if k.startswith("LOAD_SQLITE_"))
        print(f"# server: gunicorn {settings}; {args.db} {experiments}".rstrip())
        print(
            f"# date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} cores",
            flush=True,
        )
        idle = asyncio.run(idle_pings(server.base))
        figure("ping_idle_p50", ms(percentile(idle, 50)), "ms", 1.0, "ping_idle_p50")
        figure("ping_idle_p95", ms(percentile(idle, 95)), "ms", 1.0, "ping_idle_p95")
        deadline = started + args.max_seconds
        cut = False
        cpu_before, client_cpu_before = server.cpu_seconds(), time.process_time()
        if args.saturation:
            rec, outcome, steps, ping = asyncio.run(
                run_saturation(server.base, students, args, deadline)
            )
            elapsed = time.perf_counter() - rec.started
        else:
            print(
                f"# {len(students)} students enter within {args.entry_seconds:g} s, think "
                f"{args.think}s; load bound {args.max_seconds:.0f} s",
                flush=True,
            )
            rec, outcome, elapsed, cut = asyncio.run(
                run_room(server.base, students, args, deadline)
            )
            if cut:
                print("# the load phase reached --max-seconds: unfinished students stopped")
        server_cpu = server.cpu_seconds() - cpu_before
        client_cpu = time.process_time() - client_cpu_before
        load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
        server.stop()
        log = server.log_tail(10)
        if args.server_log:
            shutil.copyfile(server.log_path, args.server_log)
        verdict = verify(app, outcome.sent, outcome.submitted)
        autosaves = len(rec.latencies("autosave"))
        if args.saturation:
            report_saturation(steps, ping)
        else:
            ping = rec.latencies("ping")
            figure(
                "ping_p50",
                ms(percentile(ping, 50)),
                "ms",
                percentile(ping, 50) / percentile(idle, 50),
                "ping_idle_p50",
            )
            figure(
                "ping_p95",
                ms(percentile(ping, 95)),
                "ms",
                percentile(ping, 95) / percentile(idle, 95),
                "ping_idle_p95",
            )
            print_latencies(rec, ping)
            offered = (
                args.students / statistics.mean(args.think_range)
                if args.think_range[1]
                else float("nan")
            )
            figure(
                "autosave_throughput",
                f"{autosaves / elapsed:.1f}",
                "per s",
                (autosaves / elapsed) / offered if offered == offered else float("nan"),
                "offered_autosaves_per_s",
            )
            peak = peak_rate(rec.samples.get("autosave", []))
            figure(
                "autosave_peak_10s",
                f"{peak:.1f}",
                "per s",
                peak / offered,
                "offered_autosaves_per_s",
            )
        print_checks(rec, verdict, outcome, len(students))
        print_statuses(rec)
        lag = rec.latencies("client_loop_lag")
        for kind in LATENCY_KINDS:
            values = rec.latencies(kind)
            if values:
                print(
                    f"# {kind}: {len(values)} answered, p99 {ms(percentile(values, 99))} ms, "
                    f"max {ms(max(values))} ms"
                )
        print(f"# autosaves retried after a failure: {rec.retries}")
        print(
            f"# load phase {elapsed:.0f} s, {rec.requests} requests; server CPU "
            f"{server_cpu:.0f} s ({server_cpu / max(1, autosaves) * 1000:.1f} ms per autosave "
            f"incl. its share of other requests), client CPU {client_cpu:.0f} s; client loop "
            f"lag p95 {ms(percentile(lag, 95))} ms; load average after {load_after}"
        )
        if not args.saturation:
            print_goals(rec)
        for line, count in server.exceptions().items():
            print(f"# server exception x{count}: {line}")
        if log.strip():
            print("# gunicorn log tail:\n" + "\n".join("#   " + line for line in log.splitlines()))
        failed = rec.errors or verdict.lost_answers or verdict.other_states
        # 1: an error, a lost answer or a target not screened_valid; 2: stopped by the bound.
        return 1 if failed else 2 if cut else 0
    finally:
        for server in server_box:
            server.stop()
        timer.cancel()
        shutil.rmtree(workdir, ignore_errors=True)


def peak_rate(samples: list[tuple[float, float]], window: float = 10.0) -> float:
    """The most completions in any window of `window` seconds, per second."""
    times = sorted(at for at, _ in samples)
    best, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] > window:
            first += 1
        best = max(best, last - first + 1)
    return best / window


def report_saturation(steps: list[Step], ping: dict[str, float]) -> None:
    for step in steps:
        print(
            f"# concurrency {step.concurrency}: {step.rate:.1f} autosaves/s, p50 "
            f"{ms(step.p50)} ms, p95 {ms(step.p95)} ms"
        )
    best = best_step(steps)
    if best is None:
        print("# saturation: no step kept the autosave p95 under 500 ms")
        return
    rate = ping.get("rate", float("nan"))
    figure(
        "saturation_autosaves_per_s_p95_under_500ms",
        f"{best.rate:.0f}",
        "per s",
        best.rate / rate,
        f"ping_per_s_at_concurrency_{best.concurrency}",
    )
    figure(
        "saturation_autosave_p95",
        ms(best.p95),
        "ms",
        best.p95 / ping.get("p95", float("nan")),
        f"ping_p95_at_concurrency_{best.concurrency}",
    )
    if ping:
        print(
            f"# bare endpoint at concurrency {best.concurrency}: {rate:.0f} pings/s, p50 "
            f"{ms(ping['p50'])} ms, p95 {ms(ping['p95'])} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
