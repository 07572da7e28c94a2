"""Event models: canonical JSON round trips, upcasting stored old shapes, unknown types."""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Any, Literal, get_args, get_origin

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from gome_es.core import events as E
from gome_es.core.canonical import canonical_json
from gome_es.errors import EventError, UnknownEventType
from gome_es.store import EventStore, NewEvent

json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                        st.floats(allow_nan=False, allow_infinity=False, width=64), st.text(max_size=20))
json_value = st.recursive(json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)


def strategy_for(tp: Any) -> st.SearchStrategy:
    origin = get_origin(tp)
    if tp is Any:
        return json_value
    if origin is Literal:
        return st.sampled_from(get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[strategy_for(a) for a in get_args(tp)])
    if origin is list:
        return st.lists(strategy_for(get_args(tp)[0]), max_size=3)
    if origin is dict:
        k, v = get_args(tp)
        return st.dictionaries(st.text(max_size=8), strategy_for(v), max_size=3)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):  # the vocabulary: stored as its values
        return st.sampled_from([m.value for m in tp])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return model_strategy(tp)
    if tp is type(None):
        return st.none()
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-10**9, 10**9)
    if tp is float:
        return st.floats(allow_nan=False, allow_infinity=False, width=64)
    if tp is str:
        return st.text(max_size=30)
    raise NotImplementedError(tp)


def bounded(f) -> st.SearchStrategy:
    """A field's strategy within its declared bounds (Field(ge=..., le=..., gt=...))."""
    lo = hi = None
    for m in f.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
        if getattr(m, "gt", None) is not None:
            lo = m.gt + (1 if f.annotation is int else 1e-9)
    if lo is None and hi is None:
        return strategy_for(f.annotation)
    if f.annotation is int:
        return st.integers(-10**9 if lo is None else lo, 10**9 if hi is None else hi)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


def model_strategy(cls: type[BaseModel]) -> st.SearchStrategy:
    fields = {name: bounded(f) for name, f in cls.model_fields.items() if name != "type"}
    return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))


@pytest.mark.parametrize("type_name", sorted(E.EVENT_TYPES))
def test_every_event_type_round_trips_through_canonical_json(type_name: str) -> None:
    cls = E.EVENT_TYPES[type_name]

    @settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
    @given(model_strategy(cls))
    def check(ev: E.Event) -> None:
        text = canonical_json(ev.payload())
        back = E.parse_event(type_name, cls.schema_version, json.loads(text))
        assert back == ev
        assert canonical_json(back.payload()) == text

    check()


def test_stored_old_version_event_reads_into_todays_class(tmp_path) -> None:
    store = EventStore.open(tmp_path / "g.db")
    old = {"key": "t1/it0/exec/0", "solution_id": "t1-i0-a0", "status": "timeout", "exit_code": None}
    store.append("r", [NewEvent(type="ExecutionFinished", payload=old, trace_id="t1", schema_version=1)], 0)
    store.close()
    store = EventStore.open(tmp_path / "g.db")
    (row,) = list(store.read("r"))
    assert row.schema_version == 1 and row.payload == old  # the stored row is never rewritten
    ev = E.parse_event(row.type, row.schema_version, row.payload)
    assert isinstance(ev, E.ExecutionFinished)
    assert ev.failure == "timeout" and ev.submission_check == {}
    assert E.ExecutionFinished.schema_version == 2


def test_unknown_type_and_future_version_are_clear_errors() -> None:
    with pytest.raises(UnknownEventType, match="HyperdriveEngaged.*upgrade gome-es"):
        E.parse_event("HyperdriveEngaged", 1, {})
    with pytest.raises(EventError, match="schema_version 9"):
        E.parse_event("RunFinished", 9, {"status": "completed"})


def test_volatile_fields_are_declared_and_stripped() -> None:
    p = E.ExecutionFinished(key="k", solution_id="s", failure="ok", duration_s=3.2, peak_rss_mb=10).payload()
    stripped = E.strip_volatile("ExecutionFinished", p)
    assert "duration_s" not in stripped and "peak_rss_mb" not in stripped and stripped["failure"] == "ok"
    g = E.SubmissionGraded(report={"score": 1.0, "created_at": "now", "submission_path": "/x"}).payload()
    assert E.strip_volatile("SubmissionGraded", g) == {"report": {"score": 1.0}}
