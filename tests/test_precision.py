"""--precision auto: the choice on every kind of device, with the hardware's capabilities given (mocked)."""
import pytest

from common import precision

AMX_CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
ZEN4_CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n"
OLD_CPUINFO = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"


def test_the_cpus_bf16_instructions_are_read_from_its_flags():
    assert precision.cpu_bf16_features(AMX_CPUINFO) == ["amx_bf16", "avx512_bf16"]
    assert precision.cpu_bf16_features(ZEN4_CPUINFO) == ["avx512_bf16"]
    assert precision.cpu_bf16_features(OLD_CPUINFO) == []
    assert precision.cpu_bf16_features("") == []


@pytest.mark.parametrize("device, cpu_bf16, cuda_bf16, expected", [
    ("cpu", True, False, "bf16"),    # AMX-BF16 or AVX512-BF16
    ("cpu", False, False, "fp32"),   # emulated bf16 is several times slower
    ("cuda", False, True, "bf16"),   # Ampere and later
    ("cuda", False, False, "fp16"),  # older tensor cores: fp16 with loss scaling
    ("gpu", False, True, "bf16"),    # TensorFlow's name for it
    ("mps", True, False, "fp32"),    # not measured faster
    ("xpu", False, False, "fp32"),
])
def test_auto_picks_bf16_only_where_the_device_computes_it(device, cpu_bf16, cuda_bf16, expected):
    assert precision.choose("auto", device, cpu_bf16=cpu_bf16, cuda_bf16=cuda_bf16) == expected


@pytest.mark.parametrize("requested", ["fp32", "bf16", "fp16"])
def test_an_explicit_precision_is_kept_on_any_device(requested):
    for device in ("cpu", "cuda", "mps"):
        assert precision.choose(requested, device) == requested


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError):
        precision.choose("fp8", "cpu")
