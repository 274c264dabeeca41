"""Compatibility surfaces of other APIs (``arrayinit.compat.v1``: tf.compat.v1 initializers)."""

from arrayinit.compat import v1

__all__ = ["v1"]
