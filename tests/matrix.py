"""The issue-#4 test matrix: every algorithm x observation space x action space x variant.

One list of :class:`Case` drives both the Octave parity tests
(``tests/matlab/test_parity_matrix.py``) and the README coverage table
(``scripts/coverage_table.py``), so the table cannot drift from what is tested.
Models are tiny (``net_arch=[8]``, 36x36 images for NatureCNN) and their weights
are randomized with :func:`envs.perturb`, so outputs spread as after training.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from envs import SpaceEnv, box, perturb
from sb3_contrib import ARS, QRDQN, TQC, TRPO, CrossQ, MaskablePPO, RecurrentPPO
from sb3_contrib.common.torch_layers import BatchRenorm1d
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3, HerReplayBuffer

# --------------------------------------------------------------------------- spaces
BOX = box(-1.0, 1.0, shape=(5,))
BOX_2D = box(-2.0, 2.0, shape=(2, 3))
BOX_3D = box(-1.0, 1.0, shape=(2, 3, 4))  # 3-D but not an image: no transpose, no /255
DISCRETE = gym.spaces.Discrete(5)
MULTI_DISCRETE = gym.spaces.MultiDiscrete([3, 4, 2])
MULTI_BINARY = gym.spaces.MultiBinary(4)
IMAGE = gym.spaces.Box(0, 255, (36, 36, 3), np.uint8)  # channel-last, as envs give it
IMAGE_CHW = gym.spaces.Box(0, 255, (2, 36, 36), np.uint8)  # an env giving channel-first
FLOAT_IMAGE = box(0.0, 1.0, shape=(3, 36, 36))  # normalize_images=False, channel-first
DICT = gym.spaces.Dict({"pos": box(-1.0, 1.0, shape=(3,)), "mode": gym.spaces.Discrete(3),
                        "flags": gym.spaces.MultiBinary(2), "grid": box(-1.0, 1.0, (2, 2))})
DICT_IMAGE = gym.spaces.Dict({"cam": gym.spaces.Box(0, 255, (36, 36, 1), np.uint8),
                              "vec": box(-1.0, 1.0, shape=(4,))})
DICT_BOXES = gym.spaces.Dict({"a": box(-5.0, 5.0, shape=(3,)), "b": box(-1.0, 1.0, (2,))})

ACT_BOX = box([-3.0, 0.0, -0.5], [7.0, 10.0, 0.25])
ACT_BOX_2D = box(-1.0, 2.0, shape=(2, 2))
ACT_DISCRETE = gym.spaces.Discrete(4)
ACT_MULTI_DISCRETE = gym.spaces.MultiDiscrete([3, 2])
ACT_MULTI_BINARY = gym.spaces.MultiBinary(3)

#: Table columns: observation-space kinds, in order.
OBS_COLUMNS = ("Box", "Box N-D", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Image")
#: Table rows: algorithms, in the issue's order.
ALGORITHMS = ("A2C", "DDPG", "DQN", "PPO", "SAC", "TD3", "ARS", "CrossQ", "MaskablePPO",
              "QR-DQN", "RecurrentPPO", "TQC", "TRPO", "HER")
ACTION_CODES = {"Box": "B", "Discrete": "D", "MultiDiscrete": "MD", "MultiBinary": "MB"}
#: Cells an algorithm cannot have: SB3/sb3-contrib ship no policy for them.
NOT_APPLICABLE = {
    ("ARS", "Dict"): "ARS has MlpPolicy/LinearPolicy only (FlattenExtractor)",
    ("CrossQ", "Dict"): "CrossQ has MlpPolicy only (FlattenExtractor)",
    ("RecurrentPPO", "MultiDiscrete"): "sb3-contrib 2.9 cannot build its LSTM for it "
                                       "(nn.LSTM rejects the numpy-int input size)",
}


def _space_kind(space: gym.Space) -> str:
    if isinstance(space, gym.spaces.Dict):
        return "Dict"
    if isinstance(space, gym.spaces.Box):
        if len(space.shape) == 3 and space in (IMAGE, IMAGE_CHW, FLOAT_IMAGE):
            return "Image"
        return "Box" if len(space.shape) == 1 else "Box N-D"
    return type(space).__name__


@dataclass(frozen=True)
class Case:
    """One exported model, run in Octave and compared with SB3's ``predict``.

    :param name: unique test id.
    :param algo: the table row (an entry of :data:`ALGORITHMS`).
    :param make: builds the model from (observation space, action space).
    :param obs_space: the env's observation space (raw layout, before SB3's wrappers).
    :param act_space: the env's action space.
    :param variant: what else this case covers (table's last column).
    :param kind: ``"plain"``, ``"masked"`` (MaskablePPO with 'ActionMasks') or
        ``"recurrent"`` (a sequence carrying 'State' with 'EpisodeStart' resets).
    :param vec_normalize: export with VecNormalize statistics.
    """

    name: str
    algo: str
    make: Callable[[gym.Space, gym.Space], Any]
    obs_space: gym.Space
    act_space: gym.Space
    variant: str = ""
    kind: str = "plain"
    vec_normalize: bool = False
    column: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column", _space_kind(self.obs_space))

    @property
    def action(self) -> str:
        return type(self.act_space).__name__

    def build(self) -> Any:
        model = self.make(self.obs_space, self.act_space)
        perturb(model, seed=zlib.crc32(self.name.encode()) % 1000)
        randomize_buffers(model, seed=len(self.name))
        return model


def randomize_buffers(model: Any, seed: int) -> None:
    """Give BatchRenorm running statistics (buffers, untouched by perturb) real values."""
    gen = th.Generator().manual_seed(seed)
    with th.no_grad():
        for module in model.policy.modules():
            if isinstance(module, BatchRenorm1d):
                module.ra_mean.copy_(th.randn(module.ra_mean.shape, generator=gen))
                module.ra_var.copy_(th.rand(module.ra_var.shape, generator=gen) * 2 + 0.2)


# --------------------------------------------------------------------------- models
SMALL = {"net_arch": [8]}
CNN = {"features_extractor_kwargs": {"features_dim": 16}}
COMBINED = {"features_extractor_kwargs": {"cnn_output_dim": 8}}
LSTM = {"lstm_hidden_size": 6}


def _policy_name(obs: gym.Space, recurrent: bool = False) -> str:
    kind = _space_kind(obs)
    name = {"Dict": "MultiInput", "Image": "Cnn"}.get(kind, "Mlp")
    return f"{name}LstmPolicy" if recurrent else f"{name}Policy"


def _kwargs(policy: str, extra: dict[str, Any] | None) -> dict[str, Any]:
    kwargs = dict(SMALL)
    if policy.startswith("Cnn"):
        kwargs.update(CNN)
    elif policy.startswith("MultiInput"):
        kwargs.update(COMBINED)
    kwargs.update(extra or {})
    return kwargs


def on_policy(algo: type, policy: str | None = None, recurrent: bool = False,
              **extra: Any) -> Callable[[gym.Space, gym.Space], Any]:
    """A factory for A2C/PPO/TRPO/MaskablePPO/RecurrentPPO with tiny networks."""
    policy_kwargs = extra.pop("policy_kwargs", None)

    def make(obs: gym.Space, act: gym.Space) -> Any:
        kwargs = {"n_steps": 8} if algo is A2C else {"n_steps": 16, "batch_size": 16}
        name = policy or _policy_name(obs, recurrent)
        policy_kwargs_ = _kwargs(name, policy_kwargs)
        if recurrent:
            policy_kwargs_ = {**LSTM, **policy_kwargs_}
        return algo(name, SpaceEnv(obs, act), seed=0, device="cpu",
                    policy_kwargs=policy_kwargs_, **kwargs, **extra)

    return make


def off_policy(algo: type, policy: str | None = None, **extra: Any
               ) -> Callable[[gym.Space, gym.Space], Any]:
    """A factory for DQN/QR-DQN/SAC/TD3/DDPG/TQC/CrossQ with tiny networks and buffers."""
    policy_kwargs = extra.pop("policy_kwargs", None)

    def make(obs: gym.Space, act: gym.Space) -> Any:
        name = policy or _policy_name(obs)
        return algo(name, SpaceEnv(obs, act), seed=0, device="cpu", buffer_size=64,
                    policy_kwargs=_kwargs(name, policy_kwargs), **extra)

    return make


def ars(policy: str, **policy_kwargs: Any) -> Callable[[gym.Space, gym.Space], Any]:
    """A factory for ARS (its policies take no features-extractor options)."""

    def make(obs: gym.Space, act: gym.Space) -> Any:
        kwargs = dict(SMALL, **policy_kwargs) if policy == "MlpPolicy" else policy_kwargs
        return ARS(policy, SpaceEnv(obs, act), seed=0, device="cpu", policy_kwargs=kwargs)

    return make


# --------------------------------------------------------------------------- HER
class GoalEnv(SpaceEnv):
    """A tiny goal-conditioned env (the GoalEnv API) for HerReplayBuffer: reach a 2-D goal."""

    def __init__(self, action_space: gym.Space) -> None:
        super().__init__(gym.spaces.Dict({
            "observation": box(-5.0, 5.0, shape=(4,)),
            "achieved_goal": box(-5.0, 5.0, shape=(2,)),
            "desired_goal": box(-5.0, 5.0, shape=(2,)),
        }), action_space, episode_len=10)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = super().step(action)
        reward = float(self.compute_reward(obs["achieved_goal"], obs["desired_goal"], {}))
        return obs, reward, terminated, truncated, info

    def compute_reward(self, achieved: np.ndarray, desired: np.ndarray, info: Any) -> np.ndarray:
        return -(np.linalg.norm(achieved - desired, axis=-1) > 0.5).astype(np.float32)


HER_SPACE = GoalEnv(ACT_BOX).observation_space


def her(algo: type, learn: int = 0) -> Callable[[gym.Space, gym.Space], Any]:
    """A factory for an off-policy model with HerReplayBuffer on :class:`GoalEnv`."""

    def make(obs: gym.Space, act: gym.Space) -> Any:
        model = algo("MultiInputPolicy", GoalEnv(act), seed=0, device="cpu", buffer_size=200,
                     replay_buffer_class=HerReplayBuffer, learning_starts=20, batch_size=8,
                     replay_buffer_kwargs={"n_sampled_goal": 2}, policy_kwargs=dict(SMALL))
        if learn:
            model.learn(learn)  # really trained with HER, a few steps
        return model

    return make


# --------------------------------------------------------------------------- cases
def _per_space(prefix: str, algo: str, make: Callable, action: gym.Space,
               skip: tuple[str, ...] = (), kind: str = "plain") -> list[Case]:
    """One case per observation column, all with the same action space."""
    spaces_ = {"box": BOX, "box-2d": BOX_2D, "box-3d": BOX_3D, "discrete": DISCRETE,
               "multidiscrete": MULTI_DISCRETE, "multibinary": MULTI_BINARY, "dict": DICT,
               "image": IMAGE}
    return [Case(f"{prefix}-{name}", algo, make, space, action, kind=kind)
            for name, space in spaces_.items() if name not in skip]


def _per_action(prefix: str, algo: str, make: Callable, actions: tuple[gym.Space, ...],
                kind: str = "plain") -> list[Case]:
    return [Case(f"{prefix}-act-{type(a).__name__.lower()}", algo, make, BOX, a, kind=kind)
            for a in actions]


ALL_ACTIONS = (ACT_BOX, ACT_DISCRETE, ACT_MULTI_DISCRETE, ACT_MULTI_BINARY)
DISCRETE_ACTIONS = (ACT_DISCRETE, ACT_MULTI_DISCRETE, ACT_MULTI_BINARY)


def _a2c_ppo_trpo() -> list[Case]:
    cases: list[Case] = []
    for algo, label in ((A2C, "a2c"), (PPO, "ppo"), (TRPO, "trpo")):
        name = algo.__name__
        make = on_policy(algo)
        cases += _per_space(label, name, make, ACT_DISCRETE, skip=("box-3d",))
        cases += _per_action(label, name, make, ALL_ACTIONS)
        cases += [
            Case(f"{label}-box-3d-box-action", name, make, BOX_3D, ACT_BOX),
            Case(f"{label}-image-box-action-separate-features", name, on_policy(
                algo, policy_kwargs={"share_features_extractor": False}), IMAGE, ACT_BOX,
                 "share_features_extractor=False"),
            Case(f"{label}-net-arch-pi-vf", name, on_policy(
                algo, policy_kwargs={"net_arch": {"pi": [7, 5], "vf": [3]}}), BOX, ACT_BOX,
                 "net_arch pi/vf"),
        ]
    for algo, label in ((A2C, "a2c"), (PPO, "ppo")):
        cases += [
            Case(f"{label}-gsde", algo.__name__, on_policy(algo, use_sde=True), BOX, ACT_BOX,
                 "gSDE"),
            Case(f"{label}-gsde-squash", algo.__name__, on_policy(
                algo, use_sde=True, policy_kwargs={"squash_output": True}), BOX_2D, ACT_BOX,
                 "gSDE + squash_output"),
        ]
    cases += [
        Case("ppo-image-channel-first-env", "PPO", on_policy(PPO), IMAGE_CHW, ACT_BOX,
             "channel-first image env"),
        Case("ppo-image-no-normalize", "PPO", on_policy(
            PPO, policy_kwargs={"normalize_images": False}), IMAGE, ACT_DISCRETE,
             "normalize_images=False"),
        Case("ppo-float-image-no-normalize", "PPO", on_policy(
            PPO, policy_kwargs={"normalize_images": False}), FLOAT_IMAGE, ACT_BOX,
             "normalize_images=False"),
        Case("ppo-image-mlp-policy", "PPO", on_policy(PPO, "MlpPolicy"), IMAGE, ACT_DISCRETE,
             "MlpPolicy on images"),
        Case("ppo-dict-image", "PPO", on_policy(PPO), DICT_IMAGE, ACT_MULTI_DISCRETE,
             "Dict with an image key"),
        Case("ppo-box-action-2d", "PPO", on_policy(PPO), BOX, ACT_BOX_2D, "2-D Box action"),
        Case("ppo-dict-vecnormalize", "PPO", on_policy(PPO), DICT_BOXES, ACT_BOX,
             "VecNormalize on a Dict", vec_normalize=True),
    ]
    return cases


def _maskable() -> list[Case]:
    make = on_policy(MaskablePPO)
    cases = _per_space("maskable", "MaskablePPO", make, ACT_DISCRETE, kind="masked")
    cases += _per_action("maskable", "MaskablePPO", make, DISCRETE_ACTIONS, kind="masked")
    cases += [
        Case("maskable-no-masks", "MaskablePPO", make, BOX, ACT_DISCRETE, "without masks"),
        Case("maskable-dict-image", "MaskablePPO", make, DICT_IMAGE, ACT_MULTI_BINARY,
             "Dict with an image key", kind="masked"),
        Case("maskable-separate-features", "MaskablePPO", on_policy(
            MaskablePPO, policy_kwargs={"share_features_extractor": False}), IMAGE,
             ACT_MULTI_DISCRETE, "share_features_extractor=False", kind="masked"),
    ]
    return cases


def _recurrent() -> list[Case]:
    make = on_policy(RecurrentPPO, recurrent=True)
    algo = "RecurrentPPO"
    cases = _per_space("recurrent", algo, make, ACT_BOX, skip=("multidiscrete",),
                       kind="recurrent")
    cases += _per_action("recurrent", algo, make, DISCRETE_ACTIONS, kind="recurrent")
    cases += [
        Case("recurrent-shared-lstm", algo, on_policy(
            RecurrentPPO, recurrent=True,
            policy_kwargs={"shared_lstm": True, "enable_critic_lstm": False}),
             BOX, ACT_DISCRETE, "critic LSTM shared", kind="recurrent"),
        Case("recurrent-no-critic-lstm", algo, on_policy(
            RecurrentPPO, recurrent=True, policy_kwargs={"enable_critic_lstm": False}),
             BOX, ACT_BOX, "no critic LSTM", kind="recurrent"),
        Case("recurrent-separate-critic-lstm-2-layers", algo, on_policy(
            RecurrentPPO, recurrent=True,
            policy_kwargs={"enable_critic_lstm": True, "n_lstm_layers": 2,
                           "share_features_extractor": False}),
             BOX_2D, ACT_MULTI_DISCRETE, "critic LSTM separate, 2 layers", kind="recurrent"),
        Case("recurrent-cnn-lstm-shared", algo, on_policy(
            RecurrentPPO, recurrent=True,
            policy_kwargs={"shared_lstm": True, "enable_critic_lstm": False}),
             IMAGE, ACT_DISCRETE, "CnnLstmPolicy", kind="recurrent"),
        Case("recurrent-gsde", algo, on_policy(RecurrentPPO, recurrent=True, use_sde=True),
             BOX, ACT_BOX, "gSDE", kind="recurrent"),
    ]
    return cases


def _value_based() -> list[Case]:
    cases = _per_space("dqn", "DQN", off_policy(DQN), ACT_DISCRETE, skip=("box-3d",))
    cases += _per_space("qrdqn", "QR-DQN", off_policy(
        QRDQN, policy_kwargs={"n_quantiles": 5}), ACT_DISCRETE, skip=("box-2d",))
    return cases


def _actor_box() -> list[Case]:
    cases: list[Case] = []
    for algo, label, row in ((SAC, "sac", "SAC"), (TD3, "td3", "TD3"), (DDPG, "ddpg", "DDPG"),
                             (TQC, "tqc", "TQC")):
        extra = {"policy_kwargs": {"n_quantiles": 5, "n_critics": 2}} if algo is TQC else {}
        skip = ("box-3d",) if label in ("sac", "tqc") else ("box-2d",)
        cases += _per_space(label, row, off_policy(algo, **extra), ACT_BOX, skip=skip)
    cases += [
        Case("sac-gsde-squash", "SAC", off_policy(SAC, use_sde=True), DICT, ACT_BOX,
             "gSDE (squashed)"),
        Case("sac-net-arch-pi-qf", "SAC", off_policy(
            SAC, policy_kwargs={"net_arch": {"pi": [6, 4], "qf": [3]}}), IMAGE, ACT_BOX,
             "net_arch pi/qf"),
        Case("sac-shared-features", "SAC", off_policy(
            SAC, policy_kwargs={"share_features_extractor": True}), IMAGE, ACT_BOX,
             "share_features_extractor=True"),
        Case("td3-net-arch-pi-qf", "TD3", off_policy(
            TD3, policy_kwargs={"net_arch": {"pi": [6], "qf": [3, 3]}}), BOX, ACT_BOX,
             "net_arch pi/qf"),
        Case("tqc-gsde", "TQC", off_policy(
            TQC, use_sde=True, policy_kwargs={"n_quantiles": 5, "n_critics": 2}), BOX,
             ACT_BOX, "gSDE (squashed)"),
    ]
    crossq = off_policy(CrossQ, policy="MlpPolicy",
                        policy_kwargs={"net_arch": {"pi": [8, 6], "qf": [8]}})
    cases += _per_space("crossq", "CrossQ", crossq, ACT_BOX, skip=("box-3d", "dict"))
    cases += [Case("crossq-gsde", "CrossQ", off_policy(
        CrossQ, policy="MlpPolicy", use_sde=True, policy_kwargs={"net_arch": [8]}), BOX,
                   ACT_BOX, "gSDE (squashed), BatchRenorm running statistics")]
    return cases


def _ars() -> list[Case]:
    cases: list[Case] = []
    for policy, label in (("LinearPolicy", "linear"), ("MlpPolicy", "mlp")):
        make = ars(policy)
        action = ACT_BOX if label == "linear" else ACT_DISCRETE
        cases += [Case(f"ars-{label}-{c.name.split('-', 1)[1]}", "ARS", make, c.obs_space,
                       action, policy)
                  for c in _per_space("x", "ARS", make, action, skip=("dict", "box-3d"))]
        other = ACT_DISCRETE if label == "linear" else ACT_BOX
        cases.append(Case(f"ars-{label}-other-action", "ARS", make, BOX_3D, other, policy))
    cases.append(Case("ars-mlp-no-squash", "ARS", ars("MlpPolicy", squash_output=False),
                      BOX, ACT_BOX, "MlpPolicy without squash_output"))
    return cases


def _her() -> list[Case]:
    return [
        Case("her-sac-trained", "HER", her(SAC, learn=40), HER_SPACE, ACT_BOX, "SAC (trained)"),
        Case("her-td3", "HER", her(TD3), HER_SPACE, ACT_BOX, "TD3"),
        Case("her-ddpg", "HER", her(DDPG), HER_SPACE, ACT_BOX, "DDPG"),
        Case("her-tqc", "HER", her(TQC), HER_SPACE, ACT_BOX, "TQC"),
        Case("her-dqn", "HER", her(DQN), HER_SPACE, ACT_DISCRETE, "DQN"),
        Case("her-qrdqn", "HER", her(QRDQN), HER_SPACE, ACT_DISCRETE, "QR-DQN"),
    ]


def all_cases() -> list[Case]:
    """Every case of the matrix, in table order."""
    cases = (_a2c_ppo_trpo() + _maskable() + _recurrent() + _value_based() + _actor_box()
             + _ars() + _her())
    order = {algo: index for index, algo in enumerate(ALGORITHMS)}
    return sorted(cases, key=lambda c: order[c.algo])


CASES = all_cases()


# --------------------------------------------------------------------------- coverage table
COVERAGE_START = "<!-- coverage:start -->"
COVERAGE_END = "<!-- coverage:end -->"


def _not_applicable(algo: str, column: str) -> str | None:
    if algo == "HER":
        return None if column == "Dict" else "HER needs a goal-conditioned Dict observation"
    return NOT_APPLICABLE.get((algo, column))


def coverage_table(cases: list[Case] | None = None) -> str:
    """Render the README's algorithm x observation-space table from the parity cases.

    A cell lists the action spaces its parity tests use; ``—`` marks a cell the
    algorithm cannot have, with the reason in a footnote.
    """
    cases = CASES if cases is None else cases
    codes = list(ACTION_CODES.values())
    header = ["Algorithm", *OBS_COLUMNS, "Also covered", "Tests"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes: list[str] = []
    for algo in ALGORITHMS:
        mine = [c for c in cases if c.algo == algo]
        row = [algo]
        for column in OBS_COLUMNS:
            found = {ACTION_CODES[c.action] for c in mine if c.column == column}
            reason = _not_applicable(algo, column)
            if found:
                row.append(", ".join(code for code in codes if code in found))
            elif reason:
                if reason not in notes:
                    notes.append(reason)
                row.append(f"— ({notes.index(reason) + 1})")
            else:
                row.append("**missing**")
        variants = sorted({c.variant for c in mine if c.variant})
        row += ["; ".join(variants), str(len(mine))]
        lines.append("| " + " | ".join(row) + " |")
    legend = ("Cells list the action spaces tested: B = Box, D = Discrete, "
              "MD = MultiDiscrete, MB = MultiBinary. Box N-D: 2-D and 3-D Box (C-order "
              "flatten); Dict: CombinedExtractor (MultiInputPolicy); Image: uint8 HxWxC "
              "images through NatureCNN (CnnPolicy), flattened by MlpPolicy for ARS and "
              "CrossQ, which have no CnnPolicy.")
    footnotes = [f"{index}. {note}." for index, note in enumerate(notes, start=1)]
    return "\n".join([
        COVERAGE_START,
        "<!-- generated by scripts/coverage_table.py from tests/matrix.py: do not edit -->",
        "",
        *lines,
        "",
        legend,
        f"Every one of the {len(cases)} cases is a parity test in "
        "`tests/matlab/test_parity_matrix.py`: Octave's `sb3.predict` against SB3's `predict()`.",
        "Not applicable (—), because SB3 or sb3-contrib cannot build such a model:",
        "",
        *footnotes,
        COVERAGE_END,
    ])
