"""``torch.nn.init``-compatible in-place initializers, module and DTensor initialization.

Every function takes the signature of its ``torch.nn.init`` namesake plus a
keyword ``seed``. An int seed gives reproducible values on every library and
device. Without one, the seed is drawn from ``generator`` (or torch's default
generator), as torch's own functions draw their values: ``torch.manual_seed``
makes such calls repeatable, and each call consumes the generator. Fans follow
torch's convention: ``(out, in, *kernel)``.

``init_module(module, seed)`` initializes every parameter with its own seed
derived from its qualified name, and ``init_dtensor_`` fills each rank's
local shard of a DTensor so the global tensor equals single-process
initialization, whatever the mesh and placements, with no communication.

The functions live in ``_nn_init`` (``torch.nn.init``'s), ``_modules`` (torch's defaults per
module type, ``init_module``), ``_dtensor`` (DTensor shards) and ``_checkpoint`` (``save_initialized``:
the sharded checkpoint of a module, built on the meta device or anywhere).
"""

from arrayinit.torch._checkpoint import save_initialized
from arrayinit.torch._dtensor import init_dtensor_
from arrayinit.torch._modules import init_module, torch_defaults
from arrayinit.torch._nn_init import (
    calculate_gain,
    constant,
    constant_,
    dirac,
    dirac_,
    eye,
    eye_,
    kaiming_normal,
    kaiming_normal_,
    kaiming_uniform,
    kaiming_uniform_,
    normal,
    normal_,
    ones_,
    orthogonal,
    orthogonal_,
    sparse,
    sparse_,
    trunc_normal_,
    uniform,
    uniform_,
    xavier_normal,
    xavier_normal_,
    xavier_uniform,
    xavier_uniform_,
    zeros_,
)

__all__ = [
    "calculate_gain",
    "constant",
    "constant_",
    "dirac",
    "dirac_",
    "eye",
    "eye_",
    "init_dtensor_",
    "init_module",
    "kaiming_normal",
    "kaiming_normal_",
    "kaiming_uniform",
    "kaiming_uniform_",
    "normal",
    "normal_",
    "ones_",
    "orthogonal",
    "orthogonal_",
    "save_initialized",
    "sparse",
    "sparse_",
    "torch_defaults",
    "trunc_normal_",
    "uniform",
    "uniform_",
    "xavier_normal",
    "xavier_normal_",
    "xavier_uniform",
    "xavier_uniform_",
    "zeros_",
]
