"""What makes nbgrader's autograde cheaper in a grading worker, without changing anything it records.

``tune_for_grading(config)`` changes a worker's private nbgrader configuration in place:

- nbgrader checks every cell's nbgrader metadata twice per notebook (``CheckCellMetadata``, once after sanitizing
  and once after executing) with ``jsonschema.validate``, which checks the schema itself again for every cell:
  most of the 0.18 s it costs a 40-cell notebook. ``CheckCellMetadataOnce`` validates the same cells against the
  same schema, with the same errors, but checks the schema once per process.
- nbclient ends a kernel gracefully by default: it asks the kernel to shut down and polls until it has exited
  (about 0.2 s). Once the last cell has run nothing more comes from the kernel, so the worker ends it at once
  (``Execute.shutdown_kernel = "immediate"``; a sandboxed kernel takes its whole sandbox with it).

The course's own ``nbgrader_config.py`` is untouched: ``nbgrader autograde`` run by hand behaves as before.

``create_gradebooks_in_process()`` concerns every process of ours that uses nbgrader's API (the driver, the
workers, the demo and the tests): when nbgrader creates a new gradebook it records its schema version, which it
gets by running ``alembic heads`` in a subprocess, about 4 s because that process imports nbgrader again.
``alembic_head()`` reads the same version from the same alembic scripts in this process, in a tenth of a second.
"""

import json
import os
from functools import lru_cache

import jsonschema
import nbgrader.api
from nbgrader.nbgraderformat.common import BaseMetadataValidator, SchemaTooNewError, SchemaTooOldError
from nbgrader.nbgraderformat.common import root as nbgrader_format_folder
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from nbgrader.preprocessors import CheckCellMetadata


@lru_cache(maxsize=None)
def _schema_validator(version):
    """A jsonschema validator of nbgrader's own cell-metadata schema of this version, the schema checked once
    (as jsonschema.validate does on every call)."""
    with open(os.path.join(nbgrader_format_folder, f"v{version:d}.json")) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


class _SchemaCheckedOnce(BaseMetadataValidator):
    """BaseMetadataValidator.validate_cell with a validator whose schema was checked once (the same checks)."""

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        version = cell.metadata["nbgrader"].get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        if version > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        error = jsonschema.exceptions.best_match(_schema_validator(self.schema_version).iter_errors(
            cell.metadata["nbgrader"]))
        if error is not None:
            raise error


class MetadataValidatorOnce(MetadataValidatorV3, _SchemaCheckedOnce):
    """nbgrader's MetadataValidator (schema 3: its checks of grade ids, points and cell types), whose schema
    validation (the base class's, next in the method order) checks the schema once per process."""


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata with MetadataValidatorOnce: the same notebooks pass, the same ones fail."""

    def preprocess(self, nb, resources):
        import traceback

        from nbgrader.nbgraderformat import ValidationError

        try:
            MetadataValidatorOnce().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources


def _with_validation_once(preprocessors):
    return [CheckCellMetadataOnce if p is CheckCellMetadata else p for p in preprocessors]


def tune_for_grading(config):
    """Change a worker's private nbgrader config (a traitlets Config) in place: see the module's docstring. The
    course's own preprocessor lists, when it sets them, are kept, with CheckCellMetadata replaced."""
    from nbgrader.converters import Autograde

    for name in ("sanitize_preprocessors", "autograde_preprocessors"):
        current = config.Autograde[name] if name in config.Autograde else Autograde.class_traits()[name].default()
        config.Autograde[name] = _with_validation_once(current)
    config.Execute.shutdown_kernel = "immediate"
    return config


@lru_cache(maxsize=1)
def alembic_head():
    """The revision of nbgrader's gradebook schema, read in this process from nbgrader's own alembic scripts: what
    ``nbgrader.api.get_alembic_version`` prints with ``alembic heads`` in a subprocess (nbgrader's scripts have one
    head; with several, nbgrader's own function answers)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:  # the placeholder URL nbgrader passes too
        heads = ScriptDirectory.from_config(AlembicConfig(ini)).get_heads()
    return heads[0] if len(heads) == 1 else _NBGRADER_ALEMBIC_VERSION()


#: nbgrader's own way (`alembic heads` in a subprocess), kept before create_gradebooks_in_process replaces it.
_NBGRADER_ALEMBIC_VERSION = nbgrader.api.get_alembic_version


def create_gradebooks_in_process():
    """Make nbgrader's Gradebook take the schema version of a new gradebook from alembic_head() in this process
    (the same value) instead of a subprocess. Idempotent."""
    nbgrader.api.get_alembic_version = alembic_head
