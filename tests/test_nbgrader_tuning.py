"""The grading worker's nbgrader settings (course/nbgrader_tuning.py) make autograde cheaper and change nothing it
decides: the cell-metadata check passes and fails exactly the notebooks nbgrader's own check does, with the same
error."""

import copy

import nbformat
import pytest
from nbgrader.converters import Autograde
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute
from traitlets.config import Config

from course.assignments import all_assignments
from course.nbgrader_tuning import (CheckCellMetadataOnce, MetadataValidatorOnce, PromptKernelClient, is_idle_status,
                                    tune_for_grading)

ASSIGNMENTS = all_assignments()


def _outcome(validator, nb):
    """None when validator accepts nb, else (the exception's type, its message)."""
    try:
        validator.validate_nb(copy.deepcopy(nb))
    except Exception as exc:  # noqa: BLE001 -- the point is to compare whatever each raises
        return type(exc), str(exc)
    return None


def _graded_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


def _set(key, value):
    def change(nb):
        _graded_cell(nb).metadata.nbgrader[key] = value
    return change


def _drop(key):
    def change(nb):
        del _graded_cell(nb).metadata.nbgrader[key]
    return change


def _markdown_graded_without_points(nb):
    cell = _graded_cell(nb)
    cell.cell_type = "markdown"
    cell.metadata.nbgrader.pop("points")
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


CORRUPTIONS = {
    "points as a string": _set("points", "two"),
    "grade_id missing": _drop("grade_id"),
    "grade flag as a number": _set("grade", 1),
    "schema too old": _set("schema_version", 1),
    "schema too new": _set("schema_version", 99),
    "an unknown type of cell flag": _set("locked", "yes"),
    "graded markdown without points": _markdown_graded_without_points,
}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_every_source_and_release_notebook_passes_both_checks(assignment):
    for path in (assignment.source_path, assignment.release_path):
        nb = nbformat.read(path, as_version=4)
        assert _outcome(MetadataValidator(), nb) is None
        assert _outcome(MetadataValidatorOnce(), nb) is None


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=str)
def test_a_corrupt_cell_fails_both_checks_with_the_same_error(corruption):
    nb = nbformat.read(ASSIGNMENTS[0].release_path, as_version=4)
    CORRUPTIONS[corruption](nb)
    expected = _outcome(MetadataValidator(), nb)
    assert expected is not None, f"nbgrader accepts the {corruption} case: it tests nothing"
    assert _outcome(MetadataValidatorOnce(), nb) == expected


def test_the_preprocessor_refuses_a_corrupt_notebook_as_nbgraders_does():
    nb = nbformat.read(ASSIGNMENTS[0].release_path, as_version=4)
    _set("points", "two")(nb)
    with pytest.raises(Exception) as theirs:
        CheckCellMetadata().preprocess(copy.deepcopy(nb), {})
    with pytest.raises(Exception) as ours:
        CheckCellMetadataOnce().preprocess(copy.deepcopy(nb), {})
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_tuning_swaps_only_the_metadata_check_and_ends_kernels_at_once():
    config = tune_for_grading(Config())
    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        default = Autograde.class_traits()[name].default()
        assert config.Autograde[name] == [CheckCellMetadataOnce if p is CheckCellMetadata else p for p in default]
    assert config.Execute.shutdown_kernel == "immediate"
    assert config.AsyncKernelManager.client_factory is PromptKernelClient


def test_a_tuned_client_runs_a_notebook_with_the_same_outputs(monkeypatch):
    """nbgrader's Execute with the tuned config: the prompt client starts the kernel, and every cell records its
    own outputs (nothing of the start-up handshake leaks into the first cell)."""
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("print('first')"), new_code_cell("1 + 1")],
                      metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}})
    plain, tuned = (Execute(config=config) for config in (Config(), tune_for_grading(Config())))
    waits = []
    original = PromptKernelClient.wait_for_ready

    async def counted(self, timeout=None):
        waits.append(timeout)
        return await original(self, timeout)

    monkeypatch.setattr(PromptKernelClient, "wait_for_ready", counted)
    outputs = []
    for execute in (plain, tuned):
        ran, _ = execute.preprocess(copy.deepcopy(nb), {})
        outputs.append([c.outputs for c in ran.cells])
    assert outputs[1] == outputs[0] == [[{"output_type": "stream", "name": "stdout", "text": "first\n"}],
                                        [{"output_type": "execute_result", "execution_count": 2,
                                          "data": {"text/plain": "2"}, "metadata": {}}]]
    assert len(waits) == 1, "the tuned Execute did not start its kernel with the prompt client"


class _Channel:
    """A fake IOPub or shell channel that hands out queued messages, then has none (queue.Empty)."""

    def __init__(self, messages):
        self.messages = list(messages)

    async def get_msg(self, timeout=None):
        from queue import Empty

        if not self.messages:
            raise Empty
        return self.messages.pop(0)


def _message(parent, msg_type, state=None):
    return {"parent_header": {"msg_id": parent}, "msg_type": msg_type,
            "content": {} if state is None else {"execution_state": state}}


def test_the_wait_ends_at_the_idle_status_of_the_answered_request():
    import asyncio

    channel = _Channel([_message("older", "status", "idle"), _message("mine", "status", "busy"),
                        _message("mine", "status", "idle"), _message("later", "stream")])
    found = asyncio.run(PromptKernelClient._next_message(channel, "mine", is_idle_status, 1.0))
    assert found == _message("mine", "status", "idle")
    assert channel.messages == [_message("later", "stream")], "read past the request's idle status"
    # an IOPub subscription made too late has missed the request's messages: no answer, and the client asks again
    assert asyncio.run(PromptKernelClient._next_message(_Channel([_message("older", "status", "idle")]), "mine",
                                                         is_idle_status, 0.2)) is None


def test_tuning_keeps_a_courses_own_preprocessor_list():
    config = Config()
    config.Autograde.autograde_preprocessors = [Execute, CheckCellMetadata]
    config.Autograde.sanitize_preprocessors = [ClearOutput]
    tune_for_grading(config)
    assert config.Autograde.autograde_preprocessors == [Execute, CheckCellMetadataOnce]
    assert config.Autograde.sanitize_preprocessors == [ClearOutput]


def test_a_new_gradebook_records_the_schema_version_nbgrader_reads_with_alembic(tmp_path, monkeypatch):
    """nbgrader records its schema's alembic revision in every new gradebook, from `alembic heads` run in a
    subprocess; in our processes it is read in-process from the same scripts: the same revision."""
    import nbgrader.api
    from sqlalchemy import text

    from course import nbgrader_tuning
    from course.nbgrader_course import nbgrader_env

    nbgrader_tuning.create_gradebooks_in_process()
    assert nbgrader.api.get_alembic_version is nbgrader_tuning.alembic_head
    monkeypatch.setenv("PATH", nbgrader_env()["PATH"])  # nbgrader's own way runs the venv's `alembic`
    assert nbgrader_tuning.alembic_head() == nbgrader_tuning._NBGRADER_ALEMBIC_VERSION()
    with nbgrader.api.Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        recorded = gradebook.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert recorded == nbgrader_tuning.alembic_head()
