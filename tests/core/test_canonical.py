"""The fast canonical encoder and the fast decoder against the standard library.

Hashes of recorded contexts and prompts depend on the exact canonical text, so
the fast path must give the reference's bytes for every value the reference
accepts, and fall back (not differ) wherever orjson would write otherwise.
"""

from __future__ import annotations

import enum
import json
import math
import struct
from collections import OrderedDict
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gome_es.core.canonical import canonical_json, fast_canonical_json, json_string, loads
from gome_es.core.prompts import messages_for, messages_json

floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), floats, st.text())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@pytest.mark.integration
@settings(max_examples=2000, deadline=None)
@given(values)
def test_fast_encoder_gives_the_reference_text(value):
    assert fast_canonical_json(value) == canonical_json(value)


@pytest.mark.integration
@settings(max_examples=500, deadline=None)
@given(values)
def test_decoder_reads_what_the_reference_reads(value):
    text = canonical_json(value)
    assert canonical_json(loads(text)) == text
    assert canonical_json(loads(text.encode("utf-8"))) == text


def _bits_to_float(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


@pytest.mark.parametrize("x", [
    0.0, -0.0, 1e-4, 9.999999999999999e-05, 1e-05, -1e-05, 1.234e-05, 5e-324, 1e-7, 0.00011,
    1e15, 9999999999999998.0, 1e16, -1e16, 1.5e16, 1e22, 1.7976931348623157e308, 0.1, 123.456,
])
def test_float_edges(x):
    for v in (x, [x], {"a": x}, [1, {"b": [x, "1e-5"]}]):
        assert fast_canonical_json(v) == canonical_json(v)


def test_every_float_form_sampled():
    """Random bit patterns cover every exponent: orjson differs below 1e-4, never unseen."""
    import random

    rng = random.Random(7)
    for _ in range(20000):
        x = _bits_to_float(rng.getrandbits(64))
        if math.isfinite(x):
            assert fast_canonical_json([x, {"k": -x}]) == canonical_json([x, {"k": -x}])


def test_text_that_looks_like_a_small_float_is_only_a_slow_path():
    for v in ({"code": "lr = [1e-3, 0.00001]"}, {"t": ":1e-5"}, ["re-run", "0.0000"], "e-"):
        assert fast_canonical_json(v) == canonical_json(v)


@pytest.mark.parametrize("value", [
    2**64, -(2**63) - 1, 10**30, [2**70],                    # past 64 bits: orjson refuses, reference writes
    {1: "a"}, {None: 1},                                      # non-str keys: reference converts them
    OrderedDict(b=1, a=2), (1, 2),                            # subclass and tuple
    "\ud800", {"k": "x\udfffy"},                              # lone surrogates pass through the reference
    "\u2028\u2029\x7f\x00\x1f\"\\/é😀",                      # escapes and non-ASCII
])
def test_fallbacks_match_the_reference(value):
    assert fast_canonical_json(value) == canonical_json(value)


class Colour(str, enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int


def test_types_the_reference_handles_or_refuses_alike():
    assert fast_canonical_json({"c": Colour.RED}) == canonical_json({"c": Colour.RED})
    for bad in (Point(1), {1, 2}, object()):
        with pytest.raises(TypeError):
            canonical_json(bad)
        with pytest.raises(TypeError):
            fast_canonical_json(bad)


def test_non_finite_floats():
    # the reference (which signs stored events) refuses them; the fast path, used
    # only on values built from stored (hence finite) events, writes null
    with pytest.raises(ValueError):
        canonical_json([math.nan])
    assert fast_canonical_json([math.nan, math.inf]) == "[null,null]"


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '"\\ud800"', "1e400", "123456789012345678901234567890",
                                  '{"a":1,"a":2}', "-0", "[1.0, 2]"])
def test_decoder_edges_match_json_loads(text):
    want = json.loads(text)
    got = loads(text)
    if isinstance(want, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert repr(got) == repr(want)


def test_decoder_errors_are_the_standard_librarys():
    with pytest.raises(json.JSONDecodeError):
        loads('{"a": ')


@pytest.mark.integration
@settings(max_examples=300, deadline=None)
@given(st.text(), st.dictionaries(st.text(max_size=5), values, max_size=4))
def test_messages_json_is_canonical(text, context):
    msgs = messages_for("propose", {**context, "n_candidates": 3})
    assert messages_json(msgs) == canonical_json(msgs)
    assert json_string(text) == canonical_json(text)


def test_messages_json_refuses_other_shapes():
    with pytest.raises(ValueError):
        messages_json([{"role": "user", "content": "x", "name": "n"}])
