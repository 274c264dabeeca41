"""A model spec: read from JSON or YAML (a key given twice, numbers of thousands of digits and alias bombs
refused) and validated whole into the tensors to generate, each initializer's own checks included."""

from __future__ import annotations

import contextlib
import json
import numbers
import pathlib

from arrayinit import _dtypes
from arrayinit._errors import check_seed
from arrayinit._initializers import Initializer, reseeded
from arrayinit._registry import get
from arrayinit._safetensors import METADATA_KEY, check_text
from arrayinit._seeds import derive_seed
from arrayinit.cli._checks import check_dims, check_generates, parse_json_int
from arrayinit.cli._messages import short

_SPEC_KEYS = {"seed", "dtype", "parameters", "metadata"}
_PARAM_KEYS = {"shape", "initializer", "dtype", "seed"}


# --- reading: JSON, or YAML with PyYAML --------------------------------------------------------


class _DuplicateKey(ValueError):
    def __init__(self, key, line: int | None = None):
        super().__init__(key, line)
        self.key, self.line = key, line


def _unique_pairs(pairs: list) -> dict:
    """``json`` ``object_pairs_hook``: a mapping, refusing a key given twice."""
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _yaml_load(yaml, text: str):
    """``yaml.safe_load`` that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' merges; explicit keys override
                        continue
                    key = self.construct_object(key_node, deep=True)
                    with contextlib.suppress(TypeError):  # unhashable keys: PyYAML's own error follows
                        if key in seen:
                            raise _DuplicateKey(key, key_node.start_mark.line + 1)
                        seen.add(key)
            return super().construct_mapping(node, deep)

        def construct_yaml_int(self, node):
            parse_json_int(str(node.value))  # no integer of thousands of digits
            return super().construct_yaml_int(node)

    UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", UniqueKeyLoader.construct_yaml_int)
    spec = yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: plain data only
    _check_expansion(spec)
    return spec


_MAX_NODES = 1_000_000


def _check_expansion(obj) -> None:
    """Refuse a document whose aliases expand it beyond ``_MAX_NODES`` values (a YAML "billion laughs")."""
    stack, seen = [obj], 0
    while stack:
        x = stack.pop()
        seen += 1
        if seen > _MAX_NODES:
            raise ValueError(
                f"it expands to more than {_MAX_NODES:,} values (through YAML aliases); a model spec needs far fewer"
            )
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def _at(mark) -> str:
    """A PyYAML mark (0-based) as people count: ``line 3, column 7``."""
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _yaml_problem(e, text: str) -> str:
    """A PyYAML error on one line: where, the problem, and what was being read (PyYAML's own text spans several
    lines, with a copy of the offending line and a caret under it). ``text`` is the document read."""
    problem, mark = getattr(e, "problem", None), getattr(e, "problem_mark", None)
    if problem is None:  # a ReaderError (a character YAML forbids) or an error without a position
        reason, position, char = (getattr(e, a, None) for a in ("reason", "position", "character"))
        if isinstance(reason, str) and isinstance(position, int) and isinstance(char, int):
            line = text.count("\n", 0, position) + 1
            column = position - (text.rfind("\n", 0, position) + 1) + 1
            return f"line {line}, column {column}: the character U+{char:04X}: {reason}"
        return " ".join(str(e).split())
    message = f"{_at(mark)}: {problem}" if mark is not None else str(problem)
    context, context_mark = getattr(e, "context", None), getattr(e, "context_mark", None)
    if context:
        message += f" ({context}" + (f" that starts at {_at(context_mark)})" if context_mark is not None else ")")
    note = getattr(e, "note", None)
    return message + (f"; {note}" if note else "")


def load_spec(path: str) -> dict:
    """Read a JSON (or YAML, with PyYAML) model spec; a key given twice in one mapping is an error."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise type(e)(e.errno, f"cannot read the spec {path!r}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"The spec {path} is not UTF-8 text: {e}") from None
    try:
        if path.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError:
                raise ValueError("YAML specs need PyYAML (pip install pyyaml); or write the spec as JSON") from None
            try:
                return _yaml_load(yaml, text)
            except yaml.YAMLError as e:
                raise ValueError(f"The spec {path} is not valid YAML: {_yaml_problem(e, text)}") from None
        try:
            return json.loads(text, object_pairs_hook=_unique_pairs, parse_int=parse_json_int)
        except json.JSONDecodeError as e:
            raise ValueError(f"The spec {path} is not valid JSON: line {e.lineno}, column {e.colno}: {e.msg}") from None
    except _DuplicateKey as e:
        where = "" if e.line is None else f" (line {e.line})"
        raise ValueError(
            f"The spec {path} gives the key {e.key!r} twice in one mapping{where}: a parameter (or any key) may "
            "appear once; the second would silently replace the first"
        ) from None
    except RecursionError:
        raise ValueError(f"The spec {path} is nested too deeply") from None
    except ValueError as e:
        if str(e).startswith("The spec"):
            raise
        raise ValueError(f"The spec {path}: {e}") from None


# --- validation: the whole spec, before anything is generated ----------------------------------


