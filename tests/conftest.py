import pathlib

import numpy as np
import pytest

DATA = pathlib.Path(__file__).parent / "data"

FLOAT_DTYPES = ["float32", "float64", "float16", "bfloat16"]


def as_f64(x: np.ndarray) -> np.ndarray:
    """Any float array (bfloat16 included) as float64."""
    return np.asarray(x).astype(np.float32).astype(np.float64) if x.dtype.itemsize == 2 else x.astype(np.float64)


@pytest.fixture(params=FLOAT_DTYPES)
def float_dtype(request):
    return request.param
