"""Reading untrusted pickles without running their code.

This module owns :func:`safe_loads`: a restricted unpickler for the pickles in
released RD-Agent log folders, session checkpoints included.  It never
imports a module named by the pickle; the only callables a pickle can reach
are constructors of plain data and recorders that keep their arguments as
data.  A global is resolved in one of four ways (docs/rdagent.md has the
exact lists):

* an allow-listed constructor of plain data (containers, ``datetime``,
  pure ``pathlib`` paths, ``decimal``, ``uuid``, ``deque``...) builds the value;
* a reduction with a known meaning becomes an inert record: a parameterised
  generic (``operator.getitem(Cls, params)``, ``types.GenericAlias``) a
  :class:`GenericAlias`, a ``collections.defaultdict`` an
  :class:`InertDefaultDict` whose factory is never called,
  ``functools.partial`` and ``copyreg`` reconstructions of unknown classes
  :class:`Inert` records;
* a code-execution gadget (:data:`GADGET_MODULES`, :data:`GADGET_BUILTINS`:
  ``os``, ``subprocess``, ``eval``, ``getattr``, ``importlib``,
  ``pickle.loads``...) is refused with :class:`UnsafePickle`, naming the file
  and the global;
* anything else becomes a stand-in class whose instances are :class:`Inert`
  records (module, name, args, state, items).  Calling it (REDUCE, NEWOBJ,
  NEWOBJ_EX, INST, OBJ) only records the arguments; BUILD only records the
  state.

Afterwards :func:`lower` turns the inert records of numpy arrays and pandas
frames into plain Python (lists, ``{"columns", "index", "data"}`` dicts) by
decoding their pickled state byte by byte, so neither numpy nor pandas is
imported or needed.

Pure module: bytes in, objects out; no I/O.
"""

from __future__ import annotations

import _compat_pickle
import builtins
import collections
import copyreg
import datetime as _dt
import decimal
import fractions
import io
import pathlib
import pickle
import struct
import uuid
from typing import Any, Iterable

from ..errors import ImportTraceError


class UnsafePickle(ImportTraceError):
    """A pickle asked for a callable that could run code; nothing was executed."""


class UndecodablePickle(ImportTraceError):
    """A pickle is truncated or malformed; it is kept as opaque provenance."""


# ----------------------------------------------------------- inert records


