"""The setup check: what this Python has, and the device each framework will train on, and why.

    python -m common.doctor                  # both frameworks
    python -m common.doctor --only pytorch   # one (the NVIDIA setup has one venv per framework)

It prints Python and the package versions, what ``nvidia-smi`` sees, and for
each framework the device ``--device auto`` will use. Each framework is
imported in a subprocess of its own (TensorFlow, then torch, in one process
segfaults), never in this one. Where an NVIDIA GPU is present but a framework
cannot use it, one ``warning:`` line says why and what to install; the exit
code is then 1 (0 when all is well, 2 for a bad option or an unsupported
Python).

The same warning, for a training run that falls back to the CPU, is
``gpu_mismatch_warning``: framework-free, it only asks ``nvidia-smi``.
"""
if __name__ == "__main__":  # first, in the oldest syntax: an old Python gets one line, not a traceback
    from common.pyversion import check_python
    check_python()

import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from importlib import metadata  # noqa: E402
from typing import Optional  # noqa: E402

from common.entry import exit_process, run_command  # noqa: E402
from common.parser import Parser  # noqa: E402
from common.pyversion import supported_range, unsupported  # noqa: E402

PACKAGES = ("torch", "torchvision", "tensorflow", "tensorflow-cpu", "keras", "numpy", "matplotlib",
            "scikit-learn", "tensorboard")
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel")

# PyTorch's CUDA builds on its own index (download.pytorch.org/whl/<tag>): for torch 2.14, CUDA 12.6
# ("legacy", the last with Maxwell, Pascal and Volta GPUs), 13.0 (what PyPI's Linux wheel is) and 13.2.
# cu126 exists for every torch from 2.6 on, cu130 from 2.9. A CUDA 12.x build runs on any driver of the
# 12 series (525 or later), a 13.x build needs driver 580 or later (NVIDIA's minor version compatibility).
TORCH_INDEX = "https://download.pytorch.org/whl/{tag}"
DRIVER_FOR_CUDA = {12: "525", 13: "580"}
CUDA13_OLDEST_CAPABILITY = (7, 5)  # CUDA 13 builds have no kernels for older GPUs (Turing onwards)


# --- what nvidia-smi sees ----------------------------------------------------------------------------

