"""The value side of a policy (``critic=True``): value functions, Q-networks, action values.

A critic program shares the actor program's observation inputs and registers; its ops
are kept apart (the bundle's ``critic`` variable), so ``sb3.predict`` never runs them.

- ``'value'``: on-policy ``policy.predict_values`` (A2C, PPO, TRPO, MaskablePPO,
  RecurrentPPO, the latter with the critic's own LSTM state), ``N x 1``.
- ``'q_continuous'``: each Q-network of SAC, TD3, DDPG, TQC (mean over quantiles) and
  CrossQ on ``[features, scaled action]``, ``N x n_critics``. The runtime scales the
  env-space action as ``policy.scale_action`` does (the replay buffer stores scaled actions,
  which the critics are trained on).
- ``'q_discrete'``: DQN's ``q_net`` and QR-DQN's quantiles averaged, ``N x n_actions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BaseModel

from ..errors import unsupported
from .builder import Builder
from .extractors.registry import HAS_CONTRIB
from .program import Op

CRITIC_KINDS = ("value", "q_continuous", "q_discrete")


@dataclass
class CriticProgram:
    """A critic's ops (on the actor program's registers) and what the runtime needs besides."""

    kind: str
    ops: list[Op]
    output: int
    recurrent: dict[str, Any] = field(default_factory=dict)
    n_critics: int = 1
    action: dict[str, Any] = field(default_factory=dict)


CriticTranslator = Callable[[BaseAlgorithm, Builder], tuple[str, int, dict[str, Any]]]
_CRITICS: dict[type, CriticTranslator] = {}


def register_critic(algorithm: type) -> Callable[[CriticTranslator], CriticTranslator]:
    """Register ``fn(model, builder) -> (kind, output register, extra)`` for ``algorithm``."""

    def decorator(fn: CriticTranslator) -> CriticTranslator:
        _CRITICS[algorithm] = fn
        return fn

    return decorator


def build_critic(model: BaseAlgorithm, builder: Builder) -> CriticProgram:
    """Translate ``model``'s critic into ops after the actor's, then take them out.

    :raises UnsupportedError: naming the algorithm when it has no critic to export.
    """
    translator = next((_CRITICS[c] for c in type(model).__mro__ if c in _CRITICS), None)
    if translator is None:
        raise unsupported("algorithm for critic=True", type(model).__name__,
                          sorted(c.__name__ for c in _CRITICS))
    program = builder.program
    builder.observation()  # the inputs exist before the critic's first op
    first, actor_state = len(program.ops), program.state
    program.state = {}
    try:
        kind, output, extra = translator(model, builder)
        ops, recurrent = program.ops[first:], program.state
    finally:
        del program.ops[first:]
        program.state = actor_state
    return CriticProgram(kind, ops, output, recurrent, **extra)


def critic_field(critic: CriticProgram | None) -> dict[str, Any]:
    """Return the bundle's ``critic`` variable (``kind = 'none'`` without a critic)."""
    if critic is None:
        return {"kind": "none"}
    ops = np.empty((1, len(critic.ops)), dtype=object)
    for index, o in enumerate(critic.ops):
        ops[0, index] = {"op": o.op, "inputs": np.array(o.inputs, dtype=np.float64).reshape(1, -1),
                         "output": float(o.output), "mode": o.mode, **o.params}
    out: dict[str, Any] = {"kind": critic.kind, "ops": ops, "output": float(critic.output),
                           "n_critics": float(critic.n_critics),
                           "recurrent": critic.recurrent or {"kind": "none"}}
    if critic.action:
        out["action"] = critic.action
    return out


# --------------------------------------------------------------------------- translators
def _value(model: BaseAlgorithm, builder: Builder) -> tuple[str, int, dict[str, Any]]:
    """``predict_values``: vf features -> mlp_extractor.value_net -> value_net."""
    policy = model.policy
    latent = builder.features(policy.vf_features_extractor)
    if getattr(policy, "lstm_actor", None) is not None:  # RecurrentPPO
        if policy.lstm_critic is not None:
            latent = builder.lstm(policy.lstm_critic, latent)
        elif policy.shared_lstm:
            latent = builder.lstm(policy.lstm_actor, latent)
        else:
            latent = builder.module(policy.critic, latent)
    latent = builder.module(policy.mlp_extractor.value_net, latent)
    return "value", builder.module(policy.value_net, latent), {}


