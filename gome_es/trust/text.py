"""The one sanitizer for text gome did not write, on its way to a terminal, a pipe or a file.

Logs of a solution, code and hypotheses from an LLM, model and metric names from a config file or an
imported export, run ids of imports: any of them may carry bytes a terminal obeys. An OSC sequence
retitles the window (OSC 0), writes the clipboard (OSC 52) or hides a link (OSC 8); DCS, APC, PM and
SOS strings reach the terminal's own parsers; 8-bit C1 controls (0x80-0x9f) do the same in one
character; a bare carriage return or a backspace overwrites what was printed before; bidirectional
overrides (U+202E) make code read differently from how it runs. Every command prints such text
through :func:`clean`, in pipes as well as on terminals (a pipe often ends at a terminal too).

What :func:`clean` does, in every form:

* escape *sequences* are removed whole: CSI (``ESC [`` or 0x9b, parameters, final byte), the string
  commands OSC, DCS, SOS, PM and APC (7-bit or 8-bit introducer, up to BEL or ST), and the short
  ``ESC`` + final forms (``ESC c`` resets a terminal). A string command with no terminator loses its
  introducer; the rest stays visible as plain text.
* every other character that does not print is *shown escaped*, so a reader sees it is there:
  C0 controls but tab and newline (``\\x07``), DEL, lone C1 controls, Unicode format characters
  (bidi overrides and isolates, zero-width characters: ``\\u202e``), line and paragraph separators,
  and lone surrogates.
* ``\\r\\n`` becomes ``\\n``; a lone ``\\r`` becomes a newline (nothing printed before it is overwritten).

The forms: ``"text"`` (the default) keeps newlines and tabs, for logs, code and diffs; ``"line"``
also folds every run of white space into one space and can cut to ``width`` (tables and one-line
summaries); ``"json"`` takes a JSON document whose control characters ``json.dumps`` already escaped
and writes the remaining non-printing characters as ``\\uXXXX`` escapes, so the document is valid
and parses to the same values. Pure, and linear in the length of its input.
"""

from __future__ import annotations

import re
from typing import Literal

Form = Literal["text", "line", "json"]

# Characters that do not print: C0 but tab/newline/CR, DEL and C1, Unicode's format characters (Cf:
# soft hyphen, Arabic number signs, zero-width characters, bidi marks, overrides and isolates,
# word joiners, BOM, interlinear annotations, tags...; a test checks this class against
# unicodedata), line and paragraph separators (Zl, Zp) and surrogates (Cs).
_INVISIBLE = ("\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
              "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e"
              "\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb"
              "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
              "\U000e0001\U000e0020-\U000e007f")

# The body of a string command ends at its terminator; it never spans another ESC or C1 control,
# so each character is scanned by at most one introducer (no quadratic backtracking).
_SEQUENCE = re.compile(
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x1b\x07\x80-\x9f]*(?:\x07|\x9c|\x1b\\)"  # OSC DCS SOS PM APC
    r"|(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"  # CSI
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]"  # ESC + intermediates + final: ESC c, ESC 7, ESC ( B, ESC \ ...
)
_TRIGGER = re.compile(f"[\r{_INVISIBLE}]")  # where a sequence or a character to escape can start
_ASCII_TRIGGER = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # the same, for text that is all ASCII
_JSON_UNSAFE = re.compile(f"[{_INVISIBLE}]")
_SPACE = re.compile(r"\s+")


def _escaped(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x100:
        return f"\\x{cp:02x}"
    return f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}"


def _json_escaped(ch: str) -> str:
    cp = ord(ch)
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000
    return f"\\u{0xd800 + (cp >> 10):04x}\\u{0xdc00 + (cp & 0x3ff):04x}"


def _escape_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for lo, hi in re.findall(r"(.)(?:-(.))?", _INVISIBLE):
        for cp in range(ord(lo), ord(hi or lo) + 1):
            table[cp] = _escaped(chr(cp))
    return table


_ESCAPES = _escape_table()
_STARTS = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")  # where an escape sequence can begin
_CR = re.compile("\r\n?")


def _sanitized(s: str) -> str:
    if _STARTS.search(s) is not None:  # whole sequences first: removed (a lone introducer stays, escaped below)
        s = _SEQUENCE.sub("", s)
    if "\r" in s:  # \r\n or a lone \r: a newline, so nothing printed is overwritten
        s = _CR.sub("\n", s)
    return s.translate(_ESCAPES)  # every other character that does not print: shown escaped


_LONG_WORD = re.compile(r"\S{201,}")


def shorten_long_words(text: str) -> str:
    """``text`` with each word longer than any id or path (over 200 characters: a 120,000-character
    id typed or imported) shown by its ends and its length, so a message quoting it stays readable."""
    return _LONG_WORD.sub(_shorten_word, text)


def _shorten_word(m: re.Match[str]) -> str:
    word = m.group()
    return f"{word[:80]}…{word[-40:]} ({len(word):,} characters)"


def clean(value: object, form: Form = "text", width: int | None = None) -> str:
    """``value`` (text, bytes as UTF-8, or anything ``str()`` takes) safe to print: escape sequences
    removed, other non-printing characters shown escaped; see the module's doc for the forms.

    ``width`` (``"line"`` and ``"text"``) cuts the result to that many characters, the last one "…".
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        s = bytes(value).decode("utf-8", errors="replace")
    else:
        s = value if isinstance(value, str) else str(value)
    if form == "json":
        return _JSON_UNSAFE.sub(lambda m: _json_escaped(m.group()), s)
    if (_ASCII_TRIGGER if s.isascii() else _TRIGGER).search(s) is not None:
        s = _sanitized(s)
    if form == "line":
        s = _SPACE.sub(" ", s).strip()
    if width is not None and len(s) > width:
        s = s[: max(0, width - 1)] + "…"
    return s
