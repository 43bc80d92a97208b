"""Repository-level promises: the README's commands, framework isolation, layout rules."""
import re
import subprocess

from tests.helpers import PYTHON, REPO


def readme_quick_start() -> list:
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_commands_and_ci_runs_the_same_test_command():
    setup, test = readme_quick_start()
    ci = (REPO / ".ci" / "run").read_text()
    assert "requirements.txt" in setup
    assert test in ci.splitlines(), "the test command in .ci/run must be the README's"


def test_a_session_collecting_both_frameworks_is_refused():
    result = subprocess.run([PYTHON, "-m", "pytest", "--collect-only", "-q", "tests/torch", "tests/keras"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert "separate processes" in result.stdout + result.stderr


def test_keras_folder_never_shadows_the_keras_package():
    assert not (REPO / "keras" / "__init__.py").exists()
    assert not (REPO / "pytorch" / "__init__.py").exists()


def test_common_never_imports_a_framework():
    for path in (REPO / "common").glob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(torch|tensorflow|keras|torchvision)\b", source, re.M), path


def test_readme_tables_are_rebuilt_from_the_committed_records():
    for module in ("common.report", "common.benchmark_table"):
        result = subprocess.run([PYTHON, "-m", module, "--check"], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, f"README out of date: run python -m {module}\n{result.stdout}{result.stderr}"
