"""arrayinit.torch: torch.nn.init-compatible functions, init_module, DTensor initialization."""

import ast
import json
import math
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is installed by the tests_xp session")
import arrayinit as ai  # noqa: E402
import arrayinit.torch as ait  # noqa: E402

N_SHAPE = (512, 256, 3, 3)  # fan_in 2304, fan_out 4608


def _std_bound(t):
    x = t.detach().double()
    return float(x.std()), float(x.abs().max())


@pytest.mark.parametrize(
    ("ours", "theirs", "std", "bound"),
    [
        (
            lambda t: ait.uniform_(t, -0.3, 0.5, seed=1),
            lambda t: torch.nn.init.uniform_(t, -0.3, 0.5),
            0.8 / 12**0.5,
            0.5,
        ),
        (lambda t: ait.normal_(t, 0.0, 0.02, seed=1), lambda t: torch.nn.init.normal_(t, 0.0, 0.02), 0.02, None),
        (
            lambda t: ait.trunc_normal_(t, std=0.02, a=-0.04, b=0.04, seed=1),
            lambda t: torch.nn.init.trunc_normal_(t, std=0.02, a=-0.04, b=0.04),
            0.02 * 0.87962566103423978,
            0.04,
        ),
        (
            lambda t: ait.xavier_uniform_(t, gain=2.0, seed=1),
            lambda t: torch.nn.init.xavier_uniform_(t, gain=2.0),
            2.0 * math.sqrt(2 / (2304 + 4608)),
            2.0 * math.sqrt(6 / (2304 + 4608)),
        ),
        (
            lambda t: ait.xavier_normal_(t, seed=1),
            lambda t: torch.nn.init.xavier_normal_(t),
            math.sqrt(2 / (2304 + 4608)),
            None,
        ),
        (
            lambda t: ait.kaiming_uniform_(t, a=math.sqrt(5), seed=1),
            lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
            1 / math.sqrt(3 * 2304),
            1 / math.sqrt(2304),
        ),
        (
            lambda t: ait.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", seed=1),
            lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
            math.sqrt(2 / 4608),
            None,
        ),
    ],
    ids=[
        "uniform_",
        "normal_",
        "trunc_normal_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
    ],
)
def test_distribution_matches_torch_nn_init(ours, theirs, std, bound):
    torch.manual_seed(0)
    a = ours(torch.empty(N_SHAPE))
    b = theirs(torch.empty(N_SHAPE))
    sa, ma = _std_bound(a)
    sb, mb = _std_bound(b)
    n = a.numel()
    assert abs(sa / std - 1) < 6 / math.sqrt(2 * n)
    assert abs(sb / std - 1) < 6 / math.sqrt(2 * n)  # the reference formula is torch's
    if bound is not None:
        assert ma <= bound
        assert mb <= bound * (1 + 1e-6)
        assert ma > 0.99 * bound


def test_trunc_normal_bfloat16_small_std_stays_inside():
    t = torch.empty(1024, 1024, dtype=torch.bfloat16)
    ait.trunc_normal_(t, mean=0.0, std=1e-3, a=-2e-3, b=2e-3, seed=5)
    x = t.float()
    assert float(x.min()) >= -2e-3
    assert float(x.max()) <= 2e-3
    assert len(torch.unique(x)) > 500
    assert abs(float(x.double().std()) / (1e-3 * 0.87962566103423978) - 1) < 0.01
    # an interval narrower than one bfloat16 step around 1.0 collapses onto the grid point inside it
    one = ait.trunc_normal_(
        torch.empty(1000, dtype=torch.bfloat16), mean=1.0, std=1e-3, a=1.0 - 2e-3, b=1.0 + 2e-3, seed=5
    )
    assert torch.equal(one.float(), torch.ones(1000))
    far = ait.trunc_normal_(torch.empty(100_000), mean=0.0, std=1.0, a=5.0, b=6.0, seed=6)
    assert float(far.min()) >= 5.0
    assert float(far.max()) <= 6.0


