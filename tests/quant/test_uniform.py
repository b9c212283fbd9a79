"""Uniform grids: S0's integer signals, QCFS's clip-floor-shift, and LSQ."""

import math

import pytest
import torch

import snnq


def test_unsigned_integer_signals():
    q = snnq.quantizer("uniform", bits=4, scale=0.5)
    form = q.integer_form(torch.tensor([-1.0, 0.2, 0.25, 3.3, 100.0]))
    assert form.codes.tolist() == [0, 0, 1, 7, 15] and form.codeset.high == 15


def test_scale_calibrates_from_the_first_tensor():
    q = snnq.quantizer("uniform", bits=8, signed=True)
    q(torch.tensor([-2.54, 1.0]))
    assert math.isclose(float(q.step.detach()), 2.54 / 127, rel_tol=1e-6)


def qcfs(x: torch.Tensor, lam: torch.Tensor, levels: int) -> torch.Tensor:
    """QCFS as written in Bu et al. (2022): lambda * clip(floor(x L / lambda + 0.5) / L, 0, 1)."""
    return lam * torch.clamp(torch.floor(x * levels / lam + 0.5) / levels, 0, 1)


def test_learned_clip_equals_qcfs_in_value_and_gradient():
    levels, lam = 8, 2.0
    q = snnq.quantizer("uniform", levels=levels, scale=lam / levels, learn_scale=True)
    x = torch.linspace(-1, 3, 97)
    assert torch.allclose(q(x), qcfs(x, torch.tensor(lam), levels), atol=1e-6)

    # Gradient wrt lambda, QCFS's way (floor with a straight-through gradient, then torch.clamp). torch.clamp
    # passes no gradient at exactly 0 or 1, where ours does (a representable level is inside the range), so
    # compare on inputs that do not round onto the two ends of the range.
    x = torch.cat([torch.linspace(0.2, 1.8, 33), torch.tensor([-0.5, -3.0, 2.5, 7.0])])
    lam_ref = torch.tensor(lam, requires_grad=True)
    z = x * levels / lam_ref
    z = z + (torch.floor(z + 0.5) - z).detach()
    (lam_ref * torch.clamp(z / levels, 0, 1)).sum().backward()
    q.step.grad = None
    q(x).sum().backward()
    assert torch.allclose(q.step.grad / levels, lam_ref.grad, rtol=1e-5)


def test_lsq_initial_step_and_gradient_scale():
    q = snnq.quantizer("lsq", bits=4)
    w = torch.randn(64, 32)
    q(w)
    assert math.isclose(float(q.step.detach()), 2 * float(w.abs().mean()) / math.sqrt(7), rel_tol=1e-5)
    # the step's gradient is the plain STE gradient times 1 / sqrt(N * Q_P)
    q.step.grad = None
    q(w).sum().backward()
    s = q.step.detach()
    z = w / s
    plain = torch.where(z <= -8, -8.0, torch.where(z >= 7, 7.0, torch.floor(z + 0.5) - z)).sum()
    assert torch.allclose(q.step.grad, plain / math.sqrt(w.numel() * 7), rtol=1e-4)


def test_lsq_codes_are_signed_b_bit():
    q = snnq.quantizer("lsq", bits=3, scale=1.0)
    assert q.integer_form(torch.tensor([-10.0, 10.0, 0.4])).codes.tolist() == [-4, 3, 0]


def test_learned_step_trains():
    q = snnq.quantizer("uniform", bits=4, scale=0.01, learn_scale=True)
    target = torch.rand(256) * 3
    optimizer = torch.optim.Adam(q.parameters(), lr=0.01)
    start = float(((q(target) - target) ** 2).mean().detach())
    for _ in range(200):
        loss = ((q(target) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < start / 10


@pytest.mark.parametrize("bits", [2, 8, 16])
def test_membrane_quantizer_puts_the_threshold_on_the_grid(bits):
    q = snnq.membrane_quantizer(bits, threshold=0.7)
    assert float(q(torch.tensor(0.7))) == pytest.approx(0.7, rel=1e-7)
    assert q.integer_form(torch.tensor([0.7])).codes.item() == 2 ** (bits - 2)
    assert float(q(torch.tensor(100.0))) == pytest.approx(0.7 / 2 ** (bits - 2) * (2 ** (bits - 1) - 1))


def test_power_of_two_step_learns_the_range_on_a_dyadic_grid():
    q = snnq.quantizer("uniform", levels=4, scale=0.3, learn_scale=True, pow2_scale=True)
    assert q.fixed_step() == 0.25  # 0.3 is nearer 0.25 than 0.5 on the log scale
    x = torch.tensor([0.1, 0.3, 0.9, 5.0])
    assert q(x).tolist() == [0.0, 0.25, 1.0, 1.0]
    q(x).sum().backward()
    assert q.step.grad is not None and q.step.grad != 0  # the range still learns
    with torch.no_grad():
        q.step.fill_(0.4)
    assert q.fixed_step() == 0.5
    from snnq.testing import check_quantizer

    check_quantizer(q, torch.randn(30))


@pytest.mark.parametrize("rounding", ["half_up", "half_even", "floor"])
def test_fused_learned_step_matches_the_unfused_graph_per_channel(rounding):
    from snnq.quant.ste import learned_step_fake_quant, round_clamp_ste

    torch.manual_seed(0)
    x = (torch.randn(4, 3, 5, 5) * 2).requires_grad_(True)
    step = (torch.rand(1, 3, 1, 1) + 0.1).requires_grad_(True)
    grad = torch.randn(4, 3, 5, 5)
    fused = learned_step_fake_quant(x, step, -4.0, 3.0, rounding)
    unfused = round_clamp_ste(x / step, -4.0, 3.0, rounding) * step
    assert torch.equal(fused, unfused)
    for a, b in zip(torch.autograd.grad(fused, (x, step), grad), torch.autograd.grad(unfused, (x, step), grad)):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b)
