"""Demo data: realistic, internally consistent cases for trying the app and for benchmarks.

Everything goes through the same services a ward uses (so rules, validation and the audit trail
apply to demo data too); only the clock is moved, so cases spread over past years.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ecmo_desktop.domain.enums import Indication, Mode, Sex
from ecmo_desktop.domain.errors import EcmoError, PermissionDenied
from ecmo_desktop.domain.model import CurrentUser, Run
from ecmo_desktop.i18n import N_
from ecmo_desktop.services.base import ServiceContext
from ecmo_desktop.services.clock import Clock, FakeClock
from ecmo_desktop.services.demo_devices import DeviceDemo

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋"
    "蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英文华建国志强海燕红梅玉兰晓东子涵雨轩浩宇欣怡俊杰"
WARDS = ["EICU", "CCU", "心外ICU", "呼吸ICU", "急诊ICU"]
DEMO_PASSWORD = "Ward2026demo"
# what the demo's output says about its accounts' password hashes (services/auth.py DEMO_HASH_PARAMETERS)
DEMO_HASH_NOTE = N_(
    "演示账户的密码哈希使用低成本参数（argon2id t={t}，m={m} KiB，p={p}），仅限演示数据库；"
    "真实数据库的账户始终使用完整参数"
)


def demo_hash_note() -> str:
    """``DEMO_HASH_NOTE`` with the parameters filled in, in the current language."""
    from ecmo_desktop.i18n import _
    from ecmo_desktop.services.auth import DEMO_HASH_PARAMETERS as P

    return _(DEMO_HASH_NOTE).format(t=P["time_cost"], m=P["memory_cost"], p=P["parallelism"])


# mode mix and indications roughly as regional surveys report them (VA dominates in China)
MODE_WEIGHTS = [(Mode.VA, 0.62), (Mode.VV, 0.30), (Mode.VAV, 0.05), (Mode.VVA, 0.03)]
VA_INDICATIONS = [
    Indication.AMI,
    Indication.MYOCARDITIS,
    Indication.POSTCARDIOTOMY,
    Indication.CARDIOGENIC_OTHER,
    Indication.CARDIAC_ARREST,
    Indication.PE,
    Indication.SEPSIS,
]
VV_INDICATIONS = [Indication.ARDS, Indication.COVID19, Indication.ARDS, Indication.BRIDGE]


class DemoRefused(EcmoError):
    default_message = N_(
        "此数据库不是演示数据库：演示数据只能写入新数据库或用 init-db --demo 创建的数据库，"
        "不能与真实病历混在一起"
    )


@dataclass
class DemoStaff:
    admin: int
    doctors: list[int] = field(default_factory=list)  # expert, privileged physicians
    attendings: list[int] = field(default_factory=list)
    nurses: list[int] = field(default_factory=list)
    perfusionists: list[int] = field(default_factory=list)
    records: list[int] = field(default_factory=list)


class SteppingClock:
    """A clock demo generation moves forward through past years (never backwards)."""

    def __init__(self, start: datetime) -> None:
        self._fake = FakeClock(start)

    def now(self) -> datetime:
        return self._fake.now()

    def monotonic(self) -> float:
        return self._fake.monotonic()

    def set(self, moment: datetime) -> None:
        if moment > self._fake.now():
            self._fake.set(moment)


def random_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def pick_mode(rng: random.Random) -> Mode:
    x = rng.random()
    acc = 0.0
    for mode, weight in MODE_WEIGHTS:
        acc += weight
        if x <= acc:
            return mode
    return Mode.VA


def pick_indication(rng: random.Random, mode: Mode) -> Indication:
    return rng.choice(VV_INDICATIONS if mode == Mode.VV else VA_INDICATIONS)


@dataclass(frozen=True)
class DemoSummary:
    cases: int
    staff: int
    password: str
    details: dict[str, Any]


def as_user(ctx: ServiceContext, staff_id: int, username: str, name: str, roles: set[str]) -> None:
    """Demo generation acts as the ward's own staff, so every audit row names a real person."""
    ctx.user = CurrentUser(staff_id, username, name, "", frozenset(roles))


def demo_start(years_back: int, now: datetime) -> datetime:
    return datetime(now.year - years_back, 1, 4, 1, 0, tzinfo=UTC)


