"""Writing a sharded checkpoint against copying the same bytes on the same disk.

Writes a bfloat16 checkpoint (default 4 GB in 1 GB shards) with ``arrayinit materialize --out FOLDER``, and in the
same run copies a file of the same size with ``cp`` and ``dd`` (each followed by ``sync``, as every shard is flushed
to the disk before it is renamed into place), then prints the times and the ratios, and the peak memory (VmHWM) of
each process that wrote shards. Every file it writes is removed at the end, also after an error or Ctrl-C.

    python benchmarks/bench_checkpoint.py [--gb 4] [--shard-gb 1] [--workers 1,2] [--dir FOLDER]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def _children() -> dict[int, list[int]]:
    """``{parent pid: [child pids]}`` of every process (Linux ``/proc``)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _peak_rss(pid: int) -> int | None:
    """VmHWM (peak resident memory) of ``pid`` in bytes, None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmHWM:\s*(\d+) kB", f.read())
    except OSError:
        return None
    return int(m.group(1)) * 1024 if m else None


def run_watched(cmd: list[str]) -> tuple[float, int, dict[int, int]]:
    """Run ``cmd`` (after a sync, and a sync after it); seconds, exit status and the peak RSS of it and of each
    process below it (the worker processes), read every 20 ms."""
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    while proc.poll() is None:
        tree, stack = _children(), [proc.pid]
        while stack:
            pid = stack.pop()
            stack.extend(tree.get(pid, []))
            peak = _peak_rss(pid)
            if peak is not None:
                peaks[pid] = max(peaks.get(pid, 0), peak)
        time.sleep(0.02)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"materialize failed: {err}")
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - t0, proc.pid, peaks


def spec(total_bytes: int) -> dict:
    """A bfloat16 model of ``total_bytes``: 64 MiB matrices (as large layers are), he_normal."""
    n = 32 * 2**20  # values per tensor (64 MiB of bfloat16)
    count = max(1, total_bytes // (2 * n))
    return {
        "seed": 0,
        "dtype": "bfloat16",
        "parameters": {f"layers.{i}.weight": {"shape": [8192, 4096], "initializer": "he_normal"} for i in range(count)},
    }


def timed(cmd: list[str]) -> float:
    """Seconds of ``cmd`` and a ``sync`` after it (after a ``sync`` of what was written before)."""
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    subprocess.run(["sync"], check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", type=float, default=4.0, help="checkpoint size in GB (10**9 bytes; default 4)")
    parser.add_argument("--shard-gb", type=float, default=1.0, help="shard size in GB (default 1)")
    parser.add_argument("--workers", default="1,2", help="worker counts to time, comma-separated (default 1,2)")
    parser.add_argument("--dir", default=None, help="folder on the disk to measure (default: the system temp)")
    parser.add_argument("--json", default=None, help="write the figures to this JSON file too")
    args = parser.parse_args()
    total = int(args.gb * 1e9)
    base = tempfile.mkdtemp(prefix="bench-checkpoint-", dir=args.dir)
    rows = []
    try:
        spec_path = os.path.join(base, "spec.json")
        with open(spec_path, "w") as f:
            json.dump(spec(total), f)
        # warm the kernel cache so the first timed run does not include compilation
        subprocess.run(
            [sys.executable, "-m", "arrayinit.cli", "sample", "he_normal", "--shape", "1024,1024", "--dtype", "bf16"],
            capture_output=True,
            check=True,
        )
        results = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            out = os.path.join(base, f"ckpt{workers}")
            cmd = [sys.executable, "-m", "arrayinit.cli", "materialize", spec_path, "--out", out, "--quiet"]
            cmd += ["--max-shard-size", f"{args.shard_gb}GB", "--workers", str(workers)]
            seconds, pid, peaks = run_watched(cmd)
            size = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
            # the writers: the command itself with one worker; else its worker processes (the largest ones; the
            # process below it that starts them is small)
            writers = [peaks[pid]] if workers == 1 else sorted(v for k, v in peaks.items() if k != pid)[-workers:]
            results[workers] = (seconds, size, [peaks[pid], *writers])
            shutil.rmtree(out)
        size = next(iter(results.values()))[1]
        source = os.path.join(base, "source.bin")
        with open(source, "wb") as f:  # the bytes to copy: a file of the checkpoint's size, read from the page cache
            block = os.urandom(2**24)
            for _ in range(size // len(block)):
                f.write(block)
            f.write(block[: size % len(block)])
        copy = os.path.join(base, "copy.bin")
        t_cp = timed(["cp", source, copy])
        os.unlink(copy)
        t_dd = timed(["dd", f"if={source}", f"of={copy}", "bs=16M", "conv=fsync", "status=none"])
        os.unlink(copy)
        print(f"checkpoint of {size / 1e9:.2f} GB in {args.shard_gb:g} GB shards, bfloat16; folder {base}")
        print(f"  cp + sync      {t_cp:7.2f} s  {size / t_cp / 1e9:6.2f} GB/s")
        print(f"  dd conv=fsync  {t_dd:7.2f} s  {size / t_dd / 1e9:6.2f} GB/s")
        for workers, (seconds, _, peaks) in results.items():
            main_peak, worker_peaks = peaks[0], peaks[1:]
            rows.append(
                {
                    "workers": workers,
                    "seconds": seconds,
                    "GB/s": size / seconds / 1e9,
                    "vs_cp": t_cp / seconds,
                    "vs_dd": t_dd / seconds,
                    "peak_rss_main_MiB": main_peak / 2**20,
                    "peak_rss_per_worker_MiB": max(worker_peaks) / 2**20,
                }
            )
            print(
                f"  arrayinit --workers {workers}: {seconds:7.2f} s  {size / seconds / 1e9:6.2f} GB/s  "
                f"x{t_cp / seconds:.2f} of cp, x{t_dd / seconds:.2f} of dd; peak RSS per writer "
                f"{max(worker_peaks) / 2**20:.0f} MiB (main {main_peak / 2**20:.0f} MiB; shard "
                f"{args.shard_gb * 1e9 / 2**20:.0f} MiB)"
            )
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"size": size, "cp": t_cp, "dd": t_dd, "rows": rows}, f, indent=2)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
