"""The active-model switch as frequent readers see it."""

from __future__ import annotations

from pathlib import Path

from harmone.workspace import Workspace


def test_a_follower_sees_every_rewrite_of_model_csv(tmp_path: Path) -> None:
    workspace, _ = Workspace.init(tmp_path / "ws")
    workspace.model_switch_path.unlink(missing_ok=True)
    follower = workspace.follow_active_model()
    assert follower.read() is None
    workspace.write_active_model("svm")
    assert follower.read() == "svm"
    workspace.write_active_model("abc")  # same length: the rename still marks the change
    assert follower.read() == "abc"
    workspace.model_switch_path.write_text("model\nlstm\n", encoding="utf-8")  # a hand edit in place
    assert follower.read() == "lstm"
    workspace.model_switch_path.unlink()
    assert follower.read() is None
