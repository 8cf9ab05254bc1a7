"""Lesson files: the TOML format, parsed and validated into frozen dataclasses.

A lesson is a TOML file ``resources/lessons/NN-name.toml`` (read with :mod:`tomllib`)::

    name = "fanout"            # what `streamscope lesson fanout` asks for
    title = "Fan-out: one stream, three services"
    seed = 7                   # the city and the partners' drives: same seed, same records
    topics = ["deliveries"]    # deleted when the lesson restarts (clean state)
    intro = "Shown before the first step (optional; default: the title)."
    page = "log"               # optional: the page the lesson is watched on (see below)
    focus = "deliveries"       # optional: what that page opens on

    [[steps]]
    caption = "What to watch, in plain words."
    page = "groups"            # optional: this step is watched on another page
    focus = "customer-map"
    actions = [
      { do = "create_topic", topic = "deliveries", partitions = 6 },
      { do = "start_partners", partners = 20, rate = 10, limit = 3000 },
      { do = "add_app", kind = "map", group = "customer-map" },
      { do = "wait", seconds = 3 },
      { do = "assert", check = "equal_counts", groups = ["a", "b"], within = 30 },
    ]

``page`` (lesson and step, optional) names the GUI page that shows what to watch, one
of :data:`PAGES`: ``"log"`` (the topic's partitions with every group's cursor),
``"groups"`` (a consumer group: its members, assignment, lag and rebalances),
``"simulation"`` (the partners, the apps' maps and counters), ``"figures"`` (the
charts of lesson 6's database race and lesson 8's idempotent producer), ``"overview"``,
``"topics"``, ``"messages"``, ``"clients"``. ``focus`` says what the page
opens on: a topic for ``"log"`` and ``"messages"``, a group the lesson makes for
``"groups"`` and ``"simulation"`` (its app's tab); without it, the lesson's topic or its
first group. The lesson's page is shown when it opens; a step's page when that step
starts (a step without one leaves the page as it is). A lesson without a ``page`` gets
one guessed from its actions (the GUI's fallback). ``focus`` without ``page`` is an error.

Every action is a table whose ``do`` names it; its other keys are its arguments (the
dataclass of the same name below says which, their types and defaults). Actions:

``create_topic`` topic, partitions=6, configs (["name=value", ...], Kafka's topic configs:
  e.g. "cleanup.policy=compact") (kept as it is when it exists)
``start_partners`` topic="deliveries", partitions=6, partners=50, rate=100 (updates/s in
  total), limit (stop after exactly this many updates; lessons set it so counts are
  deterministic), real_client=false
``stop_partners`` | ``retune`` rate, partners | ``lunch_rush`` multiplier, seconds
``add_app`` kind (map, analytics, notifications, database, counter), group,
  topic="deliveries", consumers=1, assignor (range, roundrobin, cooperative-sticky),
  commit (after, before, auto), delay (seconds of processing per record)
``add_consumer`` group, count=1 | ``remove_consumer`` group | ``kill_consumer`` group,
  index | ``crash`` group, point (before_commit, after_commit), index |
  ``set_delay`` group, seconds | ``pause`` group | ``resume`` group
``wait`` seconds (of lesson time: divided by the player's speed)
``produce_null_keys`` topic, count, partners=10, batch=50, partitions=6: updates with no
  key, through Kafka's sticky partitioner (one partition per batch)
``db_race`` steps (offered updates/s per step), step_seconds, drain_seconds, partners:
  lesson 6's race, direct SQLite writes against the broker path
``ack_drop`` idempotent, records=300, drops=3: a real producer whose acknowledgements
  are dropped (lesson 8)
``transform`` exactly_once, records=200, crash_after=90: consume-transform-produce with
  real clients, the transformer killed mid-batch and restarted (lesson 10)
``assert`` check, within=30 (seconds to wait for the condition), plus the check's own
  arguments (the ``*Check`` dataclasses below; checks are listed in :data:`CHECKS`)

Where a lesson runs: on the embedded broker, or on an external cluster through real
clients (the simulation's external target) unless it does something only the embedded
broker allows: :attr:`Lesson.embedded_only` lists why, one line per reason, from its
actions and checks (:data:`EMBEDDED_ONLY`: killing or crashing a consumer, the database
race, dropping acknowledgements, reading log segments for compaction).

Contract: :func:`parse_lesson` / :func:`load_lesson` accept exactly this and raise
:class:`LessonError` for anything else (unknown key, wrong type, value out of range,
missing argument, a group used before an ``add_app`` made it), naming the file, the step
(from 1), the action (from 1) and its ``do``. :func:`builtin_lessons` lists the lessons
shipped in ``streamscope.resources/lessons`` (read through :mod:`importlib.resources`),
ordered by file name; :func:`find_lesson` finds one by name or raises
:class:`LessonNotFound`. A built-in lesson's ``name`` must match its file name.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import ClassVar, Literal, Union

from streamscope.core.sim.consumers import AppKind, CommitMode, CrashPoint

Assignor = Literal["range", "roundrobin", "cooperative-sticky"]
Page = Literal[
    "overview", "topics", "log", "messages", "groups", "clients", "simulation", "figures"
]
PAGES: tuple[str, ...] = typing.get_args(Page)
_GROUP_PAGES = ("groups", "simulation")  # pages whose focus is a group of the lesson
Expect = Literal[">0", "0"]  # a counter is above zero, or zero

_POSITIVE = {"gt": 0}
_AT_LEAST_1 = {"ge": 1}
_NOT_NEGATIVE = {"ge": 0}


class LessonError(ValueError):
    """A lesson file that is not valid: the message names the file, step and action."""


class LessonNotFound(LookupError):
    """No lesson of that name (the message lists the lessons there are)."""


# --- actions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateTopic:
    DO: ClassVar[str] = "create_topic"
    topic: str
    partitions: int = field(default=6, metadata=_AT_LEAST_1)
    configs: tuple[str, ...] = ()  # "name=value": Kafka's topic configs

    def config_map(self) -> dict[str, str]:
        """``configs`` as a dict (the parser checked each has a ``=``)."""
        return dict(item.split("=", 1) for item in self.configs)


@dataclass(frozen=True, slots=True)
class StartPartners:
    DO: ClassVar[str] = "start_partners"
    topic: str = "deliveries"
    partitions: int = field(default=6, metadata=_AT_LEAST_1)
    partners: int = field(default=50, metadata=_AT_LEAST_1)
    rate: float = field(default=100.0, metadata=_POSITIVE)
    limit: int | None = field(default=None, metadata=_AT_LEAST_1)
    real_client: bool = False


@dataclass(frozen=True, slots=True)
class StopPartners:
    DO: ClassVar[str] = "stop_partners"


@dataclass(frozen=True, slots=True)
class Retune:
    DO: ClassVar[str] = "retune"
    rate: float | None = field(default=None, metadata=_POSITIVE)
    partners: int | None = field(default=None, metadata=_AT_LEAST_1)


@dataclass(frozen=True, slots=True)
class LunchRush:
    DO: ClassVar[str] = "lunch_rush"
    multiplier: float = field(metadata=_POSITIVE)
    seconds: float = field(metadata=_POSITIVE)


@dataclass(frozen=True, slots=True)
class AddApp:
    DO: ClassVar[str] = "add_app"
    kind: AppKind
    group: str
    topic: str = "deliveries"
    consumers: int = field(default=1, metadata=_AT_LEAST_1)
    assignor: Assignor = "range"
    commit: CommitMode = "after"
    delay: float = field(default=0.0, metadata=_NOT_NEGATIVE)


@dataclass(frozen=True, slots=True)
class AddConsumer:
    DO: ClassVar[str] = "add_consumer"
    group: str
    count: int = field(default=1, metadata=_AT_LEAST_1)


@dataclass(frozen=True, slots=True)
class RemoveConsumer:
    DO: ClassVar[str] = "remove_consumer"
    group: str


@dataclass(frozen=True, slots=True)
class KillConsumer:
    DO: ClassVar[str] = "kill_consumer"
    group: str
    index: int | None = field(default=None, metadata=_NOT_NEGATIVE)


@dataclass(frozen=True, slots=True)
class Crash:
    DO: ClassVar[str] = "crash"
    group: str
    point: CrashPoint
    index: int | None = field(default=None, metadata=_NOT_NEGATIVE)


@dataclass(frozen=True, slots=True)
class SetDelay:
    DO: ClassVar[str] = "set_delay"
    group: str
    seconds: float = field(metadata=_NOT_NEGATIVE)


@dataclass(frozen=True, slots=True)
class Pause:
    DO: ClassVar[str] = "pause"
    group: str


@dataclass(frozen=True, slots=True)
class Resume:
    DO: ClassVar[str] = "resume"
    group: str


@dataclass(frozen=True, slots=True)
class Wait:
    DO: ClassVar[str] = "wait"
    seconds: float = field(metadata=_NOT_NEGATIVE)


@dataclass(frozen=True, slots=True)
class ProduceNullKeys:
    DO: ClassVar[str] = "produce_null_keys"
    topic: str
    count: int = field(metadata=_AT_LEAST_1)
    partners: int = field(default=10, metadata=_AT_LEAST_1)
    batch: int = field(default=50, metadata=_AT_LEAST_1)
    partitions: int = field(default=6, metadata=_AT_LEAST_1)


@dataclass(frozen=True, slots=True)
class DbRace:
    DO: ClassVar[str] = "db_race"
    steps: tuple[float, ...] = (200.0, 500.0, 1000.0, 2000.0, 5000.0)
    step_seconds: float = field(default=3.0, metadata=_POSITIVE)
    drain_seconds: float = field(default=5.0, metadata=_NOT_NEGATIVE)
    partners: int = field(default=50, metadata=_AT_LEAST_1)


@dataclass(frozen=True, slots=True)
class AckDrop:
    DO: ClassVar[str] = "ack_drop"
    idempotent: bool
    records: int = field(default=300, metadata=_AT_LEAST_1)
    drops: int = field(default=3, metadata=_AT_LEAST_1)


@dataclass(frozen=True, slots=True)
class Transform:
    DO: ClassVar[str] = "transform"
    exactly_once: bool
    records: int = field(default=200, metadata=_AT_LEAST_1)
    crash_after: int = field(default=90, metadata=_AT_LEAST_1)


# --- checks (the ``check`` of an ``assert``) -------------------------------------------


@dataclass(frozen=True, slots=True)
class EqualCountsCheck:
    """Every group processed every update the partners sent, once (fan-out)."""

    CHECK: ClassVar[str] = "equal_counts"
    groups: tuple[str, ...] = field(metadata={"min_items": 2})


@dataclass(frozen=True, slots=True)
class IdleConsumersCheck:
    """The group is stable and exactly ``count`` of its live members own no partition."""

    CHECK: ClassVar[str] = "idle_consumers"
    group: str
    count: int = field(metadata=_NOT_NEGATIVE)


@dataclass(frozen=True, slots=True)
class ReassignedCheck:
    """The member killed last in the group is gone and live members own its partitions;
    ``max_moved``: at most this many partitions changed hands between survivors."""

    CHECK: ClassVar[str] = "reassigned"
    group: str
    max_moved: int | None = field(default=None, metadata=_NOT_NEGATIVE)


@dataclass(frozen=True, slots=True)
class LagZeroCheck:
    """The group has read and committed everything in its topic."""

    CHECK: ClassVar[str] = "lag_zero"
    group: str


@dataclass(frozen=True, slots=True)
class LagAboveCheck:
    """The group's lag reached at least ``min`` records."""

    CHECK: ClassVar[str] = "lag_above"
    group: str
    min: int = field(metadata=_AT_LEAST_1)


