"""MNIST and CIFAR-10 as uint8 numpy arrays, shared by both frameworks.

Where the data is looked up, in order:
  1. ``--data-dir``;
  2. the environment variable ``LAB_DATA_DIR``;
  3. ``data/`` in the repository (git-ignored; downloads land here).

Accepted files, in each place:
  * ``mnist.npz`` / ``cifar10.npz`` with keys ``x_train y_train x_test y_test``,
    channels-last, uint8 (Keras' layout, as in ``../shared/data``);
  * the original distributions: MNIST's four ``*-ubyte.gz`` IDX files, and
    ``cifar-10-python.tar.gz``.

Known files are verified by checksum before use; the CIFAR-10 archive holds
pickles, which are opened only after its published MD5 matches. Any file is
then checked for shape, dtype and label range, so a wrong file stops the run
before anything is trained; an npz file's arrays are checked from their
headers before they are read, so a header declaring more than the file holds
allocates nothing. A folder, broken link or device where a data file's name
is expected is an error, not skipped. With nothing found, the standard sources are tried
(and verified); offline, a one-line error names the files and places searched.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import pickle
import tarfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.atomic import atomic_path
from common.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]

MNIST_CLASSES = [str(d) for d in range(10)]
# As the report writes them.
CIFAR10_CLASSES = ["Plane", "Car", "Bird", "Cat", "Deer", "Dog", "Frog", "Horse", "Ship", "Truck"]

# sha256 of npz files we know, with what they hold.
KNOWN_NPZ = {
    "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64": "MNIST, offline copy (bit-exact)",
    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1": "MNIST, Keras' mnist.npz",
    "dc4bd2a3b6c37baaeda883ce909612c4318fde40b9ff67f881d1f9c10cde35a4":
        "CIFAR-10, offline copy: 50,000 train + the first 1,000 official test images",
}

# A file of exactly a known release's size whose checksum differs is that
# release, corrupted: refuse it rather than train on damaged data.
KNOWN_NPZ_SIZES = {
    11490519: "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64",
    11490434: "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    144174549: "dc4bd2a3b6c37baaeda883ce909612c4318fde40b9ff67f881d1f9c10cde35a4",
}

# The original distributions, with their published MD5 checksums.
MNIST_IDX = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
CIFAR10_TAR = ("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/"

SPECS = {
    "mnist": {"npz": "mnist.npz", "image": (28, 28, 1), "classes": MNIST_CLASSES, "n_test": 10000},
    "cifar10": {"npz": "cifar10.npz", "image": (32, 32, 3), "classes": CIFAR10_CLASSES, "n_test": 10000},
}


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray  # (N, H, W, C) uint8
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    source: str          # the file(s) read, and what they are

    @property
    def test_note(self) -> str:
        official = SPECS[self.name]["n_test"]
        if len(self.x_test) < official:
            return f"first {len(self.x_test):,} of the {official:,} official test images"
        return f"all {official:,} official test images"


def search_dirs(data_dir=None) -> list:
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    if os.environ.get("LAB_DATA_DIR"):
        dirs.append(Path(os.environ["LAB_DATA_DIR"]))
    dirs.append(REPO_ROOT / "data")
    return dirs


def digest(arrays) -> str:
    """The identity of the arrays a run uses: sha256 over each one's dtype, shape and bytes, in order."""
    hashed = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        hashed.update(f"{array.dtype.str}{array.shape}".encode())
        hashed.update(memoryview(array).cast("B"))
    return f"sha256:{hashed.hexdigest()}"


