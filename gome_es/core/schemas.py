"""Structured outputs every reasoner must produce, one schema per request purpose.

The policy reads only these validated shapes.  An LLM answer that does not
validate gets a bounded repair retry inside the reasoner; what reaches the log
(``LLMResponded.content_sha``) is always JSON that validates here.
Pure module.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .vocabulary import DIMENSIONS as DIMENSIONS  # re-exported: the one definition is there


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DirectionOut(_Out):
    name: str
    text: str
    component: str = "model"
    change: dict[str, Any] = Field(default_factory=dict)


class DirectionsOut(_Out):
    """purpose="directions": distinct starting directions, one per trace."""

    directions: list[DirectionOut]


class ProblemOut(_Out):
    name: str
    evidence: str = ""


class CandidateOut(_Out):
    text: str
    component: str = "model"
    change: dict[str, Any] = Field(default_factory=dict)
    scores: dict[str, float] = Field(default_factory=dict)  # DIMENSIONS, each 1..10


class ProposalOut(_Out):
    """purpose="propose": diagnosed problems and K scored candidate hypotheses."""

    problems: list[ProblemOut] = Field(default_factory=list)
    candidates: list[CandidateOut]


class CodeOut(_Out):
    """purpose="code" or "debug": a complete solution file."""

    code: str
    summary: str = ""
    recipe: dict[str, Any] = Field(default_factory=dict)


class SelectOut(_Out):
    """purpose="select": which solution to submit, and why."""

    solution_id: str
    reason: str = ""


SCHEMAS: dict[str, type[_Out]] = {
    "DirectionsOut": DirectionsOut,
    "ProposalOut": ProposalOut,
    "CodeOut": CodeOut,
    "SelectOut": SelectOut,
}

PURPOSE_SCHEMA = {
    "directions": "DirectionsOut",
    "propose": "ProposalOut",
    "code": "CodeOut",
    "debug": "CodeOut",
    "select": "SelectOut",
}
