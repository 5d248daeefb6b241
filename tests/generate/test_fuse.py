"""The generated body's rewrites: relus in place, single-use registers folded, variables shared.

Their results run in Octave in tests/generate/test_generate.py (parity with SB3 on the
whole matrix); here each rule is pinned on small bodies.
"""

from __future__ import annotations

from sb3_matlab_callback.generate.fuse import inline_once, relu_in_place, reuse_registers

FLAT = (False, (8,), True)  # single, 8 elements, carries a unit


def test_a_chain_of_layers_writes_one_variable() -> None:
    lines = ["r2 = [obs, 1] * params.op1_weight;",
             "% op 3: linear",
             "r4 = (r2 .* (r2 > 0)) * params.op3_weight;",
             "action(:) = tanh((r4 .* (r4 > 0)) * params.op5_weight);"]
    assert reuse_registers(lines, {2: FLAT, 4: FLAT}) == [
        "r2 = [obs, 1] * params.op1_weight;",
        "% op 3: linear",
        "r2 = (r2 .* (r2 > 0)) * params.op3_weight;",
        "action(:) = tanh((r2 .* (r2 > 0)) * params.op5_weight);"]


def test_three_layers_chain_through_one_variable() -> None:
    lines = ["r2 = obs * w;", "r4 = r2 .* (r2 > 0);", "r6 = r4 * v;", "action(:) = r6;"]
    kinds = {2: FLAT, 4: FLAT, 6: FLAT}
    assert reuse_registers(lines, kinds) == [
        "r2 = obs * w;", "r2 = r2 .* (r2 > 0);", "r2 = r2 * v;", "action(:) = r2;"]


def test_registers_of_another_class_or_size_keep_their_names() -> None:
    lines = ["r2 = obs * w;", "r4 = r2 * v;", "action(:) = r4;"]
    for other in [(True, (8,), True), (False, (9,), True), (False, (8,), False),
                  (False, (2, 2, 2), True)]:
        assert reuse_registers(lines, {2: FLAT, 4: other}) == lines
    assert reuse_registers(lines, {4: FLAT}) == lines, "a register without a kind takes part in nothing"


def test_a_register_still_read_later_is_not_given_away() -> None:
    lines = ["r2 = obs * w;", "r4 = r2 * v;", "r6 = r4 + r2;", "action(:) = r6;"]
    assert reuse_registers(lines, {2: FLAT, 4: FLAT, 6: FLAT}) == [
        "r2 = obs * w;", "r4 = r2 * v;", "r2 = r4 + r2;", "action(:) = r2;"]


def test_registers_assigned_twice_or_in_a_block_keep_their_names() -> None:
    masked = ["r2 = obs * w;", "r4 = r2;", "if nargin >= 3", "  r4(~action_masks) = -1e8;",
              "end", "action(:) = r4;"]
    assert reuse_registers(masked, {2: FLAT, 4: FLAT}) == masked
    twice = ["r2 = obs * w;", "r4 = r2 * v;", "r4 = r4 + 1;", "action(:) = r4;"]
    assert reuse_registers(twice, {2: FLAT, 4: FLAT}) == twice
    # An indexed assignment at the top level keeps the class and size: no obstacle.
    indexed = ["r2 = obs * w;", "r4 = r2 * v;", "r4(1) = 0;", "action(:) = r4;"]
    assert reuse_registers(indexed, {2: FLAT, 4: FLAT}) == [
        "r2 = obs * w;", "r2 = r2 * v;", "r2(1) = 0;", "action(:) = r2;"]
    looped = ["r2 = obs * w;", "for k = 1:2", "  x = r2(k);", "end", "r4 = r2 * v;",
              "action(:) = r4;"]
    assert reuse_registers(looped, {2: FLAT, 4: FLAT}) == looped


def test_a_variable_goes_to_one_register_and_never_to_a_longer_name() -> None:
    lines = ["r3 = obs * w;", "r4 = obs * v;", "r5 = r3 + r4;", "action(:) = r5;"]
    assert reuse_registers(lines, {3: FLAT, 4: FLAT, 5: FLAT}) == [
        "r3 = obs * w;", "r4 = obs * v;", "r3 = r3 + r4;", "action(:) = r3;"]
    longer = ["r10 = obs * w;", "r9 = r10 * v;", "action(:) = r9;"]
    assert reuse_registers(longer, {10: FLAT, 9: FLAT}) == longer


