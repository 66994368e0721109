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
from course.nbgrader_tuning import CheckCellMetadataOnce, MetadataValidatorOnce, tune_for_grading

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
