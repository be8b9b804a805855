"""Compiled programs of the trainer core: one cache, one compile counter, one sharding rule.

Every part of lcurve that trains networks (sweeps, warm-started chains, accumulating-data runs,
TAG trajectories, influence fits) gets its jitted program from :func:`compiled`: a program is
built once per *key* (the settings that fix it: architecture, schedule, devices, ...) and
reused by every later caller in the process, so a second trainer, sweep or fit with the same
settings does not compile again. A :class:`Program` counts its traces (one per new argument
shape), which is what the ``n_compiles`` of the trainers report.

Runs are independent programs, so their axis can be split over devices: :func:`shard_runs`
wraps a function of per-run arguments in ``jax.shard_map`` over a one-axis mesh when more than
one device is given, and returns it unchanged on one device.
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Callable, Hashable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

__all__ = ["CACHE_SIZE", "Program", "ProgramUser", "compiled", "run_shardings", "shard_runs",
           "vmap_in_groups"]

#: How many programs :func:`compiled` keeps (least recently used ones are dropped first).
CACHE_SIZE = 32

_PROGRAMS: collections.OrderedDict[Hashable, Program] = collections.OrderedDict()
_LOCK = threading.Lock()


class Program:
    """``jax.jit(fn)`` that counts how many times it was traced (= compiled).

    Example
    -------
    >>> program = Program(lambda x: x + 1)
    >>> _ = program(jnp.zeros(3)), program(jnp.ones(3)), program(jnp.zeros(4))
    >>> program.n_traces  # one per argument shape
    2
    """

    def __init__(self, fn: Callable):
        self.n_traces = 0

        @functools.wraps(fn)
        def counted(*args):
            self.n_traces += 1  # runs at trace time only
            return fn(*args)

        self._jitted = jax.jit(counted)

    def __call__(self, *args):
        return self._jitted(*args)


def compiled(key: Hashable, make: Callable[[], Callable]) -> Program:
    """The program of ``key``: ``Program(make())``, built on first use and then reused.

    ``key`` must name everything ``make``'s function closes over (a tuple starting with the
    caller's name, then the frozen configs, sizes and devices that fix the program); argument
    shapes need not be in it (a new shape is a new trace of the same program). The
    :data:`CACHE_SIZE` most recently used programs are kept.

    Example
    -------
    >>> a = compiled(("doc", 2), lambda: lambda x: 2 * x)
    >>> a is compiled(("doc", 2), lambda: lambda x: 3 * x)  # cached: ``make`` is not called
    True
    """
    with _LOCK:
        program = _PROGRAMS.get(key)
        if program is None:
            program = _PROGRAMS[key] = Program(make())
            while len(_PROGRAMS) > CACHE_SIZE:
                _PROGRAMS.popitem(last=False)
        else:
            _PROGRAMS.move_to_end(key)
        return program


class ProgramUser:
    """Mixin of a trainer that runs one program from :func:`compiled`.

    The subclass defines ``_program()``; ``_chunk_fn`` is that program (taken on first use)
    and :attr:`n_compiles` the compilations it caused since this trainer took it.
    """

    def _program(self) -> Program:
        raise NotImplementedError

    @functools.cached_property
    def _chunk_fn(self) -> Program:
        program = self._program()
        self._traces_before = program.n_traces
        return program

    @property
    def n_compiles(self) -> int:
        """Compilations this trainer caused (0 when an earlier trainer compiled its program)."""
        if "_chunk_fn" not in self.__dict__:
            return 0
        return self._chunk_fn.n_traces - self._traces_before


def vmap_in_groups(fn: Callable, width: int, n_shared: int) -> Callable:
    """``jax.vmap(fn)`` over the run axis, computed as a ``lax.map`` over groups of ``width``.

    The first ``n_shared`` arguments are shared by every run; the others carry the run axis
    first (its length a multiple of ``width``). Every run is computed by the same program
    whatever the number of runs, so results are bit-identical across chunkings and device
    counts (a plain vmap's GEMM blocking, and so its rounding, changes with the batch size).
    """
    def grouped(*args):
        shared, per_run = args[:n_shared], args[n_shared:]
        vmapped = jax.vmap(fn, in_axes=(None,) * n_shared + (0,) * len(per_run))
        shaped = [a.reshape((-1, width) + a.shape[1:]) for a in per_run]
        out = jax.lax.map(lambda group: vmapped(*shared, *group), shaped)
        return jax.tree.map(lambda o: o.reshape((-1,) + o.shape[2:]), out)

    return grouped


def _mesh(devices: Sequence) -> jax.sharding.Mesh:
    return jax.sharding.Mesh(np.array(devices), ("runs",))


def run_shardings(devices: Sequence) -> tuple[NamedSharding, NamedSharding]:
    """``(per_run, replicated)`` shardings over ``devices``: split along axis 0, or copied."""
    mesh = _mesh(devices)
    return NamedSharding(mesh, PartitionSpec("runs")), NamedSharding(mesh, PartitionSpec())


def shard_runs(fn: Callable, devices: Sequence, in_axes: Sequence[int | None]) -> Callable:
    """``fn`` with its run axis split over ``devices``; ``fn`` itself on one device.

    ``in_axes[i]`` is ``0`` when argument ``i`` (an array or a pytree of arrays) carries the run
    axis first and ``None`` when every run shares it; every output carries the run axis first.
    With ``n > 1`` devices the run axis is padded to a multiple of ``n`` by repeating the first
    run (the copies are dropped from the outputs) and each device runs ``fn`` on its slice
    (``jax.shard_map``, with ``check_vma=False``: the runs are independent programs, and
    gradients taken inside must not be summed across devices). Call it inside ``jax.jit``.

    A device computes its slice with the same program as one device computing all runs only
    when ``fn`` groups runs in fixed-width blocks (as :class:`~lcurve.train.RunTrainer` does);
    a plain ``vmap`` over a different number of runs may round differently in the last bits.
    """
    devices = tuple(devices)
    if len(devices) <= 1:
        return fn
    specs = tuple(PartitionSpec() if axis is None else PartitionSpec("runs") for axis in in_axes)
    if any(axis not in (None, 0) for axis in in_axes):
        raise ValueError(f"in_axes must be 0 (per run) or None (shared), got {tuple(in_axes)}")
    mapped = jax.shard_map(fn, mesh=_mesh(devices), in_specs=specs,
                           out_specs=PartitionSpec("runs"), check_vma=False)

    def sharded(*args):
        per_run = [a for a, axis in zip(args, in_axes) if axis == 0]
        n = jax.tree.leaves(per_run)[0].shape[0]
        pad = -n % len(devices)
        if not pad:
            return mapped(*args)
        grow = functools.partial(
            jax.tree.map, lambda a: jnp.concatenate([a, jnp.repeat(a[:1], pad, axis=0)]))
        out = mapped(*[grow(a) if axis == 0 else a for a, axis in zip(args, in_axes)])
        return jax.tree.map(lambda o: o[:n], out)

    return sharded
