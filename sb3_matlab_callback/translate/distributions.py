"""SB3 action distributions as program heads.

Each overload appends the ops that turn the distribution's parameters into an action
in the policy's native range: ``mode`` ops run when deterministic, ``sample`` ops when
``'Deterministic', false``. The policy-level Box post-processing (unscale or clip) is
added afterwards by the builder.
"""

from __future__ import annotations

from functools import singledispatch

import torch as th
from stable_baselines3.common.distributions import (
    BernoulliDistribution,
    CategoricalDistribution,
    DiagGaussianDistribution,
    Distribution,
    MultiCategoricalDistribution,
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
)

from ..errors import unsupported
from .program import Program

SUPPORTED_DISTRIBUTIONS = (
    "DiagGaussianDistribution", "SquashedDiagGaussianDistribution",
    "StateDependentNoiseDistribution", "CategoricalDistribution",
    "MultiCategoricalDistribution", "BernoulliDistribution",
)


@singledispatch
def add_head(
    dist: Distribution, program: Program, params: int, *,
    log_std: th.Tensor | int | None = None, latent_sde: int | None = None,
) -> int:
    """Append the ops that turn the distribution parameters in ``params`` into an action.

    :param dist: the policy's action distribution.
    :param program: the program to extend.
    :param params: the register with the mean actions or the logits.
    :param log_std: the log standard deviation: a parameter tensor (state-independent)
        or a register (state-dependent, as in SAC).
    :param latent_sde: the register with gSDE's latent features.
    :return: the register that holds the action.
    """
    raise unsupported("action distribution", type(dist).__name__, SUPPORTED_DISTRIBUTIONS)


@add_head.register
def _(dist: DiagGaussianDistribution, program: Program, params: int, *,
      log_std: th.Tensor | int | None = None, latent_sde: int | None = None) -> int:
    _gaussian_sample(program, params, log_std)
    return params


@add_head.register
def _(dist: SquashedDiagGaussianDistribution, program: Program, params: int, *,
      log_std: th.Tensor | int | None = None, latent_sde: int | None = None) -> int:
    _gaussian_sample(program, params, log_std)
    return program.add("tanh", params)


@add_head.register
def _(dist: StateDependentNoiseDistribution, program: Program, params: int, *,
      log_std: th.Tensor | int | None = None, latent_sde: int | None = None) -> int:
    std = dist.get_std(log_std)
    program.assign("sde_sample", params, params, latent_sde, mode="stochastic", std=std)
    return program.add("tanh", params) if dist.bijector is not None else params


@add_head.register
def _(dist: CategoricalDistribution, program: Program, params: int, *,
      log_std: th.Tensor | int | None = None, latent_sde: int | None = None) -> int:
    action = program.add("argmax", params, mode="deterministic")
    program.assign("categorical_sample", action, params, mode="stochastic")
    return action


@add_head.register
def _(dist: MultiCategoricalDistribution, program: Program, params: int, *,
      log_std: th.Tensor | int | None = None, latent_sde: int | None = None) -> int:
    nvec = th.tensor(dist.action_dims, dtype=th.float64).reshape(1, -1)
    action = program.add("multi_argmax", params, mode="deterministic", nvec=nvec)
    program.assign("multi_categorical_sample", action, params, mode="stochastic", nvec=nvec)
    return action


@add_head.register
def _(dist: BernoulliDistribution, program: Program, params: int, *,
      log_std: th.Tensor | int | None = None, latent_sde: int | None = None) -> int:
    action = program.add("binary", params, mode="deterministic")
    program.assign("bernoulli_sample", action, params, mode="stochastic")
    return action


def _gaussian_sample(program: Program, mean: int, log_std: th.Tensor | int | None) -> None:
    if isinstance(log_std, int):
        program.assign("gaussian_sample", mean, mean, log_std, mode="stochastic")
    else:
        program.assign("gaussian_sample", mean, mean, mode="stochastic",
                       log_std=log_std.reshape(1, -1))


def _register_maskable_heads() -> None:
    """Heads of sb3-contrib's maskable distributions (MaskablePPO), if it is installed.

    The ``mask_logits`` op sets the logits of masked-out choices to -1e8, as
    ``MaskableCategorical.apply_masking`` does, from ``sb3.predict``'s ``'ActionMasks'``
    option; without that option it passes the logits through.
    """
    try:
        from sb3_contrib.common.maskable.distributions import (
            MaskableCategoricalDistribution,
            MaskableMultiCategoricalDistribution,
        )
    except ImportError:  # pragma: no cover - sb3-contrib is optional
        return

    def categorical(dist: MaskableCategoricalDistribution, program: Program, params: int, *,
                    log_std: th.Tensor | int | None = None, latent_sde: int | None = None) -> int:
        logits = program.add("mask_logits", params)
        action = program.add("argmax", logits, mode="deterministic")
        program.assign("categorical_sample", action, logits, mode="stochastic")
        return action

    def multi_categorical(dist: MaskableMultiCategoricalDistribution, program: Program,
                          params: int, *, log_std: th.Tensor | int | None = None,
                          latent_sde: int | None = None) -> int:
        # Also MaskableBernoulliDistribution: two choices per binary action.
        nvec = th.tensor([int(n) for n in dist.action_dims], dtype=th.float64).reshape(1, -1)
        logits = program.add("mask_logits", params)
        action = program.add("multi_argmax", logits, mode="deterministic", nvec=nvec)
        program.assign("multi_categorical_sample", action, logits, mode="stochastic", nvec=nvec)
        return action

    add_head.register(MaskableCategoricalDistribution, categorical)
    add_head.register(MaskableMultiCategoricalDistribution, multi_categorical)
    global SUPPORTED_DISTRIBUTIONS
    SUPPORTED_DISTRIBUTIONS = (*SUPPORTED_DISTRIBUTIONS, "MaskableCategoricalDistribution",
                               "MaskableMultiCategoricalDistribution",
                               "MaskableBernoulliDistribution")


_register_maskable_heads()
