"""One rank of the PyTorch guide's FSDP2 example: runs the example, then saves this rank's shards.

Run by tests/test_torch.py under ``python -m torch.distributed.run`` as
``fsdp_example_worker.py SCRIPT OUTDIR``: SCRIPT is the guide's example, extracted verbatim. It runs
as ``__main__`` (as ``torchrun SCRIPT`` would run it); its global ``model`` is then read, and each
parameter's local shard, with the block of the global tensor that it holds, goes to
``OUTDIR/rank{RANK}.npz`` and ``OUTDIR/rank{RANK}.json``.
"""

import json
import os
import pathlib
import sys

import numpy as np
from torch.distributed.tensor import DTensor
from torch.distributed.tensor._utils import compute_local_shape_and_global_offset


def main(script: pathlib.Path, outdir: pathlib.Path) -> None:
    namespace = {"__name__": "__main__", "__file__": str(script)}
    exec(compile(script.read_text(encoding="utf-8"), str(script), "exec"), namespace)
    model = namespace["model"]
    rank = int(os.environ["RANK"])
    shards, blocks = {}, {}
    for name, param in model.named_parameters():
        if not isinstance(param, DTensor):
            blocks[name] = {"type": type(param).__name__}
            continue
        # where torch itself places this rank's shard in the global tensor (mesh coordinates are kept
        # by the mesh, so this holds after the example has destroyed its process group)
        local_shape, offset = compute_local_shape_and_global_offset(param.shape, param.device_mesh, param.placements)
        shards[name] = param.to_local().detach().numpy()
        blocks[name] = {
            "type": "DTensor",
            "placements": [repr(p) for p in param.placements],
            "global_shape": list(param.shape),
            "local_shape": list(local_shape),
            "offset": list(offset),
        }
    np.savez(outdir / f"rank{rank}.npz", **shards)
    (outdir / f"rank{rank}.json").write_text(json.dumps(blocks), encoding="utf-8")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
    sys.stdout.flush()
    sys.stderr.flush()
    # the work is done and saved: skip the interpreter's teardown, where gloo's
    # threads occasionally abort the process ("terminate called without an active exception")
    os._exit(0)