def case_times(rng: random.Random, index: int, total: int, first: datetime, last: datetime) -> datetime:
    """Spread case starts evenly over the period with some jitter (sorted by index)."""
    span = (last - first).total_seconds()
    base = first + timedelta(seconds=span * (index + 0.5) / max(total, 1))
    return base + timedelta(hours=rng.uniform(-30, 30))


def birth_for_age(rng: random.Random, age: int, on: date) -> date:
    return date(on.year - age, rng.randint(1, 12), rng.randint(1, 28))


def sex_for(rng: random.Random) -> Sex:
    return Sex.MALE if rng.random() < 0.64 else Sex.FEMALE


def clock_of(ctx: ServiceContext) -> Clock:
    return ctx.clock


class DemoGenerator:
    """Builds a ward's worth of cases. ``services`` is the composition root's bundle (container)."""

    def __init__(self, services: Any, *, seed: int = 2026) -> None:
        self.s = services
        self.ctx: ServiceContext = services.ctx
        self.rng = random.Random(seed)
        self.real_clock = self.ctx.clock
        self.staff: DemoStaff | None = None
        # what happens to a case after it is opened (decision, cannulation, daily care, devices …);
        # each step is called as step(run_id, start, mode, indication, clock)
        self.course_steps: list[Any] = []
        # called once after the last case as step(clock): work that must follow every case in time
        self.finish_steps: list[Any] = []
        from ecmo_desktop.services.demo_records import RecordCourse

        course = RecordCourse(self, password=DEMO_PASSWORD)
        self.course_steps.append(course.chart)
        self.finish_steps.append(course.finish)
        self._device_demo = DeviceDemo(self)
        self.course_steps.append(self._devices_course)

    def _devices_course(
        self, run_id: int, start: datetime, mode: Mode, indication: Indication, clock: Any
    ) -> None:
        """Catalogue and stock on first use, then the circuit of this case (services/demo_devices.py)."""
        self._device_demo.course_step(run_id, start, mode, indication, clock)

    # ---- accounts --------------------------------------------------------------------------------
    def ensure_hospital(self) -> int:
        """Set a new database up as a demo database; on an existing one, go on as the logged-in admin.

        Demo data goes only into a database marked as demo from its set-up: fake patients signed in
        the names of a real ward's staff, and accounts with a printed password, must never mix with
        a real record (``DemoRefused`` otherwise).
        """
        if not self.s.auth.is_initialised():
            self.s.auth.first_run_setup(
                hospital_name="内蒙古自治区人民医院（演示）",
                hospital_code="NM-DEMO",
                city="呼和浩特市",
                admin_username="admin",
                admin_full_name="系统管理员",
                admin_password=DEMO_PASSWORD,
                admin_password_repeat=DEMO_PASSWORD,
                demo=True,
            )
            self.s.auth.login("admin", DEMO_PASSWORD)
        else:
            if not self.s.auth.is_demo():
                raise DemoRefused()
            user = self.ctx.user
            if user is None or "admin" not in user.roles:
                raise PermissionDenied(N_("向演示数据库添加病例须以管理员账户执行"))
        user = self.ctx.user
        assert user is not None
        return user.id

    def ensure_staff(self, since: datetime) -> DemoStaff:
        admin = self.ensure_hospital()
        existing = {s.username: s for s in self.s.staff.list_staff(include_inactive=True)}
        team = DemoStaff(admin=admin)
        plan = [
            ("zhangwei", "张伟", "chief", 26, ["doctor"], "doctors"),
            ("lina", "李娜", "associate_chief", 17, ["doctor"], "doctors"),
            ("wangqiang", "王强", "associate_chief", 12, ["doctor"], "doctors"),
            ("liuyang", "刘洋", "attending", 7, ["doctor"], "attendings"),
            ("chenming", "陈明", "attending", 6, ["doctor"], "attendings"),
            ("zhaojing", "赵静", "nurse_senior", 11, ["nurse"], "nurses"),
            ("sunli", "孙丽", "nurse", 5, ["nurse"], "nurses"),
            ("zhoulei", "周磊", "technician", 9, ["perfusionist"], "perfusionists"),
            ("wuxia", "吴霞", "other", 8, ["records"], "records"),
        ]
        self.ctx.clock = SteppingClock(since)
        try:
            for username, name, title, years, roles, group in plan:
                staff = existing.get(username)
                if staff is None:
                    staff = self.s.staff.create_staff(
                        username=username,
                        full_name=name,
                        title=title,
                        years_in_practice=years,
                        roles=roles,
                        initial_password=DEMO_PASSWORD + "x",
                        ecmo_trained=True,
                    )
                    self._first_login(staff.id, username)
                    if group in ("doctors", "attendings"):
                        self.s.staff.grant_privilege(staff.id, note="演示：科室授权")
                    if group == "doctors":
                        self.s.staff.add_expert(staff.id)
                        self.s.staff.add_training(
                            staff.id,
                            institution="北京安贞医院ECMO培训中心",
                            start_date=since.date() - timedelta(days=400),
                            end_date=since.date() - timedelta(days=300),
                            assessed=True,
                        )
                getattr(team, group).append(staff.id)
            if team.doctors:
                self.s.staff.set_ecmo_lead(team.doctors[0])
        finally:
            self.ctx.clock = self.real_clock
        self.staff = team
        return team

    def _first_login(self, staff_id: int, username: str) -> None:
        """Demo accounts do what a new colleague does: log in once and replace the initial password."""
        admin = self.ctx.user
        self.s.auth.login(username, DEMO_PASSWORD + "x")
        self.s.auth.change_password(DEMO_PASSWORD + "x", DEMO_PASSWORD, DEMO_PASSWORD)
        self.ctx.user = admin

    def act_as(self, staff_id: int) -> None:
        staff = self.s.staff.get_staff(staff_id) if self.ctx.user else None
        if staff is None:
            raise RuntimeError("demo generation needs a logged-in administrator first")
        as_user(self.ctx, staff.id, staff.username, staff.full_name, set(staff.roles))

    # ---- cases -----------------------------------------------------------------------------------
    def generate(self, cases: int, *, years: int = 3) -> DemoSummary:
        now = self.real_clock.now()
        first = demo_start(years, now)
        last = now - timedelta(days=2)
        team = self.ensure_staff(first - timedelta(days=30))
        created = 0
        stepping = SteppingClock(first - timedelta(days=1))
        self.ctx.clock = stepping
        try:
            for i in range(cases):
                start = case_times(self.rng, i, cases, first, last)
                stepping.set(start - timedelta(hours=2))
                mode = pick_mode(self.rng)
                indication = pick_indication(self.rng, mode)
                run_id = self.open_case(i, team, start, mode, indication)
                for step in self.course_steps:
                    step(run_id, start, mode, indication, stepping)
                created += 1
            for finish in self.finish_steps:
                finish(stepping)
            staff_count = len(self.s.staff.list_staff(include_inactive=True))
        finally:
            self.ctx.clock = self.real_clock
            self.ctx.user = None
        return DemoSummary(created, staff_count, DEMO_PASSWORD, {"years": years, "password_hashing": "demo"})

    def open_case(
        self, index: int, team: DemoStaff, start: datetime, mode: Mode, indication: Indication
    ) -> int:
        from ecmo_desktop.services.runs import PatientInput, RunInput

        rng = self.rng
        self.act_as(rng.choice(team.nurses))
        age = rng.randint(16, 78) if indication != Indication.MYOCARDITIS else rng.randint(14, 45)
        sex = sex_for(rng)
        height = rng.randint(150, 185) if sex == Sex.MALE else rng.randint(148, 172)
        weight = round(rng.uniform(48, 95), 1)
        mrn = f"{start.year % 100:02d}{index + 1:06d}"
        patient = self.s.runs.register_patient(
            PatientInput(
                mrn=mrn,
                name=random_name(rng),
                sex=sex.value,
                birth_date=birth_for_age(rng, age, start.date()),
                height_cm=height,
                weight_kg=weight,
                ward=rng.choice(WARDS),
                bed=str(rng.randint(1, 24)),
            )
        )
        self.act_as(rng.choice(team.doctors + team.attendings))
        run: Run = self.s.runs.open_run(
            patient.id,
            RunInput(
                mode=mode.value,
                indication=indication.value,
                ecpr=indication == Indication.CARDIAC_ARREST,
                emergency=indication == Indication.CARDIAC_ARREST or rng.random() < 0.35,
                diagnosis=indication.label,
            ),
        )
        return run.id
