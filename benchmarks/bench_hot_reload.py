"""Cost of sb3.poll in Octave against one single-observation sb3.predict, in one process.

Targets (issue #9), SAC's default actor (256x256, Pendulum-v1):
- sb3.poll with nothing new: at most 3 single-observation sb3.predict calls;
- sb3.poll that loads a new version: at most 100 sb3.predict calls.

Also printed: the same reload through load (a policy without a map of its file) and the
first poll (a full load plus the map), which the targets do not cover.

The machine may be shared: every figure is the best of N timed repetitions.

Usage: python benchmarks/bench_hot_reload.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

from stable_baselines3 import SAC

from sb3_matlab_callback import MatlabExportCallback, matlab_path

SCRIPT = """
addpath('{path}');
save_path = '{folder}';
obs = [0.1 -0.2 0.3];
policy = sb3.poll([], save_path);
for k = 1:200, a = sb3.predict(policy, obs); end
best = @(t) min(t);
t = zeros(1, {repeats});
for k = 1:{repeats}, s = tic; a = sb3.predict(policy, obs); t(k) = toc(s); end
predict = best(t);
for k = 1:{repeats}, s = tic; [policy, u] = sb3.poll(policy, save_path); t(k) = toc(s); end
assert(~u);
nothing = best(t);
% A reload: the poll finds a policy whose checkpoint is not the newest.
r = zeros(1, {reloads});
for k = 1:{reloads}
  old = policy; old.sha256 = ''; old.poll_stamp = [];
  s = tic; [fresh, u] = sb3.poll(old, save_path); r(k) = toc(s);
  assert(u);
end
reload = best(r);
% The same reload through load (a policy without a map of its file, as sb3.load_policy gives).
for k = 1:{reloads}
  old = policy; old.sha256 = ''; old.poll_stamp = []; old.skeleton.map = [];
  s = tic; [fresh, u] = sb3.poll(old, save_path); r(k) = toc(s);
  assert(u);
end
loaded = best(r);
% The first poll: a full sb3.load_policy, plus the map of the file's bytes.
first = zeros(1, 10);
for k = 1:10
  s = tic; fresh = sb3.poll([], save_path); first(k) = toc(s);
end
printf('%.9f %.9f %.9f %.9f %.9f\\n', predict, nothing, reload, loaded, best(first));
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--reloads", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=10_000, seed=0, device="cpu")
        model.learn(100, callback=MatlabExportCallback(100, folder))
        time.sleep(2.5)  # the manifest's timestamp must be older than 2 s to be trusted
        script = Path(tmp) / "bench.m"
        script.write_text(SCRIPT.format(path=matlab_path(), folder=folder, repeats=args.repeats,
                                        reloads=args.reloads))
        out = subprocess.run(["octave-cli", "--no-gui", "--norc", "--quiet", str(script)],
                             capture_output=True, text=True, check=True, env=os.environ).stdout
    predict, nothing, reload, loaded, first = (float(v) for v in out.split()[:5])
    bundle_kib = "SAC MlpPolicy 256x256 actor, Pendulum-v1"
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {bundle_kib}; best of "
          f"{args.repeats} (predict, poll) and {args.reloads} (reload)")
    print(f"sb3.predict, one observation : {predict * 1e6:9.1f} us")
    print(f"sb3.poll, nothing new        : {nothing * 1e6:9.1f} us = {nothing / predict:6.2f} "
          "predict calls (target <= 3)")
    print(f"sb3.poll, loads a new version: {reload * 1e6:9.1f} us = {reload / predict:6.1f} "
          "predict calls (target <= 100), read from the hashed bytes with the last version's map")
    print(f"  the same through load         : {loaded * 1e6:9.1f} us = {loaded / predict:6.1f} "
          "predict calls (a policy without a map, as sb3.load_policy returns it)")
    print(f"sb3.poll, first load          : {first * 1e3:9.2f} ms (sb3.load_policy and the map, "
          "once per program)")


if __name__ == "__main__":
    main()
