"""Sharded checkpoints with torch and dask: a meta-device module written by save_initialized equals init_module,
and a checkpoint written through a dask.distributed cluster has the bytes of one process."""

import json
import os
import pathlib

import pytest

torch = pytest.importorskip("torch", reason="torch is installed by the tests_xp session")
safetensors_torch = pytest.importorskip("safetensors.torch", reason="installed by the test extra")

import arrayinit as ai  # noqa: E402
import arrayinit.torch as ait  # noqa: E402
from arrayinit import _checkpoint, cli  # noqa: E402


def _load(folder) -> dict:
    index = json.loads((pathlib.Path(folder) / _checkpoint.INDEX_NAME).read_text())
    state = {}
    for name in sorted(set(index["weight_map"].values())):
        state.update(safetensors_torch.load_file(str(pathlib.Path(folder) / name)))
    assert list(state) == list(index["weight_map"]) or set(state) == set(index["weight_map"])
    return state


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(pathlib.Path(folder).iterdir())}


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        assert sa[name].dtype == sb[name].dtype, name
        assert torch.equal(sa[name], sb[name]), name


def _transformer():
    return torch.nn.Transformer(
        d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=64, batch_first=True
    )


def test_meta_transformer_equals_init_module(tmp_path):
    with torch.device("meta"):
        meta = _transformer()
    index = ait.save_initialized(meta, 3, tmp_path / "ckpt", max_shard_size="20kB")
    assert pathlib.Path(index).name == _checkpoint.INDEX_NAME
    state = _load(tmp_path / "ckpt")
    assert list(state) == list(meta.state_dict())
    assert len(set(json.loads(pathlib.Path(index).read_text())["weight_map"].values())) > 3
    meta.load_state_dict(state, assign=True)
    ref = ait.init_module(_transformer(), seed=3)
    _assert_same_state(meta, ref)


class _Net(torch.nn.Module):
    """Embedding with a padding row, tied output, a 4-D conv (orthogonal in torch's layout), batch norm, bfloat16."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(50, 16, padding_idx=3)
        self.conv = torch.nn.Conv2d(4, 8, 3)
        self.norm = torch.nn.BatchNorm1d(16)
        self.proj = torch.nn.Linear(16, 16, dtype=torch.bfloat16)
        self.head = torch.nn.Linear(16, 50, bias=False)
        self.head.weight = self.embed.weight  # tied


RULES = {"conv.weight": "orthogonal", "proj.bias": ait.uniform_, "norm.weight": ai.Constant(0.5)}


def _rules_fn(name, param):
    return "he_normal" if name == "proj.weight" else None


@pytest.mark.parametrize("rules", [RULES, _rules_fn, None])
def test_rules_tied_weights_padding_rows_and_buffers_equal_init_module(tmp_path, rules):
    if rules is RULES:
        rules = {**RULES, "proj.bias": lambda t, seed: ait.normal_(t, 0.0, 0.1, seed=seed)}
    with torch.device("meta"):
        meta = _Net()
    ait.save_initialized(meta, 11, tmp_path, rules=rules, max_shard_size=1000)
    state = _load(tmp_path)
    assert list(state) == list(meta.state_dict())  # both names of the tied weight, the buffers
    assert torch.equal(state["embed.weight"], state["head.weight"])
    assert state["norm.num_batches_tracked"].dtype == torch.int64
    meta.load_state_dict(state, assign=True)
    ref = _Net()
    ait.init_module(ref, seed=11, rules=rules)
    _assert_same_state(meta, ref)
    assert not meta.embed.weight[3].any()


def test_workers_give_the_same_bytes_for_a_module(tmp_path):
    with torch.device("meta"):
        meta = _Net()
    ait.save_initialized(meta, 5, tmp_path / "one", rules=RULES, max_shard_size=2000)
    ait.save_initialized(meta, 5, tmp_path / "two", rules=RULES, max_shard_size=2000, workers=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_a_meta_buffer_without_values_is_an_error_naming_it(tmp_path):
    class WithBuffer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)
            self.register_buffer("table", torch.empty(8))

    with torch.device("meta"):
        meta = WithBuffer()
    with pytest.raises(ValueError, match="the buffer 'table' is on the meta device"):
        ait.save_initialized(meta, 0, tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()
    with pytest.raises(ValueError, match=r"Argument `max_shard_size`.*Received: max_shard_size='1XB'"):
        ait.save_initialized(_Net(), 0, tmp_path / "ckpt", max_shard_size="1XB")
    with pytest.raises(ValueError, match="Argument `workers`"):
        ait.save_initialized(_Net(), 0, tmp_path / "ckpt", workers=0)


def test_a_dask_cluster_writes_the_same_bytes(tmp_path):
    distributed = pytest.importorskip("distributed", reason="installed by the tests_xp session")
    spec = {
        "seed": 2,
        "dtype": "bfloat16",
        "parameters": {f"l{i}.w": {"shape": [128, 96 + i], "initializer": "he_normal"} for i in range(8)},
    }
    cli.materialize(spec, str(tmp_path / "local"), progress=False, max_shard_size=60_000)
    import dask

    # dask's scratch folder and its locks in tmp_path, not in the system's temporary folder
    with (
        dask.config.set({"temporary-directory": str(tmp_path)}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        cli.materialize(
            spec, str(tmp_path / "dask"), progress=False, max_shard_size=60_000, executor=client.get_executor()
        )
    assert len(os.listdir(tmp_path / "dask")) > 3
    assert _files(tmp_path / "dask") == _files(tmp_path / "local")
