"""Functional sampling API: ``bits``, ``uniform``, ``normal``, ``truncated_normal``.

Results are numpy arrays unless ``xp=``, ``like=`` or ``out=`` names another array library.

Every function draws from the arrayinit stream (``docs/stream-contract.md``):
element ``g`` (flat C-order index in ``full_shape``) of the tensor of a given
``seed`` and ``stream`` has the same value whichever block of the tensor is
asked for, whichever thread count or target computes it.

Every function takes these keyword arguments (each function's parameter
table repeats them with their defaults):

- ``seed`` (int, required): key of the stream, an integer in ``[0, 2**64)``.
- ``dtype`` (str or dtype): ``float32`` (default), ``float64``, ``float16`` or
  ``bfloat16`` (a numpy bfloat16 array needs ``ml_dtypes``); ``uniform`` and
  ``normal`` also make ``complex64`` and ``complex128`` values, from the real
  stream elements ``2g`` and ``2g + 1`` (``docs/stream-contract.md``).
- ``full_shape``, ``offset`` (tuples of int): generate only the block
  ``[offset, offset + shape)`` of a logical tensor of shape ``full_shape``;
  the result equals that slice of the whole tensor.
- ``stream`` (int, default 0): stream id in ``[0, 2**63)``, independent
  sequences for the same seed.
- ``out`` (array): write into this existing array (numpy, torch,
  array_api_strict, cupy; of shape ``shape``) instead of allocating; it is
  returned.
- ``xp`` (namespace): array library of the result: numpy (default),
  ``array_api_strict``, ``torch``, ``jax.numpy`` (or ``jax``), ``dask.array``
  (or ``dask``), ``cupy``.
- ``device``: device of the result, in the library's terms (``"cpu"``,
  ``"cuda:0"``, a ``torch.device``, a jax device).
- ``like`` (array): take the library, device and (unless ``dtype`` is given)
  dtype of this array.
- ``chunks``: dask only, the chunks of the lazy result (default ``"auto"``);
  every block is generated independently from its offset.
"""

from __future__ import annotations

from arrayinit import _complex, _dtypes, _frontend, _plans
from arrayinit._errors import check_int, check_seed

__all__ = ["bits", "normal", "truncated_normal", "uniform"]


def _common(shape, seed, dtype, full_shape, offset, stream, out, xp, device, like, chunks, bits=False):
    """Checks shared by every function; the block and the destination, resolved once."""
    seed = check_seed(seed)
    stream = check_int("stream", stream, lo=0, hi=2**63)
    complex_values = not bits and _dtypes.complex_requested(dtype, like, out) is not None
    shape, full, off = _complex.call_block(shape, full_shape, offset, complex_values)
    dest = _frontend.resolve(shape, dtype, out=out, xp=xp, device=device, like=like, chunks=chunks, bits=bits)
    return shape, full, off, seed, stream, dest


def bits(
    shape, *, seed, full_shape=None, offset=None, stream=0, out=None, xp=None, device=None, like=None, chunks=None
):
    """The raw 32-bit stream words: element ``g`` is word ``g % 4`` of Philox block ``g // 4``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the result (of the block, when ``full_shape`` is given).
    seed : int
        Key of the stream, an integer in ``[0, 2**64)``.
    full_shape : tuple of int, optional
        Shape of the whole logical tensor (default: ``shape``).
    offset : tuple of int, optional
        Start of the block ``[offset, offset + shape)`` in ``full_shape`` (default: the origin).
    stream : int, optional
        Stream id in ``[0, 2**63)``.
    out : numpy.ndarray of uint32, optional
        Existing array of shape ``shape`` to fill and return.
    xp : namespace, optional
        Array library of the result (default numpy).
    device : optional
        Device of the result, in the library's terms (``"cpu"``, ``"cuda:0"``).
    like : array, optional
        Take the library, device and (unless ``dtype`` is given) dtype of this array.
    chunks : optional
        dask only: the chunks of the lazy result.

    Returns
    -------
    numpy.ndarray of uint32

    Examples
    --------
    >>> import arrayinit.random as ar
    >>> w = ar.bits((2, 3), seed=0)
    >>> w.dtype, w.shape
    (dtype('uint32'), (2, 3))
    >>> bool((ar.bits(8, seed=0)[3:6] == ar.bits(3, seed=0, full_shape=(8,), offset=(3,))).all())
    True
    """
    shape, full, off, seed, stream, dest = _common(
        shape, seed, None, full_shape, offset, stream, out, xp, device, like, chunks, bits=True
    )
    return _frontend.realise(_plans.bits_plan(shape, full, off, seed, stream), dest)


