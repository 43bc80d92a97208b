"""The PyTorch scripts' models and pytorch/torch_lab.py, in-process (this file's process never imports TensorFlow)."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.helpers import REPO, assert_progress_lines_for_steps_2_and_3_of_4, tiny_split
from tests.scripts import input_shape, load_script

sys.path.insert(0, str(REPO / "pytorch"))
import torch_lab  # noqa: E402

from common.errors import UserError  # noqa: E402
from tests.parameter_counts import PARAMS  # noqa: E402

EX1 = load_script("pytorch/ex1_mnist.py")


def fake_run(epochs):
    """What train reads of a model's common.experiment.ModelRun, without checkpoints or TensorBoard."""
    return SimpleNamespace(epochs=epochs, checkpoint=None, tensorboard=None)
SCRIPTS = {path: load_script(path) for path in PARAMS if path.startswith("pytorch/") and "ex4" not in path}


@pytest.mark.parametrize("script, name", [(path, name) for path, module in SCRIPTS.items()
                                          for name in module.MODELS])
def test_every_model_has_the_reports_parameter_count_and_gives_ten_outputs(script, name):
    module = SCRIPTS[script]
    assert list(module.MODELS) == list(module.EPOCHS)  # the table the campaign reads names the same models
    model = module.MODELS[name]()
    assert torch_lab.trainable_params(model) == PARAMS[script][name]
    h, w, c = input_shape(module)
    assert model(torch.zeros(3, c, h, w)).shape == (3, 10)


def test_old_model1_ends_with_a_softmax_and_model1_with_logits():
    old, new = EX1.old_model1(), EX1.model1()
    assert isinstance(old[-1], torch.nn.Softmax) and isinstance(new[-1], torch.nn.Linear)
    assert torch.allclose(old(torch.rand(4, 1, 28, 28)).sum(1), torch.ones(4))
    assert torch_lab.ends_in_softmax(old) and not torch_lab.ends_in_softmax(new)


def test_predict_ranks_by_the_models_own_probabilities_when_it_ends_in_a_softmax():
    """old_model1's output is already a distribution: predict returns it, not a softmax of it (the ties
    1/(e+9) a second softmax gives every confident answer)."""
    torch_lab.setup(SimpleNamespace(seed=0, device="cpu", precision="fp32"))
    old = EX1.old_model1()
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1), dtype=np.uint8)
    with torch.no_grad():
        own = old.eval()(torch_lab.to_device(images)).numpy()
    np.testing.assert_allclose(torch_lab.predict(old, images, 4), own, rtol=1e-6)
    new = EX1.model1()
    with torch.no_grad():
        logits = new.eval()(torch_lab.to_device(images))
    np.testing.assert_allclose(torch_lab.predict(new, images, 4), torch.softmax(logits, 1).numpy(), rtol=1e-6)


def test_the_architecture_text_is_read_from_the_built_model_as_records_hold_it():
    assert torch_lab.layer_words(EX1.model4()) == ("Conv 64/3 - Conv 32/3 - Dropout 0.5 - ReLU - MaxPool 2/s1 - Conv 16/3 - "
                                                "Flatten - Dense 128 relu - Dense 10 softmax")
    assert torch_lab.layer_words(EX1.old_model1()) == "Conv 32/3 - Flatten - Dense 10 softmax - Softmax"


def test_dropout_rate_is_half_as_documented():
    assert [m.p for m in EX1.model4() if isinstance(m, torch.nn.Dropout)] == [0.5]


def test_device_choice():
    assert torch_lab.choose_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert torch_lab.choose_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="--device cuda"):
            torch_lab.choose_device("cuda")


def test_to_device_normalises_and_puts_channels_first():
    images = torch.randint(0, 256, (5, 28, 28, 1), dtype=torch.uint8).numpy()
    x = torch_lab.to_device(images)
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32
    assert torch.allclose(x[2, 0], torch.from_numpy(images[2, :, :, 0]).float() / 255)


