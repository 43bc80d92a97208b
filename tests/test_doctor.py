"""python -m common.doctor, and the GPU-mismatch warning, with nvidia-smi and the framework probes mocked.

No GPU here: nvidia-smi's output is given as the driver prints it, and the frameworks' facts as their
probes report them.
"""
import os
import subprocess
import sys

import pytest

from common import doctor
from tests.helpers import PYTHON, REPO, run_script

HEADER_535 = """Mon Sep 21 10:00:00 2026
+---------------------------------------------------------------------------------------+
| NVIDIA-SMI 535.104.05             Driver Version: 535.104.05   CUDA Version: 12.2     |
|-----------------------------------------+----------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id        Disp.A | Volatile Uncorr. ECC |
|   0  Tesla T4                       Off | 00000000:00:04.0 Off |                    0 |
+-----------------------------------------+----------------------+----------------------+
"""
HEADER_580 = "| NVIDIA-SMI 580.82.07              Driver Version: 580.82.07      CUDA Version: 13.0     |\n"
HEADER_470 = "| NVIDIA-SMI 470.256.02   Driver Version: 470.256.02   CUDA Version: 11.4     |\n"
NO_DRIVER = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
             "latest NVIDIA driver is installed and running.\n")
PYTHON_SHOWN = "/venv/bin/python"


def gpus(header: str, query: str = "Tesla T4, 7.5\n") -> dict:
    return doctor.parse_nvidia_smi(header, query)


@pytest.fixture(autouse=True)
def a_known_python(monkeypatch):
    monkeypatch.setattr(sys, "executable", PYTHON_SHOWN)  # the pip commands name this Python
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def fake_nvidia_smi(monkeypatch, header=None, query="Tesla T4, 7.5\n", header_code=0, query_code=0):
    """Replace the probes' subprocess: None for header means nvidia-smi is not installed."""
    calls = []

    def run(command, timeout=20):
        calls.append(command)
        if header is None:
            raise FileNotFoundError(2, "No such file or directory", "nvidia-smi")
        if command == ["nvidia-smi"]:
            return subprocess.CompletedProcess(command, header_code, header, "")
        if "compute_cap" in command[1]:
            return subprocess.CompletedProcess(command, query_code, query if query_code == 0 else "", "")
        return subprocess.CompletedProcess(command, 0, "\n".join(line.split(",")[0] for line in query.splitlines()), "")
    monkeypatch.setattr(doctor, "run", run)
    return calls


# --- nvidia-smi ----------------------------------------------------------------------------------------

def test_nvidia_smi_gives_the_driver_its_cuda_and_the_gpus(monkeypatch):
    fake_nvidia_smi(monkeypatch, HEADER_535, "Tesla T4, 7.5\nNVIDIA A100-SXM4-40GB, 8.0\n")
    assert doctor.nvidia_smi() == {"driver": "535.104.05", "cuda": "12.2", "gpus": [
        {"name": "Tesla T4", "capability": (7, 5)}, {"name": "NVIDIA A100-SXM4-40GB", "capability": (8, 0)}]}
    assert doctor.describe_gpus(doctor.nvidia_smi()) == "Tesla T4 and 1 more (driver 535.104.05, CUDA 12.2)"


def test_an_old_driver_without_the_compute_cap_field_still_names_its_gpus(monkeypatch):
    fake_nvidia_smi(monkeypatch, HEADER_470, "Tesla K80\n", query_code=2)
    assert doctor.nvidia_smi()["gpus"] == [{"name": "Tesla K80", "capability": None}]


def test_no_nvidia_smi_or_a_failing_one_means_no_gpu_and_says_why(monkeypatch):
    fake_nvidia_smi(monkeypatch, None)
    assert doctor.nvidia_smi() == {"gpus": [], "why": "nvidia-smi not found: no NVIDIA driver"}
    fake_nvidia_smi(monkeypatch, NO_DRIVER, header_code=9)
    assert doctor.nvidia_smi()["why"].startswith("nvidia-smi failed: NVIDIA-SMI has failed because it couldn't")


# --- PyTorch -------------------------------------------------------------------------------------------

TORCH_CU13 = {"version": "2.14.1", "cuda": "13.0", "cuda_available": False, "torchvision": "0.29.1"}


