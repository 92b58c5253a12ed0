"""The ``"btune"`` codec for zarr-python 3: every chunk compressed into one
plain c-blosc2 chunk with parameters tuned for the array's data.

Found by name through the ``zarr.codecs`` entry point, so array metadata
``{"name": "btune", "configuration": {}}`` works once this package is
installed; or pass an instance::

    import zarr
    from btune.zarr import BtuneCodec

    z = zarr.create_array(store, shape=(1000, 1000), chunks=(100, 1000),
                          dtype="f8", compressors=BtuneCodec(tradeoff=0.7))

Configuration (shared with the zarrs codec of btune-rs; unknown keys are
ignored):

``typesize``  int 1..255, optional: filled from the array's data type.
``tradeoff``  float 0..1, optional: 0 speed ... 1 ratio; default
              ``BTUNE_TRADEOFF`` or 0.5.
``perf_mode`` "comp" | "decomp" | "balanced", optional (any case on read,
              written lowercase); default ``BTUNE_PERF_MODE`` or "comp".
``tune``      bool, optional, default true.
``params``    str, optional: a parameter set such as "zstd/shuffle/5/never"
              (``codec/filter/clevel[/split[/blocksize]]``). With ``tune``
              false, every chunk is compressed with it (then required);
              with ``tune`` true, tuning starts from it.

Decoding reads any c-blosc2 chunk or one-chunk frame; chunks carry their own
parameters, so other Blosc2 decoders (python-blosc2's ``decompress2``, the
C library) read them too.

One tuner per codec instance, i.e. per opened array, created on the first
encode and shared by the threads zarr-python encodes with. Pickling (Dask)
carries the configuration only: each process tunes on its own.
"""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from zarr.abc.codec import BytesBytesCodec
from zarr.core.common import JSON, parse_named_configuration

from . import _btune

if TYPE_CHECKING:
    from typing import Self

    from zarr.core.array_spec import ArraySpec
    from zarr.core.buffer import Buffer

__all__ = ["BtuneCodec"]

NAME = "btune"
PERF_MODES = ("comp", "decomp", "balanced")
_FIELDS = ("typesize", "tradeoff", "perf_mode", "tune", "params")


def _parse_typesize(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 255:
        raise ValueError(f"btune: typesize must be an integer in 1..=255, got {v!r}")
    return int(v)


def _parse_tradeoff(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
        raise ValueError(f"btune: tradeoff must be a number in [0, 1], got {v!r}")
    return float(v)


def _parse_perf_mode(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or v.lower() not in PERF_MODES:
        raise ValueError(f"btune: perf_mode must be one of {PERF_MODES} (any case), got {v!r}")
    return v.lower()


def _parse_tune(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"btune: tune must be a boolean, got {v!r}")
    return v


def _parse_params(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"btune: params must be text like 'zstd/shuffle/5/never', got {v!r}")
    _btune.parse_params(v)  # ValueError if invalid
    return v


def _item_size(array_spec: ArraySpec) -> int:
    size = getattr(array_spec.dtype, "item_size", None)
    if size is None:
        size = getattr(getattr(array_spec, "dtype", None), "itemsize", 1)
    return int(size) if isinstance(size, int) and 1 <= size <= 255 else 1


@dataclass(frozen=True)
class BtuneCodec(BytesBytesCodec):
    """The ``"btune"`` bytes-to-bytes codec (see the module docs)."""

    is_fixed_size = False

    typesize: int | None
    tradeoff: float | None
    perf_mode: str | None
    tune: bool
    params: str | None

    def __init__(
        self,
        *,
        typesize: int | None = None,
        tradeoff: float | None = None,
        perf_mode: str | None = None,
        tune: bool = True,
        params: str | None = None,
    ) -> None:
        object.__setattr__(self, "typesize", _parse_typesize(typesize))
        object.__setattr__(self, "tradeoff", _parse_tradeoff(tradeoff))
        object.__setattr__(self, "perf_mode", _parse_perf_mode(perf_mode))
        object.__setattr__(self, "tune", _parse_tune(tune))
        object.__setattr__(self, "params", _parse_params(params))
        if not self.tune and self.params is None:
            raise ValueError("btune: tune=false needs params (e.g. 'zstd/shuffle/5/never')")
        self._reset_tuner()

    # The tuner and its lock are per process and not part of the metadata:
    # not dataclass fields (equality, hashing, repr ignore them), and left
    # out when pickled.
    def _reset_tuner(self) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_tuner", None)
        object.__setattr__(self, "_tuner_pid", None)

    def __getstate__(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _FIELDS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for f in _FIELDS:
            object.__setattr__(self, f, state.get(f))
        if state.get("tune") is None:
            object.__setattr__(self, "tune", True)
        self._reset_tuner()

    @classmethod
    def from_dict(cls, data: dict[str, JSON]) -> Self:
        _, configuration = parse_named_configuration(data, NAME, require_configuration=False)
        configuration = configuration or {}
        return cls(**{k: v for k, v in configuration.items() if k in _FIELDS})  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, JSON]:
        configuration: dict[str, JSON] = {}
        if self.typesize is not None:
            configuration["typesize"] = self.typesize
        if self.tradeoff is not None:
            configuration["tradeoff"] = self.tradeoff
        if self.perf_mode is not None:
            configuration["perf_mode"] = self.perf_mode
        configuration["tune"] = self.tune
        if self.params is not None:
            configuration["params"] = self.params
        return {"name": NAME, "configuration": configuration}

    def evolve_from_array_spec(self, array_spec: ArraySpec) -> Self:
        """Fills ``typesize`` from the array's data type when it is not set."""
        if self.typesize is None:
            return replace(self, typesize=_item_size(array_spec))
        return self

    def tuner(self, typesize: int | None = None) -> _btune.Tuner:
        """This codec's tuner in this process, created on first use."""
        pid = os.getpid()
        t = self._tuner
        if t is not None and self._tuner_pid == pid:
            return t
        with self._lock:
            if self._tuner is None or self._tuner_pid != pid:
                ts = self.typesize or typesize or 1
                object.__setattr__(
                    self,
                    "_tuner",
                    _btune.Tuner(
                        ts,
                        tradeoff=self.tradeoff,
                        perf_mode=self.perf_mode,
                        tune=self.tune,
                        params=self.params,
                    ),
                )
                object.__setattr__(self, "_tuner_pid", pid)
            return self._tuner

    def _encode_sync(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer | None:
        tuner = self.tuner(_item_size(chunk_spec))
        return chunk_spec.prototype.buffer.from_bytes(tuner.compress(chunk_bytes.as_numpy_array()))

    def _decode_sync(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer:
        return chunk_spec.prototype.buffer.from_bytes(_btune.decompress(chunk_bytes.as_numpy_array()))

    async def _encode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer | None:
        return await asyncio.to_thread(self._encode_sync, chunk_bytes, chunk_spec)

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> Buffer:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)

    def compute_encoded_size(self, _input_byte_length: int, _chunk_spec: ArraySpec) -> int:
        raise NotImplementedError