def test_same_seed_same_history():
    split = tiny_split()
    args = SimpleNamespace(seed=3, lr=1e-3, batch_size=16, device="cpu", precision="fp32")
    histories = []
    for _ in range(2):
        torch_lab.setup(args)
        model = EX1.model1().to(torch_lab.DEVICE)
        histories.append(torch_lab.train(model, split, args, fake_run(2))["loss"])
    assert histories[0] == histories[1]


def test_autocast_follows_the_precision_and_channels_last_is_on_for_cuda_and_cpu():
    assert torch_lab.speedups("cpu") == (None, True)
    assert torch_lab.speedups("cpu", "bf16") == (torch.bfloat16, True)
    assert torch_lab.speedups("cpu", plain_layout=True) == (None, False)  # the benchmark's --plain-layout
    assert torch_lab.speedups("mps", "bf16") == (torch.bfloat16, False)
    assert torch_lab.speedups("cuda", "fp16") == (torch.float16, True)


def test_channels_last_on_cpu_trains_the_same_numbers_as_the_plain_layout():
    split = tiny_split(seed=1)
    histories, layouts = [], []
    for plain_layout in (False, True):
        args = SimpleNamespace(seed=3, lr=1e-3, batch_size=16, device="cpu", plain_layout=plain_layout,
                               precision="fp32")
        torch_lab.setup(args)
        model = EX1.model1().to(torch_lab.DEVICE)
        histories.append(torch_lab.train(model, split, args, fake_run(2)))
        layouts.append(model[0].weight.stride())  # (32, 1, 3, 3): NHWC strides differ only in the C stride
    assert layouts == [(9, 1, 3, 1), (9, 9, 3, 1)]
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-4)


def test_a_long_epoch_reports_progress_between_the_epoch_lines(monkeypatch, capsys):
    from common import progress

    monkeypatch.setattr(progress, "INTERVAL_S", 0.0)  # every step counts as "long"
    args = SimpleNamespace(seed=3, lr=1e-3, batch_size=16, device="cpu", precision="fp32")
    torch_lab.setup(args)
    model = EX1.model1().to(torch_lab.DEVICE)
    torch_lab.train(model, tiny_split(), args, fake_run(1))
    assert_progress_lines_for_steps_2_and_3_of_4(capsys.readouterr().out)


@pytest.mark.parametrize("capabilities, expected", [
    ({"avx512_bf16": True, "amx_bf16": False}, "bf16"),   # e.g. AMD EPYC Zen 4
    ({"avx512_bf16": False, "amx_bf16": True}, "bf16"),   # Intel Xeon with AMX
    ({"avx512_bf16": False, "amx_bf16": False}, "fp32"),  # emulated bf16 would be slower
])
def test_auto_precision_on_a_cpu_follows_torchs_reading_of_its_bf16_instructions(monkeypatch, capabilities,
                                                                                   expected):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: capabilities)
    assert torch_lab.choose_precision("auto", torch.device("cpu")) == expected
    assert torch_lab.choose_precision("fp32", torch.device("cpu")) == "fp32"


@pytest.mark.parametrize("bf16, expected", [(True, "bf16"), (False, "fp16")])
def test_auto_precision_on_cuda_is_bf16_where_supported_else_fp16(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert torch_lab.choose_precision("auto", torch.device("cuda")) == expected


def test_bf16_trains_under_autocast_with_fp32_weights_and_loss():
    args = SimpleNamespace(seed=3, lr=1e-3, batch_size=16, device="cpu", precision="bf16")
    torch_lab.setup(args)
    assert "bf16 autocast" in torch_lab.DEVICE_TEXT and torch_lab.PRECISION == "bf16"
    model = EX1.model1().to(torch_lab.DEVICE)
    history = torch_lab.train(model, tiny_split(), args, fake_run(1))
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert np.isfinite(history["loss"][0]) and np.isfinite(history["val_loss"][0])
    probs = torch_lab.predict(model, tiny_split().x_test, 16)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(1), 1, atol=1e-5)
    torch_lab.setup(SimpleNamespace(seed=3, device="cpu", precision="fp32"))  # back to the default for the others
