"""The one-pass C fake quantization (`snnq.quant.cpu_fake_quant`) gives the PyTorch path's values and gradients."""

import pytest
import torch

from snnq.quant import cpu_fake_quant, ste

STEPS = {
    "per tensor": ((1000, 784), lambda: torch.tensor(2.0**-3)),
    "per output channel": ((64, 3, 3, 3), lambda: torch.exp2(-torch.randint(0, 6, (64, 1, 1, 1)).float())),
    "middle axis, long runs": ((5, 7, 40000), lambda: torch.rand(7, 1) + 0.1),
    "one-element step": ((3, 70000), lambda: torch.tensor([0.37])),
}


def pytorch_path(monkeypatch, fn, *args):
    with monkeypatch.context() as patch:
        patch.setattr(cpu_fake_quant, "layout", lambda x, step: None)
        return fn(*args)


@pytest.mark.parametrize("learned", [False, True], ids=["fixed step", "learned step"])
@pytest.mark.parametrize("mode", list(cpu_fake_quant.MODES))
@pytest.mark.parametrize("case", list(STEPS))
def test_c_kernels_equal_the_pytorch_path(monkeypatch, case, mode, learned):
    torch.manual_seed(0)
    shape, make_step = STEPS[case]
    x = (torch.randn(shape) * 3).requires_grad_(True)
    step = make_step().requires_grad_(learned)
    grad = torch.randn(shape)
    fn = ste.learned_step_fake_quant if learned else ste.fixed_step_fake_quant
    assert cpu_fake_quant.layout(x, step) is not None
    fast, reference = fn(x, step, -8.0, 7.0, mode), pytorch_path(monkeypatch, fn, x, step, -8.0, 7.0, mode)
    assert torch.equal(fast, reference)
    inputs = [x, step] if learned else [x]
    fast_grads, reference_grads = torch.autograd.grad(fast, inputs, grad), torch.autograd.grad(reference, inputs, grad)
    assert torch.equal(fast_grads[0], reference_grads[0])
    if learned:  # a sum over many elements: the order of the additions differs (C sums in double)
        assert fast_grads[1].shape == step.shape
        torch.testing.assert_close(fast_grads[1], reference_grads[1], rtol=1e-4, atol=1e-3)


def test_other_layouts_take_the_pytorch_path():
    x = torch.randn(4, 6)
    assert cpu_fake_quant.layout(x.t(), torch.tensor(0.5)) is None  # not contiguous
    assert cpu_fake_quant.layout(x.double(), torch.tensor(0.5, dtype=torch.float64)) is None
    assert cpu_fake_quant.layout(x, torch.rand(4, 6)) is None  # a step per element
    assert cpu_fake_quant.layout(x, torch.rand(4, 1)) == (6, 4)
    assert cpu_fake_quant.layout(x, torch.rand(6)) == (1, 6)