def test_a_cuda13_torch_on_a_535_driver_gets_the_cuda126_build_command():
    assert doctor.torch_advice(gpus(HEADER_535), TORCH_CU13) == (
        "PyTorch will train on the CPU: nvidia-smi sees Tesla T4 (driver 535.104.05, CUDA 12.2), but torch 2.14.1 "
        "is built for CUDA 13.0, which needs driver 580 or later: install PyTorch's CUDA 12.6 build: "
        "/venv/bin/python -m pip install torch==2.14.1+cu126 torchvision==0.29.1+cu126 "
        "--index-url https://download.pytorch.org/whl/cu126")


def test_a_cpu_only_torch_with_a_580_driver_gets_the_cuda130_build():
    torch = {"version": "2.14.1+cpu", "cuda": None, "cuda_available": False, "torchvision": "0.29.1+cpu"}
    advice = doctor.torch_advice(gpus(HEADER_580), torch)
    assert advice.startswith("PyTorch will train on the CPU: nvidia-smi sees Tesla T4 (driver 580.82.07, CUDA 13.0), "
                             "but torch 2.14.1+cpu is a CPU-only build: install PyTorch's CUDA 13.0 build: ")
    assert advice.endswith("-m pip install torch==2.14.1+cu130 torchvision==0.29.1+cu130 "
                           "--index-url https://download.pytorch.org/whl/cu130")


def test_a_gpu_older_than_turing_gets_the_cuda126_build_even_on_a_580_driver():
    torch = {"version": "2.14.1+cpu", "cuda": None, "cuda_available": False, "torchvision": None}
    advice = doctor.torch_advice(gpus(HEADER_580, "NVIDIA GeForce GTX 1080, 6.1\n"), torch)
    assert advice.endswith("-m pip install torch==2.14.1+cu126 --index-url https://download.pytorch.org/whl/cu126")


def test_a_torch_older_than_2_9_has_no_cuda13_build():
    torch = {"version": "2.6.0+cpu", "cuda": None, "cuda_available": False, "torchvision": "0.21.0+cpu"}
    assert "torch==2.6.0+cu126 torchvision==0.21.0+cu126" in doctor.torch_advice(gpus(HEADER_580), torch)


def test_a_driver_older_than_cuda12_needs_updating():
    advice = doctor.torch_advice(gpus(HEADER_470), TORCH_CU13)
    assert advice.endswith("is built for CUDA 13.0, which needs driver 580 or later: update the NVIDIA driver "
                           "(PyTorch's CUDA 12.6 build needs 525 or later, its CUDA 13 builds 580 or later)")
    assert "pip" not in advice