def run(command: list, timeout: float = 20) -> subprocess.CompletedProcess:
    """A probe's subprocess (the tests replace this)."""
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def cuda_tuple(text) -> Optional[tuple]:
    """"12.2" -> (12, 2); None for None or anything else."""
    match = re.match(r"(\d+)\.(\d+)", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def parse_nvidia_smi(header: str, query: str) -> dict:
    """The driver's version, the newest CUDA it runs and the GPUs, from ``nvidia-smi``'s header
    ("Driver Version: 535.104.05   CUDA Version: 12.2") and its ``--query-gpu=name,compute_cap`` lines."""
    driver = re.search(r"Driver Version:\s*([\d.]+)", header)
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", header)
    gpus = []
    for line in query.splitlines():
        if line.strip():
            name, _, capability = (part.strip() for part in line.partition(","))
            gpus.append({"name": name, "capability": cuda_tuple(capability)})
    return {"driver": driver.group(1) if driver else None, "cuda": cuda.group(1) if cuda else None, "gpus": gpus}


def nvidia_smi() -> dict:
    """What ``nvidia-smi`` sees: parse_nvidia_smi's dict, with ``gpus`` empty and ``why`` said when it
    sees none (not installed: no NVIDIA driver; or it failed)."""
    try:
        header = run(["nvidia-smi"])
        if header.returncode != 0:
            first = (header.stdout.strip() or header.stderr.strip() or f"exit code {header.returncode}")
            return {"gpus": [], "why": f"nvidia-smi failed: {first.splitlines()[0]}"}
        query = run(["nvidia-smi", "--query-gpu=name,compute_cap", "--format=csv,noheader"])
        if query.returncode != 0:  # drivers before compute_cap was a query field
            query = run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"])
    except FileNotFoundError:
        return {"gpus": [], "why": "nvidia-smi not found: no NVIDIA driver"}
    except (OSError, subprocess.SubprocessError) as exc:
        return {"gpus": [], "why": f"nvidia-smi failed: {exc}"}
    return parse_nvidia_smi(header.stdout, query.stdout if query.returncode == 0 else "")


def describe_gpus(nvidia: dict) -> str:
    """"Tesla T4 (driver 535.104.05, CUDA 12.2)": the first GPU, how many, and the driver."""
    gpus = nvidia["gpus"]
    more = f" and {len(gpus) - 1} more" if len(gpus) > 1 else ""
    cuda = f", CUDA {nvidia['cuda']}" if nvidia.get("cuda") else ""
    return f"{gpus[0]['name']}{more} (driver {nvidia.get('driver') or 'of unknown version'}{cuda})"


# --- what to do about a GPU a framework cannot use -------------------------------------------------------

def pip(*arguments: str) -> str:
    """The pip command for this Python (its venv), as one line to copy."""
    python = f'"{sys.executable}"' if " " in sys.executable else sys.executable
    return " ".join((python, "-m", "pip", "install") + arguments)


def release(version: str) -> str:
    """"2.14.1+cu126" -> "2.14.1"."""
    return version.split("+")[0]


def has_kernels(capability: tuple, arch_list: list) -> bool:
    """Whether a build with ``arch_list`` (torch.cuda.get_arch_list()) runs on a GPU of ``capability``:
    a binary of its major version no newer than it, or PTX (compute_XY) it can compile."""
    for arch in arch_list:
        match = re.fullmatch(r"(sm|compute)_(\d+?)(\d)[af]?", arch)  # sm_90a, sm_100f: the same GPUs
        if match:
            built = (int(match.group(2)), int(match.group(3)))
            if built <= capability and (match.group(1) == "compute" or built[0] == capability[0]):
                return True
    return False


def torch_build_for(nvidia: dict, torch_version: str) -> Optional[str]:
    """The PyTorch CUDA build (index tag) for this driver and these GPUs, or None when no build of
    torch 2.6 or later runs on the driver."""
    driver = cuda_tuple(nvidia.get("cuda"))
    if driver is None or driver < (12, 0):
        return None
    oldest_gpu = min((g["capability"] for g in nvidia["gpus"] if g.get("capability")), default=None)
    cuda13 = (driver >= (13, 0) and (cuda_tuple(release(torch_version)) or (0, 0)) >= (2, 9)
              and (oldest_gpu is None or oldest_gpu >= CUDA13_OLDEST_CAPABILITY))
    return "cu130" if cuda13 else "cu126"


def torch_install(tag: str, torch_version: str, torchvision_version: Optional[str]) -> str:
    """The command that replaces this torch (and torchvision) by the same release's ``tag`` build:
    the local version label (+cu126) makes pip replace an installed 2.14.1 of another build."""
    packages = [f"torch=={release(torch_version)}+{tag}"]
    if torchvision_version:
        packages.append(f"torchvision=={release(torchvision_version)}+{tag}")
    return pip(*packages, "--index-url", TORCH_INDEX.format(tag=tag))


def torch_advice(nvidia: dict, torch: dict) -> Optional[str]:
    """One line when ``nvidia-smi`` sees a GPU that torch (``torch``: the probe's facts) cannot use, else None."""
    if not nvidia["gpus"] or torch.get("error"):
        return None
    seen, version, build = describe_gpus(nvidia), torch["version"], torch.get("cuda")
    tag = torch_build_for(nvidia, version)
    fix = (f"install PyTorch's CUDA {tag[2:4]}.{tag[4:]} build: {torch_install(tag, version, torch.get('torchvision'))}"
           if tag else f"update the NVIDIA driver (PyTorch's CUDA 12.6 build needs {DRIVER_FOR_CUDA[12]} or "
                       f"later, its CUDA 13 builds {DRIVER_FOR_CUDA[13]} or later)")
    if torch.get("cuda_available"):
        missing = [g for g in torch.get("devices", []) if g.get("capability")
                   and not has_kernels(tuple(g["capability"]), torch.get("arch_list", []))]
        if not missing:
            return None
        gpu = missing[0]
        return (f"torch {version} (CUDA {build}) has no kernels for {gpu['name']} (compute capability "
                f"{gpu['capability'][0]}.{gpu['capability'][1]}; it has {' '.join(torch.get('arch_list', []))}): {fix}")
    head = f"PyTorch will train on the CPU: nvidia-smi sees {seen}, but torch {version}"
    if torch.get("hip"):
        return f"{head} is built for AMD ROCm {torch['hip']}: {fix}"
    if not build:
        return f"{head} is a CPU-only build: {fix}"
    needs = cuda_tuple(build)
    driver = cuda_tuple(nvidia.get("cuda"))
    if driver and needs and needs[0] > driver[0]:
        return (f"{head} is built for CUDA {build}, which needs driver "
                f"{DRIVER_FOR_CUDA.get(needs[0], 'a newer one')} or later: {fix}")
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
    why = (f"CUDA_VISIBLE_DEVICES={hidden!r} hides it" if hidden is not None and hidden.strip() in ("", "-1")
           else torch.get("cuda_warning") or "torch.cuda.is_available() is False")
    return f"{head} (built for CUDA {build}) cannot use it: {why}"


def keras_advice(nvidia: dict, tf: dict, system: str = sys.platform) -> Optional[str]:
    """One line when ``nvidia-smi`` sees a GPU that TensorFlow (``tf``: the probe's facts) does not, else None."""
    if not nvidia["gpus"] or tf.get("error") or tf.get("gpus"):
        return None
    head = f"Keras will train on the CPU: nvidia-smi sees {describe_gpus(nvidia)}, but"
    version = tf.get("version", "")
    if system == "win32":
        return (f"{head} TensorFlow's GPU support on native Windows ended with 2.10: run the Keras scripts "
                f"in WSL2 (docs/install.md, Windows)")
    with_cuda = pip(f'"tensorflow[and-cuda]=={release(version)}"')
    if tf.get("distribution") == "tensorflow-cpu" or not tf.get("cuda_build"):
        return (f"{head} {tf.get('distribution') or 'this TensorFlow'} {version} is a CPU-only build: for the GPU, "
                f"in a venv of its own (docs/install.md, NVIDIA GPU): {with_cuda}")
    needs, driver = cuda_tuple(tf.get("cuda")), cuda_tuple(nvidia.get("cuda"))
    if driver and needs and needs[0] > driver[0]:
        return (f"{head} TensorFlow {version} is built for CUDA {tf['cuda']}, which needs driver "
                f"{DRIVER_FOR_CUDA.get(needs[0], 'a newer one')} or later: update the NVIDIA driver")
    return f"{head} TensorFlow {version} finds no CUDA libraries (or no usable GPU): {with_cuda}"


def installed(name: str) -> Optional[str]:
    """A distribution's version, read from its metadata (nothing is imported), or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def tensorflow_distribution() -> Optional[str]:
    return next((name for name in TENSORFLOW_DISTRIBUTIONS if installed(name)), None)


def gpu_mismatch_warning(framework: str, sees_gpu: bool, build_cuda: Optional[str] = None) -> Optional[str]:
    """For a training run whose ``--device auto`` fell back to the CPU: one line when ``nvidia-smi`` sees
    an NVIDIA GPU that the framework cannot use, saying why and what to install; else None.

    ``framework``: "pytorch" or "keras"; ``sees_gpu``: torch.cuda.is_available(), or whether
    tf.config.list_physical_devices("GPU") is non-empty; ``build_cuda``: torch.version.cuda, or
    tf.sysconfig.get_build_info().get("cuda_version"). Asks nothing when the framework sees a GPU.
    """
    if sees_gpu:
        return None
    nvidia = nvidia_smi()
    if not nvidia["gpus"]:
        return None
    if framework == "pytorch":
        version = installed("torch") or "?"
        return torch_advice(nvidia, {"version": version, "cuda": build_cuda, "cuda_available": False,
                                     "torchvision": installed("torchvision")})
    distribution = tensorflow_distribution()
    return keras_advice(nvidia, {"version": installed(distribution) if distribution else "?", "gpus": [],
                                 "distribution": distribution, "cuda": build_cuda, "cuda_build": bool(build_cuda)})


# --- each framework, asked in a process of its own ------------------------------------------------------

MARK = "DOCTOR-PROBE "  # the probe's answer line, apart from what the framework prints while loading

# The probes are programs for `python -c`, run by start_probe in a process of their own: this module and
# its process never load a framework. They load it with importlib.import_module, not an import statement,
# so that the repository's rule (tests/test_repository.py: no line of common/ imports a framework) keeps
# meaning "nothing in common's own processes".
TORCH_PROBE = r"""
import importlib, json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    torch = importlib.import_module("torch")
    info = {"version": torch.__version__, "cuda": torch.version.cuda, "hip": getattr(torch.version, "hip", None),
            "cuda_available": torch.cuda.is_available(), "threads": torch.get_num_threads()}
mps = getattr(torch.backends, "mps", None)
info["mps_available"] = bool(mps and mps.is_available())
info["mps_built"] = bool(mps and mps.is_built())
accelerator = getattr(torch, "accelerator", None)  # torch 2.6 and later: what --device auto takes
if accelerator is not None:
    info["accelerator"] = accelerator.current_accelerator().type if accelerator.is_available() else None
else:
    info["accelerator"] = "cuda" if info["cuda_available"] else "mps" if info["mps_available"] else None
if info["cuda_available"]:
    info["arch_list"] = torch.cuda.get_arch_list()
    info["devices"] = [{"name": torch.cuda.get_device_name(i), "capability": list(torch.cuda.get_device_capability(i))}
                       for i in range(torch.cuda.device_count())]
info["cuda_warning"] = next((str(w.message).splitlines()[0] for w in caught if "CUDA" in str(w.message)), None)
print("DOCTOR-PROBE " + json.dumps(info))
"""

KERAS_PROBE = r"""
import importlib, json
tf = importlib.import_module("tensorflow")
keras = importlib.import_module("keras")
build = tf.sysconfig.get_build_info()
gpus = tf.config.list_physical_devices("GPU")
info = {"version": tf.__version__, "keras": keras.__version__, "gpus": [g.name for g in gpus],
        "cuda_build": bool(build.get("is_cuda_build")), "cuda": build.get("cuda_version"),
        "names": [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]}
print("DOCTOR-PROBE " + json.dumps(info))
"""

PROBES = {"pytorch": TORCH_PROBE, "keras": KERAS_PROBE}


def start_probe(framework: str) -> subprocess.Popen:
    env = dict(os.environ)
    if framework == "keras":
        env["KERAS_BACKEND"] = "tensorflow"  # Keras on torch would load torch beside TensorFlow
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up lines are not the answer
    return subprocess.Popen([sys.executable, "-c", PROBES[framework]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def finish_probe(process: subprocess.Popen, timeout: float = 300) -> dict:
    """The probe's facts, or {"error": one line} when the framework did not import or answer."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": f"no answer in {timeout:.0f} s"}
    for line in reversed(out.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    lines = [line for line in err.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if re.match(r"\w*(Error|Exception)\b", line)), None)
    return {"error": (last or (lines[-1] if lines else f"exit code {process.returncode}")).strip()}


def probe_all(frameworks: list) -> dict:
    """Every framework's facts; the probes run side by side, each in its own process."""
    started = {name: start_probe(name) for name in frameworks}
    return {name: finish_probe(process) for name, process in started.items()}


# --- the report --------------------------------------------------------------------------------------

def torch_lines(torch: dict, nvidia: dict) -> list:
    """The PyTorch line, then its warning if any."""
    if torch.get("error"):
        return [f"PyTorch: torch does not import ({torch['error']}): the PyTorch scripts need torch and "
                f"torchvision (docs/install.md)"]
    build = (f"CUDA {torch['cuda']} build" if torch.get("cuda") else f"ROCm {torch['hip']} build" if torch.get("hip")
             else "CPU-only build")
    what = f"torch {torch['version']} ({build})"
    kind = torch.get("accelerator")
    if kind == "cuda":
        names = ", ".join(d["name"] for d in torch.get("devices", [])) or "a CUDA GPU"
        line = f"PyTorch: --device auto trains on cuda ({names}): {what} finds it"
    elif kind:
        line = f"PyTorch: --device auto trains on {kind}: torch.accelerator finds it ({what})"
    else:
        not_there = ["torch.cuda.is_available() is False"]
        if sys.platform == "darwin":
            not_there.append("no Apple MPS (macOS 14 or later on Apple Silicon)" if torch.get("mps_built")
                             else "this torch has no MPS")
        line = (f"PyTorch: --device auto trains on the CPU ({torch.get('threads')} threads): {what} finds no "
                f"accelerator ({'; '.join(not_there)})")
    warning = torch_advice(nvidia, {**torch, "torchvision": installed("torchvision")})
    return [line] + ([f"warning: {warning}"] if warning else [])


def keras_lines(tf: dict, nvidia: dict) -> list:
    """The Keras line, then its warnings if any."""
    backend = os.environ.get("KERAS_BACKEND")
    warnings = ([f"warning: KERAS_BACKEND={backend}: the Keras scripts run on TensorFlow only and refuse it; "
                 f"unset it"] if backend and backend.lower() != "tensorflow" else [])
    if tf.get("error"):
        return [f"Keras: TensorFlow or Keras does not import ({tf['error']}): the Keras scripts need "
                f"tensorflow and keras (docs/install.md)"] + warnings
    distribution = tensorflow_distribution() or "tensorflow"
    what = f"TensorFlow {tf['version']} ({distribution}) with Keras {tf['keras']}"
    if tf.get("gpus"):
        line = f"Keras: --device auto trains on the GPU ({', '.join(tf.get('names') or tf['gpus'])}): {what} sees it"
    else:
        line = f"Keras: --device auto trains on the CPU ({os.cpu_count()} cores): {what} sees no GPU"
    warning = keras_advice(nvidia, {**tf, "distribution": distribution})
    return [line] + ([f"warning: {warning}"] if warning else []) + warnings


def report(frameworks: list, facts: dict, nvidia: dict) -> list:
    """Every line the doctor prints, from what it found."""
    problem = unsupported()
    lines = [f"Python {platform.python_version()} ({sys.executable}) on {platform.system()} {platform.machine()}: "
             + (f"not supported: {problem}" if problem else f"supported ({supported_range()})")]
    versions = {name: installed(name) for name in PACKAGES}
    missing = [name for name, v in versions.items() if not v and name not in ("tensorflow", "tensorflow-cpu")]
    if not tensorflow_distribution():
        missing.insert(0, "tensorflow")
    lines.append("packages: " + ", ".join(f"{name} {v}" for name, v in versions.items() if v)
                 + (f"; not installed: {', '.join(missing)}" if missing else ""))
    if not versions["tensorboard"]:
        lines.append("note: --tensorboard needs the tensorboard package (it is in every install line)")
    lines.append(f"NVIDIA GPU: {describe_gpus(nvidia)}" if nvidia["gpus"]
                 else f"NVIDIA GPU: none ({nvidia.get('why', 'nvidia-smi lists none')})")
    if "pytorch" in frameworks:
        lines += torch_lines(facts["pytorch"], nvidia)
    if "keras" in frameworks:
        lines += keras_lines(facts["keras"], nvidia)
    return lines


def main(argv=None) -> int:
    parser = Parser(prog="python -m common.doctor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("pytorch", "keras"), default=None,
                        help="check one framework (default: both, each in its own process)")

    def body() -> int:
        args = parser.parse_args(argv)
        frameworks = [args.only] if args.only else ["pytorch", "keras"]
        facts = probe_all(frameworks)
        lines = report(frameworks, facts, nvidia_smi())
        print("\n".join(lines))
        return 1 if any(line.startswith("warning:") for line in lines) else 0

    return run_command(body, "the check was stopped; it changes nothing")


if __name__ == "__main__":
    exit_process(main())
