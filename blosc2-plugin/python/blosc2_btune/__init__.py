"""btune-rs as c-blosc2's BTune tuner (tuner id 32, ``blosc2.Tuner.BTUNE``).

c-blosc2 loads ``libblosc2_btune.so`` from this package: it runs
``python -c "import blosc2_btune; blosc2_btune.print_libpath()"`` and reads the
path from one line of output. The tuner reads its configuration from the
``BTUNE_*`` environment variables when each compression context is created:
``BTUNE_TRADEOFF`` (0 speed ... 1 ratio), ``BTUNE_PERF_MODE`` (COMP, DECOMP,
BALANCED), ``BTUNE_TRACE`` (print a trace on stderr), ``BTUNE_USE_INFERENCE``,
``BTUNE_MODELS_DIR``.
"""

import enum
import os
import pathlib
import warnings

__version__ = "0.1.0"

__all__ = [
    "PerformanceMode",
    "RepeatMode",
    "ReuseModels",
    "__version__",
    "get_libpath",
    "print_libpath",
    "set_params_defaults",
]

_LIB = pathlib.Path(__file__).resolve().parent / "libblosc2_btune.so"


def get_libpath():
    """The absolute path of the tuner library."""
    return str(_LIB)


def print_libpath():
    """Prints the library's path with no newline (c-blosc2 reads one line)."""
    print(get_libpath(), end="", flush=True)


class PerformanceMode(enum.IntEnum):
    """Which times count (``BTUNE_PERF_MODE``)."""

    COMP = 0
    DECOMP = 1
    BALANCED = 2


class RepeatMode(enum.IntEnum):
    """What happens once readapts are used up (BTune's ``repeat_mode``)."""

    STOP = 0
    REPEAT_SOFT = 1
    REPEAT_ALL = 2


# Accepted by BTune's set_params_defaults but not configurable through this
# package (the tuner reads only the environment): a warning says so.
_NOT_SETTABLE = {
    "bandwidth",
    "behaviour",
    "nwaits_before_readapt",
    "nsofts_before_hard",
    "nhards_before_stop",
    "repeat_mode",
    "cparams_hint",
}


def set_params_defaults(**kwargs):
    """Sets the defaults of the contexts created afterwards in this process.

    Accepts BTune's names: ``tradeoff`` (float in [0, 1]), ``perf_mode``
    (:class:`PerformanceMode` or its name), ``use_inference`` (int),
    ``models_dir`` (path) and ``trace`` (bool). They go to the environment the
    tuner reads; variables the user already set win over these defaults.
    ``tradeoff`` is stored as ``BTUNE_BALANCE`` (the tuner's older alias), so
    that it does not switch every super-chunk to BTune the way
    ``BTUNE_TRADEOFF`` does in c-blosc2.
    """
    for name, value in kwargs.items():
        if name == "tradeoff":
            t = float(value)
            if not 0.0 <= t <= 1.0:
                raise ValueError(f"tradeoff must be in [0, 1], got {value!r}")
            os.environ["BTUNE_BALANCE"] = repr(t)
        elif name == "perf_mode":
            mode = value if isinstance(value, PerformanceMode) else PerformanceMode[str(value).upper()]
            os.environ.setdefault("BTUNE_PERF_MODE", mode.name)
            if os.environ["BTUNE_PERF_MODE"] != mode.name:
                warnings.warn("BTUNE_PERF_MODE is already set in the environment; it wins", stacklevel=2)
        elif name == "use_inference":
            os.environ.setdefault("BTUNE_USE_INFERENCE", str(int(value)))
        elif name == "models_dir":
            os.environ.setdefault("BTUNE_MODELS_DIR", os.fspath(value))
        elif name == "trace":
            if value:
                os.environ.setdefault("BTUNE_TRACE", "1")
            else:
                os.environ.pop("BTUNE_TRACE", None)
        elif name in _NOT_SETTABLE:
            warnings.warn(f"blosc2_btune (btune-rs) ignores {name!r}", stacklevel=2)
        else:
            raise TypeError(f"set_params_defaults() got an unexpected keyword argument {name!r}")


class ReuseModels:
    """BTune's context manager for keeping loaded models between arrays.
    btune-rs loads no models per context, so it does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