@dataclass(frozen=True, slots=True)
class DeliveryCheck:
    """Once the partners stopped and the group caught up: duplicates and lost updates."""

    CHECK: ClassVar[str] = "delivery"
    group: str
    duplicates: Expect | None = None
    lost: Expect | None = None


@dataclass(frozen=True, slots=True)
class OrderedCheck:
    """Read back from the log: each partner's updates sit in one partition, in order
    (once the log holds ``records`` updates, when given)."""

    CHECK: ClassVar[str] = "ordered"
    topic: str
    records: int | None = field(default=None, metadata=_AT_LEAST_1)  # wait for this many


@dataclass(frozen=True, slots=True)
class ScatteredCheck:
    """Read back from the log: records without a key spread over at least
    ``min_partitions`` partitions, so one partner's updates are in several of them."""

    CHECK: ClassVar[str] = "scattered"
    topic: str
    min_partitions: int = field(default=2, metadata=_AT_LEAST_1)
    records: int | None = field(default=None, metadata=_AT_LEAST_1)  # wait for this many


@dataclass(frozen=True, slots=True)
class CompactedCheck:
    """Read back from the log: below each partition's active segment (what the cleaner
    may compact) no partner's key appears twice, and every partner's last update sent is
    still in the log (compaction kept the latest location of every partner)."""

    CHECK: ClassVar[str] = "compacted"
    topic: str


