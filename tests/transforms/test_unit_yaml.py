"""The SQLMesh YAML unit tests in transforms/tests/ pass (`sqlmesh test`)."""

from tests.transforms.test_project import TRANSFORMS, sqlmesh


def test_sqlmesh_unit_tests_pass(tmp_path):
    files = sorted(p.name for p in (TRANSFORMS / "tests").glob("*.yaml"))
    assert {"test_daily_prices.yaml", "test_fwd_return.yaml"} <= set(files)
    done = sqlmesh(tmp_path, "test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully Ran" in done.stdout + done.stderr
