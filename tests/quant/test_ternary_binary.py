"""Ternary (TWN threshold rule, learned, fixed) and binary values."""

import torch

import snnq


def test_ternary_threshold_rule():
    w = torch.tensor([0.1, -0.9, 0.5, 0.05, -0.3, 1.2])
    q = snnq.quantizer("ternary")
    delta = 0.7 * w.abs().mean()  # 0.35
    kept = w.abs() > delta
    a = w.abs()[kept].mean()
    assert torch.equal(q.integer_form(w).codes, (torch.sign(w) * kept).to(torch.int8))
    assert torch.allclose(q(w), a * torch.sign(w) * kept)


def test_ternary_threshold_rule_passes_gradients_straight_through():
    w = torch.randn(10, requires_grad=True)
    snnq.quantizer("ternary")(w).sum().backward()
    assert torch.equal(w.grad, torch.ones(10))


def test_fixed_unit_ternary_is_the_s1_synapse():
    q = snnq.quantizer("ternary", mode="learned", scale=1.0, learn_scale=False)
    assert q(torch.tensor([-3.0, -0.6, -0.4, 0.49, 0.51, 9.0])).tolist() == [-1.0, -1.0, 0.0, 0.0, 1.0, 1.0]
    assert list(q.parameters()) == []


def test_learned_ternary_scale_gets_a_gradient():
    q = snnq.quantizer("ternary", mode="learned")
    w = torch.randn(50)
    q(w).pow(2).sum().backward()
    assert q.step.grad is not None and q.step.grad != 0


def test_binary_xnor_scale_per_channel():
    w = torch.tensor([[0.5, -1.5], [2.0, -0.0]])
    q = snnq.quantizer("binary", channel_axis=0)
    assert torch.equal(q(w), torch.tensor([[1.0, -1.0], [1.0, 1.0]]))
    form = q.integer_form(w)
    assert form.codes.tolist() == [[1, -1], [1, 1]] and form.bits == 1


def test_binary_clip_window_stops_gradients_outside():
    q = snnq.quantizer("binary", scale=1.0, clip=1.0)
    w = torch.tensor([0.5, -2.0, 1.0], requires_grad=True)
    q(w).sum().backward()
    assert w.grad.tolist() == [1.0, 0.0, 1.0]
