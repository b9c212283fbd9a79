"""Fitting a preset's ``fitted`` constants to the one figure each is fitted on (and nothing else).

Each `snnq.hardware.presets.Fit` names a hardware constant, a check with role ``fitted`` and a search interval;
the fits run in file order, each on the spec the previous fits produced. The modelled figure must be monotone
in the constant over the interval: real constants are found by bisection (in log space for positive
intervals), integer ones by scanning the interval for the smallest error. The presets store the rounded
results; `snnq hw presets --fit` recomputes them and a test checks that the stored values are what the fit gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from snnq.errors import ConfigError
from snnq.hardware.modelled import NetworkCache, modelled_value
from snnq.hardware.presets import Preset
from snnq.hardware.spec import get_path, with_overrides


def _bisect(error: Callable[[float], float], low: float, high: float, *, iterations: int = 60) -> float:
    logarithmic = low > 0
    a, b = (math.log(low), math.log(high)) if logarithmic else (low, high)
    value = (lambda x: math.exp(x)) if logarithmic else (lambda x: x)
    fa, fb = error(value(a)), error(value(b))
    if fa == 0:
        return value(a)
    if fa * fb > 0:
        raise ConfigError(f"the fitted figure does not cross the published value on [{low}, {high}] (errors {fa:+.3g}, {fb:+.3g})")
    for _ in range(iterations):
        mid = (a + b) / 2
        fm = error(value(mid))
        if fm == 0:
            return value(mid)
        if fa * fm < 0:
            b, fb = mid, fm
        else:
            a, fa = mid, fm
    return value((a + b) / 2)


def fit_preset(preset: Preset, *, networks: NetworkCache | None = None) -> dict[str, float]:
    """The fitted value of every ``fits`` entry of ``preset``, in order (each fit sees the previous ones)."""
    networks = networks or NetworkCache()
    spec = preset.hardware
    fitted: dict[str, float] = {}
    for fit in preset.fits:
        check = preset.check(fit.check)
        integer = isinstance(get_path(spec, fit.param), int)

        def error(v: float, spec=spec, fit=fit, check=check, integer=integer) -> float:
            hardware = with_overrides(spec, {fit.param: int(v) if integer else v})
            return modelled_value(preset, check, networks, hardware=hardware) / check.published - 1.0

        if integer:
            candidates = range(int(math.ceil(fit.low)), int(math.floor(fit.high)) + 1)
            best = float(min(candidates, key=lambda v: abs(error(v))))
        else:
            best = _bisect(error, fit.low, fit.high)
        fitted[fit.param] = best
        spec = with_overrides(spec, {fit.param: int(best) if integer else best})
    return fitted