@dataclass(frozen=True, slots=True)
class TransformCheck:
    """Both ``transform`` runs done: at least once left duplicates downstream, exactly
    once none, and neither lost an update."""

    CHECK: ClassVar[str] = "transform"


@dataclass(frozen=True, slots=True)
class DbRaceCheck:
    """At the top load step the direct path wrote fewer updates/s than the broker path."""

    CHECK: ClassVar[str] = "db_race"


@dataclass(frozen=True, slots=True)
class AckDropCheck:
    """Dropped acknowledgements: duplicates without idempotence, none with it (both
    ``ack_drop`` runs done)."""

    CHECK: ClassVar[str] = "ack_drop"


Check = Union[  # noqa: UP007 (a runtime value: the registry below iterates it)
    EqualCountsCheck, IdleConsumersCheck, ReassignedCheck, LagZeroCheck, LagAboveCheck,
    DeliveryCheck, OrderedCheck, ScatteredCheck, CompactedCheck, DbRaceCheck, AckDropCheck,
    TransformCheck,
]
CHECKS: dict[str, type] = {c.CHECK: c for c in typing.get_args(Check)}


@dataclass(frozen=True, slots=True)
class Assert:
    DO: ClassVar[str] = "assert"
    check: Check
    within: float = 30.0  # seconds of lesson time to wait for the condition


