"""What every minibatch runner saves: the optimiser's state on the CPU, generators across devices."""

from __future__ import annotations

import torch

from mirlearn.nn.train.epoch import restore_generator


def test_a_generator_state_of_the_same_device_is_restored_exactly():
    g = torch.Generator().manual_seed(7)
    state = g.get_state()
    expected = torch.rand(5, generator=g)
    h = torch.Generator()
    restore_generator(h, state, "cpu")
    assert torch.equal(torch.rand(5, generator=h), expected)


def test_a_state_saved_on_another_device_seeds_the_generator_the_same_way_every_time():
    cuda_like = torch.arange(16, dtype=torch.uint8)  # a CUDA (Philox) state is 16 bytes
    a, b = torch.Generator(), torch.Generator()
    restore_generator(a, cuda_like, "cuda")
    restore_generator(b, cuda_like.clone(), "cuda")
    first = torch.rand(5, generator=a)
    assert torch.equal(first, torch.rand(5, generator=b))
    other = torch.Generator()
    restore_generator(other, torch.arange(1, 17, dtype=torch.uint8), "cuda")  # another saved state, another stream
    assert not torch.equal(torch.rand(5, generator=other), first)
