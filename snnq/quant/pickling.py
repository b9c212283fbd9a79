"""Pickling for modules that snnq quantized through ``torch.nn.utils.parametrize``.

PyTorch gives a parametrized module a class made on the fly (``ParametrizedLinear``, a subclass of ``Linear``
holding a property for each parametrized tensor) whose ``__getstate__`` refuses to pickle: "Serialization of
parametrized modules is only supported through state_dict()". Whatever pickles a whole model then fails,
Lightning's ``ddp_spawn`` among them (it sends the model to the processes it starts by pickling it).

`make_picklable` gives that class a ``__reduce_ex__`` that pickles the module as what it is made of: its
original class (importable by name), its own state without the parametrizations, and its ``parametrizations``
(a ``ModuleDict`` of ``ParametrizationList``, ordinary picklable modules, holding each tensor's ``original``
and the quantizers with all their state: steps, observer buffers, fractional lengths, the ``initialized``
flags and their Python mirrors). `restore` rebuilds the plain module, registers a placeholder parametrization
on each tensor (``unsafe=True``: nothing is computed) only to have PyTorch make the parametrized class and its
properties, then puts the unpickled ``parametrizations`` in the placeholders' place: every tensor, quantizer
and flag is the pickled one, bit for bit, and nothing runs a quantizer (which could update its statistics).

``copy.deepcopy`` is untouched: PyTorch's parametrized class has its own ``__deepcopy__``, which comes first.
The module is rebuilt from its parts after they are unpickled, so it must not be reachable from its own state
(a submodule or attribute pointing back at it); Linear and convolution layers never are.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["make_picklable", "restore"]


def make_picklable(module: nn.Module) -> None:
    """Lets the parametrized ``module`` pickle (see the module); a module without parametrizations is left alone.
    The hook goes on the module's own parametrized class (PyTorch makes one per module), so nothing else changes."""
    if parametrize.is_parametrized(module):
        type(module).__reduce_ex__ = _reduce_ex  # type: ignore[method-assign, assignment]


def _reduce_ex(module: nn.Module, protocol: int) -> tuple[Any, tuple[Any, ...]]:
    """``module`` as `restore` and its arguments: the original class, its state, the parametrizations."""
    plain = parametrize.type_before_parametrizations(module)
    state = dict(plain.__getstate__(module))  # the original class's own state (nn.Module: its __dict__)
    modules = dict(state["_modules"])
    parametrizations = modules.pop("parametrizations")
    # fresh containers: `restore` adds and removes its placeholders in them, which a shallow copy must not see
    state.update(_modules=modules, _parameters=dict(state["_parameters"]), _buffers=dict(state["_buffers"]))
    return restore, (plain, state, parametrizations)


def restore(plain: type[nn.Module], state: dict[str, Any], parametrizations: nn.ModuleDict) -> nn.Module:
    """The parametrized module that `make_picklable`'s hook pickled: ``plain`` with ``state``, and
    ``parametrizations`` (each tensor's originals and its parametrizations, as they were) registered."""
    module = plain.__new__(plain)
    module.__setstate__(state)
    for name in parametrizations:  # placeholders only make PyTorch build the class and the tensors' properties
        module.register_buffer(name, torch.empty(0))
        parametrize.register_parametrization(module, name, nn.Identity(), unsafe=True)
    module.parametrizations = parametrizations
    make_picklable(module)
    return module
