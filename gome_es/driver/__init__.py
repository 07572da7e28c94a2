"""The driver: the I/O loop around the pure policy."""
