"""Membrane-state quantizers: a signed saturating integer grid in which the firing threshold is an integer."""

from __future__ import annotations

from snnq.errors import ConfigError
from snnq.quant.uniform import MAX_GRID_BITS, UniformQuantizer


def membrane_quantizer(
    bits: int = 8, threshold: float = 1.0, *, threshold_code: int | None = None, rounding: str = "half_up"
) -> UniformQuantizer:
    r"""A quantizer for membrane potentials: ``bits``-bit two's complement, saturating, threshold on the grid.

    .. math:: q(u) = s \cdot \mathrm{clip}(\mathrm{round}(u / s), -2^{b-1}, 2^{b-1} - 1), \qquad s = \theta / \theta_{int}

    ``threshold_code`` (:math:`\theta_{int}`) defaults to ``2^{b-2}``, so the membrane spans ``[-2\theta, 2\theta)``
    and the step is ``theta`` times a power of two (exact in float). Pass it to snnTorch as ``state_quant=``::

        lif = snntorch.Leaky(beta=0.9, state_quant=snnq.quant.membrane_quantizer(8, threshold=1.0))

    It does one divide, round, clamp and multiply per element, where ``snntorch.functional.quant.state_quant``
    compares every element with every level.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= MAX_GRID_BITS:
        raise ConfigError(f"membrane_quantizer: bits={bits!r} is invalid; expected an integer in [2, {MAX_GRID_BITS}]")
    code = 2 ** (bits - 2) if threshold_code is None else threshold_code
    if isinstance(code, bool) or not isinstance(code, int) or not 1 <= code < 2 ** (bits - 1):
        raise ConfigError(
            f"membrane_quantizer: threshold_code={threshold_code!r} is invalid; expected an integer in "
            f"[1, 2^(bits-1) - 1] so that a {bits}-bit membrane can hold the threshold"
        )
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not threshold > 0:
        raise ConfigError(f"membrane_quantizer: threshold={threshold!r} is invalid; expected a number > 0")
    return UniformQuantizer(bits=bits, signed=True, scale=float(threshold) / code, rounding=rounding)
