"""A 2 GiB float32 tensor generated as a dask array on a 2-worker process cluster versus in one process.

Prints throughput (G values/s), their ratio, and peak memory per worker (max
RSS) against the single process's peak. Writes benchmarks/results/bench_dask.json.
Run: ``python benchmarks/bench_dask.py [--gib 2] [--chunk-mib 64]``.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import resource
import subprocess
import sys
import time

RESULTS = pathlib.Path(__file__).parent / "results"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def single_process(n: int) -> dict:
    code = (
        "import time, resource, arrayinit as ai\n"
        f"ai.TruncatedNormal(stddev=0.02, seed=1)((1024,))\n"
        "ts = []\n"
        "for _ in range(3):\n"
        "    t0 = time.perf_counter()\n"
        f"    x = ai.TruncatedNormal(stddev=0.02, seed=1)(({n},))\n"
        "    ts.append(time.perf_counter() - t0)\n"
        "    del x\n"
        "print(min(ts[1:]), ts[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    # the first call in a fresh process also pays the kernel's first touch of 2 GiB of pages
    return {"seconds": float(out[0]), "first_call_seconds": float(out[1]), "peak_rss_mib": float(out[2])}


def cluster(n: int, chunk: int) -> dict:
    import distributed

    import arrayinit.dask as aid
    from arrayinit import TruncatedNormal

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env={"NUMBA_NUM_THREADS": "1"}
        ) as lc,
        distributed.Client(lc) as client,
    ):
        warm = aid.array(TruncatedNormal(stddev=0.02, seed=1), (4 * chunk,), chunks=chunk)
        client.compute(warm.sum()).result()  # compile / load the kernel cache in every worker
        x = aid.array(TruncatedNormal(stddev=0.02, seed=1), (n,), chunks=chunk)
        t0 = time.perf_counter()
        total = client.compute(x.sum()).result()  # every chunk generated, reduced, freed
        dt = time.perf_counter() - t0
        peaks = client.run(_peak_rss_mib)
    return {"seconds": dt, "peak_rss_mib_per_worker": sorted(peaks.values()), "checksum": float(total)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0, help="size of the float32 tensor in GiB")
    parser.add_argument("--chunk-mib", type=float, default=64.0, help="chunk size in MiB")
    args = parser.parse_args(argv)
    n = int(args.gib * 2**30 / 4)
    chunk = int(args.chunk_mib * 2**20 / 4)
    one = single_process(n)
    two = cluster(n, chunk)
    res = {
        "elements": n,
        "chunk_elements": chunk,
        "single_process": one | {"gvals_per_s": n / one["seconds"] / 1e9},
        "cluster_2_workers": two | {"gvals_per_s": n / two["seconds"] / 1e9},
    }
    res["throughput_ratio_cluster_to_single"] = (
        res["cluster_2_workers"]["gvals_per_s"] / res["single_process"]["gvals_per_s"]
    )
    print(f"{args.gib:g} GiB float32 truncated normal ({n} values), chunks of {args.chunk_mib:g} MiB")
    print(
        f"  one process (2 numba threads): {res['single_process']['gvals_per_s']:.3f} G values/s "
        f"({n / one['first_call_seconds'] / 1e9:.3f} on its first call: fresh pages), "
        f"peak RSS {one['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"  2-worker LocalCluster (1 thread each): {res['cluster_2_workers']['gvals_per_s']:.3f} G values/s, "
        f"peak RSS per worker {', '.join(f'{p:.0f}' for p in two['peak_rss_mib_per_worker'])} MiB"
    )
    print(f"  throughput ratio cluster/single: {res['throughput_ratio_cluster_to_single']:.2f}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_dask.json").write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
