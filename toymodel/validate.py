"""Argument checks shared by every public entry point: one place, one wording.

Each check returns the value in a canonical form (a Python int or float, a torch.device) or raises a
ValueError (TypeError for a value of the wrong kind) that names the parameter, the value and what is
allowed.  Numbers may be Python, numpy or 0-d torch scalars; a bool is never taken as a number.
"""

from __future__ import annotations

from collections.abc import Iterable
import math
import numbers
import operator
import os

import numpy as np
import torch

__all__ = [
    "DENSITY", "DTYPES", "MAX_INT", "MAX_SEED", "MEMORY_FRACTION", "check_densities", "check_density", "check_device",
    "check_dtype", "check_finite", "check_float_tensor", "check_in_range", "check_instance", "check_int",
    "check_memory", "check_number", "check_numbers", "check_positive_int", "check_positive_ints", "check_seed",
    "check_threshold", "check_vector", "holds_bool", "shown",
]

DENSITY = "p = 1 - S in (0, 1]"  # how an error message describes an allowed density

MEMORY_FRACTION = 0.8  # a call may plan to use at most this share of the memory available when it starts
MAX_INT = 2**63 - 1  # the largest size or seed torch takes (a signed 64-bit integer)
MAX_SEED = MAX_INT  # torch.Generator.manual_seed takes at most a signed 64-bit integer


def _is_bool(value: object) -> bool:
    return isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool)


def shown(value: object) -> str:
    """repr(value) for an error message, shortened when it is long (e.g. a 400-digit integer)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def check_int(name: str, value: object, low: int | None = None, high: int | None = None) -> int:
    """An integer (Python, numpy or 0-d integer tensor) in [low, high]; returned as a Python int."""
    if _is_bool(value) or isinstance(value, float) or (isinstance(value, torch.Tensor) and value.ndim != 0):
        value_ok = None
    else:
        try:
            value_ok = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            value_ok = None
    if value_ok is None or (low is not None and value_ok < low) or (high is not None and value_ok > high):
        allowed = "an integer" if low is None else f"an integer >= {low}"
        allowed += "" if high is None else f" and <= {high}"
        raise ValueError(f"{name} must be {allowed}, got {shown(value)}")
    return value_ok


def check_positive_int(name: str, value: object) -> int:
    """An integer >= 1 (and at most MAX_INT, the largest size torch takes)."""
    try:
        return check_int(name, value, low=1, high=MAX_INT)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer (>= 1, below 2**63), got {shown(value)}") from None


def check_positive_ints(name: str, values: object) -> list[int]:
    """A non-empty sequence of integers >= 1 (e.g. model sizes), returned as a list of Python ints."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"{name} must be a sequence of positive integers, got {values!r}")
    out = [check_positive_int(f"{name} entry", v) for v in values]
    if not out:
        raise ValueError(f"{name} must hold at least one positive integer, got {values!r}")
    return out


def check_seed(value: object, name: str = "seed") -> int:
    """A seed: an integer in [0, 2**63 - 1] (what torch and numpy generators accept)."""
    try:
        return check_int(name, value, low=0, high=MAX_SEED)
    except ValueError:
        raise ValueError(f"{name} must be a non-negative integer below 2**63, got {shown(value)}") from None


def check_number(name: str, value: object) -> float:
    """A real number (Python, numpy or 0-d tensor; not a bool); returned as a Python float (may be NaN/inf)."""
    if _is_bool(value) or isinstance(value, complex):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if isinstance(value, torch.Tensor):
        if value.ndim != 0 or value.is_complex():
            raise ValueError(f"{name} must be a number (a scalar), got a tensor of shape {tuple(value.shape)}")
        return float(value.item())
    if not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def check_in_range(
    name: str, value: object, low: float = -math.inf, high: float = math.inf,
    low_open: bool = False, high_open: bool = False, allowed: str | None = None,
) -> float:
    """A finite number in the interval from low to high (open or closed at each end).

    allowed: how the error message describes the allowed values (default: "a finite number in [low, high]").
    """
    lo, hi = ("(" if low_open else "[") + f"{low:g}", f"{high:g}" + (")" if high_open else "]")
    allowed = allowed or f"a finite number in {lo}, {hi}"
    try:
        v = check_number(name, value)
    except ValueError:
        raise ValueError(f"{name} must be {allowed}, got {value!r}") from None
    inside = math.isfinite(v) and (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not inside:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return v


def check_threshold(value: object, name: str = "threshold") -> float:
    """A positive finite cut (e.g. on ||W_i||)."""
    return check_in_range(name, value, 0.0, math.inf, low_open=True, allowed="a positive number")


def check_density(value: object, name: str = "density") -> float:
    """One density p = 1 - S, a number in (0, 1] (0 would be a feature that never fires)."""
    return check_in_range(name, value, 0.0, 1.0, low_open=True, allowed=DENSITY)


def check_numbers(
    name: str, value: object, low: float = -math.inf, high: float = math.inf,
    low_open: bool = False, high_open: bool = False, allowed: str | None = None,
) -> np.ndarray:
    """A number or an array / (nested) sequence / tensor of finite numbers, each in the interval from low to high;
    returned as a float64 numpy array of the same shape (at least one entry).

    allowed: how the error message describes one allowed value (default: "numbers in [low, high]"); the message
    reads "{name} must hold {allowed}, got {value!r}".
    """
    if allowed is None:
        allowed = "numbers in " + ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
    if holds_bool(value) or isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must hold {allowed}, got {value!r}")
    try:
        a = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} must hold {allowed}, got {value!r}") from err
    if a.size == 0:
        raise ValueError(f"{name} must hold at least one value ({allowed}), got {value!r}")
    inside = np.isfinite(a) & ((a > low) if low_open else (a >= low)) & ((a < high) if high_open else (a <= high))
    if not inside.all():
        raise ValueError(f"{name} must hold {allowed}, got {value!r}")
    return a


