"""The restricted unpickler: attacks are refused before anything runs; data survives."""

from __future__ import annotations

import collections
import datetime as dt
import functools
import os
import pickle
import subprocess
import sys
import textwrap
import typing
from collections import OrderedDict
from pathlib import Path, PurePosixPath

import pytest

from gome_es.rdagent.unpickle import GenericAlias, Inert, InertDefaultDict, UndecodablePickle, UnsafePickle, safe_loads

ROOT = Path(__file__).resolve().parents[2]


class _Gadget:
    """Pickles as a call to ``func(*args)``: the classic pickle code-execution shape."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _gadgets(marker: Path) -> dict[str, bytes]:
    import builtins

    cmd = f"touch {marker}"
    py = f"open({str(marker)!r}, 'w').close()"
    out = {
        "os.system": pickle.dumps(_Gadget(os.system, cmd)),
        "subprocess.call": pickle.dumps(_Gadget(subprocess.call, ["touch", str(marker)])),
        "subprocess.Popen": pickle.dumps(_Gadget(subprocess.Popen, ["touch", str(marker)])),
        "eval": pickle.dumps(_Gadget(builtins.eval, py)),
        "exec": pickle.dumps(_Gadget(builtins.exec, py)),
        "__import__": pickle.dumps(_Gadget(builtins.__import__, "os")),
        # protocol 0 written by hand: GLOBAL posix.system + REDUCE
        "posix.system": f"cposix\nsystem\n(V{cmd}\ntR.".encode(),
        # INST opcode: instantiates os.system with the argument
        "INST os.system": f"(V{cmd}\nios\nsystem\n.".encode(),
        # getattr gadget: getattr(__import__('os'), 'system')(cmd)
        "getattr": (
            b"\x80\x04cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V"
            + cmd.encode() + b"\ntR."
        ),
    }
    for proto in (2, 4, 5):
        out[f"os.system p{proto}"] = pickle.dumps(_Gadget(os.system, cmd), protocol=proto)
    return out


@pytest.mark.integration
def test_gadgets_are_live_with_plain_pickle(tmp_path):
    # Guard against a test that cannot fail: the os.system gadget does run under pickle.loads.
    marker = tmp_path / "plain-ran"
    data = _gadgets(marker)["os.system"]
    subprocess.run([sys.executable, "-c", "import pickle,sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=data, check=True)
    assert marker.exists()


@pytest.mark.parametrize("name", sorted(_gadgets(Path("/nonexistent")).keys()))
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, name):
    marker = tmp_path / "pwned"
    data = _gadgets(marker)[name]
    with pytest.raises(UnsafePickle) as err:
        safe_loads(data, source="Loop_0/running/1/evil.pkl")
    assert "Loop_0/running/1/evil.pkl" in str(err.value)
    assert "nothing from the file was executed" in str(err.value)
    assert not marker.exists()


def test_persistent_id_is_refused():
    data = b"\x80\x02X\x03\x00\x00\x00abcQ."  # BINPERSID
    with pytest.raises(UnsafePickle, match="persistent id"):
        safe_loads(data, source="f.pkl")


def test_truncated_pickle_is_undecodable_not_unsafe():
    with pytest.raises(UndecodablePickle, match="f.pkl"):
        safe_loads(pickle.dumps({"a": 1})[:-3], source="f.pkl")


class Hypo:  # stands for a class of a package that is not installed where we read
    def __init__(self):
        self.hypothesis = "use lightgbm"
        self.when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        self.files = OrderedDict(main="print(1)")
        self.path = PurePosixPath("/w/x")


@pytest.mark.parametrize("proto", range(0, 6))
def test_unknown_classes_become_inert_records_with_their_state(proto):
    obj = safe_loads(pickle.dumps([Hypo(), {1, 2}, (1.5, None, b"x")], protocol=proto))
    rec = obj[0]
    assert isinstance(rec, Inert)
    assert (rec.module, rec.name) == (__name__, "Hypo")
    assert rec.get("hypothesis") == "use lightgbm"
    assert rec.get("when") == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert rec.get("files") == {"main": "print(1)"}
    assert str(rec.get("path")) == "/w/x"
    assert obj[1] == {1, 2} and obj[2] == (1.5, None, b"x")


_NUMERIC_SCRIPT = textwrap.dedent(
    """
    import pickle, sys, json, math
    import numpy as np, pandas as pd
    df = pd.DataFrame({"f": [1.5, 2.5, float("nan")], "i": [1, 2, 3], "o": ["x", None, "z"],
                       "b": [True, False, True]}, index=["m1", "m2", "ensemble"])
    objs = {
        "frame": df, "series": df["f"], "ints": np.arange(6, dtype="int64").reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "bools": np.array([True, False]),
        "f32": np.array([0.5], dtype=">f4"), "objects": np.array(["a", 1], dtype=object),
        "unicode": np.array(["ab", "c"]), "scalar": np.float64(3.25),
        "score": pd.DataFrame({"accuracy": [0.81, 0.86]}, index=pd.Index(["lgbm", "ensemble"], name="Model")),
    }
    out = {f"{k}@{p}": pickle.dumps(v, protocol=p).hex() for k, v in objs.items() for p in range(0, 6)}
    json.dump(out, sys.stdout)
    """
)

_DECODE_SCRIPT = textwrap.dedent(
    """
    import json, sys, math
    from gome_es.rdagent.unpickle import safe_loads
    blobs = json.load(sys.stdin)
    out = {k: safe_loads(bytes.fromhex(v)) for k, v in blobs.items()}
    def clean(x):
        if isinstance(x, float) and math.isnan(x): return "NaN"
        if isinstance(x, (list, tuple)): return [clean(v) for v in x]
        if isinstance(x, dict): return {k: clean(v) for k, v in x.items()}
        return x
    assert "numpy" not in sys.modules and "pandas" not in sys.modules, sorted(sys.modules)
    json.dump({k: clean(v) for k, v in out.items()}, sys.stdout)
    """
)


@pytest.mark.integration
def test_numpy_and_pandas_numbers_recovered_without_importing_them():
    made = subprocess.run([sys.executable, "-c", _NUMERIC_SCRIPT], capture_output=True, check=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    got = subprocess.run([sys.executable, "-S", "-c", _DECODE_SCRIPT], input=made.stdout, env=env,
                         capture_output=True, cwd=ROOT)
    assert got.returncode == 0, got.stderr.decode()
    import json

    out = json.loads(got.stdout)
    for p in range(0, 6):
        frame = out[f"frame@{p}"]
        assert frame["columns"] == ["f", "i", "o", "b"], p
        assert frame["index"] == ["m1", "m2", "ensemble"]
        assert frame["data"] == [[1.5, 1, "x", True], [2.5, 2, "NaN", False], ["NaN", 3, "z", True]]
        assert out[f"series@{p}"] == {"kind": "Series", "name": "f", "index": ["m1", "m2", "ensemble"],
                                      "data": [1.5, 2.5, "NaN"]}
        assert out[f"ints@{p}"] == [[0, 1, 2], [3, 4, 5]]
        assert out[f"fortran@{p}"] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
        assert out[f"bools@{p}"] == [True, False]
        assert out[f"f32@{p}"] == [0.5]
        assert out[f"objects@{p}"] == ["a", 1]
        assert out[f"unicode@{p}"] == ["ab", "c"]
        assert out[f"scalar@{p}"] == 3.25
        score = out[f"score@{p}"]
        assert score["index"] == ["lgbm", "ensemble"] and score["data"] == [[0.81], [0.86]]


# ------------------------------------------------- inert forms of reductions
#
# Real RD-Agent session checkpoints hold each of these; none of them may call
# anything, and each must come back as data.

T = typing.TypeVar("T")


class Strategy(typing.Generic[T]):  # like CoSTEER's EvolvingStrategy
    pass


class Subject:
    pass


class Agent:  # holds a parameterised generic instance, as RAGEvoAgent[EvolvingItem](...) does
    def __init__(self):
        self.strategy = Strategy[Subject]()


@pytest.mark.parametrize("proto", range(2, 6))
def test_generic_alias_becomes_a_record_of_class_and_parameters(proto):
    data = pickle.dumps(Agent(), protocol=proto)
    assert b"getitem" in data  # what the old importer refused
    strategy = safe_loads(data).get("strategy")
    alias = strategy.get("__orig_class__")
    assert isinstance(alias, GenericAlias)
    assert alias.origin == f"{__name__}.Strategy" and alias.params == (f"{__name__}.Subject",)
    # typing's own generics and builtin ones (list[X]) too
    both = safe_loads(pickle.dumps([typing.Dict[str, Subject], list[Subject]], protocol=proto))  # noqa: UP006
    assert both[0].origin == "typing.Dict" and both[0].params == ("str", f"{__name__}.Subject")
    assert both[1].origin == "list" and both[1].params == (f"{__name__}.Subject",)


@pytest.mark.parametrize("proto", range(0, 6))
def test_defaultdict_keeps_its_items_and_never_calls_its_factory(proto):
    dd = collections.defaultdict(list[Subject], {0: ["x"], 1: []})  # LoopBase.loop_trace
    out = safe_loads(pickle.dumps(dd, protocol=proto))
    assert isinstance(out, InertDefaultDict) and dict(out) == {0: ["x"], 1: []}
    assert isinstance(out.default_factory, GenericAlias)
    with pytest.raises(KeyError):
        out[7]  # a real defaultdict would call the factory here
    counts = safe_loads(pickle.dumps(collections.defaultdict(int, a=1), protocol=proto))
    assert counts == {"a": 1} and not isinstance(counts, collections.defaultdict)
    with pytest.raises(KeyError):
        counts["b"]


@pytest.mark.parametrize("proto", range(0, 6))
def test_partial_is_a_record_of_function_and_arguments(proto):
    out = safe_loads(pickle.dumps(functools.partial(sorted, key=len), protocol=proto))
    assert isinstance(out, Inert) and out.qualname == "functools.partial"
    func, args, kwargs, _ = out.state
    assert isinstance(func, type) and func.__name__ == "sorted"  # a stand-in, never the builtin
    assert args == () and kwargs["key"].__name__ == "len"


class Slots:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a, self.b = 1, [2]


class KwOnly:
    def __new__(cls, *, size):
        obj = super().__new__(cls)
        obj.size = size
        return obj

    def __getnewargs_ex__(self):
        return (), {"size": self.size}


@pytest.mark.parametrize("proto", range(0, 6))
def test_copyreg_reconstructors_give_records(proto):
    data = pickle.dumps(Hypo(), protocol=proto)
    if proto < 2:
        assert b"copy_reg\n_reconstructor" in data
    assert safe_loads(data).get("hypothesis") == "use lightgbm"
    if proto >= 2:  # __slots__ state and copyreg.__newobj__
        slots = safe_loads(pickle.dumps(Slots(), protocol=proto))
        assert slots.get("a") == 1 and slots.get("b") == [2]
    if proto >= 4:  # NEWOBJ_EX (protocols 2-3 spell it partial(getattr(cls, "__new__")), a refused gadget)
        kw = safe_loads(pickle.dumps(KwOnly(size=3), protocol=proto))
        assert isinstance(kw, Inert) and kw.name == "KwOnly" and kw.get("size") == 3
        assert kw.kwargs == {"size": 3}


_WHEN = dt.datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def _check_deque(out):
    assert isinstance(out, collections.deque) and list(out) == [1, 2] and out.maxlen == 5


def _check_path(out):
    assert out == PurePosixPath("/data/comp/train.csv")
    assert not hasattr(out, "read_bytes")  # a pure path: nothing can touch the disk through it


_VALUE_FORMS = {
    "set": ({1, "a"}, lambda out: out == {1, "a"} and isinstance(out, set)),
    "frozenset": (frozenset({2, 3}), lambda out: out == frozenset({2, 3}) and isinstance(out, frozenset)),
    "deque": (collections.deque([1, 2], maxlen=5), _check_deque),
    "datetime-aware": (_WHEN, lambda out: out == _WHEN and out.utcoffset() == dt.timedelta(hours=2)),
    "datetime-naive": (dt.datetime(2025, 1, 1), lambda out: out == dt.datetime(2025, 1, 1) and out.tzinfo is None),
    "date": (dt.date(2025, 1, 2), lambda out: out == dt.date(2025, 1, 2)),
    "time": (dt.time(3, 4), lambda out: out == dt.time(3, 4)),
    "timedelta": (dt.timedelta(hours=12, seconds=1.5), lambda out: out == dt.timedelta(hours=12, seconds=1.5)),
    "Path": (Path("/data/comp/train.csv"), _check_path),
    "PureWindowsPath": (__import__("pathlib").PureWindowsPath("C:/x/y"),
                        lambda out: str(out).replace("\\", "/") == "C:/x/y"),
}


@pytest.mark.parametrize("proto", range(6))
@pytest.mark.parametrize("form", sorted(_VALUE_FORMS))
def test_each_value_form_comes_back_as_a_value(form, proto):
    value, check = _VALUE_FORMS[form]
    out = safe_loads(pickle.dumps({"v": value}, protocol=proto))["v"]
    assert check(out) is not False


def _more_gadgets(marker: Path) -> dict[str, bytes]:
    import builtins
    import code
    import importlib
    import operator

    py = f"open({str(marker)!r}, 'w').close()"
    cmd = f"touch {marker}"
    return {
        "importlib.import_module": pickle.dumps(_Gadget(importlib.import_module, "os")),
        "pickle.loads": pickle.dumps(_Gadget(pickle.loads, pickle.dumps(_Gadget(os.system, cmd)))),
        "builtins.compile": pickle.dumps(_Gadget(builtins.compile, py, "x", "exec")),
        "builtins.open": pickle.dumps(_Gadget(builtins.open, str(marker), "w")),
        "code.InteractiveInterpreter": pickle.dumps(_Gadget(code.InteractiveInterpreter)),
        "operator.attrgetter": pickle.dumps(_Gadget(operator.attrgetter, "system")),
        "operator.methodcaller": pickle.dumps(_Gadget(operator.methodcaller, "system", cmd)),
        "partial(os.system)": pickle.dumps(functools.partial(os.system, cmd)),
        "ctypes.CDLL": b"\x80\x04\x8c\x06ctypes\x8c\x04CDLL\x93\x8c\x00\x85R.",
        "types.FunctionType": b"\x80\x04\x8c\x05types\x8c\x0cFunctionType\x93.",
        "operator.getitem over data": b"\x80\x04\x8c\t_operator\x8c\x07getitem\x93}\x8c\x01a\x86R.",
        "copyreg.add_extension": b"\x80\x04\x8c\x07copyreg\x8c\radd_extension\x93.",
    }


@pytest.mark.parametrize("name", sorted(_more_gadgets(Path("/nonexistent")).keys()))
def test_more_gadgets_are_refused_naming_the_file(tmp_path, name):
    marker = tmp_path / "pwned"
    with pytest.raises(UnsafePickle) as err:
        safe_loads(_more_gadgets(marker)[name], source="__session__/0/1_coding")
    assert str(err.value).startswith("__session__/0/1_coding: refused to unpickle")
    assert not marker.exists()
