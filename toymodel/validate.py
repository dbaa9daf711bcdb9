"""Checks at the library's boundary: each returns the value in a canonical form (a Python int or float, a numpy
array, a torch.device) or raises a ValueError (TypeError for a tensor of the wrong kind) that names the parameter,
the value and what is allowed.  Numbers may be Python, numpy or 0-d torch scalars; a bool is never a number.
"""

from __future__ import annotations

import math
import operator
import os

import numpy as np
import torch

__all__ = ["MAX_INT", "check_densities", "check_density", "check_device", "check_dtype", "check_finite",
           "check_float_tensor", "check_in_range", "check_instance", "check_int", "check_memory", "check_numbers",
           "check_positive_int", "check_positive_ints", "check_seed", "check_threshold", "check_vector", "holds_bool",
           "shown"]

MAX_INT = 2**63 - 1  # the largest size or seed torch takes (a signed 64-bit integer)


def shown(value: object) -> str:
    """repr(value) for an error message, shortened when long (e.g. a 400-digit integer)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def holds_bool(value: object) -> bool:
    """True for a bool, a bool tensor or array, or a (nested) list/tuple holding one: never a number here."""
    if isinstance(value, (list, tuple)):
        return any(holds_bool(v) for v in value)
    return isinstance(value, (bool, np.bool_)) or getattr(value, "dtype", None) in (torch.bool, np.bool_)


def check_int(name: str, value: object, low: int = -MAX_INT - 1, high: int = MAX_INT, allowed: str = "") -> int:
    """An integer (Python, numpy or 0-d integer tensor) in [low, high], as a Python int."""
    try:
        if holds_bool(value) or isinstance(value, float) or getattr(value, "ndim", 0) != 0:
            raise TypeError
        out = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        out = None
    if out is None or not low <= out <= high:
        allowed = allowed or "an integer" + (f" >= {low}" if low > -MAX_INT - 1 else "") + (
            f" and <= {high}" if high < MAX_INT else "")
        raise ValueError(f"{name} must be {allowed}, got {shown(value)}")
    return out


def check_positive_int(name: str, value: object) -> int:
    return check_int(name, value, 1, MAX_INT, "a positive integer (>= 1, below 2**63)")


def check_positive_ints(name: str, values: object) -> list[int]:
    """A non-empty sequence of positive integers (e.g. model sizes), as a list of Python ints."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"{name} must be a sequence of positive integers, got {shown(values)}")
    if not (out := list(values)):
        raise ValueError(f"{name} must hold at least one positive integer, got {shown(values)}")
    return [check_positive_int(f"{name} entry", v) for v in out]


def check_seed(value: object, name: str = "seed") -> int:
    return check_int(name, value, 0, MAX_INT, "a non-negative integer below 2**63")


def check_numbers(name: str, value: object, low: float = -math.inf, high: float = math.inf, low_open: bool = False,
                  high_open: bool = False, allowed: str = "") -> np.ndarray:
    """A number, or an array / (nested) sequence / tensor of them, each finite and between low and high (open or
    closed ends), as a float64 numpy array of the same shape (at least one entry).  `allowed` describes one value."""
    allowed = allowed or "numbers in " + ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
    try:
        if holds_bool(value) or isinstance(value, (str, bytes, complex)) or getattr(value, "is_complex", bool)():
            raise TypeError
        a = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError):
        a = np.array([])
    inside = np.isfinite(a) & (a > low if low_open else a >= low) & (a < high if high_open else a <= high)
    if a.size == 0 or not inside.all():
        raise ValueError(f"{name} must hold {allowed}, got {shown(value)}")
    return a


def check_in_range(name: str, value: object, low: float = -math.inf, high: float = math.inf, low_open: bool = False,
                   high_open: bool = False, allowed: str = "") -> float:
    """One finite number between low and high (check_numbers' rules), as a Python float."""
    allowed = allowed or "a finite number in " + ("(" if low_open else "[") + f"{low:g}, {high:g}" + (
        ")" if high_open else "]")
    try:
        if getattr(value, "ndim", 0) != 0 or isinstance(value, (list, tuple)):
            raise ValueError
        return float(check_numbers(name, value, low, high, low_open, high_open))
    except ValueError:
        raise ValueError(f"{name} must be {allowed}, got {shown(value)}") from None


