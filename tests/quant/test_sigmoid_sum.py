"""The sigmoid-sum quantizer of Quantization Networks (S4)."""

import pytest
import torch

import snnq


def test_initialisation_follows_the_reference_code():
    q = snnq.quantizer("sigmoid_sum", bits=2)  # levels -1, 0, 1
    w = torch.tensor([0.2, -0.4, 0.1])
    q(w)
    assert float(q.beta.detach()) == pytest.approx(1.25 * 1 / 0.4)
    assert float(q.alpha.detach()) == pytest.approx(0.4 / 1.25)


def test_soft_form_is_the_sum_of_sigmoids():
    q = snnq.quantizer("sigmoid_sum", levels=[-2, 0, 1], temperature=3.0)
    w = torch.linspace(-1, 1, 11)
    q.train()
    y = q(w)
    alpha, beta = q.alpha.detach(), q.beta.detach()
    gaps, biases = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.5])
    arg = (3.0 * (beta * w[:, None] - biases)).clamp(-10, 10)
    expected = alpha * (-2.0 + (gaps * torch.sigmoid(arg)).sum(-1))
    assert torch.allclose(y, expected)


def test_eval_is_the_step_function_the_soft_form_tends_to():
    q = snnq.quantizer("sigmoid_sum", bits=3, temperature=1.0, max_temperature=1e9)
    w = torch.randn(1000)
    q(w)
    q.eval()
    hard = q(w)
    q.train()
    q.set_epoch(10**7)  # a huge temperature: every sigmoid saturates (the clamp at +-10 leaves < 5e-5 per level)
    soft = q(w).detach()
    margin = ((q.beta.detach() * w)[:, None] - q.biases).abs().min(-1).values > 1e-3  # away from the steps
    assert torch.allclose(soft[margin], hard[margin], atol=2e-4 * float(q.alpha.detach()) * 6)


def test_temperature_schedule():
    q = snnq.quantizer("sigmoid_sum", temperature=5.0, max_temperature=2000.0)
    q.set_epoch(0)
    assert float(q.current_temperature) == 5.0
    q.set_epoch(9)
    assert float(q.current_temperature) == 50.0
    q.set_epoch(1000)
    assert float(q.current_temperature) == 2000.0


def test_binary_codes_and_learned_alpha_beta_get_gradients():
    q = snnq.quantizer("sigmoid_sum")
    w = torch.randn(20)
    q.train()
    q(w).pow(2).sum().backward()
    assert q.alpha.grad is not None and q.beta.grad is not None
    q.eval()
    assert set(q.integer_form(w).codes.tolist()) <= {-1, 1}