class Inert:
    """What an object of a non-allow-listed class becomes: a record, never a call.

    ``args``/``kwargs`` are what the pickle passed to the class or function,
    ``state`` what BUILD set, ``items``/``dict_items`` what APPENDS/SETITEMS added.
    """

    __slots__ = ("module", "name", "args", "kwargs", "state", "items", "dict_items", "__weakref__")

    def __init__(self, module: str, name: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> None:
        self.module = module
        self.name = name
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.state: Any = None
        self.items: list[Any] = []
        self.dict_items: dict[Any, Any] | list[tuple[Any, Any]] = {}

    # The C unpickler drives these methods; each only records.
    def __setstate__(self, state: Any) -> None:
        self.state = state

    def append(self, item: Any) -> None:
        self.items.append(item)

    def extend(self, items: Iterable[Any]) -> None:
        self.items.extend(items)

    def add(self, item: Any) -> None:
        self.items.append(item)

    def __setitem__(self, key: Any, value: Any) -> None:
        try:
            self.dict_items[key] = value
        except TypeError:  # unhashable key: keep the pairs in order
            if isinstance(self.dict_items, dict):
                self.dict_items = list(self.dict_items.items())
            self.dict_items.append((key, value))

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"

    def attrs(self) -> dict[str, Any]:
        """The instance attributes the pickle restored (``__dict__`` plus slots)."""
        state = self.state
        out: dict[str, Any] = {}
        if isinstance(state, tuple) and len(state) == 2 and (
            state[0] is None or isinstance(state[0], dict)
        ) and (state[1] is None or isinstance(state[1], dict)):
            out.update(state[0] or {})
            out.update(state[1] or {})
        elif isinstance(state, dict) and isinstance(state.get("__dict__"), dict) and \
                "__pydantic_fields_set__" in state:  # a pydantic model's __getstate__
            out.update(state["__dict__"])
            out.update(state.get("__pydantic_private__") or {})
        elif isinstance(state, dict):
            out.update(state)
        return {k: v for k, v in out.items() if isinstance(k, str)}

    def get(self, attr: str, default: Any = None) -> Any:
        return self.attrs().get(attr, default)

    def __repr__(self) -> str:
        return f"Inert({self.qualname})"


class _Stub:
    """Base of the stand-in classes made per (module, name); calling one records."""

    _module = ""
    _name = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Inert:  # type: ignore[misc]
        return Inert(cls._module, cls._name, args, kwargs)


_STUBS: dict[tuple[str, str], type] = {}


def _stub(module: str, name: str) -> type:
    key = (module, name)
    if key not in _STUBS:
        # a real type, because NEWOBJ insists on one; its __new__ returns an Inert
        _STUBS[key] = type(name if name.isidentifier() else "Stub", (_Stub,), {"_module": module, "_name": name})
    return _STUBS[key]


def _stub_key(obj: Any) -> tuple[str, str] | None:
    if isinstance(obj, type) and issubclass(obj, _Stub):
        return (obj._module, obj._name)
    return None


# --------------------------------------------------------------- allow-list


def _safe_reconstructor(cls: Any, base: Any, state: Any) -> Any:
    # copyreg._reconstructor(cls, base, state): base.__new__(cls, state), then
    # base.__init__; for a stand-in class only the record is kept.
    key = _stub_key(cls)
    if key is not None:
        rec = Inert(*key, () if state is None else (state,))
        rec.kwargs = {"base": getattr(base, "__name__", repr(base))}
        return rec
    if cls in _ALLOWED_VALUES and (base is object or base in _ALLOWED_VALUES):
        return copyreg._reconstructor(cls, base, state)  # type: ignore[attr-defined]
    raise pickle.UnpicklingError(f"copyreg._reconstructor over {cls!r} is not allowed")


def _safe_newobj(cls: Any, *args: Any) -> Any:
    if _stub_key(cls) is not None or cls in _ALLOWED_VALUES:
        return cls.__new__(cls, *args)
    raise pickle.UnpicklingError(f"copyreg.__newobj__ over {cls!r} is not allowed")


def _safe_newobj_ex(cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _stub_key(cls) is not None or cls in _ALLOWED_VALUES:
        return cls.__new__(cls, *args, **kwargs)
    raise pickle.UnpicklingError(f"copyreg.__newobj_ex__ over {cls!r} is not allowed")


def _tz_from_pytz(zone: str | None = None, utcoffset: int | None = None, dst: int | None = None,
                  tzname: str | None = None) -> _dt.tzinfo:
    # pytz pickles a zone as pytz._p(zone, offset, dst, name); a fixed offset
    # keeps the instant exact without importing pytz.
    if utcoffset is None:
        return _dt.timezone.utc
    name = tzname or zone
    if name is None:  # pytz always names its zones; a nameless one is malformed
        raise pickle.UnpicklingError("pytz zone with an offset but no name")
    return _dt.timezone(_dt.timedelta(seconds=int(utcoffset)), name)


def _safe_codecs_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    # protocols 0-2 spell bytes as _codecs.encode(text, "latin1"); only text codecs pass
    if not isinstance(text, str) or encoding.lower().replace("_", "-") not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r} is not allowed")
    return text.encode(encoding, errors if errors in ("strict", "ignore", "replace") else "strict")


def _safe_datetime(*args: Any) -> _dt.datetime:
    if len(args) >= 2 and not (args[1] is None or isinstance(args[1], _dt.tzinfo)):
        args = args[:1]  # an unknown tzinfo class: keep the naive wall time
    return _dt.datetime(*args)


def _safe_time(*args: Any) -> _dt.time:
    if len(args) >= 2 and not (args[1] is None or isinstance(args[1], _dt.tzinfo)):
        args = args[:1]
    return _dt.time(*args)


class InertDefaultDict(dict[Any, Any]):
    """A pickled ``collections.defaultdict``: its items, with the factory recorded but never called."""

    def __init__(self, default_factory: Any = None, *args: Any) -> None:
        super().__init__()
        self.default_factory = default_factory


def _safe_defaultdict(default_factory: Any = None, *args: Any) -> InertDefaultDict:
    return InertDefaultDict(default_factory)


def class_ref(obj: Any) -> Any:
    """A class named by a pickle as plain text (``module.name``); other values as they are."""
    key = _stub_key(obj)
    if key is not None:
        return f"{key[0]}.{key[1]}"
    if isinstance(obj, type):
        return f"{obj.__module__}.{obj.__qualname__}".replace("builtins.", "")
    if isinstance(obj, tuple):
        return tuple(class_ref(v) for v in obj)
    if isinstance(obj, list):
        return [class_ref(v) for v in obj]
    return obj


def _is_class(obj: Any) -> bool:
    return _stub_key(obj) is not None or obj in _ALLOWED_VALUES or obj is type


def _safe_getitem(origin: Any, params: Any) -> Inert:
    # A parameterised generic (``EvolvingStrategy[X]``, ``Union[A, B]``) pickles as
    # operator.getitem(origin, params).  Over a class that is a type expression,
    # kept as a record; over anything else it would index real data: refused.
    if not _is_class(origin):
        raise UnsafePickle(f"operator.getitem over a {type(origin).__name__} (only generic types are allowed)")
    return GenericAlias(class_ref(origin), params)


def _safe_types_generic(origin: Any, params: Any) -> Inert:
    # list[X], dict[K, V]: types.GenericAlias(origin, params)
    if not _is_class(origin):
        raise UnsafePickle(f"types.GenericAlias over a {type(origin).__name__}")
    return GenericAlias(class_ref(origin), params)


class GenericAlias(Inert):
    """A parameterised type (``__orig_class__`` of a generic instance): origin and parameters as text."""

    __slots__ = ()

    def __init__(self, origin: str, params: Any) -> None:
        params = params if isinstance(params, tuple) else (params,)
        super().__init__("typing", "GenericAlias", (origin, tuple(class_ref(p) for p in params)))

    @property
    def origin(self) -> str:
        return str(self.args[0])

    @property
    def params(self) -> tuple[Any, ...]:
        return tuple(self.args[1])

    def __repr__(self) -> str:
        return f"GenericAlias({self.origin}[{', '.join(map(str, self.params))}])"


_PATH_CLASSES = {"Path": pathlib.PurePosixPath, "PosixPath": pathlib.PurePosixPath,
                 "WindowsPath": pathlib.PureWindowsPath, "PurePath": pathlib.PurePosixPath,
                 "PurePosixPath": pathlib.PurePosixPath, "PureWindowsPath": pathlib.PureWindowsPath}

_ALLOWED: dict[tuple[str, str], Any] = {
    **{("builtins", n): getattr(builtins, n) for n in (
        "dict", "list", "set", "frozenset", "tuple", "str", "bytes", "bytearray", "int",
        "float", "complex", "bool", "slice", "range", "object",
    )},
    ("builtins", "NoneType"): type(None),
    ("datetime", "datetime"): _safe_datetime,
    ("datetime", "date"): _dt.date,
    ("datetime", "time"): _safe_time,
    ("datetime", "timedelta"): _dt.timedelta,
    ("datetime", "timezone"): _dt.timezone,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("collections", "defaultdict"): _safe_defaultdict,
    ("collections", "deque"): collections.deque,
    ("collections", "Counter"): collections.Counter,
    ("decimal", "Decimal"): decimal.Decimal,
    ("fractions", "Fraction"): fractions.Fraction,
    ("uuid", "UUID"): uuid.UUID,
    ("uuid", "SafeUUID"): uuid.SafeUUID,
    # pathlib (3.13 moved the classes to pathlib._local): pure paths, never touching the disk
    **{(m, n): cls for m in ("pathlib", "pathlib._local") for n, cls in _PATH_CLASSES.items()},
    ("_codecs", "encode"): _safe_codecs_encode,
    ("copyreg", "_reconstructor"): _safe_reconstructor,
    ("copyreg", "__newobj__"): _safe_newobj,
    ("copyreg", "__newobj_ex__"): _safe_newobj_ex,
    ("copy_reg", "_reconstructor"): _safe_reconstructor,
    ("_operator", "getitem"): _safe_getitem,
    ("operator", "getitem"): _safe_getitem,
    ("types", "GenericAlias"): _safe_types_generic,
    ("pytz", "_p"): _tz_from_pytz,
    ("pytz", "_UTC"): lambda: _dt.timezone.utc,
    ("pytz", "utc"): _dt.timezone.utc,
}
_ALLOWED_VALUES = tuple(v for v in _ALLOWED.values() if isinstance(v, type))

# Globals of these modules are refused outright: a pickle that names one is
# reaching for code execution, file or process access, or a way to other
# callables (a gadget).  RD-Agent never pickles them.  Allow-listed names
# above (operator.getitem, copyreg's reconstructors, builtins' value types...)
# and INERT_NAMES below are the exceptions.
GADGET_MODULES = frozenset({
    "os", "posix", "nt", "posixpath", "ntpath", "subprocess", "_posixsubprocess", "sys",
    "importlib", "imp", "shutil", "socket", "_socket", "pickle", "_pickle", "marshal", "ctypes", "_ctypes",
    "types", "functools", "_functools", "operator", "_operator", "code", "codeop", "runpy", "pty",
    "webbrowser", "multiprocessing", "io", "_io", "signal", "_signal", "threading", "_thread",
    "asyncio", "tempfile", "glob", "platform", "urllib", "http", "ftplib", "smtplib",
    "telnetlib", "pdb", "bdb", "inspect", "gc", "pydoc", "timeit", "trace", "cProfile",
    "profile", "dill", "cloudpickle", "joblib", "commands", "popen2", "_winapi", "winreg", "site",
    "sqlite3", "_sqlite3", "zipimport", "pkgutil", "ensurepip", "venv", "distutils", "setuptools",
    "copyreg", "copy_reg", "__builtin__", "builtins", "_codecs", "codecs", "nturl2path",
    "linecache", "tokenize", "ast", "compileall", "py_compile", "zipfile", "tarfile",
    "atexit", "selectors", "select", "mmap", "fcntl", "resource", "pwd", "grp", "crypt", "spawn",
    "_osx_support", "_aix_support", "sysconfig",
})
# Builtins that execute, compile, import, reach attributes or open files.
GADGET_BUILTINS = frozenset({
    "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr", "open", "input",
    "breakpoint", "globals", "locals", "vars", "exit", "quit", "help", "type", "super", "classmethod",
    "staticmethod", "property", "__build_class__", "memoryview", "execfile", "file", "reload", "apply",
    "dir", "license", "credits", "copyright", "__loader__", "__spec__",
})
# Names in gadget modules that only describe data and are kept as records.
INERT_NAMES = frozenset({("functools", "partial"), ("functools", "partialmethod"),
                         ("_functools", "partial")})


def _builtin_exception(name: str) -> bool:
    obj = getattr(builtins, name, None)
    return isinstance(obj, type) and issubclass(obj, BaseException)


def resolve(module: str, name: str) -> Any:
    """The object a pickle's global (module, name) stands for here, or refusal (:class:`UnsafePickle`)."""
    # Protocols 0-2 spell some names the Python 2 way (__builtin__.unicode, long,
    # copy_reg...); pickle's own find_class maps them with these stdlib tables.
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    if module in ("__builtin__", "exceptions"):
        module = "builtins"
    key = (module, name)
    if key in _ALLOWED:
        return _ALLOWED[key]
    if key in INERT_NAMES:
        return _stub(module, name)
    root = module.split(".", 1)[0]
    if module == "builtins":
        if _builtin_exception(name):
            return _stub(module, name)  # an exception in a feedback: a record, not a raise
        if name in GADGET_BUILTINS or name.startswith("_") or not hasattr(builtins, name):
            raise UnsafePickle(f"global builtins.{name} is not allowed")
        return _stub(module, name)  # a harmless builtin function named as data (max, len...)
    if root in GADGET_MODULES:
        raise UnsafePickle(f"global {module}.{name} is not allowed")
    # Nothing else is imported, so even a dotted (protocol 4) name cannot walk
    # to a real attribute: it only labels the record.
    return _stub(module, name)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, source: str) -> None:
        # latin1: Python 2 era str payloads (old numpy arrays) come through byte for byte
        super().__init__(io.BytesIO(data), encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401
        try:
            return resolve(module, name)
        except UnsafePickle:
            raise UnsafePickle(_refusal(self.source, f"it asks for {module}.{name}, which could run code")) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickle(
            f"{self.source}: refused to unpickle, it uses a persistent id ({pid!r}) that RD-Agent "
            "logs never contain; nothing from the file was executed."
        )


def _refusal(source: str, why: str) -> str:
    return (f"{source}: refused to unpickle, {why}; nothing from the file was executed. Do not load "
            "this file with pickle; if it should be trusted, ask its producer for a clean copy.")


def safe_loads(data: bytes, *, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` without importing or calling anything outside the allow-list.

    Returns plain Python where the allow-list covers the object, :class:`Inert`
    records elsewhere, numpy/pandas values lowered to plain Python by :func:`lower`.
    Raises :class:`UnsafePickle` (refused, nothing ran) or :class:`UndecodablePickle`.
    """
    try:
        raw = _RestrictedUnpickler(data, source).load()
    except UnsafePickle as exc:
        text = str(exc)
        raise UnsafePickle(text if text.startswith(f"{source}: ") else _refusal(source, text)) from None
    except RecursionError:
        raise UndecodablePickle(f"{source}: pickle nests too deeply to decode; kept as opaque bytes.") from None
    except Exception as exc:  # malformed input: the C unpickler raises many types
        raise UndecodablePickle(
            f"{source}: not a decodable pickle ({type(exc).__name__}: {exc}); kept as opaque bytes."
        ) from None
    return lower(raw)


# ------------------------------------------------------ numpy and pandas


_NUMPY_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                  "numpy._core.numeric")
_STRUCT_CODES = {
    ("f", 8): "d", ("f", 4): "f", ("f", 2): "e",
    ("i", 8): "q", ("i", 4): "i", ("i", 2): "h", ("i", 1): "b",
    ("u", 8): "Q", ("u", 4): "I", ("u", 2): "H", ("u", 1): "B",
    ("b", 1): "?", ("M", 8): "q", ("m", 8): "q",
}


class NumpyUndecodable(ImportTraceError):
    """A numpy or pandas value in a pickle that gome does not decode: the value stays an inert stand-in."""


def _dtype_spec(dtype: Any) -> tuple[str, str, int]:
    """(byte order, kind letter, item size) of an inert ``numpy.dtype`` record."""
    if not (isinstance(dtype, Inert) and dtype.name == "dtype"):
        raise NumpyUndecodable("dtype is not a numpy.dtype record")
    code = dtype.args[0] if dtype.args else ""
    if isinstance(code, bytes):
        code = code.decode("latin1")
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    order = state[1] if len(state) > 1 and isinstance(state[1], str) else "="
    if len(state) > 2 and state[2] is not None:
        raise NumpyUndecodable("structured dtype")
    kind = code[:1]
    size = int(code[1:]) if code[1:].isdigit() else 0
    if kind == "U":  # numpy stores UCS4: the number is characters, the state says bytes
        size = int(state[5]) if len(state) > 5 and isinstance(state[5], int) and state[5] > 0 else size * 4
    return order, kind, size


def _reshape(flat: list[Any], shape: tuple[int, ...], fortran: bool) -> Any:
    if not shape:
        return flat[0] if flat else None
    if fortran and len(shape) > 1:
        # column-major bytes: transpose by index arithmetic into row-major nesting
        total = len(flat)
        strides = []
        acc = 1
        for dim in shape:
            strides.append(acc)
            acc *= dim
        out = [None] * total
        for row_major in range(total):
            rem, offset = row_major, 0
            for axis in range(len(shape) - 1, -1, -1):
                rem, idx = divmod(rem, shape[axis])
                offset += idx * strides[axis]
            out[row_major] = flat[offset]
        flat = out
    def build(start: int, axis: int) -> Any:
        if axis == len(shape) - 1:
            return flat[start:start + shape[axis]]
        step = 1
        for dim in shape[axis + 1:]:
            step *= dim
        return [build(start + i * step, axis + 1) for i in range(shape[axis])]
    return build(0, 0)


def _decode_buffer(raw: Any, dtype: Any, shape: tuple[int, ...], fortran: bool) -> Any:
    if isinstance(raw, list):  # object arrays pickle their items as a list
        return _reshape(raw, shape, fortran)
    if isinstance(raw, (bytearray, memoryview, pickle.PickleBuffer)):
        raw = bytes(raw)
    if isinstance(raw, str):  # protocol 0/1 arrays store bytes as latin-1 text
        raw = raw.encode("latin1")
    if not isinstance(raw, bytes):
        raise NumpyUndecodable("array data is neither bytes nor a list")
    order, kind, size = _dtype_spec(dtype)
    endian = ">" if order == ">" else "<"
    flat: list[Any]  # str, bytes or numbers, by dtype
    if kind == "U":
        chars = size // 4
        flat = [raw[i:i + size].decode("utf-32-be" if endian == ">" else "utf-32-le").rstrip("\x00")
                for i in range(0, len(raw), size)] if chars else []
    elif kind == "S":
        flat = [raw[i:i + size].rstrip(b"\x00") for i in range(0, len(raw), size)] if size else []
    else:
        code = _STRUCT_CODES.get((kind, size))
        if code is None:
            raise NumpyUndecodable(f"dtype {kind}{size} is not decoded")
        flat = [v[0] for v in struct.iter_unpack(endian + code, raw)]
    count = 1
    for dim in shape:
        count *= dim
    if len(flat) != count:
        raise NumpyUndecodable(f"{len(flat)} items for shape {shape}")
    return _reshape(flat, shape, fortran)


def _numpy_array(rec: Inert) -> Any:
    """Plain nested lists from an ndarray record (``_reconstruct`` + BUILD or ``_frombuffer``)."""
    if rec.name == "_frombuffer":  # protocol 5: _frombuffer(buffer, dtype, shape, order)
        buf, dtype, shape, order = (list(rec.args) + [None] * 4)[:4]
        return _decode_buffer(buf, dtype, tuple(shape or ()), order == "F")
    state = rec.state
    if not (isinstance(state, tuple) and len(state) == 5):
        raise NumpyUndecodable("ndarray state is not (version, shape, dtype, fortran, data)")
    _version, shape, dtype, fortran, raw = state
    return _decode_buffer(raw, dtype, tuple(shape), bool(fortran))


def _numpy_scalar(rec: Inert) -> Any:
    dtype, raw = (list(rec.args) + [None, None])[:2]
    if raw is None:
        raise NumpyUndecodable("object scalar")
    value = _decode_buffer(raw, dtype, (1,), False)
    return value[0]


def _is_numpy(rec: Inert, *names: str) -> bool:
    return rec.module in _NUMPY_MODULES and rec.name in names


def _pandas_index(value: Any) -> list[Any]:
    """Index labels from a lowered pandas Index record."""
    if isinstance(value, dict) and value.get("kind") == "Index":
        labels: list[Any] = value["values"]
        return labels
    if isinstance(value, list):
        return value
    raise NumpyUndecodable(f"index is {type(value).__name__}")


def _lower_index(rec: Inert) -> dict[str, Any]:
    # pandas pickles an Index as _new_Index(cls, {"data": ndarray, "name": ...});
    # a RangeIndex as _new_Index(RangeIndex, {"start", "stop", "step", "name"}).
    cls, d = (list(rec.args) + [None, None])[:2]
    key = _stub_key(cls)
    cls_name = key[1] if key else str(cls)
    d = d if isinstance(d, dict) else {}
    values: list[Any]
    if cls_name == "RangeIndex" or ("start" in d and "stop" in d):
        values = list(range(d.get("start", 0), d.get("stop", 0), d.get("step", 1) or 1))
    elif "data" in d:
        data = d["data"]
        if isinstance(data, Inert):
            raise NumpyUndecodable(f"index data is {data.qualname}")
        values = data
    elif "levels" in d and "codes" in d:  # MultiIndex: tuples of level values
        levels, codes = d["levels"], d["codes"]
        values = [tuple(lv[c] if c >= 0 else None for lv, c in zip(levels, row))
                  for row in zip(*codes)] if codes else []
    else:
        raise NumpyUndecodable("index without data")
    return {"kind": "Index", "name": d.get("name"), "values": values}


def _block_values(block: Any) -> tuple[list[list[Any]], list[int]]:
    """(2-d values, column positions) of one pandas block in either pickle form."""
    if isinstance(block, dict):  # BlockManager extra state: {"values", "mgr_locs"}
        values, locs = block.get("values"), block.get("mgr_locs")
    elif isinstance(block, Inert) and block.name == "_unpickle_block":
        values, locs = (list(block.args) + [None, None])[:2]
    elif isinstance(block, Inert) and block.name == "new_block":
        values, locs = (list(block.args) + [None, None])[:2]
    else:
        raise NumpyUndecodable("unknown block form")
    if isinstance(locs, Inert) and locs.name == "BlockPlacement":
        locs = locs.args[0] if locs.args else None
    if isinstance(locs, slice):
        positions = list(range(*locs.indices(locs.stop if locs.stop is not None else 0)))
    elif isinstance(locs, list):
        positions = [int(p) for p in locs]
    else:
        raise NumpyUndecodable("block placement not decoded")
    if values is None:
        raise NumpyUndecodable("block without values")
    if isinstance(values, Inert):
        raise NumpyUndecodable(f"block values are {values.qualname} (extension array)")
    if positions and values and not isinstance(values[0], list):
        values = [values]  # a 1-d block holds one column
    return values, positions


def _lower_manager(mgr: Any) -> tuple[list[Any], dict[int, list[Any]], dict[int, list[Any]]]:
    """(axes, {column position: values}) of a pandas BlockManager record."""
    if not isinstance(mgr, Inert):
        raise NumpyUndecodable("manager is not a record")
    state = mgr.state
    axes = blocks = None
    if isinstance(state, tuple) and len(state) == 4 and isinstance(state[3], dict) and "0.14.1" in state[3]:
        extra = state[3]["0.14.1"]
        axes, blocks = extra.get("axes"), extra.get("blocks")
    elif isinstance(state, tuple) and len(state) >= 2:
        axes, blocks = state[0], state[1]
    elif mgr.args and len(mgr.args) >= 2:  # reduce-style: (blocks, axes)
        blocks, axes = mgr.args[0], mgr.args[1]
    if axes is None or blocks is None:
        raise NumpyUndecodable("manager state not understood")
    columns: dict[int, list[Any]] = {}
    for block in blocks:
        values, positions = _block_values(block)
        for pos, col in zip(positions, values):
            columns[pos] = col
    return [_pandas_index(a) for a in axes], columns, {}


def _lower_frame(rec: Inert) -> dict[str, Any]:
    state = rec.attrs() if isinstance(rec.state, dict) else {}
    mgr = state.get("_mgr", state.get("_data"))
    axes, columns, _ = _lower_manager(mgr)
    if rec.name == "Series" or state.get("_typ") == "series":
        index = axes[0]
        data = columns.get(0, [])
        return {"kind": "Series", "name": state.get("_name"), "index": index, "data": data}
    col_labels, index = axes[0], axes[1]
    ordered = [columns.get(i, [None] * len(index)) for i in range(len(col_labels))]
    data = [list(row) for row in zip(*ordered)] if ordered else [[] for _ in index]
    return {"kind": "DataFrame", "columns": col_labels, "index": index, "data": data}


def lower(obj: Any) -> Any:
    """Replace numpy and pandas records inside ``obj`` by plain Python, in place where possible.

    A record that cannot be decoded is left as it is (still inert), never dropped.
    """
    memo: dict[int, Any] = {}
    return _lower(obj, memo, 0)


def _lower(obj: Any, memo: dict[int, Any], depth: int) -> Any:
    if isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return obj
    oid = id(obj)
    if oid in memo:
        return memo[oid]
    if depth > 400:
        return obj
    memo[oid] = obj  # cycles resolve to the original object
    if isinstance(obj, list):
        for i, v in enumerate(obj):
            obj[i] = _lower(v, memo, depth + 1)
        return obj
    if isinstance(obj, dict):
        for k in list(obj):
            obj[k] = _lower(obj[k], memo, depth + 1)
        return obj
    if isinstance(obj, tuple):
        lowered = tuple(_lower(v, memo, depth + 1) for v in obj)
        memo[oid] = lowered
        return lowered
    if isinstance(obj, set):
        return obj
    if not isinstance(obj, Inert):
        return obj
    # children first: arrays inside frames, dtypes inside arrays
    obj.args = tuple(_lower(a, memo, depth + 1) for a in obj.args)
    obj.kwargs = {k: _lower(v, memo, depth + 1) for k, v in obj.kwargs.items()}
    obj.state = _lower(obj.state, memo, depth + 1)
    obj.items = [_lower(v, memo, depth + 1) for v in obj.items]
    if isinstance(obj.dict_items, dict):
        obj.dict_items = {k: _lower(v, memo, depth + 1) for k, v in obj.dict_items.items()}
    try:
        if _is_numpy(obj, "_reconstruct", "_frombuffer"):
            out = _numpy_array(obj)
        elif _is_numpy(obj, "scalar"):
            out = _numpy_scalar(obj)
        elif obj.module.startswith("pandas") and obj.name.startswith("__pyx_unpickle_NDArrayBacked"):
            # extension arrays over one ndarray (strings, datetimes): state = (dtype, values, ...)
            values = obj.state[1] if isinstance(obj.state, tuple) and len(obj.state) > 1 else None
            if not isinstance(values, list):
                return obj
            out = values
        elif obj.module.startswith("pandas") and obj.name == "_new_Index":
            out = _lower_index(obj)
        elif obj.module.startswith("pandas") and obj.name in ("DataFrame", "Series"):
            out = _lower_frame(obj)
        else:
            return obj
    except (NumpyUndecodable, TypeError, ValueError, struct.error, IndexError, KeyError):
        return obj
    memo[oid] = out
    return out
