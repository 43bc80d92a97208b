"""PyTorch backend, in-process (this file's process never imports TensorFlow)."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from tests.helpers import REPO, assert_progress_lines_for_steps_2_and_3_of_4, tiny_split
from tests.scripts import load_script

sys.path.insert(0, str(REPO / "pytorch"))
import torch_lab  # noqa: E402

from common.architectures import model_params  # noqa: E402
from common.errors import UserError  # noqa: E402

EX1 = load_script("pytorch/ex1_mnist.py")
REPORT = {"model1": 216650, "old_model1": 216650, "model2": 94298, "model3": 94298, "model4": 928314}


@pytest.mark.parametrize("name", list(EX1.MODELS))
def test_built_models_have_the_registry_parameter_count_and_shapes(name):
    model_def = EX1.MODELS[name]
    model = torch_lab.from_layers(model_def.layers, (28, 28, 1))
    assert torch_lab.trainable_params(model) == model_params(model_def, (28, 28, 1)) == REPORT.get(name, model_params(model_def, (28, 28, 1)))
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_old_model1_ends_with_a_softmax_and_model1_with_logits():
    old = torch_lab.from_layers(EX1.MODELS["old_model1"].layers, (28, 28, 1))
    new = torch_lab.from_layers(EX1.MODELS["model1"].layers, (28, 28, 1))
    assert isinstance(old[-1], torch.nn.Softmax) and isinstance(new[-1], torch.nn.Linear)
    assert torch.allclose(old(torch.rand(4, 1, 28, 28)).sum(1), torch.ones(4))


def test_dropout_rate_is_half_as_documented():
    model = torch_lab.from_layers(EX1.MODELS["model4"].layers, (28, 28, 1))
    assert [m.p for m in model if isinstance(m, torch.nn.Dropout)] == [0.5]


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
    args = SimpleNamespace(seed=3, lr=1e-3, batch_size=16, device="cpu")
    histories = []
    for _ in range(2):
        torch_lab.setup(args)
        model = torch_lab.build(EX1.MODELS["model1"], (28, 28, 1), 10, args)
        histories.append(torch_lab.train(model, EX1.MODELS["model1"], split, 2, args)["loss"])
    assert histories[0] == histories[1]


def test_autocast_only_on_cuda_and_channels_last_on_cuda_and_cpu():
    assert torch_lab.speedups("cpu") == (None, True)
    assert torch_lab.speedups("cpu", requested=False) == (None, False)
    assert torch_lab.speedups("mps") == (None, False)
    assert torch_lab.speedups("cuda", bf16_supported=True) == (torch.bfloat16, True)
    assert torch_lab.speedups("cuda", bf16_supported=False) == (torch.float16, True)
    assert torch_lab.speedups("cuda", requested=False, bf16_supported=True) == (None, False)


def test_channels_last_on_cpu_trains_the_same_numbers_as_the_plain_layout():
    split = tiny_split(seed=1)
    histories, layouts = [], []
    for mixed_precision in (True, False):
        args = SimpleNamespace(seed=3, lr=1e-3, batch_size=16, device="cpu", mixed_precision=mixed_precision)
        torch_lab.setup(args)
        model = torch_lab.build(EX1.MODELS["model1"], (28, 28, 1), 10, args)
        histories.append(torch_lab.train(model, EX1.MODELS["model1"], split, 2, args))
        layouts.append(model[0].weight.stride())  # (32, 1, 3, 3): NHWC strides differ only in the C stride
    assert layouts == [(9, 1, 3, 1), (9, 9, 3, 1)]
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-4)


def test_a_long_epoch_reports_progress_between_the_epoch_lines(monkeypatch, capsys):
    from common import progress

    monkeypatch.setattr(progress, "INTERVAL_S", 0.0)  # every step counts as "long"
    args = SimpleNamespace(seed=3, lr=1e-3, batch_size=16, device="cpu")
    torch_lab.setup(args)
    model = torch_lab.build(EX1.MODELS["model1"], (28, 28, 1), 10, args)
    torch_lab.train(model, EX1.MODELS["model1"], tiny_split(), 1, args)
    assert_progress_lines_for_steps_2_and_3_of_4(capsys.readouterr().out)
