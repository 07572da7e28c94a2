"""gome-es: an event-sourced MLE agent with crash-proof resume, replay and diff."""

__version__ = "0.1.0"