def check_vector(
    name: str, value: object, low: float = -math.inf, high: float = math.inf,
    low_open: bool = False, high_open: bool = False, allowed: str | None = None,
) -> torch.Tensor:
    """check_numbers, returned as a 1-D float32 tensor (a scalar becomes one entry): e.g. a grid of settings."""
    a = check_numbers(name, value, low, high, low_open, high_open, allowed)
    return torch.as_tensor(a, dtype=torch.float32).flatten()


def check_densities(value: object, name: str = "densities") -> torch.Tensor:
    """Densities p = 1 - S, each in (0, 1], as a 1-D float32 tensor (one instance per entry)."""
    return check_vector(name, value, 0.0, 1.0, low_open=True, allowed="numbers in (0, 1] (p = 1 - S)")


def check_instance(name: str, value: object, cls: type) -> object:
    """value itself if it is a `cls` (e.g. a ToyModel); else a ValueError naming what it is."""
    if not isinstance(value, cls):
        raise ValueError(f"{name} must be a{'n' if cls.__name__[0] in 'AEIOU' else ''} {cls.__name__}, "
                         f"got {type(value).__name__}")
    return value


def check_device(value: object, name: str = "device") -> torch.device:
    """A torch device that exists here: 'cpu', or 'cuda'/'cuda:N'/'mps' when available. None means 'cpu'."""
    if value is None:
        return torch.device("cpu")
    if not isinstance(value, (str, torch.device)):
        raise ValueError(f"{name} must be a string such as 'cpu' or 'cuda', or a torch.device; got {value!r}")
    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise ValueError(f"{name} must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {value!r}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name}={value!r}: no CUDA GPU is available here; use device='cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"{name}={value!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{name}={value!r}: MPS is not available here; use device='cpu'")
    elif device.type != "cpu":
        raise ValueError(f"{name} must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {value!r}")
    return device


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """The tensor itself if every entry is finite; else a ValueError saying how many are NaN or inf."""
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        n_nan = int(torch.isnan(tensor).sum())
        n_inf = int((~finite).sum()) - n_nan
        raise ValueError(f"{name} holds non-finite values ({n_nan} NaN, {n_inf} inf of {tensor.numel()} entries)")
    return tensor


DTYPES = (torch.float32, torch.float64)  # what the models compute in: float32 (the default) or float64


def check_dtype(value: object, name: str = "dtype") -> torch.dtype:
    """torch.float32 or torch.float64 (also given as "float32" / "float64"); None means float32."""
    if value is None:
        return torch.float32
    if isinstance(value, str) and value in ("float32", "float64"):
        return torch.float32 if value == "float32" else torch.float64
    if value not in DTYPES:
        raise ValueError(f"{name} must be torch.float32 or torch.float64, got {value!r}")
    return value  # type: ignore[return-value]


def check_float_tensor(name: str, tensor: object, dtype: torch.dtype | None = None,
                       device: torch.device | None = None) -> torch.Tensor:
    """A float32 or float64 tensor; of exactly `dtype` and on `device` when those are given."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in DTYPES:
        raise TypeError(f"{name} must be float32 or float64 (what the models compute in), got {tensor.dtype}; "
                        f"convert it with .float()")
    if dtype is not None and tensor.dtype != dtype:
        raise TypeError(f"{name} is {tensor.dtype} but the model computes in {dtype}; convert it with "
                        f".to({dtype})")
    if device is not None and tensor.device != device:
        raise ValueError(f"{name} is on device {tensor.device}, the model on {device}; "
                         f"move it with .to({str(device)!r})")
    return tensor


def holds_bool(value: object) -> bool:
    """True for a bool, a bool tensor or array, or a (nested) list/tuple holding a bool: never a number here."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, torch.Tensor):
        return value.dtype == torch.bool
    if isinstance(value, np.ndarray):
        return value.dtype == np.bool_
    if isinstance(value, (list, tuple)):
        return any(holds_bool(v) for v in value)
    return False


def _available_bytes() -> int | None:
    """Memory available to this process now (Linux: MemAvailable, capped by a cgroup limit); None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file) as f:
                text = f.read().strip()
            if text != "max":
                avail = min(avail, int(text))
        except (OSError, ValueError):
            pass
    return avail


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GB"


def check_memory(n_bytes: float, what: str, available: int | None = None) -> None:
    """Refuse (ValueError) a plan that needs more than MEMORY_FRACTION of the memory available now.

    `what` names the parameters that set the size, e.g. "batch_size=10**9 x 5 features x 10 rows".
    """
    available = _available_bytes() if available is None else available
    if available is not None and n_bytes > MEMORY_FRACTION * available:
        raise ValueError(
            f"{what} needs about {_gb(n_bytes)} of memory, but only {_gb(available)} is available: "
            "lower it (e.g. a smaller batch_size, fewer n_seeds or instances, a larger snapshot_every)"
        )