def check_threshold(value: object, name: str = "threshold") -> float:
    return check_in_range(name, value, 0.0, math.inf, low_open=True, allowed="a positive number")


def check_density(value: object, name: str = "density") -> float:
    return check_in_range(name, value, 0.0, 1.0, low_open=True, allowed="p = 1 - S in (0, 1]")


def check_vector(name: str, value: object, low: float = -math.inf, high: float = math.inf, low_open: bool = False,
                 high_open: bool = False, allowed: str = "") -> torch.Tensor:
    """check_numbers as a 1-D float32 tensor (a scalar becomes one entry): e.g. a grid of settings."""
    a = check_numbers(name, value, low, high, low_open, high_open, allowed)
    return torch.as_tensor(a, dtype=torch.float32).flatten()


def check_densities(value: object, name: str = "densities") -> torch.Tensor:
    return check_vector(name, value, 0.0, 1.0, low_open=True, allowed="numbers in (0, 1] (p = 1 - S)")


def check_instance(name: str, value: object, cls: type) -> object:
    if not isinstance(value, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise ValueError(f"{name} must be {article} {cls.__name__}, got {type(value).__name__}")
    return value


def check_device(value: object, name: str = "device") -> torch.device:
    """A torch device that exists here: 'cpu' (also None), or 'cuda' / 'cuda:N' / 'mps' when available."""
    if not isinstance(value, (str, torch.device, type(None))):
        raise ValueError(f"{name} must be a string such as 'cpu' or 'cuda', or a torch.device; got {value!r}")
    try:
        device = torch.device("cpu" if value is None else value)
    except (RuntimeError, ValueError):
        device = torch.device("meta")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name} must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {value!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}={value!r}: no CUDA GPU is available here; use device='cpu'")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"{name}={value!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}={value!r}: MPS is not available here; use device='cpu'")
    return device


def check_dtype(value: object, name: str = "dtype") -> torch.dtype:
    """torch.float32 or torch.float64 (or their names); None means float32."""
    names = {None: torch.float32, "float32": torch.float32, "float64": torch.float64}
    dtype = names.get(value, value) if isinstance(value, (str, type(None))) else value  # type: ignore[arg-type]
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"{name} must be torch.float32 or torch.float64, got {value!r}")
    return dtype  # type: ignore[return-value]


def check_float_tensor(name: str, tensor: object, dtype: torch.dtype | None = None,
                       device: torch.device | None = None) -> torch.Tensor:
    """A float32 or float64 tensor (TypeError otherwise); of exactly `dtype` and on `device` when given."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64 (what the models compute in), got {tensor.dtype}; "
                        "convert it with .float()")
    if dtype is not None and tensor.dtype != dtype:
        raise TypeError(f"{name} is {tensor.dtype} but the model computes in {dtype}; convert it with .to({dtype})")
    if device is not None and tensor.device != device:
        raise ValueError(f"{name} is on device {tensor.device}, the model on {device}; move it with "
                         f".to({str(device)!r})")
    return tensor


def check_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """The tensor itself if every entry is finite; else a ValueError saying how many are NaN or inf."""
    if not bool(torch.isfinite(tensor).all()):
        n_nan, n_bad = int(torch.isnan(tensor).sum()), int((~torch.isfinite(tensor)).sum())
        raise ValueError(f"{name} holds non-finite values ({n_nan} NaN, {n_bad - n_nan} inf of {tensor.numel()} "
                         "entries)")
    return tensor


def check_memory(n_bytes: float, what: str, available: int | None = None) -> None:
    """Refuse (ValueError) a plan that needs more than 80% of the memory available now (Linux: MemAvailable,
    capped by a cgroup limit; elsewhere unchecked); `what` names the sizes that set it."""
    if available is None:
        try:
            available = next(int(line.split()[1]) * 1024 for line in open("/proc/meminfo")
                             if line.startswith("MemAvailable:"))
            for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
                text = open(limit).read().strip() if os.path.exists(limit) else ""
                available = min(available, int(text)) if text.isdigit() else available
        except (OSError, StopIteration, ValueError):
            return
    if n_bytes > 0.8 * available:
        raise ValueError(f"{what} needs about {n_bytes / 2**30:.3g} GB of memory, but only {available / 2**30:.3g} GB "
                         "is available: lower it (e.g. a smaller batch_size, fewer n_seeds or instances, a larger "
                         "snapshot_every)")
