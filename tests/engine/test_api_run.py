"""The run handle of the Python API: statuses, steps, logs, waiting, outputs."""

from __future__ import annotations

from pathlib import Path

from scriptproject import ScriptProject

from engine.api.run import submit


def test_submit_runs_in_the_background_and_reports_steps_and_logs(tmp_path, capsys):
    project = ScriptProject(tmp_path / "proj")
    project.data("in.txt", "hello\n")
    project.dataset("raw", "in.txt")
    project.step("a", {"inp": "raw"})
    project.step("b", {"inp": "a.out"})
    run = submit(project.pipeline, experiment="trial")
    assert [s.name for s in run.get_steps()] == ["a", "b"]
    assert run.wait_for_completion(show_output=True) == "Completed"
    shown = capsys.readouterr().out
    assert "[a] step a read 6 chars" in shown and "== b: Completed" in shown
    steps = {s.name: s for s in run.get_steps()}
    assert steps["b"].get_status() == "Completed"
    assert "step b done" in steps["b"].get_log()
    assert [line.text for line in run.log_lines("a")][-1] == "step a done"
    assert (tmp_path / "proj" / ".pipeloom" / "datastore" / "runs" / run.id / "a" / "out").is_dir()
    assert steps["a"].outputs["out"].endswith(f"{run.id}/a/out")

    again = submit(project.pipeline)
    assert again.wait_for_completion(show_output=False) == "Completed"
    assert {s.get_status() for s in again.get_steps()} == {"Reused"}
    assert (
        submit(project.pipeline, regenerate_outputs=True).wait_for_completion(show_output=False)
        == "Completed"
    )


def test_seed_style_pipeline_submit(tmp_path, monkeypatch):
    from engine.api import CpuPool, Dataset, OutputFileDatasetConfig, Pipeline, ScriptStep

    project = ScriptProject(tmp_path / "proj")
    project.data("in.txt", "seed\n")
    monkeypatch.chdir(project.root)
    raw = Dataset.File.from_files("data/in.txt")
    out = OutputFileDatasetConfig(name="out")
    step = ScriptStep(
        script_name="step.py",
        name="copy",
        inputs=[raw.as_named_input("inp").as_download()],
        outputs=[out],
        compute_target=CpuPool("pool", workers=1),
        source_directory="code",
    )
    run = Pipeline([step], name="seedling").submit(experiment="exp", path="pipeline.yaml")
    assert run.wait_for_completion(show_output=False) == "Completed"
    [copy] = run.get_steps()
    assert (Path(copy.outputs["out"]) / "part-0.txt").read_text() == "seed\ncopy\n"
