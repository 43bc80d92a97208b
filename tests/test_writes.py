"""Writing outputs, in-process and framework-free: a set is replaced whole or not at all, write faults are one
line naming the path, temporary files of killed runs go, modes follow the umask; checkpoints and locks.

Faults are injected by replacing a writer or os.replace (the tests run as root, for whom permissions do
not fail), or by a path component that is a regular file.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common import atomic, experiment, figures, layout, lock, preflight
from common.checkpoint import Checkpoint
from common.errors import UserError
from tests.helpers import tiny_split


def record_of(model="model1", loss=0.5) -> dict:
    """A complete record of ex1 pytorch ``model`` as make_record writes one (made-up numbers)."""
    history = {"loss": [1.0, loss], "accuracy": [0.5, 0.7], "val_loss": [1.1, 0.6], "val_accuracy": [0.4, 0.6],
               "seconds": [1.0, 1.0]}
    matrix = np.eye(10, dtype=int) * 3
    matrix[0, 1] = 1
    return {"exercise": "ex1", "framework": "pytorch", "model": model, "reduced": [], "history": history,
            "validation": "last 6 training images", "test_set": "16 images", "class_names": list("0123456789"),
            "confusion_matrix": matrix.tolist(), "test_loss": loss,
            "ten_worst": [{"rank": 1, "index": 3, "predicted": "1", "actual": "0", "prob_actual": 0.01}]}


def snapshot(out) -> dict:
    """Every file under out (but temporary ones), with its bytes."""
    return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_failing_figure_leaves_the_previous_set_whole(tmp_path, monkeypatch):
    split = tiny_split()
    experiment.write_outputs(record_of(loss=0.5), split, tmp_path)
    before = snapshot(tmp_path)
    assert len(before) == 6  # three figures, one image, the csv, the record

    drawn = []

    def second_figure_fails(history, metric, title, path, val_label="validation"):
        drawn.append(metric)
        if len(drawn) == 2:
            raise OSError(28, "No space left on device", str(path))
        real_plot(history, metric, title, path, val_label)
    real_plot = figures.plot_history
    monkeypatch.setattr(figures, "plot_history", second_figure_fails)
    with pytest.raises(UserError) as error:
        experiment.write_outputs(record_of(loss=0.25), split, tmp_path)
    assert "model1_accuracy.png: cannot be written (No space left on device); nothing was replaced" in str(error.value)
    assert snapshot(tmp_path) == before  # the old loss figure too: nothing of the new set was moved in
    assert not list(tmp_path.rglob("*.tmp"))

    monkeypatch.setattr(figures, "plot_history", real_plot)
    experiment.write_outputs(record_of(loss=0.25), split, tmp_path)
    after, paths = snapshot(tmp_path), layout.model_outputs(".", "ex1", "pytorch", "model1")
    assert set(after) == set(before) and after[paths["loss"]] != before[paths["loss"]]
    assert json.loads(after[paths["record"]])["test_loss"] == 0.25


def test_a_rename_that_fails_puts_the_old_files_back(tmp_path, monkeypatch):
    old = {name: tmp_path / name for name in ("a.png", "b.png", "record.json")}
    for path in old.values():
        path.write_text(f"old {path.name}")
    real_replace, failed = os.replace, []

    def replace(src, dst):  # the new record's rename fails, once: after a.png and b.png were moved in
        if os.path.basename(dst) == "record.json" and not failed:
            failed.append(dst)
            raise OSError(5, "Input/output error")
        real_replace(src, dst)
    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(UserError, match=r"record\.json: cannot be written \(Input/output error\)"):
        atomic.replace_together({name: (path, lambda tmp, name=name: tmp.write_text(f"new {name}"))
                                 for name, path in old.items()})
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {name: f"old {name}" for name in old}

    first = tmp_path / "first"  # no previous set: the new files that got into place are taken out again
    failed.clear()
    with pytest.raises(UserError, match="Input/output error"):
        atomic.replace_together({name: (first / name, lambda tmp: tmp.write_text("new")) for name in old})
    assert not list(first.iterdir())


def test_a_path_component_that_is_a_file_is_one_line_naming_it(tmp_path):
    (tmp_path / "results").write_text("not a folder")
    with pytest.raises(UserError) as error:
        experiment.write_outputs(record_of(), tiny_split(), tmp_path)
    assert f"{tmp_path / 'results'} is a file, not a folder" in str(error.value)
    assert not (tmp_path / "plots").exists() or not list((tmp_path / "plots").rglob("*.png"))
    with pytest.raises(UserError, match="results is a file, not a folder"):
        atomic.check_writable(tmp_path / "results" / "ex1")


def test_write_json_refuses_nan_and_infinity(tmp_path):
    for bad in (float("nan"), float("inf")):
        with pytest.raises(UserError, match="NaN or infinite"):
            atomic.write_json(tmp_path / "r.json", {"history": {"val_loss": [0.5, bad]}})
    assert not list(tmp_path.iterdir())


def test_temporary_files_of_a_process_that_is_gone_are_removed(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()  # a process id that no longer runs
    left = [tmp_path / f".model1.json.{gone}.0badf00d.tmp", tmp_path / ".model1.json.x7k2_q1z.tmp"]  # ours, older
    for path in left:
        path.write_text("half")
    (tmp_path / f".epoch-3.{gone}.12345678.tmp").mkdir()
    running = tmp_path / f".model1.json.{os.getpid()}.deadbeef.tmp"  # a write in progress
    running.write_text("writing")
    other = tmp_path / f".model10.json.{gone}.0badf00d.tmp"  # another model's
    other.write_text("half")

    atomic.write_json(tmp_path / "model1.json", {"a": 1})
    assert not any(path.exists() for path in left) and running.exists() and other.exists()
    atomic.remove_stale(tmp_path)  # a checkpoint folder: everything of processes that are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model1.json", running.name])


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_new_files_and_folders_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        experiment.write_outputs(record_of(), tiny_split(), tmp_path)
        Checkpoint(tmp_path / "ckpt", {}, False, 2).save(1, {}, lambda folder: (folder / "w").write_text("w"))
    finally:
        os.umask(previous)
    paths = layout.model_outputs(tmp_path, "ex1", "pytorch", "model1")
    for path in (paths["record"], paths["loss"], paths["ten_worst"] / "1.png", tmp_path / "ckpt" / "meta.json",
                 tmp_path / "ckpt" / "epoch-1" / "w"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    for path in (paths["ten_worst"], tmp_path / "ckpt" / "epoch-1"):
        assert path.stat().st_mode & 0o777 == 0o777 & ~umask, path


SIGNATURE = {"model": "model1", "batch_size": 128, "data": "sha256:aaaa"}


def saved_checkpoint(folder, signature, epoch=2):
    checkpoint = Checkpoint(folder, signature, False, epoch)
    checkpoint.save(epoch, {"loss": [1.0] * epoch}, lambda state: (state / "w").write_text("w"))


def test_a_checkpoint_is_continued_only_by_its_own_settings_and_data(tmp_path, capsys):
    saved_checkpoint(tmp_path, SIGNATURE)
    read = lambda folder: (folder / "w").read_text()  # noqa: E731
    assert Checkpoint(tmp_path, SIGNATURE, True, 5).load(read)[0] == 2
    with pytest.raises(UserError, match=r"other settings \(data 'sha256:aaaa' vs 'sha256:bbbb'\)"):
        Checkpoint(tmp_path, {**SIGNATURE, "data": "sha256:bbbb"}, True, 5).load(read)
    with pytest.raises(UserError, match="after epoch 2, past --epochs 1"):
        Checkpoint(tmp_path, SIGNATURE, True, 1).load(read)
    older = {key: value for key, value in SIGNATURE.items() if key != "data"}  # before the digest existed
    saved_checkpoint(tmp_path, older)
    with pytest.raises(UserError, match="does not record its data .an older version made it., so it cannot be checked"):
        Checkpoint(tmp_path, SIGNATURE, True, 5).load(read)
    # restart (--resume-or-restart, the campaign's): start over, saying why.
    for signature, epochs in ((SIGNATURE, 5), (older, 1), ({**older, "batch_size": 64}, 5)):
        assert Checkpoint(tmp_path, signature, True, epochs, restart=True).load(read) is None
        assert "starting over" in capsys.readouterr().out
    (tmp_path / "meta.json").write_text("{cut")
    assert Checkpoint(tmp_path, SIGNATURE, False, 5, restart=True).load(read) is None


def test_a_checkpoint_its_disk_has_no_room_for_is_refused_before_writing(tmp_path, monkeypatch):
    saved_checkpoint(tmp_path, SIGNATURE)
    free = atomic.shutil.disk_usage(tmp_path).free
    with pytest.raises(UserError, match=r"needs about .* MB, its disk has .* MB free; free some space"):
        Checkpoint(tmp_path, SIGNATURE, True, 5).save(3, {}, lambda folder: pytest.fail("written"), size=free * 2)
    assert json.loads((tmp_path / "meta.json").read_text())["epoch"] == 2 and (tmp_path / "epoch-2").is_dir()

    def torch_save_on_a_full_disk(folder):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 3712 vs 3664")
    with pytest.raises(UserError, match=r"epoch-3: cannot be written \(\[enforce fail.*MB free on its disk\)"):
        Checkpoint(tmp_path, SIGNATURE, True, 5).save(3, {}, torch_save_on_a_full_disk)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch-2", "meta.json"]


def test_a_lock_is_held_once_and_names_its_holder(tmp_path):
    path = tmp_path / "checkpoints" / "model1" / "lock"
    with lock.held(path, "ex1 pytorch model1"):
        assert f"process {os.getpid()} on " in path.read_text()
        with pytest.raises(UserError, match=rf"ex1 pytorch model1 is being run by process {os.getpid()} on .*"
                                            rf"\(python .*\) \(it holds {path}\)"):
            with lock.held(path, "ex1 pytorch model1"):
                pass
        with lock.held(tmp_path / "checkpoints" / "model2" / "lock", "model2"):  # another model: no conflict
            pass
    with lock.held(path, "ex1 pytorch model1"):  # released
        pass


def test_a_run_keeps_a_fuller_record_unless_it_repeats_it_at_least():
    record = record_of()
    record.update(epochs=20, limit=None, n_train=54000, n_test=10000, batch_size=128, seed=0, val_split=0.1,
                  optimizer={"name": "Adam", "lr": 0.001}, deterministic=False, settings={"weights": "none"})
    same = {"epochs": 20, "limit": None, "n_train": 54000, "n_test": 10000, "batch_size": 128, "lr": 0.001,
            "seed": 0, "val_split": 0.1, "deterministic": False, "settings": {"weights": "none"}}
    assert preflight.shortfall(record, same) == []
    assert preflight.shortfall(record, {**same, "epochs": 100}) == []  # longer: it may replace it
    assert preflight.shortfall(record, {**same, "limit": 500, "epochs": 1, "n_train": 450, "n_test": 500}) == [
        "1 epoch where the record has 20", "450 training images where the record has 54,000",
        "500 test images where the record has 10,000", "--limit 500 where the record has all images"]
    assert preflight.shortfall(record, {**same, "seed": 1, "settings": {"weights": "imagenet"}}) == [
        "--seed 1 where the record has 0", "--weights imagenet where the record has none"]


# --- no instant without the file (issue 34, item 3) -------------------------------------------------------

class Interrupted(KeyboardInterrupt):
    """The injected Ctrl-C (a KeyboardInterrupt raised where no real signal can arrive: inside a rename)."""


def old_set(root):
    """A set as write_outputs leaves one: two figures, a ten-worst folder, a record. {target: old content}."""
    ten = root / "ten_worst" / "model1"
    ten.mkdir(parents=True)
    files = {root / "a.png": "old a", root / "b.png": "old b", ten / "1.png": "old 1", ten / "2.png": "old 2",
             ten / "3.png": "old 3", ten / "ten_worst.csv": "old csv", root / "record.json": "old record"}
    for path, text in files.items():
        path.write_text(text)
    return files


NEW_SET = {"a.png": "new a", "b.png": "new b", "1.png": "new 1", "2.png": "new 2", "ten_worst.csv": "new csv",
           "record.json": "new record"}  # the new ten worst has no 3.png


def replace_with_new_set(root):
    def ten_worst(folder):
        folder.mkdir()
        for name in ("1.png", "2.png", "ten_worst.csv"):
            (folder / name).write_text(NEW_SET[name])
    atomic.replace_together({"a": (root / "a.png", lambda tmp: tmp.write_text(NEW_SET["a.png"])),
                             "b": (root / "b.png", lambda tmp: tmp.write_text(NEW_SET["b.png"])),
                             "ten": (root / "ten_worst" / "model1", ten_worst),
                             "record": (root / "record.json", lambda tmp: tmp.write_text(NEW_SET["record.json"]))})


def assert_each_file_old_or_new(old: dict):
    """Every output of the set is there, and holds its old or its new content (3.png: old, or gone once the
    new ten worst is in)."""
    folder = next(iter(p.parent for p in old if p.name == "1.png"))
    assert folder.is_dir() and not folder.is_symlink()
    for path, text in old.items():
        if path.name == "3.png" and not path.exists():
            continue
        assert path.exists(), f"{path.name} missing"
        assert path.read_text() in (text, NEW_SET.get(path.name)), path.name
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no temporary name in the folder


def count_renames(tmp_path, monkeypatch) -> int:
    real, calls = os.replace, []
    monkeypatch.setattr(atomic.os, "replace", lambda *a: (calls.append(a), real(*a))[1])
    old_set(tmp_path / "count")
    replace_with_new_set(tmp_path / "count")
    monkeypatch.setattr(atomic.os, "replace", real)
    return len(calls)


def test_every_file_of_a_set_is_its_old_or_its_new_version_at_every_rename(tmp_path, monkeypatch):
    """A Ctrl-C raised at any rename of the swap (injected inside os.replace: the one place no deferral can
    cover) leaves every file there, whole; the set is put back as it was. Before each rename, too, every
    file is there: nothing is moved aside first."""
    renames = count_renames(tmp_path, monkeypatch)
    assert renames >= 6
    real = os.replace
    for n in range(1, renames + 1):
        root = tmp_path / f"at-{n}"
        old = old_set(root)
        calls = []

        def replace(src, dst, old=old, calls=calls, n=n):
            assert_each_file_old_or_new(old)  # the instant before this rename
            calls.append(dst)
            if len(calls) == n:
                raise Interrupted
            real(src, dst)
        monkeypatch.setattr(atomic.os, "replace", replace)
        with pytest.raises(Interrupted):
            replace_with_new_set(root)
        monkeypatch.setattr(atomic.os, "replace", real)
        assert {path: path.read_text() for path in old} == old, f"interrupted at rename {n}: not put back"
        assert not list(root.rglob(".*")), f"interrupted at rename {n}: temporary files left"
    root = tmp_path / "whole"
    old = old_set(root)
    replace_with_new_set(root)
    assert {p.name: p.read_text() for p in root.rglob("*") if p.is_file()} == NEW_SET  # 3.png gone
    assert not list(root.rglob(".*"))


def test_a_real_ctrl_c_during_the_swap_waits_until_the_set_is_in_place(tmp_path, monkeypatch):
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler at once, between two bytecodes
        real(src, dst)
    monkeypatch.setattr(atomic.os, "replace", replace)
    old = old_set(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        replace_with_new_set(tmp_path)
    assert {p.name: p.read_text() for p in tmp_path.rglob("*") if p.is_file()} == NEW_SET
    assert len(old) == 7


def test_the_readme_and_a_checkpoints_meta_are_never_missing(tmp_path, monkeypatch):
    """write_text (the README's rebuild, a checkpoint's meta.json): one file, one rename, nothing moved aside."""
    readme = tmp_path / "README.md"
    readme.write_text("old")
    real = os.replace
    for n in (1, 2):
        calls = []

        def replace(src, dst, calls=calls, n=n):
            assert readme.read_text() == "old"
            calls.append(dst)
            if len(calls) == n:
                raise Interrupted
            real(src, dst)
        monkeypatch.setattr(atomic.os, "replace", replace)
        try:
            atomic.write_text(readme, "new")
        except Interrupted:
            pass
        monkeypatch.setattr(atomic.os, "replace", real)
        assert readme.read_text() in ("old", "new") and [p.name for p in tmp_path.iterdir()] == ["README.md"]
        readme.write_text("old")


def checkpoint_state(folder: Path) -> tuple:
    """(epoch, state) of the checkpoint in ``folder`` as --resume reads it, or a failure of the test."""
    meta = json.loads((folder / "meta.json").read_text())
    state = folder / meta["state"]
    assert state.is_dir() and (state / "w").read_text() == f"weights {meta['epoch']}", "meta.json names no state"
    return meta["epoch"], (state / "w").read_text()


def test_a_checkpoint_is_never_lost_whatever_rename_a_ctrl_c_cuts(tmp_path, monkeypatch):
    """issue 34: a Ctrl-C between moving meta.json aside and moving the new one in left no meta.json; the next
    --resume started from epoch 1 and deleted the saved epoch."""
    def save(folder, epoch, signature=SIGNATURE):
        Checkpoint(folder, signature, False, 5).save(
            epoch, {"loss": [1.0] * epoch}, lambda state: (state / "w").write_text(f"weights {epoch}"))

    real = os.replace
    for n in range(1, 4):
        folder = tmp_path / f"at-{n}"
        save(folder, 1)
        calls = []

        def replace(src, dst, folder=folder, calls=calls, n=n):
            assert checkpoint_state(folder)[0] in (1, 2)
            calls.append(dst)
            if len(calls) == n:
                raise Interrupted
            real(src, dst)
        monkeypatch.setattr(atomic.os, "replace", replace)
        try:
            save(folder, 2)
        except Interrupted:
            pass
        monkeypatch.setattr(atomic.os, "replace", real)
        assert checkpoint_state(folder)[0] in (1, 2)
        loaded = Checkpoint(folder, SIGNATURE, True, 5).load(lambda state: (state / "w").read_text())
        assert loaded[0] in (1, 2) and loaded[2] == f"weights {loaded[0]}"

    # The same epoch saved again (a restart after epoch 1): the folder meta.json names is not replaced under it.
    folder = tmp_path / "again"
    save(folder, 1)
    names = []
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: (names.append(Path(dst).name), real(src, dst))[1])
    save(folder, 1, {**SIGNATURE, "seed": 1})
    monkeypatch.setattr(atomic.os, "replace", real)
    assert "epoch-1" not in names  # written under another name, then meta.json pointed at it
    assert checkpoint_state(folder) == (1, "weights 1")
    assert len([p for p in folder.iterdir() if p.name.startswith("epoch-")]) == 1


# --- resume: the precision, both ways; a state that does not load (issue 34, item 2) ------------------------

def test_resume_compares_the_precision_both_ways_and_an_unrecorded_one_is_fp32(tmp_path):
    read = lambda folder: (folder / "w").read_text()  # noqa: E731
    bf16 = tmp_path / "bf16"
    saved_checkpoint(bf16, {**SIGNATURE, "precision": "bf16"})
    for fp32 in (SIGNATURE, {**SIGNATURE, "precision": "fp32"}):  # the run's signature, fp32 implied or said
        with pytest.raises(UserError, match=r"other settings \(precision 'bf16' vs 'fp32'\).*--precision bf16"):
            Checkpoint(bf16, fp32, True, 5).load(read)
    assert Checkpoint(bf16, {**SIGNATURE, "precision": "bf16"}, True, 5).load(read)[0] == 2

    older = tmp_path / "older"  # made before precisions were recorded: fp32
    saved_checkpoint(older, SIGNATURE)
    meta = json.loads((older / "meta.json").read_text())
    meta["signature"].pop("precision", None)
    (older / "meta.json").write_text(json.dumps(meta))
    assert Checkpoint(older, {**SIGNATURE, "precision": "fp32"}, True, 5).load(read)[0] == 2
    with pytest.raises(UserError) as error:
        Checkpoint(older, {**SIGNATURE, "precision": "bf16"}, True, 5).load(read)
    message = str(error.value)
    assert "other settings (precision 'fp32' vs 'bf16')" in message and "--precision fp32" in message
    assert "older version" not in message and "delete" not in message  # a valid checkpoint, of another precision

    # A setting the checkpoint states and this run does not: compared too.
    with pytest.raises(UserError, match=r"other settings \(data 'sha256:aaaa', which this run does not state\)"):
        Checkpoint(older, {k: v for k, v in SIGNATURE.items() if k != "data"}, True, 5).load(read)


def test_a_state_that_does_not_load_is_one_line(tmp_path):
    saved_checkpoint(tmp_path, SIGNATURE)

    def load_state_dict(folder):  # what torch says when the saved weights do not fit the model
        raise RuntimeError("Error(s) in loading state_dict for Sequential:\n\tsize mismatch for 1.weight: copying "
                           "a param with shape torch.Size([10, 784]) from checkpoint, the shape in current model "
                           "is torch.Size([128, 784]).")
    for restart in (False, True):
        with pytest.raises(UserError) as error:
            Checkpoint(tmp_path, SIGNATURE, True, 5, restart=restart).load(load_state_dict)
        message = str(error.value)
        assert "\n" not in message and "does not load into this model" in message and "size mismatch" in message
        assert "run without --resume" in message


@pytest.mark.parametrize("meta", ['[1, 2]', '{"epoch": "2", "history": {}, "signature": {}, "state": "epoch-2"}',
                                  '{"epoch": 2, "history": [], "signature": [], "state": "epoch-2"}',
                                  "[" * 100_000 + "]" * 100_000])
def test_a_meta_json_of_any_shape_is_one_line(tmp_path, meta):
    saved_checkpoint(tmp_path, SIGNATURE)
    (tmp_path / "meta.json").write_text(meta)
    with pytest.raises(UserError, match="does not parse"):
        Checkpoint(tmp_path, SIGNATURE, True, 5).load(lambda folder: None)


# --- one rule for replacing a committed record, wherever --out points (issue 34, item 1) -----------------------

COMMITTED = {"epochs": 20, "limit": None, "n_train": 54000, "n_test": 10000, "batch_size": 128, "seed": 0,
             "val_split": 0.1, "optimizer": {"name": "Adam", "lr": 0.001}, "deterministic": False, "settings": {},
             "precision": "fp32", "data_sha256": "sha256:" + "a" * 64}
SAME_RUN = {"epochs": 20, "limit": None, "n_train": 54000, "n_test": 10000, "batch_size": 128, "lr": 0.001,
            "seed": 0, "val_split": 0.1, "deterministic": False, "settings": {}, "precision": "fp32",
            "data_sha256": "sha256:" + "a" * 64}


@pytest.fixture
def repository(tmp_path):
    """(a repository's root holding a committed record, the record's path)."""
    root = tmp_path / "repository"
    path = layout.record(root, "ex1", "pytorch", "lab3")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({**record_of("lab3"), **COMMITTED}))
    return root, path


def refused(path, run, root, force=False) -> str:
    """The one line refusing ``run`` over the record at ``path``, or "" when it may replace it."""
    try:
        preflight.refuse_replacing(path, run, force, repository=root)
    except UserError as exc:
        assert "\n" not in str(exc)
        return str(exc)
    return ""


def test_a_committed_record_is_replaced_only_by_the_same_experiment(repository):
    root, path = repository
    assert refused(path, SAME_RUN, root) == ""
    assert refused(path, {**SAME_RUN, "epochs": 100}, root) == ""  # longer: the same experiment, fuller
    assert "--precision bf16 where the record has fp32" in refused(path, {**SAME_RUN, "precision": "bf16"}, root)
    assert "other data (digest sha256:bbbbbbbb... where the record has sha256:aaaaaaaa...)" in \
        refused(path, {**SAME_RUN, "data_sha256": "sha256:" + "b" * 64}, root)
    quick = refused(path, {**SAME_RUN, "epochs": 1, "limit": 200, "n_train": 180, "n_test": 200}, root)
    assert all(words in quick for words in ("is kept", "1 epoch where the record has 20", "--limit 200",
                                            "180 training images", "--out DIR", "--force"))
    path.write_text(json.dumps({**json.loads(path.read_text()), "settings": {"weights": "none"}}))  # as ex4's
    assert refused(path, {**SAME_RUN, "settings": {"weights": "none"}}, root) == ""
    assert "--weights imagenet where the record has none" in refused(
        path, {**SAME_RUN, "settings": {"weights": "imagenet"}}, root)
    assert refused(path, {**SAME_RUN, "precision": "bf16"}, root, force=True) == ""


def test_the_rule_holds_wherever_out_points_and_only_there(repository, tmp_path):
    root, path = repository
    bf16 = {**SAME_RUN, "precision": "bf16", "epochs": 1}
    link = tmp_path / "link-to-repository"
    link.symlink_to(root)
    for named in (path, root / "." / "results" / ".." / "results" / "ex1" / "pytorch" / "lab3.json",
                  layout.record(link, "ex1", "pytorch", "lab3")):
        assert "is kept" in refused(named, bf16, root), named
    scratch = layout.record(tmp_path / "scratch", "ex1", "pytorch", "lab3")  # a record elsewhere: any run replaces it
    scratch.parent.mkdir(parents=True)
    scratch.write_text(path.read_text())
    assert refused(scratch, bf16, root) == ""


def test_a_record_without_its_datas_digest_or_precision(repository):
    """Records written before they held a digest cannot be shown to be the same data: kept (--force replaces).
    One without a precision was fp32."""
    root, path = repository
    older = {key: value for key, value in json.loads(path.read_text()).items() if key not in ("precision",)}
    path.write_text(json.dumps(older))
    assert refused(path, SAME_RUN, root) == ""
    assert "--precision bf16 where the record has fp32" in refused(path, {**SAME_RUN, "precision": "bf16"}, root)
    del older["data_sha256"]
    path.write_text(json.dumps(older))
    assert "does not state its data's digest" in refused(path, SAME_RUN, root)
    assert refused(path, SAME_RUN, root, force=True) == ""
    # The campaign plans without the data (it does not load it): the digest is compared only when given.
    assert preflight.shortfall(older, {k: v for k, v in SAME_RUN.items() if k != "data_sha256"}) == []


@pytest.mark.parametrize("text", ["[1, 2]", '"a string"', "{cut", "[" * 100_000 + "]" * 100_000, "\xff\xfe"])
def test_a_committed_record_of_any_shape_is_kept_in_one_line(repository, text):
    root, path = repository
    path.write_text(text, encoding="latin-1")
    assert "is kept" in refused(path, SAME_RUN, root)


def test_run_settings_hold_the_data_and_the_precision_once_known():
    import argparse
    args = argparse.Namespace(limit=None, batch_size=128, lr=0.001, seed=0, val_split=0.1, deterministic=False,
                              record_settings={}, precision="auto")
    split = tiny_split()
    assert "precision" not in preflight.run_settings(args, 20, split)  # auto: chosen once the framework is up
    run = preflight.run_settings(args, 20, split, precision="bf16")
    assert run["precision"] == "bf16" and run["data_sha256"] == split.digest and run["n_train"] == 64
    assert preflight.known_precision(argparse.Namespace(precision="fp32")) == "fp32"
    assert preflight.known_precision(argparse.Namespace(precision="auto")) is None
