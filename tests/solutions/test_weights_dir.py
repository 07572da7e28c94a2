"""--weights-dir: a local folder of pretrained weights, recorded in the run, mounted read-only
into the sandbox, listed in the LLM's contract, and fine-tuned by the offline image solutions."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from gome_es.core.prompts import solution_contract
from gome_es.executor import ExecutionSpec, Executor
from gome_es.executor.weights import WeightsDirError, describe
from gome_es.solutions import media
from gome_es.store import EventStore
from tests.support.runs import gome

from . import media_fixtures as mf
from .test_media_solutions import code_for, run, valid_against


def save_resnet18(path: Path) -> None:
    """A torchvision-layout ResNet-18 state_dict, built by the runtime's own pure-torch ResNet."""
    import torch

    namespace: dict = {"__name__": "runtime"}
    exec(compile(media.RUNTIME, "media_runtime.py", "exec"), namespace)
    net = namespace["resnet"]([2, 2, 2, 2])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)


def test_listing_and_digest_follow_the_files(tmp_path):
    d = tmp_path / "w"
    (d / "hub" / "checkpoints").mkdir(parents=True)
    (d / "hub" / "checkpoints" / "resnet18-x.pth").write_bytes(b"0" * 100)
    (d / "elsewhere.txt").write_text("secret")
    os.symlink(tmp_path / "elsewhere.txt", d / "link.pth")  # a link could lead out of the folder
    os.mkfifo(d / "pipe.pt")
    first = describe(d)
    assert first["dir"] == str(d)
    assert [f["path"] for f in first["files"]] == ["elsewhere.txt", "hub/checkpoints/resnet18-x.pth"]
    assert first["files"][1]["bytes"] == 100
    (d / "hub" / "checkpoints" / "resnet18-x.pth").write_bytes(b"0" * 101)
    assert describe(d)["digest"] != first["digest"]


def test_a_missing_or_file_weights_dir_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsDirError, match="pass an existing folder"):
        describe(tmp_path / "nope")
    (tmp_path / "f").write_text("x")
    with pytest.raises(WeightsDirError, match="not a folder"):
        describe(tmp_path / "f")


def test_the_contract_lists_the_weights_only_when_there_are_some(tmp_path):
    (tmp_path / "resnet18.pth").write_bytes(b"1")
    task = {"public_files": [{"name": "train.csv", "bytes": 3}], "understanding": {}, "metric": "auc_roc"}
    assert "GOME_WEIGHTS_DIR" not in solution_contract(task)
    text = solution_contract({**task, "weights": describe(tmp_path)})
    assert "GOME_WEIGHTS_DIR" in text and "resnet18.pth (1 bytes)" in text


@pytest.mark.integration
def test_the_sandbox_sees_the_weights_read_only(tmp_path):
    public, weights = tmp_path / "public", tmp_path / "weights"
    public.mkdir()
    weights.mkdir()
    (weights / "w.pt").write_text("weights-bytes")
    code = textwrap.dedent("""
        import json, os
        d = os.environ["GOME_WEIGHTS_DIR"]
        out = {"read": open(os.path.join(d, "w.pt")).read()}
        try:
            open(os.path.join(d, "new.pt"), "w").write("x")
            out["write"] = "allowed"
        except OSError as exc:
            out["write"] = type(exc).__name__
        print(json.dumps(out))
    """)
    spec = ExecutionSpec(key="w", code=code, data_dir=public, workspace_root=tmp_path / "ws", timeout_s=60,
                         weights_dir=weights)
    result = Executor().run(spec)
    assert result.exit_code == 0, result
    seen = json.loads(result.stdout_tail.strip().splitlines()[-1])
    assert seen["read"] == "weights-bytes"
    assert seen["write"] != "allowed"
    assert not (weights / "new.pt").exists()


@pytest.mark.integration
def test_weights_overlapping_private_answers_are_refused(tmp_path):
    from gome_es.executor.runner import SandboxRefused

    public, private = tmp_path / "public", tmp_path / "private"
    public.mkdir()
    private.mkdir()
    spec = ExecutionSpec(key="w", code="print(1)", data_dir=public, forbidden_paths=[private],
                         workspace_root=tmp_path / "ws", timeout_s=30, weights_dir=tmp_path)
    with pytest.raises(SandboxRefused, match="overlaps"):
        Executor().run(spec)


@pytest.mark.integration
def test_gome_run_records_the_weights_dir(tmp_path):
    weights = tmp_path / "weights"
    (weights / "hub" / "checkpoints").mkdir(parents=True)
    (weights / "hub" / "checkpoints" / "resnet18-abc.pth").write_bytes(b"w" * 10)
    db = tmp_path / "g.db"
    proc = gome(["run", "--task", "breast-cancer-diagnosis", "--traces", "1", "--max-iterations", "1",
                 "--budget", "10m", "--quiet", "--weights-dir", str(weights)], db=db, check=True)
    run_id = proc.stdout.strip().splitlines()[-1]
    store = EventStore.open(db, readonly=True)
    started = next(ev for ev in store.read(run_id) if ev.type == "RunStarted")
    store.close()
    recorded = started.payload["task"]["weights"]
    assert recorded["dir"] == str(weights)
    assert recorded["files"] == [{"path": "hub/checkpoints/resnet18-abc.pth", "bytes": 10}]
    assert recorded["digest"] == describe(weights)["digest"]


@pytest.mark.integration
def test_gome_run_refuses_a_missing_weights_dir_before_starting(tmp_path):
    proc = gome(["run", "--task", "breast-cancer-diagnosis", "--quiet", "--weights-dir", str(tmp_path / "none")],
                db=tmp_path / "g.db")
    assert proc.returncode == 2
    assert "--weights-dir" in proc.stderr and "existing folder" in proc.stderr


@pytest.mark.integration
def test_the_runtime_finds_a_resnet_in_a_hub_cache_and_skips_what_does_not_fit(tmp_path):
    import torch

    save_resnet18(tmp_path / "hub" / "checkpoints" / "resnet18-test.pth")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "a-not-a-resnet.pt")
    (tmp_path / "broken.pth").write_bytes(b"not a torch file")
    namespace: dict = {"__name__": "runtime"}
    exec(compile(media.RUNTIME, "media_runtime.py", "exec"), namespace)
    namespace["WEIGHTS_DIR"] = str(tmp_path)
    net, path = namespace["find_backbone"]()
    assert path.endswith("hub/checkpoints/resnet18-test.pth")
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 1000)
    namespace["WEIGHTS_DIR"] = str(tmp_path / "empty")
    assert namespace["find_backbone"]() is None


@pytest.mark.slow
@pytest.mark.parametrize("with_weights", [True, False])
def test_the_pretrained_family_fine_tunes_a_backbone_from_the_weights_dir(tmp_path, with_weights):
    task, answers = mf.cactus(tmp_path / "c", n=100, n_test=30)
    public = tmp_path / "c" / "public"
    weights = tmp_path / "weights"
    weights.mkdir()
    if with_weights:
        save_resnet18(weights / "hub" / "checkpoints" / "resnet18-test.pth")
    code = code_for(task, "pretrained", {"epochs": 1, "image_size": 32, "batch_size": 16})
    out = run(code, public, tmp_path / "w", env={"GOME_WEIGHTS_DIR": str(weights)}, timeout=300)
    valid_against(public, "sample_submission.csv", tmp_path / "w", "id")
    if with_weights:
        assert out["metrics"]["backbone"] == "hub/checkpoints/resnet18-test.pth"
    else:
        assert out["metrics"]["backbone"].startswith("none found")
