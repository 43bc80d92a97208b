"""Data loading: lookup order, checksums, and clear errors for bad files."""
import gzip
import io
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

from common import data
from common.errors import UserError
from tests.helpers import make_tiny_data

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No LAB_DATA_DIR, an empty repository data/ folder, and no network."""
    monkeypatch.delenv("LAB_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "REPO_ROOT", tmp_path / "repo")

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(data.urllib.request, "urlopen", offline)
    return tmp_path


def test_loads_uint8_channels_last_arrays_and_class_names(tiny_data, isolated):
    mnist = data.load_mnist(tiny_data)
    assert mnist.x_train.shape == (300, 28, 28, 1) and mnist.x_train.dtype == np.uint8
    assert mnist.y_test.shape == (100,) and mnist.class_names == [str(d) for d in range(10)]
    cifar = data.load_cifar10(tiny_data)
    assert cifar.x_test.shape == (100, 32, 32, 3)
    assert cifar.class_names[:3] == ["Plane", "Car", "Bird"] and cifar.class_names[-1] == "Truck"
    assert "first 100 of the 10,000" in cifar.test_note


def test_lookup_order_data_dir_then_env_then_repo(isolated, monkeypatch, tmp_path):
    first, second, repo = (make_tiny_data(tmp_path / d, n_train=20 + 10 * i, n_test=10)
                           for i, d in enumerate(["first", "second", "repo/data"]))
    monkeypatch.setenv("LAB_DATA_DIR", str(second))
    assert len(data.load_mnist(first).x_train) == 20
    assert len(data.load_mnist().x_train) == 30
    monkeypatch.delenv("LAB_DATA_DIR")
    assert len(data.load_mnist().x_train) == 40


def test_missing_data_offline_names_files_and_places(isolated, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError) as error:
        data.load_cifar10(empty)
    message = str(error.value)
    assert "cifar10.npz" in message and "cifar-10-python.tar.gz" in message
    assert str(empty) in message and "download failed" in message


def test_truncated_npz_is_refused(isolated, tiny_data, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    raw = (tiny_data / "mnist.npz").read_bytes()
    (folder / "mnist.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(UserError, match="unreadable or truncated"):
        data.load_mnist(folder)


def test_known_release_with_wrong_checksum_is_refused(isolated, tmp_path):
    folder = tmp_path / "corrupt"
    folder.mkdir()
    size = next(s for s, digest in data.KNOWN_NPZ_SIZES.items() if "MNIST, offline" in data.KNOWN_NPZ[digest])
    (folder / "mnist.npz").write_bytes(b"\0" * size)
    with pytest.raises(UserError, match="checksum mismatch"):
        data.load_mnist(folder)


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(x_train=a["x_train"][:, :20, :20]), "shape"),
    (lambda a: a.update(x_train=a["x_train"].astype(np.float32)), "dtype"),
    (lambda a: a.update(y_test=a["y_test"] + 5), "labels range"),
    (lambda a: a.update(y_train=a["y_train"][:-1]), "labels"),
    (lambda a: a.pop("y_test"), "missing arrays y_test"),
])
def test_wrong_arrays_are_refused(isolated, tmp_path, change, message):
    folder = make_tiny_data(tmp_path / "wrong", n_train=20, n_test=10)
    with np.load(folder / "mnist.npz") as f:
        arrays = dict(f)
    change(arrays)
    np.savez(folder / "mnist.npz", **arrays)
    with pytest.raises(UserError, match=message):
        data.load_mnist(folder)


def test_cifar_archive_is_not_unpickled_before_its_checksum_matches(isolated, tmp_path, monkeypatch):
    folder = tmp_path / "tar"
    folder.mkdir()
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        payload = b"not a pickle"
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    monkeypatch.setattr(data.pickle, "load", lambda *a, **k: pytest.fail("unpickled an unverified archive"))
    with pytest.raises(UserError, match="checksum mismatch"):
        data.load_cifar10(folder)


def test_mnist_idx_files_are_verified(isolated, tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    for name in data.MNIST_IDX:
        with gzip.open(folder / name, "wb") as f:
            f.write(b"\0\0\x08\x01\0\0\0\0")
    with pytest.raises(UserError, match="checksum mismatch"):
        data.load_mnist(folder)


@pytest.mark.skipif(not (SHARED / "mnist.npz").exists(), reason="the offline data set is not beside the repository")
def test_offline_copies_are_recognised_by_checksum():
    assert "bit-exact" in data.load_mnist(SHARED).source
    cifar = data.load_cifar10(SHARED)
    assert len(cifar.x_train) == 50000 and "first 1,000" in cifar.test_note


def forged_npz(path, declared: tuple, stored: bytes) -> None:
    """A tiny mnist.npz whose x_train header declares ``declared`` but which stores only ``stored``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": declared})
    small = make_tiny_data(path.parent / "source", n_train=20, n_test=10)
    with np.load(small / "mnist.npz") as f, zipfile.ZipFile(path, "w") as archive:
        for key in ("y_train", "x_test", "y_test"):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, f[key])
            archive.writestr(f"{key}.npy", buffer.getvalue())
        archive.writestr("x_train.npy", header.getvalue() + stored)


def test_a_header_declaring_more_than_the_file_holds_allocates_nothing(isolated, tmp_path, monkeypatch):
    huge, cifar = tmp_path / "huge", tmp_path / "cifar"
    for folder in (huge, cifar):
        folder.mkdir()
    forged_npz(huge / "mnist.npz", (10**9, 28, 28), b"\0" * 784 * 20)  # 784 GB declared, 16 kB stored
    forged_npz(cifar / "mnist.npz", (20, 32, 32, 3), b"\0" * 3072 * 20)  # CIFAR-sized images in mnist.npz
    monkeypatch.setattr(data.np, "load", lambda *a, **k: pytest.fail("the arrays were read"))
    with pytest.raises(UserError, match=r"x_train declares shape \(1000000000, 28, 28\) .* but holds 15,680"):
        data.load_mnist(huge)
    with pytest.raises(UserError, match=r"x_train has shape \(20, 32, 32, 3\), expected \(N, 28, 28, 1\)"):
        data.load_mnist(cifar)


@pytest.mark.parametrize("kind, make", [
    ("a folder", lambda path: path.mkdir()),
    ("a broken link", lambda path: path.symlink_to(path.parent / "gone.npz")),
])
def test_a_data_file_name_held_by_something_else_is_reported(isolated, tmp_path, kind, make):
    folder = tmp_path / "odd"
    folder.mkdir()
    make(folder / "mnist.npz")
    with pytest.raises(UserError, match=f"mnist.npz: {kind}, where a mnist data file was expected"):
        data.load_mnist(folder)
    (folder / "mnist.npz").unlink() if kind != "a folder" else (folder / "mnist.npz").rmdir()
    make(folder / "train-images-idx3-ubyte.gz")  # one of the original distribution's files, too
    with pytest.raises(UserError, match=f"train-images-idx3-ubyte.gz: {kind}"):
        data.load_mnist(folder)


def test_an_npy_file_named_npz_or_a_missing_lab_data_dir_is_one_line(isolated, tmp_path, monkeypatch):
    folder = tmp_path / "npy"
    folder.mkdir()
    np.save(folder / "x.npy", np.zeros((2, 28, 28), np.uint8))
    (folder / "x.npy").rename(folder / "mnist.npz")
    with pytest.raises(UserError, match="unreadable or truncated npz"):
        data.load_mnist(folder)
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "no-such-folder"))
    with pytest.raises(UserError, match="LAB_DATA_DIR=.*no-such-folder: no such folder"):
        data.load_mnist()
