"""The btune-rs HDF5 filter (id 32026, "blosc2") for h5py.

Importing this module registers the filter in h5py's HDF5 (through
``h5py.h5z.register_filter``), so no ``HDF5_PLUGIN_PATH`` is needed::

    import h5py
    import btune.hdf5

    with h5py.File("out.h5", "w") as f:
        f.create_dataset("a", data=arr, chunks=(256, 1024),
                         **btune.hdf5.Btune(tradeoff=0.7, perf_mode="comp"))

Every chunk is a standard Blosc2 frame: h5py + hdf5plugin (or PyTables)
read the file without this package. Note that h5py marks such filters
optional: if the filter failed, HDF5 would store the chunk raw
(``dataset.id.get_chunk_info(i).filter_mask != 0`` tells).

If hdf5plugin is imported after this module, its Blosc2 filter (same id)
replaces ours in this process; call :func:`register` again to take it back.

``PLUGIN_PATH`` is a directory holding only the standalone plugin
``libbtune_hdf5.so`` (shipped in the wheel), for ``HDF5_PLUGIN_PATH`` in
programs without this package (C, h5repack, ...); ``None`` if this build
of the package was made without it.
"""

from __future__ import annotations

import pathlib

import h5py
from h5py import filters as _h5filters

from . import _btune

__all__ = ["FILTER_ID", "PLUGIN_PATH", "Btune", "register"]

FILTER_ID = _btune.FILTER_ID
"""The registered Blosc2 filter id, 32026."""

_MAGIC = _btune.TAIL_MAGIC
_UNSET = 0xFFFFFFFF
_PERF_MODES = {"comp": 0, "decomp": 1, "balanced": 2}

_plugin_dir = pathlib.Path(__file__).resolve().parent / "hdf5_plugin"
PLUGIN_PATH: str | None = (
    str(_plugin_dir) if (_plugin_dir / "libbtune_hdf5.so").is_file() else None
)


def register() -> None:
    """Registers the filter in h5py's HDF5 (done once at import)."""
    if not h5py.h5z.register_filter(_btune.hdf5_filter_class()):
        raise RuntimeError("btune: h5py.h5z.register_filter refused the btune filter")


class Btune(_h5filters.FilterRefBase):
    """``create_dataset`` arguments for a tuned dataset, like hdf5plugin's
    filter classes: ``compression=Btune(...)`` or ``**Btune(...)``.

    ``tradeoff`` in [0, 1] (0 speed ... 1 ratio) and ``perf_mode`` ("comp",
    "decomp", "balanced", any case); ``None`` takes ``BTUNE_TRADEOFF`` /
    ``BTUNE_PERF_MODE`` (or the defaults 0.5, COMP) when chunks are written.
    """

    filter_id = FILTER_ID

    def __init__(self, tradeoff: float | None = None, perf_mode: str | None = None) -> None:
        if tradeoff is None:
            t = _UNSET
        elif isinstance(tradeoff, bool) or not isinstance(tradeoff, int | float) or not 0 <= tradeoff <= 1:
            raise ValueError(f"btune: tradeoff must be a number in [0, 1], got {tradeoff!r}")
        else:
            t = round(tradeoff * 1_000_000)
        if perf_mode is None:
            m = _UNSET
        elif isinstance(perf_mode, str) and perf_mode.lower() in _PERF_MODES:
            m = _PERF_MODES[perf_mode.lower()]
        else:
            raise ValueError(f"btune: perf_mode must be one of {tuple(_PERF_MODES)} (any case), got {perf_mode!r}")
        self.tradeoff = None if tradeoff is None else float(tradeoff)
        self.perf_mode = None if perf_mode is None else perf_mode.lower()
        self.filter_options = (_MAGIC, t, m)

    def __repr__(self) -> str:
        return f"Btune(tradeoff={self.tradeoff!r}, perf_mode={self.perf_mode!r})"


register()