def test_comments_and_char_literals_are_not_renamed() -> None:
    lines = ["r2 = obs * w;", "% r4 from r2", "r4 = r2 * v;",
             "error('sb3:generated:x', 'r4 %d', r4);"]
    assert reuse_registers(lines, {2: FLAT, 4: FLAT}) == [
        "r2 = obs * w;", "% r4 from r2", "r2 = r2 * v;", "error('sb3:generated:x', 'r4 %d', r2);"]


def test_inline_once_folds_a_register_read_once_into_its_reader() -> None:
    lines = ["r2 = [obs, 1] * w;", "% op 2: relu", "r3 = r2 .* (r2 > 0);", "r4 = r3 * v;",
             "r5 = tanh(r4);", "action(:) = r5 .* 2;"]
    assert inline_once(lines, 100) == ["r2 = [obs, 1] * w;", "% op 2: relu",
                                       "action(:) = tanh((r2 .* (r2 > 0)) * v) .* 2;"]
    # No fold makes a line longer than the limit.
    assert inline_once(lines, 30) == ["r2 = [obs, 1] * w;", "% op 2: relu",
                                      "r4 = (r2 .* (r2 > 0)) * v;", "action(:) = tanh(r4) .* 2;"]


def test_a_relu_of_a_register_read_for_the_last_time_runs_in_place() -> None:
    lines = ["r2 = [obs, 1] * w;", "% op 2: relu", "r3 = r2 .* (r2 > 0);", "r4 = r3 * v;",
             "r5 = r4 .* (r4 > 0);", "action(:) = tanh(r5 * u) .* 2;"]
    kinds = {2: FLAT, 3: FLAT, 4: FLAT, 5: FLAT}
    in_place = relu_in_place(lines, kinds)
    assert in_place == ["r2 = [obs, 1] * w;", "% op 2: relu", "r2(r2 < 0) = 0;", "r4 = r2 * v;",
                        "r4(r4 < 0) = 0;", "action(:) = tanh(r4 * u) .* 2;"]
    # The three rewrites together: SAC's default actor (docs/simulink.md).
    assert reuse_registers(inline_once(in_place, 100), kinds) == [
        "r2 = [obs, 1] * w;", "% op 2: relu", "r2(r2 < 0) = 0;", "r2 = r2 * v;",
        "r2(r2 < 0) = 0;", "action(:) = tanh(r2 * u) .* 2;"]


def test_a_relu_stays_a_product_when_its_input_lives_on_or_differs() -> None:
    read_later = ["r2 = obs * w;", "r3 = r2 .* (r2 > 0);", "r4 = r3 + r2;"]
    assert relu_in_place(read_later, {2: FLAT, 3: FLAT, 4: FLAT}) == read_later
    double_input = ["r2 = obs * w;", "r3 = r2 .* (r2 > 0);", "r4 = r3 * v;"]
    assert relu_in_place(double_input, {2: (True, (8,), True), 3: FLAT}) == double_input
    unknown = ["r1 = obs;", "r3 = r1 .* (r1 > 0);", "r4 = r3 * v;"]
    assert relu_in_place(unknown, {3: FLAT}) == unknown, "an input register has no kind"
    nested = ["r2 = obs * w;", "if episode_start", "  r2 = 0 * r2;", "end",
              "r3 = r2 .* (r2 > 0);", "r4 = r3 * v;"]
    assert relu_in_place(nested, {2: FLAT, 3: FLAT}) == nested


def test_the_relu_pattern_is_the_one_the_emitter_writes() -> None:
    from sb3_matlab_callback.generate.activations import EXPRESSIONS

    line = f"r3 = {EXPRESSIONS['relu']('r2', {})};"
    assert relu_in_place(["r2 = obs * w;", line, "r4 = r3 * v;"], {2: FLAT, 3: FLAT}) == [
        "r2 = obs * w;", "r2(r2 < 0) = 0;", "r4 = r2 * v;"]