def test_a_matching_build_that_sees_no_gpu_says_what_hides_it(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    advice = doctor.torch_advice(gpus(HEADER_580), TORCH_CU13)
    assert advice == ("PyTorch will train on the CPU: nvidia-smi sees Tesla T4 (driver 580.82.07, CUDA 13.0), but "
                      "torch 2.14.1 (built for CUDA 13.0) cannot use it: CUDA_VISIBLE_DEVICES='' hides it")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    torch = {**TORCH_CU13, "cuda_warning": "CUDA initialization: CUDA driver initialization failed"}
    assert doctor.torch_advice(gpus(HEADER_580), torch).endswith(
        "cannot use it: CUDA initialization: CUDA driver initialization failed")


def test_a_torch_that_uses_the_gpu_or_no_gpu_at_all_gives_no_warning():
    working = {**TORCH_CU13, "cuda_available": True, "arch_list": ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"],
               "devices": [{"name": "Tesla T4", "capability": [7, 5]}]}
    assert doctor.torch_advice(gpus(HEADER_580), working) is None
    assert doctor.torch_advice({"gpus": [], "why": "nvidia-smi not found"}, TORCH_CU13) is None
    assert doctor.torch_advice(gpus(HEADER_580), {"error": "ModuleNotFoundError: No module named 'torch'"}) is None


def test_a_gpu_the_build_has_no_kernels_for_is_named():
    pascal = {**TORCH_CU13, "cuda_available": True, "arch_list": ["sm_75", "sm_80", "sm_90"],
              "devices": [{"name": "NVIDIA GeForce GTX 1080", "capability": [6, 1]}]}
    advice = doctor.torch_advice(gpus(HEADER_580, "NVIDIA GeForce GTX 1080, 6.1\n"), pascal)
    assert advice.startswith("torch 2.14.1 (CUDA 13.0) has no kernels for NVIDIA GeForce GTX 1080 (compute "
                             "capability 6.1; it has sm_75 sm_80 sm_90): install PyTorch's CUDA 12.6 build: ")


@pytest.mark.parametrize("capability, arch_list, runs", [
    ((8, 6), ["sm_80"], True),            # the same major version: binary compatible
    ((8, 6), ["sm_75"], False),           # an older major version's binary does not run
    ((8, 6), ["sm_75", "compute_75"], True),  # its PTX compiles for newer GPUs
    ((6, 1), ["sm_75", "compute_75"], False),
    ((12, 0), ["sm_90a", "sm_120"], True),
    ((10, 0), ["sm_90", "sm_100f"], True),
])
def test_which_builds_have_kernels_for_a_gpu(capability, arch_list, runs):
    assert doctor.has_kernels(capability, arch_list) is runs


# --- Keras / TensorFlow --------------------------------------------------------------------------------

TF_CPU = {"version": "2.21.0", "keras": "3.15.1", "gpus": [], "cuda_build": False, "cuda": None,
          "distribution": "tensorflow-cpu"}
TF_CUDA = {**TF_CPU, "cuda_build": True, "cuda": "12.5.1", "distribution": "tensorflow"}


def test_tensorflow_cpu_beside_a_gpu_gets_the_and_cuda_line():
    assert doctor.keras_advice(gpus(HEADER_535), TF_CPU, system="linux") == (
        "Keras will train on the CPU: nvidia-smi sees Tesla T4 (driver 535.104.05, CUDA 12.2), but tensorflow-cpu "
        "2.21.0 is a CPU-only build: for the GPU, in a venv of its own (docs/install.md, NVIDIA GPU): "
        "/venv/bin/python -m pip install \"tensorflow[and-cuda]==2.21.0\"")


def test_native_windows_is_sent_to_wsl2():
    advice = doctor.keras_advice(gpus(HEADER_580), TF_CUDA, system="win32")
    assert advice.endswith("but TensorFlow's GPU support on native Windows ended with 2.10: run the Keras scripts "
                           "in WSL2 (docs/install.md, Windows)")


def test_a_cuda_tensorflow_without_its_libraries_or_with_an_old_driver():
    assert doctor.keras_advice(gpus(HEADER_535), TF_CUDA, system="linux").endswith(
        "but TensorFlow 2.21.0 finds no CUDA libraries (or no usable GPU): "
        "/venv/bin/python -m pip install \"tensorflow[and-cuda]==2.21.0\"")
    assert doctor.keras_advice(gpus(HEADER_470), TF_CUDA, system="linux").endswith(
        "but TensorFlow 2.21.0 is built for CUDA 12.5.1, which needs driver 525 or later: update the NVIDIA driver")


def test_a_tensorflow_that_sees_the_gpu_gives_no_warning():
    assert doctor.keras_advice(gpus(HEADER_580), {**TF_CUDA, "gpus": ["/physical_device:GPU:0"]}) is None


# --- the training path's warning ------------------------------------------------------------------------

def test_the_training_path_warning_for_each_framework(monkeypatch):
    fake_nvidia_smi(monkeypatch, HEADER_535)
    versions = {"torch": "2.14.1", "torchvision": "0.29.1", "tensorflow-cpu": "2.21.0"}
    monkeypatch.setattr(doctor, "installed", versions.get)
    torch = doctor.gpu_mismatch_warning("pytorch", False, "13.0")
    assert torch == doctor.torch_advice(gpus(HEADER_535), TORCH_CU13) and "\n" not in torch
    keras = doctor.gpu_mismatch_warning("keras", False, None)
    assert keras.startswith("Keras will train on the CPU: nvidia-smi sees Tesla T4") and "tensorflow-cpu 2.21.0" in keras


def test_the_training_path_asks_nothing_when_the_framework_sees_a_gpu_or_there_is_none(monkeypatch):
    calls = fake_nvidia_smi(monkeypatch, HEADER_535)
    assert doctor.gpu_mismatch_warning("pytorch", True, "13.0") is None and calls == []
    fake_nvidia_smi(monkeypatch, None)
    assert doctor.gpu_mismatch_warning("pytorch", False, "13.0") is None
    assert doctor.gpu_mismatch_warning("keras", False, None) is None


# --- the command ----------------------------------------------------------------------------------------

def test_the_report_puts_each_warning_under_its_framework(monkeypatch, capsys):
    fake_nvidia_smi(monkeypatch, HEADER_535)
    facts = {"pytorch": {**TORCH_CU13, "accelerator": None, "threads": 8, "mps_built": False},
             "keras": {**TF_CPU, "names": []}}
    monkeypatch.setattr(doctor, "probe_all", lambda frameworks: {name: facts[name] for name in frameworks})
    monkeypatch.setattr(doctor, "tensorflow_distribution", lambda: "tensorflow-cpu")
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert doctor.main([]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "NVIDIA GPU: Tesla T4 (driver 535.104.05, CUDA 12.2)"
    assert lines[3].startswith("PyTorch: --device auto trains on the CPU (8 threads): torch 2.14.1 (CUDA 13.0 build) "
                               "finds no accelerator")
    assert lines[4].startswith("warning: PyTorch will train on the CPU: ") and "cu126" in lines[4]
    assert lines[5].startswith("Keras: --device auto trains on the CPU") and "tensorflow-cpu" in lines[5]
    assert lines[6].startswith("warning: Keras will train on the CPU: ") and len(lines) == 7

    fake_nvidia_smi(monkeypatch, None)
    assert doctor.main(["--only", "keras"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "NVIDIA GPU: none (nvidia-smi not found: no NVIDIA driver)" and len(lines) == 4


def test_a_framework_that_does_not_import_is_one_line(monkeypatch):
    monkeypatch.setattr(sys, "executable", PYTHON)  # a real Python runs the probe
    monkeypatch.setitem(doctor.PROBES, "pytorch", "import no_such_framework_here")
    facts = doctor.probe_all(["pytorch"])
    assert facts == {"pytorch": {"error": "ModuleNotFoundError: No module named 'no_such_framework_here'"}}
    assert doctor.torch_lines(facts["pytorch"], {"gpus": []}) == [
        "PyTorch: torch does not import (ModuleNotFoundError: No module named 'no_such_framework_here'): the PyTorch "
        "scripts need torch and torchvision (docs/install.md)"]


def command(*args, code=None) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, *(["-c", code] if code else ["-m", "common.doctor"]), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_a_bad_option_is_one_line_and_help_lists_the_options():
    done = command("--framework", "torch")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: unrecognized arguments: --framework torch (see --help)\n"
    done = command("--help")
    assert done.returncode == 0 and "--only {pytorch,keras}" in done.stdout


def test_the_real_check_runs_torch_in_another_process():
    """On this machine, unmocked: torch is asked in a subprocess and never loaded into the doctor's."""
    done = command(code="import sys\nfrom common import doctor\nrc = doctor.main(['--only', 'pytorch'])\n"
                        "print('loaded here:', [m for m in ('torch', 'tensorflow') if m in sys.modules], rc)")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"Python {sys.version.split()[0]} (") and ": supported (3.11 to 3.13)" in lines[0]
    assert any(line.startswith("PyTorch: --device auto trains on ") for line in lines), lines
    assert lines[-1] == "loaded here: [] 0" or lines[-1] == "loaded here: [] 1", lines


# --- the same warning from a training run whose --device auto fell back to the CPU ----------------------

@pytest.mark.parametrize("script, words", [("pytorch/ex1_mnist.py", "PyTorch will train on the CPU"),
                                           ("keras/ex1_mnist.py", "Keras will train on the CPU")])
def test_a_run_on_the_cpu_beside_an_nvidia_gpu_it_cannot_use_warns_in_one_line(script, words, tiny_data, tmp_path):
    """A stand-in nvidia-smi on PATH that sees a Tesla T4 (driver 535, CUDA 12.2): no framework here can use
    it (this machine has no GPU), so the run trains on the CPU and says why before it starts."""
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nif [ $# -eq 0 ]; then cat <<'END'\n" + HEADER_535 + "END\nelse echo 'Tesla T4, 7.5'; fi\n")
    fake.chmod(0o755)
    result = run_script(script, "--models", "lab3", "--limit", "60", "--epochs", "1", "--out", tmp_path / "out",
                        data_dir=tiny_data, env={"PATH": f"{fake.parent}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and words in warnings[0] and "Tesla T4" in warnings[0], result.stdout