Action = Union[  # noqa: UP007
    CreateTopic, StartPartners, StopPartners, Retune, LunchRush, AddApp, AddConsumer,
    RemoveConsumer, KillConsumer, Crash, SetDelay, Pause, Resume, Wait, ProduceNullKeys,
    DbRace, AckDrop, Transform, Assert,
]
ACTIONS: dict[str, type] = {a.DO: a for a in typing.get_args(Action)}
# Actions that run an experiment or wait: a replay (``LessonPlayer.previous``) skips them.
TIMED_ACTIONS = (Wait, Assert, DbRace, AckDrop, Transform)


# --- the lesson -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    caption: str
    actions: tuple[Action, ...]
    page: Page | None = None  # the page this step is watched on (None: stay)
    focus: str | None = None  # the topic or group that page opens on (None: default)


@dataclass(frozen=True, slots=True)
class Lesson:
    name: str
    title: str
    seed: int
    topics: tuple[str, ...]
    steps: tuple[Step, ...]
    intro: str = ""
    source: str = "<lesson>"
    page: Page | None = None  # the page the lesson is watched on (None: the GUI guesses)
    focus: str | None = None  # the topic or group that page opens on (None: default)

    def page_focus(self, page: str, focus: str | None) -> str:
        """What ``page`` opens on: ``focus``, else the lesson's topic (log, messages) or
        its first group (groups, simulation), else "" (the page as it is)."""
        if focus:
            return focus
        if page in _GROUP_PAGES:
            return self.groups[0] if self.groups else ""
        if page in ("log", "messages"):
            return self.topic or (self.topics[0] if self.topics else "")
        return ""

    @property
    def groups(self) -> tuple[str, ...]:
        """The consumer groups the lesson makes, in order (for a student to join one)."""
        return tuple(a.group for s in self.steps for a in s.actions if isinstance(a, AddApp))

    @property
    def embedded_only(self) -> tuple[str, ...]:
        """Why the lesson runs only on the embedded broker: one line per reason (what it
        does that a real client against another cluster cannot); () if it runs anywhere."""
        return embedded_only_reasons(self)

    @property
    def topic(self) -> str | None:
        """The topic the partners write to (the first ``start_partners``), if any."""
        for s in self.steps:
            for a in s.actions:
                if isinstance(a, StartPartners):
                    return a.topic
        return None


