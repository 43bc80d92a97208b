"""PyTorch exercise 4 in-process: the built ResNet50 against the report's parameter count, and the --weights loading paths.

No ImageNet file exists here: the loading code is checked with weights files
this test saves itself from freshly built models (and, for the ImageNet path,
one placed where torch hub caches it).
"""

import sys

import pytest
import torch
from torchvision.models import resnet18

from common.errors import UserError
from tests.helpers import REPO
from tests.parameter_counts import FROZEN_RESNET50, RESNET50
from tests.scripts import load_script, parse
from tests.test_ex4 import (check_committed_records_name_the_architecture_the_script_builds_for_their_settings,
                             check_settings_reach_the_record_and_the_reduced_list)

sys.path.append(str(REPO / "pytorch"))  # torch_lab, as the script finds it
import torch_lab  # noqa: E402

ex4 = load_script("pytorch/ex4_resnet.py")
PARAMS = RESNET50["pytorch"]


def build(tmp_path, *options, model="MyResNet"):
    """The model as the script builds it for these command-line options."""
    return ex4.MODELS[model](parse(ex4, *options, "--out", tmp_path))


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def backbone_tensors(model) -> dict:
    return {k: v for k, v in model.resnet.state_dict().items() if not k.startswith("fc.")}


@pytest.fixture(scope="module")
def saved_backbone(tmp_path_factory):
    """A fresh model and its torchvision-layout state_dict saved as a --weights file."""
    folder = tmp_path_factory.mktemp("weights")
    model = build(folder, "--weights", "none")
    path = folder / "resnet50.pth"
    torch.save(model.resnet.state_dict(), path)
    return model, path


def test_built_model_matches_the_registry_and_outputs_logits(saved_backbone):
    model, _ = saved_backbone
    assert trainable(model) == PARAMS
    assert isinstance(model.resnet.fc, torch.nn.Linear) and model.resnet.fc.out_features == 10
    assert all(p.requires_grad for p in model.parameters())  # every layer trainable, as in the report
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_input_is_normalised_with_the_weights_own_statistics_and_upsampled_on_request(tmp_path):
    model = build(tmp_path, "--weights", "none", "--image-size", "64")
    transform = ex4.imagenet_weights().transforms()
    mean = torch.tensor(transform.mean).view(1, 3, 1, 1)
    x = mean.expand(2, 3, 32, 32).clone()
    out = model.preprocess(x)
    assert out.shape == (2, 3, 64, 64) and out.abs().max() < 1e-6
    assert torch.allclose(model.preprocess(torch.ones(1, 3, 32, 32))[0, :, 0, 0],
                          (1 - mean.flatten()) / torch.tensor(transform.std))
    assert "preprocess.mean" not in model.state_dict()  # constants, not weights


def test_freeze_backbone_trains_only_the_classifier_and_keeps_batchnorm_statistics(tmp_path):
    model = build(tmp_path, "--weights", "none", "--freeze-backbone", model="MyResNetDA")
    assert trainable(model) == FROZEN_RESNET50 == 20_490
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["resnet.fc.weight",
                                                                                 "resnet.fc.bias"]
    model.train()
    assert not any(m.training for m in model.resnet.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert model.resnet.fc.training


def test_weights_path_loads_every_backbone_tensor_into_a_new_model(saved_backbone, tmp_path):
    original, path = saved_backbone
    loaded = build(tmp_path, "--weights", str(path))
    expected, actual = backbone_tensors(original), backbone_tensors(loaded)
    assert expected.keys() == actual.keys() and len(actual) > 300
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
    assert loaded.resnet.fc.out_features == 10 and trainable(loaded) == PARAMS


def test_imagenet_weights_come_from_the_torch_hub_cache(saved_backbone, tmp_path, monkeypatch):
    original, path = saved_backbone
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / ex4.imagenet_weights().url.rsplit("/", 1)[-1]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(path.read_bytes())  # stands in for torchvision's file: found, so nothing is downloaded
    loaded = build(tmp_path, "--weights", "imagenet")
    assert all(torch.equal(v, backbone_tensors(loaded)[k]) for k, v in backbone_tensors(original).items())

    cached.write_bytes(b"truncated download")
    with pytest.raises(UserError, match="cached ImageNet weights .* cannot be read.*--weights none"):
        build(tmp_path, "--weights", "imagenet")


def test_weights_of_another_architecture_or_no_weights_at_all_are_refused(tmp_path):
    other = tmp_path / "resnet18.pth"
    torch.save(resnet18().state_dict(), other)
    with pytest.raises(UserError, match="not the weights of a torchvision ResNet50"):
        build(tmp_path, "--weights", str(other))

    partial = tmp_path / "partial.pth"
    model = build(tmp_path, "--weights", "none")
    state = model.resnet.state_dict()
    del state["layer4.2.conv3.weight"]
    torch.save(state, partial)
    with pytest.raises(UserError, match="1 of its tensors missing.*layer4.2.conv3.weight"):
        build(tmp_path, "--weights", str(partial))

    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"\x00not a torch file")
    with pytest.raises(UserError, match="not a PyTorch weights file"):
        build(tmp_path, "--weights", str(corrupt))

    pickled_module = tmp_path / "module.pth"
    torch.save(torch.nn.Linear(2, 2), pickled_module)  # a whole object: weights_only refuses it
    with pytest.raises(UserError, match="state_dict"):
        build(tmp_path, "--weights", str(pickled_module))


def test_settings_reach_the_record_and_the_reduced_list(tmp_path):
    check_settings_reach_the_record_and_the_reduced_list(ex4, tmp_path)


def test_committed_records_name_the_architecture_the_script_builds_for_their_settings(tmp_path):
    check_committed_records_name_the_architecture_the_script_builds_for_their_settings(ex4, tmp_path)
