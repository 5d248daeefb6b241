"""manifest.py: the CONTRACT.md format, its three rules, retention, errors naming file and rule."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from sb3_matlab_callback.deliver.manifest import (
    MANIFEST_NAME,
    check_listed_files,
    checkpoint_entry,
    new_manifest,
    read_manifest,
    with_checkpoint,
    write_manifest,
)
from sb3_matlab_callback.errors import ManifestError


def _folder_with(tmp_path: Path, n: int, keep_last: int | None = None) -> dict[str, Any]:
    manifest = new_manifest("SAC", run={"env_id": "Pendulum-v1"})
    for version in range(1, n + 1):
        data = f"bundle {version}".encode()
        name = f"policy_v{version:06d}.mat"
        (tmp_path / name).write_bytes(data)
        entry = checkpoint_entry(version, name, 100 * version, hashlib.sha256(data).hexdigest(),
                                 len(data), ep_rew_mean=-float(version))
        manifest, dropped = with_checkpoint(manifest, entry, keep_last)
        for name in dropped:
            (tmp_path / name).unlink()
    write_manifest(tmp_path, manifest)
    return manifest


def test_written_manifest_has_exactly_the_contract_keys_plus_extras(tmp_path: Path) -> None:
    _folder_with(tmp_path, 2)
    raw = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert list(raw)[:5] == ["format", "format_version", "algorithm", "checkpoints", "latest"]
    assert raw["format"] == "sb3-matlab-manifest" and raw["format_version"] == 1
    assert raw["algorithm"] == "SAC" and raw["latest"] == 2
    assert raw["run"] == {"env_id": "Pendulum-v1"}
    entry = raw["checkpoints"][1]
    assert list(entry) == ["version", "file", "num_timesteps", "sha256", "bytes", "created",
                           "ep_rew_mean"]
    assert entry["version"] == 2 and entry["file"] == "policy_v000002.mat"
    assert entry["num_timesteps"] == 200 and entry["ep_rew_mean"] == -2.0
    assert entry["created"].endswith("Z") and len(entry["created"]) == 20
    assert read_manifest(tmp_path) == raw
    check_listed_files(tmp_path, raw, hashes=True)


def test_retention_keeps_the_newest_and_reports_dropped_files() -> None:
    manifest = new_manifest("PPO")
    dropped_all = []
    for version in range(1, 6):
        entry = checkpoint_entry(version, f"p_v{version}.mat", version, "0" * 64, 1)
        manifest, dropped = with_checkpoint(manifest, entry, keep_last=2)
        dropped_all += dropped
    assert [c["version"] for c in manifest["checkpoints"]] == [4, 5]
    assert manifest["latest"] == 5
    assert dropped_all == ["p_v1.mat", "p_v2.mat", "p_v3.mat"]


def test_with_checkpoint_leaves_the_input_unchanged_and_refuses_old_versions() -> None:
    manifest, _ = with_checkpoint(new_manifest("SAC"), checkpoint_entry(3, "a.mat", 0, "0" * 64, 1))
    before = copy.deepcopy(manifest)
    with_checkpoint(manifest, checkpoint_entry(4, "b.mat", 0, "0" * 64, 1))
    assert manifest == before
    with pytest.raises(ValueError, match="not above"):
        with_checkpoint(manifest, checkpoint_entry(3, "c.mat", 0, "0" * 64, 1))


def test_non_finite_extras_become_null() -> None:
    entry = checkpoint_entry(1, "a.mat", 0, "0" * 64, 1, ep_rew_mean=float("nan"))
    assert entry["ep_rew_mean"] is None


def test_missing_manifest_reads_as_none(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) is None


def _break(manifest: dict[str, Any], how: str) -> Any:
    m = copy.deepcopy(manifest)
    cps = m["checkpoints"]
    if how == "format":
        m["format"] = "something-else"
    elif how == "format_version":
        m["format_version"] = 2
    elif how == "algorithm":
        m["algorithm"] = ""
    elif how == "empty":
        m["checkpoints"] = []
    elif how == "order":
        cps.reverse()
    elif how == "latest":
        m["latest"] = 1
    elif how == "path":
        cps[0]["file"] = "../elsewhere.mat"
    elif how == "sha":
        cps[0]["sha256"] = "XYZ"
    elif how == "missing-key":
        del cps[1]["bytes"]
    elif how == "bool-version":
        cps[0]["version"] = True
    elif how == "duplicate":
        cps[1]["file"] = cps[0]["file"]
    elif how == "not-object":
        return [m]
    return m


@pytest.mark.parametrize(("how", "rule"), [
    ("format", "'format' must be 'sb3-matlab-manifest'"),
    ("format_version", "'format_version' is 2"),
    ("algorithm", "'algorithm' must be a non-empty string"),
    ("empty", "'checkpoints' must be a non-empty list"),
    ("order", "rule 1 broken: 'checkpoints' must be in ascending version order"),
    ("latest", "rule 3 broken: 'latest' is 1 but the highest listed version is 2"),
    ("path", "rule 2 broken: checkpoint #1's file '../elsewhere.mat' must be a bare file name"),
    ("sha", "checkpoint #1: 'sha256' must be 64 lowercase hex digits"),
    ("missing-key", "checkpoint #2 lacks 'bytes'"),
    ("bool-version", "checkpoint #1: 'version' must be a positive integer"),
    ("duplicate", "two checkpoints list the same file"),
    ("not-object", "its top level must be a JSON object"),
])
def test_broken_manifest_names_file_and_rule(tmp_path: Path, how: str, rule: str) -> None:
    good = _folder_with(tmp_path, 2)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(_break(good, how)))
    with pytest.raises(ManifestError) as info:
        read_manifest(tmp_path)
    assert str(tmp_path / MANIFEST_NAME) in str(info.value)
    assert rule in str(info.value)


def test_invalid_json_names_file(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text('{"format": "sb3-matlab-manifest", "checkpo')
    with pytest.raises(ManifestError, match="is invalid: it is not valid JSON") as info:
        read_manifest(tmp_path)
    assert str(tmp_path / MANIFEST_NAME) in str(info.value)


def test_write_manifest_refuses_to_write_a_broken_manifest(tmp_path: Path) -> None:
    good = _folder_with(tmp_path, 2)
    before = (tmp_path / MANIFEST_NAME).read_bytes()
    with pytest.raises(ManifestError, match="rule 3"):
        write_manifest(tmp_path, _break(good, "latest"))
    assert (tmp_path / MANIFEST_NAME).read_bytes() == before


@pytest.mark.parametrize(("damage", "message"), [
    ("delete", "it lists 'policy_v000001.mat' (version 1), which is missing"),
    ("truncate", "'policy_v000001.mat' has 4 bytes, the manifest says 8"),
    ("flip", "the sha256 of 'policy_v000001.mat' differs"),
])
def test_rule_2_checks_presence_size_and_hash(tmp_path: Path, damage: str, message: str) -> None:
    manifest = _folder_with(tmp_path, 2)
    target = tmp_path / "policy_v000001.mat"
    if damage == "delete":
        target.unlink()
    elif damage == "truncate":
        target.write_bytes(b"bund")
    else:
        target.write_bytes(b"bundle 9")
    with pytest.raises(ManifestError, match="rule 2 broken") as info:
        check_listed_files(tmp_path, manifest, hashes=True)
    assert message in str(info.value)