# What a lesson may do only on the embedded broker, and why (shown to a user as is).
EMBEDDED_ONLY: dict[type, str] = {
    KillConsumer: "it kills a consumer abruptly (no commit, no LeaveGroup), which only the"
                  " embedded broker's in-process consumers can do",
    Crash: "it crashes consumers mid-batch (no commit, no LeaveGroup), which only the"
           " embedded broker's in-process consumers can do",
    DbRace: "it races direct database writes against the embedded broker's in-process path",
    AckDrop: "it drops acknowledgements with the embedded broker's fault injector",
    CompactedCheck: "it reads the embedded broker's log segments to see what the log"
                    " cleaner compacted",
}


def embedded_only_reasons(lesson: Lesson) -> tuple[str, ...]:
    """:attr:`Lesson.embedded_only`: the reasons of :data:`EMBEDDED_ONLY` its actions and
    checks meet, each once, in the order met."""
    reasons: list[str] = []
    for step in lesson.steps:
        for action in step.actions:
            kind = type(action.check) if isinstance(action, Assert) else type(action)
            reason = EMBEDDED_ONLY.get(kind)
            if reason is not None and reason not in reasons:
                reasons.append(reason)
    return tuple(reasons)


_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_LESSON_KEYS = {"name", "title", "seed", "topics", "intro", "steps", "page", "focus"}


