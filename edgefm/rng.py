"""Seeds to named, independent random streams.

Every random quantity in edgefm is drawn from a stream named after its purpose
(``"scenario"``, ``"arrivals"``, ``"service"``, ``"channel"``, ``"policy"``...).
Streams are children of one :class:`numpy.random.SeedSequence`, keyed by a
stable hash of the name, so adding a new stream never changes the numbers an
existing stream produces, and every method sees the same arrivals for the same
seed.
"""
from __future__ import annotations

import zlib

import numpy as np

__all__ = ["stream", "streams", "as_generator", "STREAMS"]

#: Stream names used by the package.
STREAMS = ("scenario", "arrivals", "service", "channel", "policy", "trace", "failure")


def _key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, name: str, *sub: int) -> np.random.Generator:
    """A generator for stream ``name`` of ``seed``.

    Parameters
    ----------
    seed : int
        Non-negative master seed.
    name : str
        Purpose of the stream, e.g. ``"arrivals"``.
    *sub : int
        Optional further keys (e.g. a replicate index) for sub-streams.

    Examples
    --------
    >>> a = stream(7, "arrivals").integers(0, 100, 3)
    >>> b = stream(7, "arrivals").integers(0, 100, 3)
    >>> bool((a == b).all())
    True
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(_key(name), *map(int, sub)))
    return np.random.Generator(np.random.PCG64(ss))


def streams(seed: int, names: tuple[str, ...] = STREAMS) -> dict[str, np.random.Generator]:
    """A dict of independent generators, one per name (see :func:`stream`)."""
    return {n: stream(seed, n) for n in names}


def as_generator(rng: int | np.random.Generator | None, name: str = "policy") -> np.random.Generator:
    """Accept a seed or a Generator (networkx-style convention).

    ``None`` gives seed 0, so results stay reproducible by default.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    return stream(0 if rng is None else rng, name)
