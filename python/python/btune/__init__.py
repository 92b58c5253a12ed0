"""btune: tuned Blosc2 compression for every chunk a program writes.

The compression parameters (codec, filter pipeline, level, split mode, block
size) of every chunk are picked by the btune-rs tuning core for that chunk's
data; every chunk stays a standard c-blosc2 chunk that any Blosc2 decoder
reads without this package.

- ``btune.zarr.BtuneCodec``: the ``"btune"`` codec for zarr-python 3, also
  found by name through the ``zarr.codecs`` entry point.
- ``btune.hdf5``: importing it registers the HDF5 filter 32026 in h5py;
  ``btune.hdf5.Btune(tradeoff=..., perf_mode=...)`` gives ``create_dataset``
  arguments. ``btune.hdf5.PLUGIN_PATH`` is a directory holding the standalone
  plugin, for ``HDF5_PLUGIN_PATH`` in programs without this package.
- ``Tuner``, ``decompress``, ``inspect``: the core, one array at a time.
"""

from ._btune import (
    BLOSC2_VERSION,
    FILTER_ID,
    Tuner,
    __version__,
    decompress,
    inspect,
    parse_params,
)

__all__ = [
    "BLOSC2_VERSION",
    "FILTER_ID",
    "Tuner",
    "__version__",
    "decompress",
    "inspect",
    "parse_params",
]