@pytest.mark.parametrize("name", ["linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"])
def test_calculate_gain_matches_torch(name):
    assert ait.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert ait.calculate_gain("leaky_relu", 0.3) == pytest.approx(torch.nn.init.calculate_gain("leaky_relu", 0.3))


def test_deterministic_fills_equal_torch():
    for shape, groups in [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 3, 3, 3), 1)]:
        a, b = torch.empty(shape), torch.empty(shape)
        ait.dirac_(a, groups)
        torch.nn.init.dirac_(b, groups)
        assert torch.equal(a, b)
    a, b = torch.empty(5, 7), torch.empty(5, 7)
    assert torch.equal(ait.eye_(a), torch.nn.init.eye_(b))
    assert torch.equal(ait.constant_(torch.empty(3), 0.5), torch.full((3,), 0.5))
    assert torch.equal(ait.zeros_(torch.ones(3)), torch.zeros(3))
    assert torch.equal(ait.ones_(torch.zeros(3)), torch.ones(3))


def test_orthogonal_and_sparse():
    for shape in [(32, 64), (64, 32), (16, 4, 3, 3)]:
        q = ait.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=2.0, seed=2).reshape(shape[0], -1)
        gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        assert torch.allclose(gram, 4.0 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-10)
    s = ait.sparse_(torch.empty(100, 20), sparsity=0.3, std=0.5, seed=3)
    assert ((s == 0).sum(dim=0) == 30).all()
    ref = torch.nn.init.sparse_(torch.empty(100, 20), sparsity=0.3, std=0.5)
    assert ((ref == 0).sum(dim=0) == 30).all()
    assert torch.equal(s, ait.sparse_(torch.empty(100, 20), sparsity=0.3, std=0.5, seed=3))


def test_errors_match_torch():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        ait.xavier_uniform_(torch.empty(5))
    with pytest.raises(ValueError, match="Mode fan_up not supported"):
        ait.kaiming_normal_(torch.empty(3, 3), mode="fan_up")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        ait.calculate_gain("swishy")


def test_seeded_functions_are_reproducible_and_cross_library():
    a = ait.kaiming_normal_(torch.empty(64, 32), seed=9)
    b = ait.kaiming_normal_(torch.empty(64, 32), seed=9)
    assert torch.equal(a, b)
    ref = ai.random.normal((64, 32), seed=9, stddev=ait.calculate_gain("leaky_relu", 0) / math.sqrt(32))
    np.testing.assert_array_equal(a.numpy(), ref)
    assert not torch.equal(ait.normal_(torch.empty(8)), ait.normal_(torch.empty(8)))  # seed=None: fresh each call


class _Net(torch.nn.Module):
    def __init__(self, order):
        super().__init__()
        layers = {
            "enc": lambda: torch.nn.Linear(16, 32),
            "dec": lambda: torch.nn.Linear(32, 8),
            "norm": lambda: torch.nn.LayerNorm(32),
        }
        for key in order:
            self.add_module(key, layers[key]())


def test_init_module_is_independent_of_creation_order():
    a = ait.init_module(_Net(["enc", "dec", "norm"]), seed=11)
    b = ait.init_module(_Net(["norm", "dec", "enc"]), seed=11)
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    assert set(pa) == set(pb)
    for k in pa:
        assert torch.equal(pa[k], pb[k]), k
    assert torch.equal(pa["norm.weight"], torch.ones(32))
    # torch's Linear bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), not zeros
    assert 0 < float(pa["enc.bias"].detach().abs().max()) <= 1 / math.sqrt(16)
    assert float(pa["enc.weight"].detach().abs().max()) <= 1 / math.sqrt(16)
    assert not torch.equal(pa["enc.weight"][:8, :16], pa["dec.weight"][:8, :16])


