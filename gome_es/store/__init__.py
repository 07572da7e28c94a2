"""The durable event store (SQLite) and everything it hands out.

``EventStore`` is the one entry point; see :mod:`.eventstore`.  Export files
are described in :mod:`.exchange`, fault-injection switches in :mod:`.faults`.
"""

from .eventstore import EventStore
from .faults import FaultPlan
from .records import ExportSummary, NewEvent, RunSummary, StoredEvent, VerifyReport

__all__ = ["EventStore", "ExportSummary", "FaultPlan", "NewEvent", "RunSummary",
           "StoredEvent", "VerifyReport"]
