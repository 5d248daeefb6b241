"""Reference outputs computed with SB3's own code: frame-stack sequences and critic values.

A frame-stacked bundle's reference is a sequence of single frames of one env, with its
episode starts, run through SB3's own ``StackedObservations`` (what ``VecFrameStack``
uses) and ``model.predict`` with the recurrent state carried, so ``sb3.verify`` replays
it step by step. A bundle with a critic also embeds SB3's critic outputs on the reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

from ..translate.critics import CriticProgram, critic_values
from ..translate.wrappers import EnvFolding, reference_starts, stack_sequence
from .reference import sample_observations


def stacked_reference(
    model: BaseAlgorithm, folding: EnvFolding, vec_normalize: VecNormalize | None,
    frames: Any, seed: int, critic: CriticProgram | None,
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray | None]:
    """Return ``(frames, episode_starts, actions, critic values)`` of one env's sequence.

    :param frames: raw frames to use (a batch; the first starts the only episode), or
        ``None`` for sampled frames in two episodes that each fill the stack.
    """
    assert folding.frame_stack is not None
    if frames is None:
        starts = reference_starts(folding.frame_stack.stacked_obs.n_stack)
        frames = sample_observations(folding.frame_space, np.random.default_rng(seed), len(starts))
    else:
        first = next(iter(frames.values())) if isinstance(frames, dict) else frames
        starts = np.zeros(len(first), dtype=bool)
        starts[0] = True
    sequence = stack_sequence(folding, frames, starts, vec_normalize)
    actions, values = [], []
    state = value_state = None
    for obs, start in zip(sequence.observations, starts, strict=True):
        episode_start = np.array([bool(start)])
        action, state = model.predict(obs, state=state, episode_start=episode_start,
                                      deterministic=True)
        action = np.asarray(action, dtype=np.float64).reshape(1, -1)
        actions.append(action)
        if critic is not None:
            value, value_state = critic_values(model, critic.kind, obs, action, value_state,
                                               episode_start.astype(np.float32))
            values.append(value)
    return (frames, starts, np.concatenate(actions),
            np.concatenate(values) if critic is not None else None)


def critic_reference(values: np.ndarray | None) -> dict[str, Any]:
    """Return the bundle's ``reference.critic``: SB3's critic outputs and their tolerance."""
    if values is None:
        return {}
    scale = max(1.0, float(np.max(np.abs(values)))) if values.size else 1.0
    return {"critic": {"values": values, "atol": 1e-5 * scale}}
