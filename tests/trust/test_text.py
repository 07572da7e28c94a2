"""The one sanitizer for untrusted text (gome_es.trust.text.clean), unit by unit."""

from __future__ import annotations

import json
import sys
import time
import unicodedata

import pytest

from gome_es.trust.text import clean

OSC0 = "\x1b]0;pwned-title\x07"
OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x1b\\"
OSC8 = "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
DCS = "\x1bP1$qpwned-dcs\x1b\\"
APC = "\x1b_pwned-apc\x1b\\"
PM = "\x1b^pwned-pm\x1b\\"
SOS = "\x1bXpwned-sos\x1b\\"
C1 = "\x9b31m\x9d0;pwned-c1\x9c\x90pwned-c1dcs\x9c"
CSI = "\x1b[2J\x1b[1;31m"


@pytest.mark.parametrize("seq", [OSC0, OSC52, DCS, APC, PM, SOS, C1, CSI, "\x1b]0;pwned-st\x9c", "\x1bc"])
def test_escape_sequences_are_removed_whole(seq):
    for form in ("text", "line"):
        out = clean(f"before{seq}after", form)
        assert out == "beforeafter", (seq, out)


def test_osc8_link_keeps_its_text_only():
    assert clean(f"see {OSC8} now") == "see click now"


@pytest.mark.parametrize("ch, shown", [("\u202e", "\\u202e"), ("\u2066", "\\u2066"), ("\u200b", "\\u200b"),
                                       ("\x07", "\\x07"), ("\x08", "\\x08"), ("\x7f", "\\x7f"), ("\x85", "\\x85"),
                                       ("\u2028", "\\u2028"), ("\ufeff", "\\ufeff"), ("\U000e0041", "\\U000e0041"),
                                       ("\udcff", "\\udcff")])
def test_other_non_printing_characters_are_shown_escaped(ch, shown):
    assert clean(f"a{ch}b") == f"a{shown}b"


def test_lone_introducers_are_shown_and_the_rest_stays_visible():
    assert clean("x\x1b") == "x\\x1b"
    assert clean("x\x9d0;title") == "x\\x9d0;title"  # 8-bit OSC with no end: visible, harmless
    assert "\x1b" not in clean("\x1b]0;no end") and "no end" in clean("\x1b]0;no end")


def test_newlines_tabs_and_carriage_returns():
    assert clean("a\tb\nc") == "a\tb\nc"
    assert clean("10%\r20%\r\ndone\r") == "10%\n20%\ndone\n"  # nothing printed is overwritten
    assert clean("a \n\t b\r c", "line") == "a b c"


def test_plain_text_and_unicode_pass_unchanged():
    s = "héllo wörld ✓ 日本語 😀 — score 0.91"
    assert clean(s) == s and clean(s, "line") == s


def test_idempotent_and_bytes():
    once = clean(f"x{OSC0}{C1}\u202e\x07y")
    assert clean(once) == once
    assert clean(b"a\x1b]0;t\x07b\xff") == "ab\ufffd"


def test_json_form_escapes_and_parses_back_to_the_same_value():
    value = {"model": f"m{C1}\u202e\x7f\U000e0041{OSC0}"}
    doc = clean(json.dumps(value, ensure_ascii=False), "json")
    assert json.loads(doc) == value
    assert not any(0x7f <= ord(c) <= 0x9f or c in "\x1b\u202e" for c in doc)


def test_width_cuts_a_line():
    assert clean("x" * 120_000, "line", 40) == "x" * 39 + "…"


def test_every_format_and_separator_character_is_escaped():
    # the class in the module is written out; this checks it against this Python's Unicode tables
    missed = [hex(cp) for cp in range(sys.maxunicode + 1)
              if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Cs", "Zl", "Zp") and chr(cp) not in "\t\n\r"
              and clean(chr(cp)) == chr(cp)]
    assert missed == []


@pytest.mark.parametrize("hostile", ["\x1b]" * 200_000, "\x9d" * 200_000, "\x1bP" + "x" * 400_000,
                                     "\x1b[" + "1;" * 200_000, "a" * 400_000])
def test_linear_in_the_input(hostile):
    t = time.perf_counter()
    clean(hostile)
    assert time.perf_counter() - t < 5.0