def test_init_module_rules():
    net = _Net(["enc", "dec", "norm"])
    ait.init_module(
        net, seed=1, rules={"*.bias": ai.Constant(0.1), "dec.weight": "he_normal", "enc.weight": ait.xavier_normal_}
    )
    assert torch.allclose(net.enc.bias, torch.full((32,), 0.1))
    expect = ai.VarianceScaling(2.0, seed=ai.derive_seed(1, "dec.weight"), in_axis=1, out_axis=0)((8, 32))
    np.testing.assert_array_equal(net.dec.weight.detach().numpy(), expect)
    ref = ait.xavier_normal_(torch.empty(32, 16), seed=ai.derive_seed(1, "enc.weight"))
    assert torch.equal(net.enc.weight.detach(), ref)
    assert net.enc.weight.requires_grad


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")
def test_dtensor_shards_equal_single_process(tmp_path):
    worker = Path(__file__).parent / "workers" / "dtensor_worker.py"
    for world in (1, 2):
        port = _free_port()
        procs = [
            subprocess.Popen(
                [sys.executable, str(worker), str(r), str(world), str(port), str(tmp_path)],
                stderr=subprocess.PIPE,
                text=True,
            )
            for r in range(world)
        ]
        for p in procs:
            _, err = p.communicate(timeout=240)
            assert p.returncode == 0, err
    single = {"he_normal": ai.HeNormal(seed=3)((10, 7)), "orthogonal": ai.Orthogonal(seed=4)((10, 7))}
    plain = ait.init_module(
        torch.nn.Sequential(torch.nn.Linear(7, 10), torch.nn.Linear(10, 3)), seed=21, rules={"1.weight": "he_uniform"}
    )
    # torch fans (out, in): he_uniform on Linear(10, 3) has fan_in 10
    assert float(plain[1].weight.detach().abs().max()) <= (6 / 10) ** 0.5
    conv = ait.init_module(torch.nn.Conv1d(6, 8, 3), seed=5, rules={"weight": ai.Orthogonal(gain=1.5)})
    for world in (1, 2):
        np.testing.assert_array_equal(np.load(tmp_path / f"module0-w{world}.npy"), plain[0].weight.detach().numpy())
        np.testing.assert_array_equal(np.load(tmp_path / f"module1-w{world}.npy"), plain[1].weight.detach().numpy())
        np.testing.assert_array_equal(np.load(tmp_path / f"conv-orthogonal-w{world}.npy"), conv.weight.detach().numpy())
    emb = ait.init_module(torch.nn.Embedding(10, 6, padding_idx=3), seed=6)
    lin = ait.init_module(torch.nn.Linear(6, 8), seed=7)
    plain_defaults = {"emb.weight": emb.weight, "lin.weight": lin.weight, "lin.bias": lin.bias}
    assert torch.equal(emb.weight[3].detach(), torch.zeros(6))
    for world in (1, 2):
        for key, value in plain_defaults.items():
            got = np.load(tmp_path / f"defaults-{key}-w{world}.npy")
            np.testing.assert_array_equal(got, value.detach().numpy(), err_msg=f"{key} world {world}")
    files = sorted(f for f in tmp_path.glob("*.npy") if not f.name.startswith(("module", "conv", "defaults")))
    assert len(files) == 2 * 3 + 2 * 5
    for f in files:
        init_name = f.stem.split("-")[1]
        np.testing.assert_array_equal(np.load(f), single[init_name], err_msg=f.name)


TORCH_GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guides" / "torch.md"
TORCHRUN_TIMEOUT_S = 600  # two processes importing torch and compiling kernels on a busy 2-core machine


def _guide_fsdp_example():
    """The PyTorch guide's FSDP2 program, read from the page with the docs test's parser."""
    from tests.test_docs import blocks_of

    found = [b for b in blocks_of(TORCH_GUIDE) if b.lang == "python" and "fully_shard(" in b.code]
    assert len(found) == 1, f"{TORCH_GUIDE}: expected one python block calling fully_shard, found {len(found)}"
    return found[0]


def _definitions(code: str, filename: str) -> dict:
    """The imports, functions and constants of a program, without running its other statements."""
    keep = [
        node
        for node in ast.parse(code).body
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))
        or (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant))
    ]
    namespace: dict = {}
    exec(compile(ast.Module(body=keep, type_ignores=[]), filename, "exec"), namespace)
    return namespace