def parse_lesson(text: str, source: str = "<lesson>") -> Lesson:
    """The lesson in TOML ``text``; :class:`LessonError` naming ``source`` if invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LessonError(f"{source}: not valid TOML: {exc}") from None
    where = source
    _no_unknown(data, _LESSON_KEYS, where)
    name = _required(data, "name", str, where)
    if not _NAME.fullmatch(name):
        raise LessonError(f"{where}: name {name!r} must be lower-case letters, digits and -")
    title = _required(data, "title", str, where)
    seed = data.get("seed", 1)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise LessonError(f"{where}: seed must be an integer, got {seed!r}")
    topics = data.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(t, str) and t for t in topics):
        raise LessonError(f"{where}: topics must be a list of topic names")
    intro = data.get("intro", "")
    if not isinstance(intro, str):
        raise LessonError(f"{where}: intro must be a string")
    page, focus = _page(data, where)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonError(f"{where}: a lesson needs at least one [[steps]] table")
    steps = []
    groups: set[str] = set()
    for i, raw in enumerate(raw_steps, 1):
        at = f"{where}: step {i}"
        if not isinstance(raw, dict):
            raise LessonError(f"{at}: must be a table")
        _no_unknown(raw, {"caption", "actions", "page", "focus"}, at)
        caption = _required(raw, "caption", str, at).strip()
        if not caption:
            raise LessonError(f"{at}: the caption is empty")
        raw_actions = raw.get("actions", [])
        if not isinstance(raw_actions, list):
            raise LessonError(f"{at}: actions must be a list of tables")
        actions = []
        for j, raw_action in enumerate(raw_actions, 1):
            action = _parse_action(raw_action, f"{at}, action {j}")
            _check_groups(action, groups, f"{at}, action {j} ({action.DO})")
            actions.append(action)
        steps.append(Step(caption, tuple(actions), *_page(raw, at)))
    _check_focus(focus, page, groups, where)
    for i, step in enumerate(steps, 1):
        _check_focus(step.focus, step.page, groups, f"{where}: step {i}")
    return Lesson(name, title, seed, tuple(topics), tuple(steps), intro or title, source,
                  page, focus)


def load_lesson(path: str | Path) -> Lesson:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LessonError(f"{path}: cannot read: {exc}") from None
    return parse_lesson(text, str(path))


def builtin_lessons() -> tuple[Lesson, ...]:
    """The lessons shipped with Streamscope, ordered by file name (01-..., 02-...)."""
    folder = resources.files("streamscope.resources").joinpath("lessons")
    lessons = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        source = f"lessons/{entry.name}"
        lesson = parse_lesson(entry.read_text(encoding="utf-8"), source)
        expected = re.sub(r"^\d+-", "", entry.name.removesuffix(".toml"))
        if lesson.name != expected:
            raise LessonError(f"{source}: name {lesson.name!r} does not match the file name")
        lessons.append(lesson)
    return tuple(lessons)


def find_lesson(name: str) -> Lesson:
    """The built-in lesson called ``name``, or the lesson file at path ``name``."""
    if name.endswith(".toml"):
        return load_lesson(name)
    lessons = builtin_lessons()
    for lesson in lessons:
        if lesson.name == name:
            return lesson
    known = ", ".join(lesson.name for lesson in lessons)
    raise LessonNotFound(f"no lesson called {name!r} (lessons: {known})")


# --- validation -------------------------------------------------------------------------


def _no_unknown(data: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise LessonError(
            f"{where}: unknown key {unknown[0]!r} (expected: {', '.join(sorted(allowed))})")


def _required(data: dict, key: str, kind: type, where: str):  # noqa: ANN202
    if key not in data:
        raise LessonError(f"{where}: missing {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise LessonError(f"{where}: {key} must be a {kind.__name__}, got {value!r}")
    return value


def _parse_action(raw: object, where: str) -> Action:
    if not isinstance(raw, dict):
        raise LessonError(f"{where}: an action must be a table like {{ do = \"wait\", ... }}")
    do = raw.get("do")
    if do not in ACTIONS:
        raise LessonError(f"{where}: unknown action do = {do!r} (actions: {', '.join(ACTIONS)})")
    where = f"{where} ({do})"
    args = {k: v for k, v in raw.items() if k != "do"}
    if do != "assert":
        action = _build(ACTIONS[do], args, where)
        if isinstance(action, Transform) and action.crash_after >= action.records:
            raise LessonError(f"{where}: crash_after must be below records")
        if isinstance(action, CreateTopic):
            bad = [c for c in action.configs if "=" not in c or c.startswith("=")]
            if bad:
                raise LessonError(f"{where}: configs items must be \"name=value\", got {bad[0]!r}")
        return action
    kind = args.pop("check", None)
    if kind not in CHECKS:
        raise LessonError(f"{where}: unknown check {kind!r} (checks: {', '.join(CHECKS)})")
    within = args.pop("within", 30.0)
    within = _value(float, within, "within", where, {"gt": 0})
    return Assert(_build(CHECKS[kind], args, f"{where}, check {kind}"), within)


def _build(cls: type, args: dict, where: str):  # noqa: ANN202
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    _no_unknown(args, set(fields), where)
    values = {}
    for name, f in fields.items():
        if name not in args:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise LessonError(f"{where}: missing {name!r}")
            continue
        values[name] = _value(hints[name], args[name], name, where, f.metadata)
    return cls(**values)


def _value(hint: object, value: object, name: str, where: str, limits: object) -> object:
    """``value`` checked against the type ``hint`` and the field's ``limits``."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):  # X | None: None is "absent" in TOML
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _value(inner, value, name, where, limits)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise LessonError(
                f"{where}: {name} = {value!r} is not one of {', '.join(map(repr, choices))}")
        return value
    if origin is tuple:
        (item, _dots) = typing.get_args(hint)
        if not isinstance(value, list):
            raise LessonError(f"{where}: {name} must be a list, got {value!r}")
        low = dict(limits or {}).get("min_items", 0) if isinstance(limits, typing.Mapping) else 0
        if len(value) < low:
            raise LessonError(f"{where}: {name} needs at least {low} items")
        return tuple(_value(item, v, f"{name}[{i}]", where, {"gt": 0} if item is float else {})
                     for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise LessonError(f"{where}: {name} must be true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str) or not value:
            raise LessonError(f"{where}: {name} must be a non-empty string, got {value!r}")
        return value
    if hint is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise LessonError(f"{where}: {name} must be an integer, got {value!r}")
    elif hint is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise LessonError(f"{where}: {name} must be a number, got {value!r}")
        value = float(value)
    else:  # pragma: no cover - a dataclass field of a type this parser does not know
        raise TypeError(f"unsupported field type {hint!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise LessonError(f"{where}: {name} must be a finite number, got {value!r}")
    bounds = dict(limits) if isinstance(limits, typing.Mapping) else {}
    if "gt" in bounds and not value > bounds["gt"]:
        raise LessonError(f"{where}: {name} must be above {bounds['gt']}, got {value!r}")
    if "ge" in bounds and not value >= bounds["ge"]:
        raise LessonError(f"{where}: {name} must be at least {bounds['ge']}, got {value!r}")
    return value


def _page(data: dict, where: str) -> tuple[Page | None, str | None]:
    """The optional ``page`` and ``focus`` of a lesson or a step."""
    page = data.get("page")
    if page is not None and page not in PAGES:
        raise LessonError(
            f"{where}: page = {page!r} is not one of {', '.join(map(repr, PAGES))}")
    focus = data.get("focus")
    if focus is not None:
        if not isinstance(focus, str) or not focus:
            raise LessonError(f"{where}: focus must be a non-empty string, got {focus!r}")
        if page is None:
            raise LessonError(f"{where}: focus needs a page (what it opens on)")
    return page, focus


def _check_focus(focus: str | None, page: str | None, groups: set[str], where: str) -> None:
    """A group page's focus is a group the lesson makes."""
    if focus is not None and page in _GROUP_PAGES and focus not in groups:
        raise LessonError(f"{where}: focus {focus!r} is not a group of the lesson"
                          f" (groups: {', '.join(sorted(groups)) or 'none'})")


def _check_groups(action: Action, groups: set[str], where: str) -> None:
    """Groups are made by ``add_app`` before anything names them."""
    if isinstance(action, AddApp):
        if action.group in groups:
            raise LessonError(f"{where}: group {action.group!r} is added twice")
        groups.add(action.group)
        return
    named: tuple[str, ...] = ()
    if isinstance(action, Assert):
        check = action.check
        if isinstance(check, EqualCountsCheck):
            named = check.groups
        elif hasattr(check, "group"):
            named = (check.group,)
    elif hasattr(action, "group"):
        named = (action.group,)
    for group in named:
        if group not in groups:
            raise LessonError(f"{where}: group {group!r} is used before an add_app makes it")