def uniform(
    shape=(),
    *,
    seed,
    minval=0.0,
    maxval=1.0,
    dtype=None,
    full_shape=None,
    offset=None,
    stream=0,
    out=None,
    xp=None,
    device=None,
    like=None,
    chunks=None,
):
    """Uniform values in ``[minval, maxval)``.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the result (of the block, when ``full_shape`` is given).
    seed : int
        Key of the stream, an integer in ``[0, 2**64)``.
    minval : float, optional
        Lower bound, included.
    maxval : float, optional
        Upper bound, excluded (values equal ``minval`` when the two are equal).
    dtype : str or dtype, optional
        ``float32`` (default), ``float64``, ``float16`` or ``bfloat16``.
    full_shape : tuple of int, optional
        Shape of the whole logical tensor (default: ``shape``).
    offset : tuple of int, optional
        Start of the block ``[offset, offset + shape)`` in ``full_shape`` (default: the origin).
    stream : int, optional
        Stream id in ``[0, 2**63)``.
    out : array, optional
        Existing array of shape ``shape`` to fill and return (numpy, torch, array_api_strict, cupy).
    xp : namespace, optional
        Array library of the result (default numpy).
    device : optional
        Device of the result, in the library's terms (``"cpu"``, ``"cuda:0"``).
    like : array, optional
        Take the library, device and (unless ``dtype`` is given) dtype of this array.
    chunks : optional
        dask only: the chunks of the lazy result.

    Returns
    -------
    array
        An array of ``xp`` (numpy by default), or ``out``.

    Raises
    ------
    ValueError
        When a bound lies beyond the dtype's largest value, or (float64) the
        width ``maxval - minval`` overflows.

    Notes
    -----
    ``x = minval + u * (maxval - minval)`` with ``u = (w >> 8) * 2**-24`` in
    float32 arithmetic (``u = (w64 >> 11) * 2**-53`` in float64 for float64
    output, and float64 arithmetic with ``u = w * 2**-32`` for widths beyond
    the float32 range), then kept inside ``[minval, maxval)`` on the output
    dtype's grid.

    Examples
    --------
    >>> import arrayinit.random as ar
    >>> x = ar.uniform((1000,), seed=1, minval=-1.0, maxval=1.0)
    >>> bool(x.min() >= -1.0 and x.max() < 1.0)
    True
    """
    shape, full, off, seed, stream, dest = _common(
        shape, seed, dtype, full_shape, offset, stream, out, xp, device, like, chunks
    )
    plan_of = _complex.uniform_plan if dest.dtype in _dtypes.COMPLEX_PARTS else _plans.uniform_plan
    return _frontend.realise(plan_of(shape, full, off, dest.dtype, seed, stream, minval, maxval), dest)


def normal(
    shape=(),
    *,
    seed,
    mean=0.0,
    stddev=1.0,
    dtype=None,
    full_shape=None,
    offset=None,
    stream=0,
    out=None,
    xp=None,
    device=None,
    like=None,
    chunks=None,
):
    """Normal values with the given ``mean`` and ``stddev``, by inversion.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the result (of the block, when ``full_shape`` is given).
    seed : int
        Key of the stream, an integer in ``[0, 2**64)``.
    mean : float, optional
        Mean.
    stddev : float, optional
        Standard deviation, non-negative.
    dtype : str or dtype, optional
        ``float32`` (default), ``float64``, ``float16`` or ``bfloat16``.
    full_shape : tuple of int, optional
        Shape of the whole logical tensor (default: ``shape``).
    offset : tuple of int, optional
        Start of the block ``[offset, offset + shape)`` in ``full_shape`` (default: the origin).
    stream : int, optional
        Stream id in ``[0, 2**63)``.
    out : array, optional
        Existing array of shape ``shape`` to fill and return (numpy, torch, array_api_strict, cupy).
    xp : namespace, optional
        Array library of the result (default numpy).
    device : optional
        Device of the result, in the library's terms (``"cpu"``, ``"cuda:0"``).
    like : array, optional
        Take the library, device and (unless ``dtype`` is given) dtype of this array.
    chunks : optional
        dask only: the chunks of the lazy result.

    Returns
    -------
    array
        An array of ``xp`` (numpy by default), or ``out``.

    Raises
    ------
    ValueError
        When values could round to infinity in the dtype (``|mean|`` plus 6.5
        standard deviations, 9.2 for float64).

    Notes
    -----
    The top bit of the element's word is the sign, the other bits give a tail
    probability ``q`` in ``(0, 1/2]``; ``x = mean + stddev * ndtri(q)`` (sign
    applied). float32 values reach about 6.4 standard deviations, float64
    about 9.1; none is infinite.

    Examples
    --------
    >>> import arrayinit.random as ar
    >>> x = ar.normal((100_000,), seed=3, stddev=2.0)
    >>> round(float(x.std()), 1)
    2.0
    """
    shape, full, off, seed, stream, dest = _common(
        shape, seed, dtype, full_shape, offset, stream, out, xp, device, like, chunks
    )
    plan_of = _complex.normal_plan if dest.dtype in _dtypes.COMPLEX_PARTS else _plans.normal_plan
    return _frontend.realise(plan_of(shape, full, off, dest.dtype, seed, stream, mean, stddev), dest)


