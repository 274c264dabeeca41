"""The command line's grammar: the commands, their options and their help text (argparse)."""

from __future__ import annotations

import argparse
import json
import textwrap

from arrayinit import __version__
from arrayinit.cli._arguments import seed_arg, workers_arg

_FORMATTER = argparse.RawDescriptionHelpFormatter


def build_parser() -> argparse.ArgumentParser:
    """The ``arrayinit`` parser: one subcommand per command module, each with a description and examples."""
    parser = argparse.ArgumentParser(
        prog="arrayinit",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Keras-style weight initializers from one counter-based random stream: the same seed gives
            the same tensor on every library, device, chunking and thread count.

            Errors in what you give a command are one line, 'arrayinit COMMAND: error: ...', exit status 2;
            an interrupted command leaves no partial file and exits with 130 (Ctrl-C) or 128 + the signal."""
        ),
        epilog=textwrap.dedent(
            """\
            examples:
              arrayinit demo
              arrayinit sample he_normal --shape 256,128 --seed 0 --out w.npy --plot w.png
              arrayinit materialize model.json --out model.safetensors
              arrayinit materialize model.json --out checkpoint/ --max-shard-size 5GB --workers 4
              arrayinit warmup
            Run 'arrayinit COMMAND --help' for a command's options."""
        ),
    )
    parser.add_argument("--version", action="version", version=f"arrayinit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_demo = sub.add_parser(
        "demo",
        help="sample typical initializers and compare them with theory",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Sample he_normal, glorot_uniform and truncated_normal for typical layer shapes (dense and
            convolution kernels), print each sample's mean, standard deviation, minimum and maximum beside
            what the initializer predicts, and draw each histogram over its theoretical density.
            Exit status 1 when a value lies outside its theoretical bounds."""
        ),
    )
    p_demo.add_argument("--seed", type=seed_arg, default=0, help="seed, an integer in [0, 2**64) (default 0)")
    p_demo.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float64", "float16", "bfloat16"],
        help="dtype of the samples (default float32; bfloat16 needs ml_dtypes)",
    )
    p_demo.add_argument(
        "--plot", default="arrayinit-demo.png", metavar="FILE", help="histogram image (default arrayinit-demo.png)"
    )
    p_demo.add_argument("--no-plot", action="store_true", help="do not draw the histograms")

    example = json.dumps({"class_name": "TruncatedNormal", "config": {"stddev": 0.02}})
    p_sample = sub.add_parser(
        "sample",
        help="sample one initializer: statistics, and optionally a file and a histogram",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            f"""\
            Draw one tensor from an initializer and print its statistics beside the theory. Nothing is
            written unless --out or --plot is given; every path is checked before sampling.

            examples:
              arrayinit sample he_normal --shape 256,128 --seed 0
              arrayinit sample '{example}' --shape 4096,4096 --dtype bfloat16 --out w.safetensors
              arrayinit sample glorot_uniform --shape 3,3,64,128 --plot w.png"""
        ),
    )
    p_sample.add_argument(
        "init",
        metavar="INIT",
        help=f"a registered name (he_normal, glorot_uniform, orthogonal, ...) or a JSON config: '{example}'",
    )
    p_sample.add_argument(
        "--shape", required=True, help="dimensions separated by commas, e.g. 256,128 or 3,3,64,128; () for a scalar"
    )
    p_sample.add_argument(
        "--seed",
        type=seed_arg,
        default=None,
        help="seed in [0, 2**64) (default: the config's, or a fresh one, printed for reuse)",
    )
    p_sample.add_argument("--dtype", default="float32", help="float32 (default), float64, float16 or bfloat16")
    p_sample.add_argument("--device", default="cpu", help="cpu (default), or cuda:N to sample on a GPU through torch")
    p_sample.add_argument(
        "--out", metavar="FILE", help="write the values to FILE.npy or FILE.safetensors (bfloat16: .safetensors only)"
    )
    p_sample.add_argument("--plot", metavar="FILE", help="draw the histogram and the theoretical density to FILE.png")

    p_mat = sub.add_parser(
        "materialize",
        help="generate every parameter of a model spec into a safetensors file or a sharded checkpoint",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Generate every parameter of a JSON or YAML model spec into one safetensors file (--out
            NAME.safetensors) or into a folder of safetensors shards with their index (--out FOLDER):

              {"seed": 42, "dtype": "bfloat16", "metadata": {"model": "demo"},
               "parameters": {"embed.weight": {"shape": [32000, 4096], "initializer": "he_normal"},
                              "norm.weight": {"shape": [4096], "initializer": "ones", "dtype": "float32"}}}

            Each parameter gets derive_seed(seed, name) unless it gives its own 'seed'; a 'dtype' that is
            absent or null is the spec's, and the spec's, absent or null, is float32. The whole spec is
            checked first (structure, every initializer's arguments for its shape and dtype, the file's
            size against the free disk, the memory needed); tensors are then generated block by block
            straight into the file, which appears only when complete.

            A folder gets model-00001-of-0000N.safetensors ... and model.safetensors.index.json: tensors
            whole, in spec order, a new shard when the next tensor would take the shard's data past
            --max-shard-size. Each shard appears only when complete and the index only when all are; a
            rerun after an interruption keeps the shards that match the plan and writes the others.
            The bytes are the same whatever --workers.

            examples:
              arrayinit materialize model.json --out model.safetensors
              arrayinit materialize model.json --out checkpoint/ --max-shard-size 5GB --workers 4"""
        ),
    )
    p_mat.add_argument("spec", metavar="SPEC", help="model spec, a .json file (or .yaml/.yml, with PyYAML)")
    p_mat.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="a NAME.safetensors file, or a folder (created if missing) for a sharded checkpoint",
    )
    p_mat.add_argument(
        "--max-shard-size",
        default="5GB",
        metavar="SIZE",
        help="with a folder: the most bytes of tensor data per shard, e.g. 5GB, 500MB (decimal: 1GB = 10**9 "
        "bytes, as the common tools count) or 2GiB, 512MiB (binary); a larger tensor gets a shard alone "
        "(default 5GB)",
    )
    p_mat.add_argument(
        "--workers",
        type=workers_arg,
        default=1,
        metavar="N",
        help="with a folder: processes writing shards at once, each a whole shard at a time (default 1)",
    )
    p_mat.add_argument("--quiet", action="store_true", help="no progress report")

    sub.add_parser(
        "warmup",
        help="compile the CPU kernels ahead of time and say where they are cached",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            The first call of each kind after installing or upgrading arrayinit builds its CPU kernels for
            this machine from the bitcode shipped in the package (about a second each; numba compiles them
            from their sources where that bitcode does not fit); the machine code is cached on disk and
            later processes load it quickly. 'arrayinit warmup' builds them all now (every distribution in
            float32, float64 and the 16-bit formats, small and large calls), reports how long each took and
            where the cache lives. Run it after installing or upgrading arrayinit, e.g. when building an
            image. CUDA kernels are compiled in each process on first use and are not cached."""
        ),
    )

    # the benchmark's own options (--quick, ...); its module loads with the parser, not with arrayinit.cli
    from arrayinit import _bench as benchmark

    p_bench = sub.add_parser(
        "bench",
        help="CPU benchmark against numpy (and torch, jax when installed)",
        conflict_handler="resolve",
        formatter_class=_FORMATTER,
        description=textwrap.dedent(
            """\
            Measure the throughput of arrayinit's CPU kernels (values per second, float32 and bfloat16)
            beside numpy's generators (and torch's and jax's, when installed), and write the figures
            to bench_cpu.json and a plot to bench_cpu.png."""
        ),
    )
    benchmark.add_arguments(p_bench)
    p_bench.add_argument(  # replaces the benchmark's --results: the command writes into the current folder by default
        "--results",
        default=".",
        metavar="FOLDER",
        help="folder for bench_cpu.json and bench_cpu.png, created if missing (default: the current directory)",
    )
    return parser
