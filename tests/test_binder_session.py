"""Opt-in (slow, root only): a whole learner session fits Binder's 2 GB and 1 CPU (tools/binder_session.py).

    TOYMODEL_BINDER_SESSION=1 .venv/bin/python -m pytest tests/test_binder_session.py -s

Every notebook ($TOYMODEL_NOTEBOOKS_DIR or notebooks/) runs one after another in one JupyterLab, in headless
Chromium, each left open with its kernel, the server and kernels in a 2 GB memory cgroup with 1 CPU and
binder/'s settings. So that the run takes minutes, not a workshop's hours, kernels are culled after
$TOYMODEL_CULL_IDLE_TIMEOUT idle seconds (default 30; binder/ says 1200, for ~30 minutes per notebook).
Nothing may be OOM-killed or restarted, and every notebook must finish without an error.
Skipped unless TOYMODEL_BINDER_SESSION=1 (never part of the default test run).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NB_DIR = Path(os.environ.get("TOYMODEL_NOTEBOOKS_DIR", REPO / "notebooks")).resolve()

pytestmark = pytest.mark.skipif(os.environ.get("TOYMODEL_BINDER_SESSION") != "1",
                                reason="opt-in: set TOYMODEL_BINDER_SESSION=1 (slow; needs root and cgroup v1)")


def test_a_whole_session_fits_in_2_gb_and_1_cpu():
    if os.geteuid() != 0 or not Path("/sys/fs/cgroup/memory").is_dir():
        pytest.skip("needs root and the cgroup v1 memory controller")
    spec = importlib.util.spec_from_file_location("binder_session", REPO / "tools" / "binder_session.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    timeout = int(os.environ.get("TOYMODEL_CULL_IDLE_TIMEOUT", "30"))
    result = tool.run_session(sorted(NB_DIR.glob("*.ipynb")), 2 * 2**30, 1.0, timeout, 10)
    print(result)
    assert result["oom_kills"] == 0 and result["kernel_restarts"] == 0 and result["kernels_died"] == 0, result
    assert all(r["errors"] == 0 for r in result["notebooks"]), result["notebooks"]
    assert result["passed"] and result["cgroup_peak_mb"] < 2048
