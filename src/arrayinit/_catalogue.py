"""The catalogue: one row per initializer, with its names, aliases and preset in every dialect.

Every surface is made from this table or calls into it:

- the core classes (``arrayinit.HeNormal``, ...; ``arrayinit._initializers``)
  take their preset from their row (``Initializer`` subclasses name it:
  ``class HeNormal(PresetVarianceScaling, row="HeNormal")``);
- the registry (``arrayinit.get``, ``serialize``, ``deserialize``) registers
  each row's core class under its name, its snake_case name and its aliases;
- ``arrayinit.keras`` makes one Keras-native class per row with a Keras
  column, and resolves the same names;
- ``arrayinit.compat.v1`` resolves and writes the names of the TF1 columns,
  and its He/Glorot/LeCun classes and functions take the row's preset;
- ``arrayinit.flax``'s He/Glorot/LeCun factories call ``variance_scaling``
  with the row's preset;
- ``arrayinit.torch``'s module defaults take the presets of the rows that
  torch uses (``xavier_uniform_`` for attention weights, ...).

A new initializer is one row here plus its core class; a surface that needs a
new name or default adds a column, not a copy. Where the dialects' defaults
disagree (``RandomNormal``'s ``stddev`` is 0.05 in Keras, 1.0 in TF1 and
torch, 0.01 in jax), the row states each dialect's; the surfaces keep them in
their own signatures, held to the row by ``tests/test_catalogue.py``. How each dialect checks and
computes a variance scaling (its modes, its names of the distributions,
whether the fan is clamped at 1) is in ``arrayinit._variance``; a surface
keeps only its translation: argument names, config format, its fan rule and
its error wording.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CATALOGUE", "Preset", "Row", "preset", "rows", "snake"]


@dataclass(frozen=True)
class Preset:
    """A named variance scaling: ``scale``, ``mode`` and ``distribution`` (Keras 3's names)."""

    scale: float
    mode: str
    distribution: str  # "truncated_normal", "untruncated_normal" or "uniform"

    def __iter__(self) -> Iterator[Any]:
        return iter((self.scale, self.mode, self.distribution))


@dataclass(frozen=True)
class Row:
    """One initializer across the dialects.

    Attributes
    ----------
    name : str
        Keras 3 class name: the core class (``arrayinit.<name>``) and the
        ``arrayinit.keras`` class; ``None`` columns below mean the dialect has
        no such initializer.
    aliases : tuple of str
        Keras' other names for it (``"normal"`` for ``RandomNormal``, ...).
    preset : Preset or None
        For the named variance scalings (He, Glorot, LeCun): scale, mode and
        distribution.
    keras : bool
        Whether Keras 3 (so the core catalogue and ``arrayinit.keras``) has it.
    tf1 : str or None
        Its name in ``tf.compat.v1.initializers`` (TensorFlow's ``init_ops``).
    tf1_keras : str or None
        The name ``tf.compat.v1.keras.initializers.serialize`` writes for it (TF 2.4).
    tf1_keras_aliases : tuple of str or None
        The names ``tf.compat.v1.keras.initializers`` resolves for it besides
        ``name`` (None: its snake_case name).
    defaults : mapping
        The defaults of each dialect (``"keras"``, ``"tf1"``, ``"tf1_keras"``,
        ``"jax"``, ``"torch"``) where the dialects disagree: its argument names
        and default values. Each surface writes them in its own signature, in
        its own argument names; ``tests/test_catalogue.py`` holds every surface
        to this table.
    jax : str or None
        Its ``jax.nn.initializers`` (``arrayinit.flax``) factory.
    torch : str or None
        Its ``torch.nn.init`` (``arrayinit.torch``) function.
    torch_distribution : str or None
        The distribution of the torch function where it differs from the
        preset's (torch's ``xavier_normal_`` is an untruncated normal).
    """

    name: str
    aliases: tuple[str, ...] = ()
    preset: Preset | None = None
    keras: bool = True
    tf1: str | None = None
    tf1_keras: str | None = None
    tf1_keras_aliases: tuple[str, ...] | None = None
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    jax: str | None = None
    torch: str | None = None
    torch_distribution: str | None = None

    @property
    def snake(self) -> str:
        """The snake_case name (Keras' rule)."""
        return snake(self.name)

    @property
    def names(self) -> tuple[str, ...]:
        """The names Keras 3 resolves: the class name, its snake_case and the aliases."""
        return (self.name, self.snake, *self.aliases)

    @property
    def tf1_keras_names(self) -> tuple[str, ...]:
        """The names ``tf.compat.v1.keras.initializers`` resolves."""
        return (self.name, *((self.snake,) if self.tf1_keras_aliases is None else self.tf1_keras_aliases))


def snake(name: str) -> str:
    """Keras' snake_case of a class name: ``GlorotNormal`` -> ``glorot_normal``, ``STFT`` -> ``stft``."""
    words = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()


_ROWS = (
    Row("Zeros", ("zero",), tf1="zeros", tf1_keras="Zeros", torch="zeros_"),
    Row("Ones", ("one",), tf1="ones", tf1_keras="Ones", torch="ones_"),
    Row("Constant", tf1="constant", tf1_keras="Constant", torch="constant_"),
    Row(
        "RandomNormal",
        ("normal",),
        tf1="random_normal",
        tf1_keras="RandomNormal",
        tf1_keras_aliases=("random_normal", "normal"),
        jax="normal",
        torch="normal_",
        defaults={
            "keras": {"mean": 0.0, "stddev": 0.05},
            "tf1": {"mean": 0.0, "stddev": 1.0},
            "tf1_keras": {"mean": 0.0, "stddev": 0.05},
            "jax": {"stddev": 1e-2},
            "torch": {"mean": 0.0, "std": 1.0},
        },
    ),
    Row(
        "RandomUniform",
        ("uniform",),
        tf1="random_uniform",
        tf1_keras="RandomUniform",
        tf1_keras_aliases=("random_uniform", "uniform"),
        jax="uniform",
        torch="uniform_",
        defaults={
            "keras": {"minval": -0.05, "maxval": 0.05},
            "tf1": {"minval": 0.0, "maxval": None},  # maxval None: 1.0
            "tf1_keras": {"minval": -0.05, "maxval": 0.05},
            "jax": {"scale": 1e-2},  # [0, scale)
            "torch": {"a": 0.0, "b": 1.0},
        },
    ),
    Row(
        "TruncatedNormal",
        tf1="truncated_normal",
        tf1_keras="TruncatedNormal",
        jax="truncated_normal",
        torch="trunc_normal_",
        defaults={
            "keras": {"mean": 0.0, "stddev": 0.05},
            "tf1": {"mean": 0.0, "stddev": 1.0},
            "tf1_keras": {"mean": 0.0, "stddev": 0.05},
            "jax": {"stddev": 1e-2, "lower": -2.0, "upper": 2.0},  # bounds in standard deviations
            "torch": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},  # absolute bounds
        },
    ),
    Row(
        "VarianceScaling",
        tf1="variance_scaling",
        tf1_keras="VarianceScaling",
        tf1_keras_aliases=(),
        jax="variance_scaling",
    ),
    Row(
        "GlorotNormal",
        preset=Preset(1.0, "fan_avg", "truncated_normal"),
        tf1="glorot_normal",
        tf1_keras="glorot_normal",
        jax="glorot_normal",
        torch="xavier_normal_",
        torch_distribution="untruncated_normal",
    ),
    Row(
        "GlorotUniform",
        preset=Preset(1.0, "fan_avg", "uniform"),
        tf1="glorot_uniform",
        tf1_keras="glorot_uniform",
        jax="glorot_uniform",
        torch="xavier_uniform_",
    ),
    Row(
        "HeNormal",
        preset=Preset(2.0, "fan_in", "truncated_normal"),
        tf1="he_normal",
        tf1_keras="he_normal",
        jax="he_normal",
        torch="kaiming_normal_",
        torch_distribution="untruncated_normal",
    ),
    Row(
        "HeUniform",
        preset=Preset(2.0, "fan_in", "uniform"),
        tf1="he_uniform",
        tf1_keras="he_uniform",
        jax="he_uniform",
        torch="kaiming_uniform_",
    ),
    Row(
        "LecunNormal",
        preset=Preset(1.0, "fan_in", "truncated_normal"),
        tf1="lecun_normal",
        tf1_keras="lecun_normal",
        jax="lecun_normal",
    ),
    Row(
        "LecunUniform",
        preset=Preset(1.0, "fan_in", "uniform"),
        tf1="lecun_uniform",
        tf1_keras="lecun_uniform",
        jax="lecun_uniform",
    ),
    Row(
        "Orthogonal",
        ("OrthogonalInitializer",),
        tf1="orthogonal",
        tf1_keras="Orthogonal",
        jax="orthogonal",
        torch="orthogonal_",
    ),
    Row("Identity", ("IdentityInitializer",), tf1="identity", tf1_keras="Identity", torch="eye_"),
    Row("STFT", ("STFTInitializer",)),
    # TF1 only
    Row(
        "UniformUnitScaling",
        keras=False,
        tf1="uniform_unit_scaling",
        tf1_keras="UniformUnitScaling",
        tf1_keras_aliases=(),
    ),
    # jax only
    Row("DeltaOrthogonal", keras=False, jax="delta_orthogonal"),
)

#: every row by its Keras 3 class name, in the order of Keras' catalogue
CATALOGUE: Mapping[str, Row] = {row.name: row for row in _ROWS}


def rows(column: str) -> tuple[Row, ...]:
    """The rows a dialect has (``"keras"``, ``"tf1"``, ``"tf1_keras"``, ``"jax"``, ``"torch"``), in table order."""
    return tuple(row for row in _ROWS if getattr(row, column))


def preset(name: str) -> Preset:
    """The preset of the named variance scaling ``name`` (``"HeNormal"``, ...)."""
    found = CATALOGUE[name].preset
    if found is None:
        raise KeyError(f"{name} has no variance-scaling preset")
    return found