def _torchrun_env(tmp: Path) -> dict[str, str]:
    """The environment for ``torch.distributed.run``: nothing inherited from an enclosing launch, loopback only;
    the launcher's temporary folders (``torchelastic_*``) in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PET_", "TORCHELASTIC_", "MASTER_"))}
    env["TMPDIR"] = str(tmp)
    for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK"):
        env.pop(k, None)
    loopback = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    if loopback:  # gloo otherwise picks the interface of the host name
        env["GLOO_SOCKET_IFNAME"] = loopback[0]
    env["OMP_NUM_THREADS"] = "1"  # what torchrun sets by default (with a banner)
    return env


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")
def test_guide_fsdp2_example_runs_under_torchrun(tmp_path):
    """The guide's FSDP2 program, run as written by ``torchrun --nproc-per-node 2`` (gloo, CPU): every rank's
    shard of every parameter is bit-equal to its block of the model initialized whole in this process."""
    block = _guide_fsdp_example()
    script = tmp_path / "fsdp_init.py"
    script.write_text(block.code, encoding="utf-8")
    out = tmp_path / "shards"
    out.mkdir()
    worker = Path(__file__).parent / "workers" / "fsdp_example_worker.py"
    # --standalone: the launcher binds its own free port (no race for one); --local-addr: workers meet on loopback
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--local-addr", "127.0.0.1"]
    launch += ["--nproc-per-node", "2", "--max-restarts", "0", str(worker), str(script), str(out)]
    proc = subprocess.Popen(
        launch, cwd=tmp_path, env=_torchrun_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = proc.communicate(timeout=TORCHRUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the launcher stops its workers (they run in their own sessions)
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        pytest.fail(f"{block.id}: no result after {TORCHRUN_TIMEOUT_S} s under torchrun\n{output}")
    assert proc.returncode == 0, f"{block.id} failed under torchrun\n{output}"

    program = _definitions(block.code, str(block.page))
    whole = ait.init_module(program["make_model"](), seed=program["SEED"])
    blocks = [json.loads((out / f"rank{r}.json").read_text(encoding="utf-8")) for r in range(2)]
    shards = [np.load(out / f"rank{r}.npz") for r in range(2)]
    params = {name: p.detach().numpy() for name, p in whole.named_parameters()}
    assert set(blocks[0]) == set(blocks[1]) == set(params)
    for name, full in params.items():
        assert full.dtype == np.float32, name
        seen = np.zeros(full.shape, dtype=np.int64)
        for r in range(2):
            where, shard = blocks[r][name], shards[r][name]
            assert where["type"] == "DTensor", (name, r, where)  # FSDP2 sharded it
            assert where["placements"] == ["Shard(dim=0)"], (name, r, where)
            assert where["global_shape"] == list(full.shape), (name, r, where)
            assert list(shard.shape) == where["local_shape"], (name, r, where)
            assert shard.size > 0, f"{name}: rank {r} holds no part of it"
            index = tuple(slice(o, o + n) for o, n in zip(where["offset"], where["local_shape"]))
            expected = np.ascontiguousarray(full[index])
            bits = np.ascontiguousarray(shard).view(np.uint32)
            np.testing.assert_array_equal(bits, expected.view(np.uint32), err_msg=f"{name}, rank {r}")
            seen[index] += 1
        assert (seen == 1).all(), f"{name}: the two shards do not tile the tensor"


def test_kaiming_on_zero_element_tensors_is_a_no_op_with_a_warning():
    with pytest.warns(UserWarning, match="zero-element"):
        ait.kaiming_uniform_(torch.empty(0, 4), seed=0)
    with pytest.warns(UserWarning, match="zero-element"):
        ait.kaiming_normal_(torch.empty(4, 0), mode="FAN_OUT", seed=0)
    w = ait.kaiming_normal_(torch.empty(8, 4), mode="Fan_Out", seed=0)
    assert w.shape == (8, 4)


def test_unseeded_calls_follow_torch_generators():
    torch.manual_seed(0)
    a = ait.normal_(torch.empty(64))
    b = ait.kaiming_uniform_(torch.empty(8, 8))
    torch.manual_seed(0)
    assert torch.equal(ait.normal_(torch.empty(64)), a)  # torch.manual_seed makes them repeatable
    assert torch.equal(ait.kaiming_uniform_(torch.empty(8, 8)), b)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    x = ait.trunc_normal_(torch.empty(32), 0.0, 1.0, -2.0, 2.0, g1)  # torch's positional generator
    assert torch.equal(x, ait.trunc_normal_(torch.empty(32), generator=g2))
    assert not torch.equal(x, ait.trunc_normal_(torch.empty(32), generator=g1))  # the generator advanced
    with pytest.raises(ValueError, match="`seed` and `generator`"):
        ait.uniform_(torch.empty(3), seed=1, generator=g1)
    with pytest.raises(TypeError, match="generator"):
        ait.normal_(torch.empty(3), generator=5)


def test_in_place_fills_are_seen_by_autograd():
    # as with torch.nn.init: overwriting a parameter that a graph saved makes backward refuse
    w = torch.nn.Parameter(torch.ones(3))
    x = torch.ones(3, requires_grad=True)
    y = (x * w).sum()
    before = w._version
    ait.normal_(w, seed=0)
    assert w._version > before
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    ai.HeNormal(seed=1).fill_(torch.nn.Parameter(torch.empty(4, 4)))  # fill_ on a fresh parameter works
    m = torch.nn.Parameter(torch.ones(3, 4))
    v = m._version
    ait.orthogonal_(m.t(), seed=2)  # non-contiguous: through a temporary, torch's copy_ counts the update
    assert m._version > v


def test_inference_tensors_are_filled_only_in_inference_mode():
    with torch.inference_mode():
        t = torch.empty(4, 4)
        ai.HeNormal(seed=0).fill_(t)  # allowed inside
    expect = t.clone()
    with pytest.raises(RuntimeError, match="inference tensor"):
        ai.HeNormal(seed=1).fill_(t)
    assert torch.equal(t, expect)  # nothing written


def test_argument_errors_use_torch_names():
    with pytest.raises(ValueError, match="`std`"):
        ait.normal_(torch.empty(3), std=-1.0, seed=0)
    with pytest.raises(ValueError, match="`b` must be >= `a`"):
        ait.uniform_(torch.empty(3), 1.0, 0.0, seed=0)
    with pytest.raises(ValueError, match="`std` must be positive"):
        ait.trunc_normal_(torch.empty(3), std=0.0, seed=0)
    with pytest.raises(ValueError, match=r"out\.dtype"):
        ait.normal_(torch.empty(3, dtype=torch.int32), seed=0)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.bool, torch.uint8])
def test_constant_fills_take_any_dtype_like_torch(dtype):
    for ours, theirs in [
        (ait.zeros_, torch.nn.init.zeros_),
        (ait.ones_, torch.nn.init.ones_),
        (lambda t: ait.constant_(t, 1), lambda t: torch.nn.init.constant_(t, 1)),
    ]:
        a, b = torch.full((3, 2), 7).to(dtype), torch.full((3, 2), 7).to(dtype)
        assert torch.equal(ours(a), theirs(b))
        assert a.dtype == dtype


def test_init_module_orthogonal_rule_uses_torch_flattening():
    conv = torch.nn.Conv2d(64, 128, 3)
    ait.init_module(conv, seed=0, rules={"weight": ai.Orthogonal(gain=2.0)})
    w = conv.weight.detach().double().reshape(128, -1)  # (out, in * k * k) = (128, 576)
    assert torch.allclose(w @ w.T, 4.0 * torch.eye(128, dtype=torch.float64), atol=1e-5)
    ref = ai.Orthogonal(gain=2.0, seed=ai.derive_seed(0, "weight"))((128, 576))
    np.testing.assert_array_equal(conv.weight.detach().reshape(128, 576).numpy(), ref)
    # 2-D weights: the torch and Keras flattenings agree, the values are Orthogonal's own
    lin = ait.init_module(torch.nn.Linear(8, 4), seed=3, rules={"weight": ai.Orthogonal()})
    np.testing.assert_array_equal(lin.weight.detach().numpy(), ai.Orthogonal(seed=ai.derive_seed(3, "weight"))((4, 8)))


# --- init_module without rules: torch's own default distributions, per module type -----------------------------

nn = torch.nn


def _u(bound):
    return ("uniform", -bound, 2 * bound)


def _n(std):
    return ("norm", 0.0, std)


def _const(v):
    return ("const", v)


def _xavier_u(fan_in, fan_out):
    return _u(math.sqrt(6.0 / (fan_in + fan_out)))


# (module factory, {parameter: expected distribution}): the distributions are torch's reset_parameters formulas
DEFAULTS = {
    "Linear": (lambda: nn.Linear(256, 384), {"weight": _u(1 / 16), "bias": _u(1 / 16)}),
    "Conv1d": (lambda: nn.Conv1d(16, 64, 5), {"weight": _u(80**-0.5), "bias": _u(80**-0.5)}),
    "Conv2d": (lambda: nn.Conv2d(16, 64, 3, groups=2), {"weight": _u(72**-0.5), "bias": _u(72**-0.5)}),
    "Conv3d": (lambda: nn.Conv3d(4, 32, 3), {"weight": _u(108**-0.5), "bias": _u(108**-0.5)}),
    # ConvTranspose weights are (in, out / groups, *k): torch's fan_in is out / groups * k
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(64, 16, 3), {"weight": _u(144**-0.5), "bias": _u(144**-0.5)}),
    "ConvTranspose1d": (lambda: nn.ConvTranspose1d(32, 24, 4), {"weight": _u(96**-0.5), "bias": _u(96**-0.5)}),
    "Bilinear": (lambda: nn.Bilinear(20, 30, 40), {"weight": _u(20**-0.5), "bias": _u(20**-0.5)}),
    "Embedding": (lambda: nn.Embedding(2000, 64), {"weight": _n(1.0)}),
    "EmbeddingBag": (lambda: nn.EmbeddingBag(1000, 32, mode="sum"), {"weight": _n(1.0)}),
    "LayerNorm": (lambda: nn.LayerNorm(48), {"weight": _const(1.0), "bias": _const(0.0)}),
    "RMSNorm": (lambda: nn.RMSNorm(48), {"weight": _const(1.0)}),
    "GroupNorm": (lambda: nn.GroupNorm(4, 48), {"weight": _const(1.0), "bias": _const(0.0)}),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(48), {"weight": _const(1.0), "bias": _const(0.0)}),
    "InstanceNorm1d": (lambda: nn.InstanceNorm1d(48, affine=True), {"weight": _const(1.0), "bias": _const(0.0)}),
    "LSTM": (
        lambda: nn.LSTM(32, 64, num_layers=2, proj_size=16),
        {
            p: _u(1 / 8)
            for p in ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0", "weight_ih_l1"]
        },
    ),
    "GRU": (lambda: nn.GRU(32, 100, bidirectional=True), {"weight_ih_l0_reverse": _u(0.1), "bias_hh_l0": _u(0.1)}),
    "RNN": (lambda: nn.RNN(16, 25), {"weight_ih_l0": _u(0.2), "weight_hh_l0": _u(0.2), "bias_ih_l0": _u(0.2)}),
    "LSTMCell": (lambda: nn.LSTMCell(24, 36), {"weight_ih": _u(36**-0.5), "bias_hh": _u(36**-0.5)}),
    "MultiheadAttention": (
        lambda: nn.MultiheadAttention(64, 4, add_bias_kv=True),
        {
            "in_proj_weight": _xavier_u(64, 192),
            "in_proj_bias": _const(0.0),
            "out_proj.weight": _u(1 / 8),
            "out_proj.bias": _const(0.0),
            "bias_k": _n(math.sqrt(2.0 / (64 + 64))),
            "bias_v": _n(math.sqrt(2.0 / (64 + 64))),
        },
    ),
    "MultiheadAttention_kdim": (
        lambda: nn.MultiheadAttention(64, 4, kdim=32, vdim=48),
        {
            "q_proj_weight": _xavier_u(64, 64),
            "k_proj_weight": _xavier_u(32, 64),
            "v_proj_weight": _xavier_u(48, 64),
            "in_proj_bias": _const(0.0),
            "out_proj.bias": _const(0.0),
        },
    ),
    "TransformerEncoderLayer": (
        lambda: nn.TransformerEncoderLayer(64, 4, 128),
        {
            "self_attn.in_proj_weight": _xavier_u(64, 192),
            "self_attn.out_proj.weight": _u(1 / 8),
            "self_attn.out_proj.bias": _const(0.0),
            "linear1.weight": _u(1 / 8),
            "linear1.bias": _u(1 / 8),
            "linear2.weight": _u(128**-0.5),
            "linear2.bias": _u(128**-0.5),
            "norm1.weight": _const(1.0),
            "norm2.bias": _const(0.0),
        },
    ),
    # nn.Transformer gives every parameter of 2+ dimensions xavier_uniform_ after building its layers
    "Transformer": (
        lambda: nn.Transformer(64, 4, 1, 1, 128, batch_first=True),
        {
            "encoder.layers.0.linear1.weight": _xavier_u(64, 128),
            "encoder.layers.0.linear1.bias": _u(1 / 8),
            "decoder.layers.0.multihead_attn.out_proj.weight": _xavier_u(64, 64),
            "decoder.layers.0.multihead_attn.in_proj_bias": _const(0.0),
            "decoder.norm.weight": _const(1.0),
        },
    ),
    "PReLU": (lambda: nn.PReLU(8, init=0.3), {"weight": _const(0.3)}),
}


def _check_distribution(x, expected, label):
    from scipy import stats

    x = x.detach().double().reshape(-1).numpy()
    if expected[0] == "const":
        assert np.all(x == np.float32(expected[1])), label
        return
    kind, loc, scale = expected
    p = stats.kstest(x, kind, args=(loc, scale)).pvalue
    assert p > 1e-3, (label, p)
    if kind == "uniform":
        assert x.min() >= loc, label
        assert x.max() <= loc + scale, label


@pytest.mark.parametrize("case", sorted(DEFAULTS))
def test_init_module_reproduces_torch_default_distributions(case):
    pytest.importorskip("scipy", reason="scipy is installed by the test extra")
    make, expected = DEFAULTS[case]
    torch.manual_seed(0)
    theirs = dict(make().named_parameters())  # torch's own initialization, for the same statistics
    ours_module = ait.init_module(make(), seed=3)
    ours = dict(ours_module.named_parameters())
    for name, dist in expected.items():
        _check_distribution(ours[name], dist, f"arrayinit {case}.{name}")
        _check_distribution(theirs[name], dist, f"torch {case}.{name}")
    # every parameter comes from the table, reproducibly, each with its own stream
    again = dict(ait.init_module(make(), seed=3).named_parameters())
    for name, p in ours.items():
        assert torch.equal(p, again[name]), name
        assert p.requires_grad


def test_init_module_default_values_come_from_the_stream_with_per_parameter_seeds():
    lin = ait.init_module(nn.Linear(10, 6), seed=4)
    w = ai.VarianceScaling(1 / 3, "fan_in", "uniform", seed=ai.derive_seed(4, "weight"), in_axis=1, out_axis=0)((6, 10))
    np.testing.assert_array_equal(lin.weight.detach().numpy(), w)
    b = ai.RandomUniform(-(10**-0.5), 10**-0.5, seed=ai.derive_seed(4, "bias"))((6,))
    np.testing.assert_array_equal(lin.bias.detach().numpy(), b)
    emb = ait.init_module(nn.Embedding(50, 8, padding_idx=7), seed=4)
    ref = ai.RandomNormal(0.0, 1.0, seed=ai.derive_seed(4, "weight"))((50, 8))
    ref[7] = 0.0
    np.testing.assert_array_equal(emb.weight.detach().numpy(), ref)  # padding_idx row zeroed, as torch
    bag = ait.init_module(nn.EmbeddingBag(20, 4, padding_idx=0), seed=4)
    assert torch.equal(bag.weight[0].detach(), torch.zeros(4))
    assert bool((bag.weight[1:] != 0).all())


def test_init_module_rules_still_win_over_the_defaults():
    net = ait.init_module(nn.Sequential(nn.Linear(8, 4), nn.Embedding(5, 4)), seed=0, rules={"*.bias": "zeros"})
    assert torch.equal(net[0].bias.detach(), torch.zeros(4))
    assert float(net[1].weight.detach().abs().max()) > 0.5  # the default N(0, 1) where no rule matched


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(12, 10))
        self.bias = nn.Parameter(torch.empty(12))
        self.scale = nn.Parameter(torch.empty(12))


def test_init_module_fallback_for_module_types_outside_the_table():
    m = ait.init_module(_Custom(), seed=0)
    assert 0 < float(m.kernel.detach().abs().max()) <= 10**-0.5
    assert torch.equal(m.bias.detach(), torch.zeros(12))
    assert torch.equal(m.scale.detach(), torch.ones(12))


def test_torch_defaults_names_every_parameter():
    t = nn.Transformer(16, 2, 1, 1, 32, batch_first=True)
    rules = ait.torch_defaults(t)
    assert set(rules) == {n for n, _ in t.named_parameters()}


@pytest.mark.parametrize(
    "name",
    [
        "normal",
        "uniform",
        "constant",
        "eye",
        "dirac",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "orthogonal",
        "sparse",
    ],
)
def test_deprecated_names_warn_as_torch_does(name):
    args = {
        "constant": (0.5,),
        "sparse": (0.5,),
    }.get(name, ())
    shape = (4, 4, 3) if name == "dirac" else (4, 6)
    theirs = getattr(torch.nn.init, name)
    with pytest.warns(FutureWarning) as expected:
        theirs(torch.empty(shape), *args)
    with pytest.warns(FutureWarning) as got:
        out = getattr(ait, name)(torch.empty(shape), *args)
    assert str(got[0].message) == str(expected[0].message)
    assert got[0].filename == __file__  # reported at the caller, as torch's
    fresh = getattr(ait, name + "_")
    kwargs = {"seed": 1} if "seed" in fresh.__code__.co_varnames else {}
    if kwargs:
        with pytest.warns(FutureWarning):
            out = getattr(ait, name)(torch.empty(shape), *args, **kwargs)
        assert torch.equal(out, fresh(torch.empty(shape), *args, **kwargs))
    assert out.shape == shape


@pytest.mark.parametrize(
    ("exc", "match", "call"),
    [
        (ValueError, "groups", lambda: ait.dirac_(torch.zeros(2, 2, 3), groups=0)),
        (ValueError, "mode=None", lambda: ait.kaiming_normal_(torch.zeros(2, 2), mode=None)),
        (ValueError, "`gain` overflows float16", lambda: ait.orthogonal_(torch.zeros(2, 2, dtype=torch.float16), 7e4)),
        (ValueError, "`val`", lambda: ait.constant_(torch.zeros(2, dtype=torch.int32), 2**31)),
        (ValueError, "`val`", lambda: ait.constant_(torch.zeros(2, dtype=torch.int32), -(2**64))),
        (ValueError, "`sparsity`", lambda: ait.sparse_(torch.zeros(2, 0), 9e307)),
        (ValueError, "`sparsity`", lambda: ait.sparse_(torch.zeros(2, 3), -0.5)),
    ],
)
def test_bad_arguments_are_named_errors(exc, match, call):
    with pytest.raises(exc, match=match):
        call()


def test_empty_tensors_are_returned_unchanged():
    for fill in (ait.xavier_uniform_, ait.xavier_normal_):
        t = torch.zeros(0, 0)
        assert fill(t, seed=0) is t
    t = torch.zeros(1, 1, 0)
    assert ait.dirac_(t) is t