def file_digest(path, algorithm="sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_mnist(data_dir=None, download=True) -> Dataset:
    return _load("mnist", data_dir, download)


def load_cifar10(data_dir=None, download=True) -> Dataset:
    return _load("cifar10", data_dir, download)


def load(name: str, data_dir=None, download=True) -> Dataset:
    if name not in SPECS:
        raise UserError(f"unknown data set {name!r}: choose from {', '.join(SPECS)}")
    return _load(name, data_dir, download)


def _load(name, data_dir, download) -> Dataset:
    spec = SPECS[name]
    dirs = search_dirs(data_dir)
    if data_dir and not Path(data_dir).is_dir():
        raise UserError(f"--data-dir {data_dir}: no such folder")
    if os.environ.get("LAB_DATA_DIR") and not Path(os.environ["LAB_DATA_DIR"]).is_dir():
        raise UserError(f"LAB_DATA_DIR={os.environ['LAB_DATA_DIR']}: no such folder")
    for folder in dirs:
        npz = folder / spec["npz"]
        for path in [npz, *(folder / file for file in _original_files(name))]:
            _refuse_other_kinds(path, name)
        if npz.is_file():
            identity = _identify_npz(npz)  # checksum before parsing
            return _validated(name, _read_npz(npz, name), f"{npz} ({identity})")
        original = _find_original(name, folder)
        if original:
            return _validated(name, _read_original(name, folder), f"{folder} (original distribution, checksums verified)")
    if download:
        target = REPO_ROOT / "data"
        try:
            _download_original(name, target)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            wanted = f"{spec['npz']} or " + (", ".join(MNIST_IDX) if name == "mnist" else CIFAR10_TAR[0])
            raise UserError(
                f"{name} not found: looked for {wanted} in {', '.join(str(d) for d in dirs)}; "
                f"download failed ({_reason(exc)}). Put the files in one of those folders, "
                f"or set LAB_DATA_DIR / --data-dir") from None
        return _validated(name, _read_original(name, target), f"{target} (downloaded, checksums verified)")
    raise UserError(f"{name} not found in {', '.join(str(d) for d in dirs)}")


def _reason(exc) -> str:
    return str(getattr(exc, "reason", exc)) or type(exc).__name__


def _identify_npz(path) -> str:
    digest = file_digest(path)
    if digest in KNOWN_NPZ:
        return KNOWN_NPZ[digest]
    expected = KNOWN_NPZ_SIZES.get(Path(path).stat().st_size)
    if expected:
        raise UserError(f"{path}: checksum mismatch (sha256 {digest}, expected {expected} for "
                        f"{KNOWN_NPZ[expected]}); the file is corrupt: replace it")
    return "not a known release: contents validated"


def _refuse_other_kinds(path: Path, name: str) -> None:
    """A data file's name taken by a folder, a broken link or a device is an error, not a file to skip."""
    if os.path.lexists(path) and not path.is_file():
        kind = ("a folder" if path.is_dir() else "a broken link" if not path.exists() else "not a regular file")
        raise UserError(f"{path}: {kind}, where a {name} data file was expected")


ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _read_npz(path, name: str) -> dict:
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            missing = set(ARRAYS) - set(members)
            if missing:
                raise UserError(f"{path}: missing arrays {', '.join(sorted(missing))} "
                                f"(expected keys x_train y_train x_test y_test)")
            # What each array declares, checked before anything is allocated: a header can claim any shape.
            shapes = {key: _declared(path, name, key, archive, members[key]) for key in ARRAYS}
        for split in ("train", "test"):
            _check_counts(path, split, shapes[f"x_{split}"][0], shapes[f"y_{split}"][0])
        with np.load(path, allow_pickle=False) as f:
            return {key: f[key] for key in ARRAYS}
    except UserError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UserError(f"{path}: unreadable or truncated npz file ({exc})") from None


def _declared(path, name: str, key: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple:
    """The shape an npz member's header declares, once it fits the data set and the bytes stored."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(member)
        stored = info.file_size - member.tell()
    _check_array(path, name, key, shape, dtype)
    declared = math.prod(shape) * dtype.itemsize
    if declared > stored:
        raise UserError(f"{path}: {key} declares shape {shape} ({declared:,} bytes) but holds {stored:,}: "
                        f"truncated or corrupt")
    return shape


def _check_array(source, name: str, key: str, shape: tuple, dtype) -> None:
    """An array's shape and dtype against the data set's: images (N, H, W, C) uint8, labels (N,) integers."""
    h, w, c = SPECS[name]["image"]
    if key.startswith("x_"):
        if dtype != np.uint8:
            raise UserError(f"{source}: {key} has dtype {dtype}, expected uint8 images")
        allowed = [(h, w, c)] + ([(h, w)] if c == 1 else [])  # MNIST files may leave the channel out (Keras')
        if tuple(shape[1:]) not in allowed:
            raise UserError(f"{source}: {key} has shape {tuple(shape)}, expected (N, {h}, {w}, {c}) for {name}")
    else:
        if not np.issubdtype(dtype, np.integer):
            raise UserError(f"{source}: {key} has dtype {dtype}, expected integer labels")
        if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
            raise UserError(f"{source}: {key} has shape {tuple(shape)}, expected (N,) labels")


def _check_counts(source, split: str, images: int, labels: int) -> None:
    if images != labels:
        raise UserError(f"{source}: {images} images but {labels} labels in the {split} set")
    if images == 0:
        raise UserError(f"{source}: the {split} set is empty")


def _original_files(name) -> list:
    return list(MNIST_IDX) if name == "mnist" else [CIFAR10_TAR[0]]


def _find_original(name, folder) -> bool:
    return all((folder / f).is_file() for f in _original_files(name))


def _verify_md5(path, expected) -> None:
    actual = file_digest(path, "md5")
    if actual != expected:
        raise UserError(f"{path}: checksum mismatch (md5 {actual}, expected {expected}); "
                        f"the file is corrupt or truncated: delete it and try again")


def _read_original(name, folder) -> dict:
    folder = Path(folder)
    if name == "mnist":
        for file, md5 in MNIST_IDX.items():
            _verify_md5(folder / file, md5)
        return {
            "x_train": _read_idx(folder / "train-images-idx3-ubyte.gz"),
            "y_train": _read_idx(folder / "train-labels-idx1-ubyte.gz"),
            "x_test": _read_idx(folder / "t10k-images-idx3-ubyte.gz"),
            "y_test": _read_idx(folder / "t10k-labels-idx1-ubyte.gz"),
        }
    archive = folder / CIFAR10_TAR[0]
    # The archive holds pickles: open it only once its published checksum matches.
    _verify_md5(archive, CIFAR10_TAR[1])
    with tarfile.open(archive, "r:gz") as tar:
        def batch(member):
            d = pickle.load(tar.extractfile(f"cifar-10-batches-py/{member}"), encoding="bytes")
            return d[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), np.array(d[b"labels"])
        train = [batch(f"data_batch_{i}") for i in range(1, 6)]
        x_test, y_test = batch("test_batch")
    return {"x_train": np.concatenate([x for x, _ in train]), "y_train": np.concatenate([y for _, y in train]),
            "x_test": x_test, "y_test": y_test}


def _read_idx(path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _download_original(name, target: Path) -> None:
    files = MNIST_IDX.items() if name == "mnist" else [CIFAR10_TAR]
    base = MNIST_URL if name == "mnist" else CIFAR10_URL
    for file, md5 in files:
        if (target / file).is_file():
            continue
        print(f"downloading {base}{file}", flush=True)
        with urllib.request.urlopen(base + file, timeout=30) as response:
            payload = response.read()
        with atomic_path(target / file) as tmp:  # writing only: a failure here is a write fault, named
            tmp.write_bytes(payload)
            _verify_md5(tmp, md5)


def _validated(name, arrays, source) -> Dataset:
    spec = SPECS[name]
    out = {}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], np.asarray(arrays[f"y_{split}"])
        _check_array(source, name, f"x_{split}", x.shape, x.dtype)
        _check_array(source, name, f"y_{split}", y.shape, y.dtype)
        _check_counts(source, split, len(x), len(y))
        if x.ndim == 3:
            x = x[..., None]
        y = y.reshape(-1)
        if y.min() < 0 or y.max() >= len(spec["classes"]):
            raise UserError(f"{source}: y_{split} labels range {y.min()}..{y.max()}, expected 0..{len(spec['classes']) - 1}")
        out[f"x_{split}"], out[f"y_{split}"] = np.ascontiguousarray(x), y.astype(np.int64)
    return Dataset(name=name, class_names=list(spec["classes"]), source=source, **out)
