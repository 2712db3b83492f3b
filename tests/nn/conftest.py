"""Fixtures of the network tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny nets run faster on one thread (no second thread woken per op) and stay fast on a
    loaded machine, where two spinning threads on two cores can slow a step 30-fold."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
