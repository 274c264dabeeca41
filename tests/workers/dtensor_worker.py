"""One rank of the DTensor test: initializes DTensors on a gloo group and saves the gathered tensors.

Run by tests/test_torch.py as ``python tests/workers/dtensor_worker.py RANK WORLD PORT OUTDIR``.
"""

import os
import pathlib
import sys

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Replicate, Shard, distribute_tensor

import arrayinit as ai
from arrayinit.torch import init_dtensor_, init_module


def main(rank: int, world: int, port: int, outdir: pathlib.Path) -> None:
    dist.init_process_group("gloo", rank=rank, world_size=world, init_method=f"tcp://127.0.0.1:{port}")
    try:
        mesh1 = init_device_mesh("cpu", (world,))
        cases = {
            "shard0": (mesh1, [Shard(0)]),
            "shard1": (mesh1, [Shard(1)]),
            "replicate": (mesh1, [Replicate()]),
        }
        if world == 2:
            mesh2 = init_device_mesh("cpu", (1, 2), mesh_dim_names=("dp", "tp"))
            cases["mesh2d_shard0_shard1"] = (mesh2, [Shard(0), Shard(1)])
            cases["mesh2d_replicate_shard1"] = (mesh2, [Replicate(), Shard(1)])
        for name, (mesh, placements) in cases.items():
            for init_name, init in [("he_normal", ai.HeNormal(seed=3)), ("orthogonal", ai.Orthogonal(seed=4))]:
                dt = distribute_tensor(torch.zeros(10, 7), mesh, placements)
                version = dt._version
                init_dtensor_(dt, init)
                assert dt._version > version, "autograd must see the fill"
                full = dt.full_tensor()
                if rank == 0:
                    np.save(outdir / f"{name}-{init_name}-w{world}.npy", full.numpy())
        # a module whose parameters are DTensors (as FSDP2 / tensor parallelism leave them)
        net = torch.nn.Sequential(torch.nn.Linear(7, 10), torch.nn.Linear(10, 3))
        net[0].weight = torch.nn.Parameter(distribute_tensor(torch.zeros(10, 7), mesh1, [Shard(0)]))
        net[1].weight = torch.nn.Parameter(distribute_tensor(torch.zeros(3, 10), mesh1, [Shard(1)]))
        init_module(net, seed=21, rules={"1.weight": "he_uniform"})
        w0 = net[0].weight.full_tensor().detach()  # collectives: every rank gathers
        w1 = net[1].weight.full_tensor().detach()
        # an Orthogonal rule: torch's flattening over the global shape, each rank its block
        conv = torch.nn.Conv1d(6, 8, 3)
        conv.weight = torch.nn.Parameter(distribute_tensor(torch.zeros(8, 6, 3), mesh1, [Shard(1)]))
        init_module(conv, seed=5, rules={"weight": ai.Orthogonal(gain=1.5)})
        w2 = conv.weight.full_tensor().detach()
        # torch's defaults (no rules), sharded: Embedding with a padding row, Linear weight and bias
        emb = torch.nn.Embedding(10, 6, padding_idx=3)
        emb.weight = torch.nn.Parameter(distribute_tensor(torch.zeros(10, 6), mesh1, [Shard(0)]))
        init_module(emb, seed=6)
        lin = torch.nn.Linear(6, 8)
        lin.weight = torch.nn.Parameter(distribute_tensor(torch.zeros(8, 6), mesh1, [Shard(1)]))
        lin.bias = torch.nn.Parameter(distribute_tensor(torch.zeros(8), mesh1, [Shard(0)]))
        init_module(lin, seed=7)
        defaults = {
            "emb.weight": emb.weight.full_tensor().detach(),
            "lin.weight": lin.weight.full_tensor().detach(),
            "lin.bias": lin.bias.full_tensor().detach(),
        }
        if rank == 0:
            for key, value in defaults.items():
                np.save(outdir / f"defaults-{key}-w{world}.npy", value.numpy())
            np.save(outdir / f"module0-w{world}.npy", w0.numpy())
            np.save(outdir / f"module1-w{world}.npy", w1.numpy())
            np.save(outdir / f"conv-orthogonal-w{world}.npy", w2.numpy())
        dist.barrier()  # no collective in flight when the group goes
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    r, w, p, out = sys.argv[1:5]
    main(int(r), int(w), int(p), pathlib.Path(out))
    sys.stdout.flush()
    sys.stderr.flush()
    # the work is done and saved: skip the interpreter's teardown, where gloo's
    # threads occasionally abort the process ("terminate called without an active exception")
    os._exit(0)