def _in(where: str, e: Exception) -> Exception:
    """``e``'s message prefixed with ``where`` (TypeError stays TypeError, anything else is a ValueError)."""
    if isinstance(e, RecursionError):
        return ValueError(f"{where}: nested too deeply")
    return (TypeError if isinstance(e, TypeError) else ValueError)(f"{where}: {e}")


def _spec_shape(where: str, value) -> tuple[int, ...]:
    """A parameter's shape: a list of non-negative integers (no floats, booleans nor strings), below 2**63."""

    def msg():
        return f"{where}: 'shape' must be a list of non-negative integers. Received: shape={short(value)}"

    if not isinstance(value, (list, tuple)):
        raise TypeError(msg())
    for d in value:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(msg())
        if d < 0:
            raise ValueError(msg())
    shape = tuple(int(d) for d in value)
    check_dims(where, shape)
    return shape


_RESERVED_METADATA = ("generator", "seed")


def spec_metadata(spec: dict) -> dict[str, str]:
    """The safetensors ``__metadata__`` of a spec: generator and root seed, then the spec's ``metadata``."""
    meta = {"generator": "arrayinit", "seed": str(spec.get("seed", 0))}
    user = spec.get("metadata")
    if user is None:
        return meta
    if not isinstance(user, dict):
        raise TypeError(
            f"The spec's 'metadata' must be a mapping of strings to strings. Received: metadata={short(user)}"
        )
    for k, v in user.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(
                "The spec's 'metadata' must map strings to strings (safetensors stores text). "
                f"Received: metadata[{short(k)}]={short(v)}"
            )
        if k in _RESERVED_METADATA:
            raise ValueError(
                f"The spec's 'metadata' cannot set {k!r}: arrayinit writes {', '.join(_RESERVED_METADATA)} itself "
                f"(the spec's own 'seed' is the root seed). Received: metadata[{k!r}]={short(v)}"
            )
        check_text(f"The spec's 'metadata' key {short(k)}", k)
        check_text(f"The spec's 'metadata'[{short(k)}]", v)
    return {**meta, **user}


def _spec_dtype(value, default: str) -> str:
    """A spec's ``dtype``: null or absent means ``default``."""
    return default if value is None else _dtypes.dtype_name(value)


def plan_spec(spec) -> list[tuple[str, tuple[int, ...], str, Initializer]]:
    """Validate a spec completely and return ``[(name, shape, dtype, initializer)]``; nothing is generated.

    Besides the spec's structure, every initializer's own checks (rank, fans,
    dtype, range) run for its parameter's shape and dtype (``check_generates``),
    so that a spec that fails does so before any tensor is generated, with the
    parameter named. A ``dtype`` that is absent or null is the spec's
    ``dtype``, and that one, absent or null, is float32.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"A spec is a mapping with a 'parameters' mapping. Received: {type(spec).__name__}")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"Unknown keys in the spec: {sorted(unknown, key=str)}; allowed: {sorted(_SPEC_KEYS)}")
    params = spec.get("parameters")
    if not isinstance(params, dict) or not params:
        raise ValueError("The spec needs a non-empty 'parameters' mapping of name -> {shape, initializer}")
    root = spec.get("seed", 0)
    try:
        check_seed(root)
    except (TypeError, ValueError) as e:
        raise _in("The spec's 'seed'", e) from None
    try:
        default_dtype = _spec_dtype(spec.get("dtype"), "float32")
    except (TypeError, ValueError) as e:
        raise _in("The spec's 'dtype'", e) from None
    spec_metadata(spec)
    out = []
    for name, p in params.items():
        where = f"parameter {short(name)}"
        if not isinstance(name, str):
            raise TypeError(f"{where}: parameter names must be strings. Received: name={short(name)}")
        check_text(f"The parameter name {short(name)}", name)
        if name == METADATA_KEY:
            raise ValueError(
                f"{where}: the name {METADATA_KEY!r} is reserved by the safetensors format for the file's "
                "metadata (use the spec's top-level 'metadata' mapping for that)"
            )
        if not isinstance(p, dict):
            raise ValueError(f"{where}: expected a mapping with 'shape' and 'initializer'. Received: {short(p)}")
        bad = set(p) - _PARAM_KEYS
        if bad:
            raise ValueError(f"{where}: unknown keys {sorted(bad, key=str)}; allowed: {sorted(_PARAM_KEYS)}")
        if "shape" not in p or "initializer" not in p:
            raise ValueError(f"{where}: 'shape' and 'initializer' are required")
        shape = _spec_shape(where, p["shape"])
        try:
            dtype = _spec_dtype(p.get("dtype"), default_dtype)
            init = get(p["initializer"])
        except (TypeError, ValueError, RecursionError) as e:
            raise _in(where, e) from None
        if not isinstance(init, Initializer):
            raise ValueError(
                f"{where}: 'initializer' must name an arrayinit initializer. Received: {short(p['initializer'])}"
            )
        try:
            explicit = init.get_config().get("seed") if isinstance(p["initializer"], dict) else None
            seed = p.get("seed", explicit if explicit is not None else derive_seed(root, name))
            check_seed(seed)  # an explicit seed: null would draw a new one on every run
            init = reseeded(init, seed)
            check_generates(init, shape, dtype)
        except (TypeError, ValueError, RecursionError) as e:
            raise _in(where, e) from None
        out.append((name, shape, dtype, init))
    return out
