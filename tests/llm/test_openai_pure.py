"""The openai reasoner's pure pieces: Retry-After parsing, JSON extraction, scrubbing, pricing."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gome_es.core.schemas import ProposalOut, SelectOut
from gome_es.llm.openai_reasoner import (
    MASK,
    is_local_url,
    parse_structured,
    repair_turn,
    retry_after_seconds,
    scrub,
    with_instruction,
)
from gome_es.llm.pricing import cost_usd, price_for

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # ms is the more precise
        ({"retry-after-ms": "nonsense", "retry-after": "2"}, 2.0),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW + 7, timezone.utc), usegmt=True)}, 7.0),
        ({"Retry-After": format_datetime(datetime.fromtimestamp(NOW - 7, timezone.utc), usegmt=True)}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers, expected):
    got = retry_after_seconds(headers, NOW)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_plain_json_is_validated_and_canonicalised():
    content, problem = parse_structured('{ "reason": "best cv", "solution_id": "t2" }', SelectOut)
    assert problem is None
    assert content == '{"reason":"best cv","solution_id":"t2"}'


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"solution_id": "t2"}\n```',
        'Here you go:\n```\n{"solution_id": "t2"}\n```\nGood luck.',
        'I pick {"solution_id": "t2"} because it scored best.',
        '```python\nprint(1)\n```\n```json\n{"solution_id": "t2"}\n```',
    ],
)
def test_json_is_found_inside_fences_and_prose(text):
    content, problem = parse_structured(text, SelectOut)
    assert problem is None, problem
    assert json.loads(content)["solution_id"] == "t2"


@pytest.mark.parametrize(
    "text, fragment",
    [
        (None, "empty"),
        ("   ", "empty"),
        ("no json here", "no parseable JSON"),
        ('{"solution_id": ', "no parseable JSON"),
        ('["t2"]', "expected a JSON object"),
        ('{"reason": "x"}', "solution_id"),
        ('{"candidates": [{"text": "a", "scores": {"impact": NaN}}]}', "no parseable JSON"),
    ],
)
def test_unusable_answers_say_why(text, fragment):
    schema = ProposalOut if "candidates" in (text or "") else SelectOut
    content, problem = parse_structured(text, schema)
    assert content is None
    assert fragment in problem


@pytest.mark.integration
@given(
    solution_id=st.text(min_size=1, max_size=20),
    reason=st.text(max_size=40),
    before=st.sampled_from(["", "Sure.\n", "Answer:\n```json\n"]),
)
def test_extraction_round_trips_any_valid_answer(solution_id, reason, before):
    value = {"solution_id": solution_id, "reason": reason}
    after = "\n```" if before.endswith("```json\n") else ""
    content, problem = parse_structured(before + json.dumps(value) + after, SelectOut)
    assert problem is None
    assert json.loads(content) == value


def test_scrub_masks_the_secret_and_key_shaped_tokens():
    secret = "sk-proj-DISTINCTIVE0123456789"
    text = f"Incorrect API key provided: {secret}. Also sk-proj-****6789 and plain words."
    out = scrub(text, secret)
    assert secret not in out and "sk-proj-****6789" not in out
    assert out.count(MASK) == 2 and "plain words" in out
    assert scrub("token local-key-123 leaked", "local-key-123") == f"token {MASK} leaked"


def test_instruction_merges_into_the_first_system_message():
    merged = with_instruction([{"role": "system", "content": "be brief"},
                               {"role": "user", "content": "hi"}], "JSON please")
    assert [m["role"] for m in merged] == ["system", "user"]
    assert merged[0]["content"].startswith("be brief") and "JSON please" in merged[0]["content"]
    inserted = with_instruction([{"role": "user", "content": "hi"}], "JSON please")
    assert inserted[0] == {"role": "system", "content": "JSON please"}


def test_repair_turn_is_bounded():
    turn = repair_turn("x" * 100_000, "e" * 100_000, "SelectOut")
    assert len(turn) == 2 and sum(len(m["content"]) for m in turn) < 20_000


@pytest.mark.parametrize(
    "url, local",
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://localhost:11434/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://10.0.0.5/v1", True),
        ("https://api.openai.com/v1", False),
        ("https://myres.openai.azure.com/openai/v1/", False),
        ("http://8.8.8.8/v1", False),
    ],
)
def test_local_urls(url, local):
    assert is_local_url(url) is local


@pytest.mark.parametrize(
    "model, expected",
    [
        ("gpt-4o", (2.50, 10.00)),
        ("gpt-4o-2024-08-06", (2.50, 10.00)),
        ("gpt-4o-mini", (0.15, 0.60)),
        ("gpt-4o-mini-2024-07-18", (0.15, 0.60)),
        ("o3-mini", (1.10, 4.40)),
        ("qwen2.5-coder:7b", (0.0, 0.0)),
        ("gpt-4oxyz", (0.0, 0.0)),
    ],
)
def test_price_lookup(model, expected):
    assert price_for(model) == expected


def test_cost_uses_overrides_and_is_zero_for_local_models():
    assert cost_usd("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)
    assert cost_usd("llama3", 5000, 5000) is None  # unlisted: unknown, not free
    assert cost_usd("llama3", 2_000_000, 0, {"llama3": (0.5, 1.0)}) == pytest.approx(1.0)
    assert math.isclose(cost_usd("gpt-4o", 0, 0), 0.0)
