"""``tf.compat.v1.keras``: its ``initializers`` namespace."""

from arrayinit.compat.v1.keras import initializers

__all__ = ["initializers"]