def truncated_normal(
    shape=(),
    *,
    seed,
    mean=0.0,
    stddev=1.0,
    lower=None,
    upper=None,
    a=None,
    b=None,
    dtype=None,
    full_shape=None,
    offset=None,
    stream=0,
    out=None,
    xp=None,
    device=None,
    like=None,
    chunks=None,
):
    """Normal values truncated to an interval, by inversion (no rejection).

    The interval is given either in standard deviations around the mean,
    ``[mean + lower * stddev, mean + upper * stddev]`` (default ``lower=-2,
    upper=2``, the Keras convention), or in absolute values ``[a, b]`` (the
    ``torch.nn.init.trunc_normal_`` convention). Infinite bounds are allowed.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the result (of the block, when ``full_shape`` is given).
    seed : int
        Key of the stream, an integer in ``[0, 2**64)``.
    mean : float, optional
        Mean of the normal before truncation.
    stddev : float, optional
        Standard deviation of the normal before truncation, positive.
    lower : float, optional
        Lower bound in standard deviations from the mean (default -2 unless ``a`` or ``b`` is given).
    upper : float, optional
        Upper bound in standard deviations from the mean (default 2 unless ``a`` or ``b`` is given).
    a : float, optional
        Lower bound in absolute value (instead of ``lower``/``upper``).
    b : float, optional
        Upper bound in absolute value (instead of ``lower``/``upper``).
    dtype : str or dtype, optional
        ``float32`` (default), ``float64``, ``float16`` or ``bfloat16``.
    full_shape : tuple of int, optional
        Shape of the whole logical tensor (default: ``shape``).
    offset : tuple of int, optional
        Start of the block ``[offset, offset + shape)`` in ``full_shape`` (default: the origin).
    stream : int, optional
        Stream id in ``[0, 2**63)``.
    out : array, optional
        Existing array of shape ``shape`` to fill and return (numpy, torch, array_api_strict, cupy).
    xp : namespace, optional
        Array library of the result (default numpy).
    device : optional
        Device of the result, in the library's terms (``"cpu"``, ``"cuda:0"``).
    like : array, optional
        Take the library, device and (unless ``dtype`` is given) dtype of this array.
    chunks : optional
        dask only: the chunks of the lazy result.

    Returns
    -------
    array
        An array of ``xp`` (numpy by default), or ``out``.

    Raises
    ------
    ValueError
        When values could round to infinity in the dtype, when no finite value
        of the dtype lies in the bounds, or when the bounds lie beyond the
        float64 range of standard deviations from the mean.

    Notes
    -----
    ``x = mean + stddev * ndtri(Phi(alpha) + u * (Phi(beta) - Phi(alpha)))``
    with ``u`` in (0, 1), clamped into the bounds; intervals in the upper tail
    are mirrored so that bounds far in one tail (``[4, 6]``, ``[10, 12]``)
    stay exact. Bounds whose tail probability falls below 1e-20, and a mean or
    stddev beyond the float32 range, are computed in float64 arithmetic even
    for float32 output. When all the mass lies in the rounding cell of the
    bound nearer the mean, every value is that bound's grid value.

    Examples
    --------
    >>> import arrayinit.random as ar
    >>> x = ar.truncated_normal((10_000,), seed=0, stddev=0.5)
    >>> bool(abs(x).max() <= 1.0)
    True
    >>> y = ar.truncated_normal((10_000,), seed=0, a=4.0, b=6.0)
    >>> bool(y.min() >= 4.0 and y.max() <= 6.0)
    True
    """
    if _dtypes.complex_requested(dtype, like, out):
        _complex.refuse("truncated_normal", dtype)
    shape, full, off, seed, stream, dest = _common(
        shape, seed, dtype, full_shape, offset, stream, out, xp, device, like, chunks
    )
    plan = _plans.truncnorm_plan(shape, full, off, dest.dtype, seed, stream, mean, stddev, lower, upper, a, b)
    return _frontend.realise(plan, dest)
