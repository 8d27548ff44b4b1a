"""The session guard of tests/conftest.py sees what a test could leave in a checkout."""

import subprocess

from conftest import checkout_state, state_difference


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_guard_sees_new_changed_and_ignored_results_files(tmp_path):
    repo = tmp_path / "repo"
    (repo / "results").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / ".gitignore").write_text("results/*\n!results/.gitkeep\n__pycache__/\n")
    (repo / "results" / ".gitkeep").write_text("")
    (repo / "a.txt").write_text("a\n")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    before = checkout_state(repo)
    assert before == ""
    (repo / "__pycache__").mkdir()
    (repo / "__pycache__" / "x.pyc").write_text("")  # ignored and not watched
    assert state_difference(before, checkout_state(repo)) == []
    (repo / "a.txt").write_text("b\n")
    (repo / "new.txt").write_text("")
    (repo / "results" / "default").mkdir()
    (repo / "results" / "default" / "t.csv").write_text("")
    diff = state_difference(before, checkout_state(repo))
    assert diff == ["+  M a.txt", "+ ?? new.txt", "+ !! results/default/t.csv"], diff


def test_guard_is_off_outside_a_git_checkout(tmp_path):
    assert checkout_state(tmp_path) is None
