"""Morgan fingerprints from SMILES with RDKit, cached on disk after the first computation."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["default_cache_dir", "featurize_smiles", "morgan_fingerprints", "parse_smiles"]


def default_cache_dir() -> Path:
    """``~/.cache/lcurve``: where fingerprints are cached unless a ``cache_dir`` is given."""
    return Path.home() / ".cache" / "lcurve"


def parse_smiles(smiles: Sequence[str]) -> np.ndarray:
    """Boolean mask, True where RDKit parses the SMILES into a molecule."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        return np.array([bool(s) and Chem.MolFromSmiles(s) is not None for s in smiles],
                        dtype=bool)
    finally:
        RDLogger.EnableLog("rdApp.*")


def _compute(smiles: Sequence[str], radius: int, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    bits = np.zeros((len(smiles), n_bits), dtype=np.uint8)
    valid = np.zeros(len(smiles), dtype=bool)
    RDLogger.DisableLog("rdApp.*")
    try:
        for i, s in enumerate(smiles):
            mol = Chem.MolFromSmiles(s) if s else None
            if mol is not None:
                valid[i] = True
                bits[i] = generator.GetFingerprintAsNumPy(mol)
    finally:
        RDLogger.EnableLog("rdApp.*")
    return valid, bits


def featurize_smiles(
    smiles: Sequence[str],
    *,
    radius: int = 2,
    n_bits: int = 2048,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Validity mask and Morgan bits for each SMILES (invalid rows are all-zero).

    The pair is cached in ``cache_dir`` (default :func:`default_cache_dir`) under a key made from
    the SMILES list, radius, size and RDKit version, so a second call parses nothing. A cache
    file that cannot be read is recomputed and rewritten; a cache that cannot be written only
    logs a warning.
    """
    from rdkit import __version__ as rdkit_version

    smiles = [str(s) for s in smiles]
    if not use_cache:
        return _compute(smiles, radius, n_bits)
    key = hashlib.sha256(
        "\n".join([f"r={radius};n={n_bits};rdkit={rdkit_version}", *smiles]).encode()
    ).hexdigest()[:24]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache / f"morgan-{key}.npz"
    if path.is_file():
        try:
            with np.load(path) as stored:
                bits = np.unpackbits(stored["packed"], axis=1, count=n_bits)
                valid = stored["valid"].astype(bool)
            if bits.shape == (len(smiles), n_bits) and valid.shape == (len(smiles),):
                logger.debug("fingerprints read from cache %s", path)
                return valid, bits
        except (OSError, ValueError, KeyError) as err:
            logger.warning("ignoring unreadable fingerprint cache %s (%s)", path, err)
    valid, bits = _compute(smiles, radius, n_bits)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, packed=np.packbits(bits, axis=1), valid=valid)
        os.replace(tmp, path)
    except OSError as err:  # a read-only home must not stop the computation
        logger.warning("could not write fingerprint cache %s (%s)", path, err)
    return valid, bits


def morgan_fingerprints(
    smiles: Sequence[str],
    *,
    radius: int = 2,
    n_bits: int = 2048,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
) -> np.ndarray:
    """Morgan (ECFP-like) bit vectors, ``(len(smiles), n_bits)`` uint8, cached on disk.

    Invalid SMILES raise ``ValueError`` naming how many and which.

    Example
    -------
    >>> fp = morgan_fingerprints(["CCO", "c1ccccc1"], n_bits=64, use_cache=False)
    >>> fp.shape, fp.dtype.name
    ((2, 64), 'uint8')
    """
    smiles = list(smiles)
    valid, bits = featurize_smiles(smiles, radius=radius, n_bits=n_bits,
                                   cache_dir=cache_dir, use_cache=use_cache)
    if not valid.all():
        bad = [smiles[i] for i in np.flatnonzero(~valid)[:5]]
        raise ValueError(f"{int((~valid).sum())} invalid SMILES, e.g. {bad}")
    return bits
