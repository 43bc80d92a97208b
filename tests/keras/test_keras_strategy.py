"""Keras --strategy, in-process: the parts that need no second device or worker.

The strategies themselves run in subprocesses (tests/test_distributed.py):
splitting the CPU into logical devices only works before TensorFlow starts.
"""
import contextlib
import json
import sys

import pytest

from common.errors import UserError
from tests.helpers import REPO

sys.path.insert(0, str(REPO / "keras"))
import keras_lab  # noqa: E402

CLUSTER = {"worker": ["host1:12345", "host2:12345"]}


class Args:
    lr, seed, device, batch_size, precision = 1e-3, 0, "cpu", 32, "fp32"


def test_default_strategy_is_no_strategy():
    keras_lab.setup(Args)  # no strategy attribute at all: as before --strategy existed
    assert keras_lab.STRATEGY is None and keras_lab.distribution() is None
    assert isinstance(keras_lab.scope(), contextlib.nullcontext)
    assert keras_lab.is_main()


def test_a_valid_tf_config_is_accepted():
    config = {"cluster": CLUSTER, "task": {"type": "worker", "index": 1}}
    assert keras_lab.check_tf_config(json.dumps(config)) == config


@pytest.mark.parametrize("text, fragment", [
    (None, "needs TF_CONFIG"),
    ("", "needs TF_CONFIG"),
    ("{not json", "does not describe a cluster"),
    (json.dumps({"cluster": CLUSTER}), "does not describe a cluster"),
    (json.dumps({"cluster": CLUSTER, "task": {"type": "ps", "index": 0}}), "does not describe a cluster"),
    (json.dumps({"cluster": CLUSTER, "task": {"type": "worker", "index": 2}}), "not in the cluster"),
])
def test_a_missing_or_malformed_tf_config_is_one_clear_error(text, fragment):
    with pytest.raises(UserError, match=fragment) as error:
        keras_lab.check_tf_config(text)
    assert "\n" not in str(error.value) and "TF_CONFIG" in str(error.value)


@pytest.mark.parametrize("task_type, task_id, cluster, chief", [
    (None, None, {}, True),                                           # no cluster: one worker
    ("worker", 0, CLUSTER, True),                                     # worker 0 of a cluster without chief
    ("worker", 1, CLUSTER, False),
    ("chief", 0, {"chief": ["host0:1"], **CLUSTER}, True),
    ("worker", 0, {"chief": ["host0:1"], **CLUSTER}, False),          # a chief exists: it writes
])
def test_only_the_chief_writes(task_type, task_id, cluster, chief):
    assert keras_lab.is_chief(task_type, task_id, cluster) is chief