def _continuous_q(model: BaseAlgorithm, builder: Builder) -> tuple[str, int, dict[str, Any]]:
    """Each Q-network on ``[features, scale_action(action)]``; TQC: mean over quantiles."""
    policy, critic = model.policy, model.policy.critic
    space = model.action_space
    program = builder.program
    action = program.new_register()
    features = builder.features(critic.features_extractor)
    q_input = program.add("concat", features, action)
    outputs = [builder.module(q_net, q_input) for q_net in critic.q_networks]
    out = outputs[0] if len(outputs) == 1 else program.add("concat", *outputs)
    n_quantiles = getattr(critic, "n_quantiles", None)
    if n_quantiles is not None:  # TQC: N x (n_critics * n_quantiles) in C order
        shape = np.array([[len(outputs), n_quantiles]], dtype=np.float64)
        out = program.add("mean", out, shape=shape, dim=1.0)
    low = np.asarray(space.low, dtype=np.float64).reshape(1, -1)
    high = np.asarray(space.high, dtype=np.float64).reshape(1, -1)
    return "q_continuous", out, {
        "n_critics": len(outputs),
        "action": {"register": float(action), "dim": float(low.size),
                   "scale": float(bool(policy.squash_output)), "low": low, "high": high}}


def _dqn_q(model: BaseAlgorithm, builder: Builder) -> tuple[str, int, dict[str, Any]]:
    q_net = model.policy.q_net
    out = builder.module(q_net.q_net, builder.features(q_net.features_extractor))
    return "q_discrete", out, {"n_critics": int(model.action_space.n)}


register_critic(PPO)(_value)
register_critic(A2C)(_value)
register_critic(SAC)(_continuous_q)
register_critic(TD3)(_continuous_q)
register_critic(DQN)(_dqn_q)


def _register_contrib() -> None:
    from sb3_contrib import QRDQN, TQC, TRPO, CrossQ, MaskablePPO, RecurrentPPO

    def quantile_q(model: BaseAlgorithm, builder: Builder) -> tuple[str, int, dict[str, Any]]:
        net = model.policy.quantile_net
        quantiles = builder.module(net.quantile_net, builder.features(net.features_extractor))
        shape = np.array([[net.n_quantiles, int(model.action_space.n)]], dtype=np.float64)
        out = builder.program.add("mean", quantiles, shape=shape, dim=0.0)
        return "q_discrete", out, {"n_critics": int(model.action_space.n)}

    for algorithm in (TRPO, MaskablePPO, RecurrentPPO):
        register_critic(algorithm)(_value)
    for algorithm in (TQC, CrossQ):
        register_critic(algorithm)(_continuous_q)
    register_critic(QRDQN)(quantile_q)


if HAS_CONTRIB:
    _register_contrib()


# --------------------------------------------------------------------------- reference
def critic_values(model: BaseAlgorithm, kind: str, observations: Any, actions: np.ndarray,
                  state: Any = None, episode_start: np.ndarray | None = None) -> tuple[np.ndarray, Any]:
    """SB3's own critic on policy-side ``observations`` (a batch): ``N x k`` and the new state.

    :param actions: env-space actions (``'q_continuous'``), as ``predict`` returns them.
    :param state: RecurrentPPO's critic LSTM state ``(h, c)`` as numpy, or ``None`` (zeros).
    :param episode_start: RecurrentPPO's episode starts (default all true).
    """
    policy = model.policy
    with th.no_grad():
        obs, _ = policy.obs_to_tensor(observations)
        if kind == "value":
            values, state = _values(policy, obs, state, episode_start)
        elif kind == "q_continuous":
            scaled = policy.scale_action(actions) if policy.squash_output else actions
            act = th.as_tensor(np.asarray(scaled, dtype=np.float32), device=policy.device)
            q = policy.critic(obs, act)
            values = (q.mean(dim=2) if isinstance(q, th.Tensor)
                      else th.cat(tuple(q), dim=1))
        elif hasattr(policy, "quantile_net"):
            values = policy.quantile_net(obs).mean(dim=1)
        else:
            values = policy.q_net(obs)
    return values.cpu().double().numpy().reshape(values.shape[0], -1), state


def _values(policy: Any, obs: th.Tensor, state: Any,
            episode_start: np.ndarray | None) -> tuple[th.Tensor, Any]:
    if getattr(policy, "lstm_actor", None) is None:
        return policy.predict_values(obs), None
    n = obs.shape[0] if isinstance(obs, th.Tensor) else next(iter(obs.values())).shape[0]
    lstm = policy.lstm_critic or policy.lstm_actor
    shape = (lstm.num_layers, n, lstm.hidden_size)
    if state is None:
        state = (np.zeros(shape, np.float32), np.zeros(shape, np.float32))
    starts = np.ones(n, dtype=np.float32) if episode_start is None else episode_start
    h, c = (th.as_tensor(np.asarray(s, np.float32), device=policy.device) for s in state)
    start_t = th.as_tensor(np.asarray(starts, np.float32), device=policy.device)
    values = policy.predict_values(obs, (h, c), start_t)
    if policy.lstm_critic is None and not policy.shared_lstm:
        return values, None
    features = BaseModel.extract_features(policy, obs, policy.vf_features_extractor)
    _, (h, c) = policy._process_sequence(features, (h, c), start_t, lstm)
    return values, (h.cpu().numpy(), c.cpu().numpy())
