"""What makes nbgrader's autograde cheaper in a grading worker, without changing anything it records.

``tune_for_grading(config)`` changes a worker's private nbgrader configuration in place:

- nbgrader checks every cell's nbgrader metadata twice per notebook (``CheckCellMetadata``, once after sanitizing
  and once after executing) with ``jsonschema.validate``, which checks the schema itself again for every cell:
  most of the 0.18 s it costs a 40-cell notebook. ``CheckCellMetadataOnce`` validates the same cells against the
  same schema, with the same errors, but checks the schema once per process.
- nbclient ends a kernel gracefully by default: it asks the kernel to shut down and polls until it has exited
  (about 0.2 s). Once the last cell has run nothing more comes from the kernel, so the worker ends it at once
  (``Execute.shutdown_kernel = "immediate"``; a sandboxed kernel takes its whole sandbox with it).
- Before the first cell, jupyter_client waits for a new kernel's reply to a kernel_info request, then drains the
  kernel's IOPub messages until none has come for 0.2 s: a fixed 0.2 s per notebook, paid after everything has
  arrived. ``PromptKernelClient`` does the same handshake and drains IOPub up to the idle status of the request
  the kernel answered, which is the last message the kernel sends until it gets the first cell. nbclient reads
  only the IOPub messages of the cell it runs, so nothing a cell records changes.

The course's own ``nbgrader_config.py`` is untouched: ``nbgrader autograde`` run by hand behaves as before.

``create_gradebooks_in_process()`` concerns every process of ours that uses nbgrader's API (the driver, the
workers, the demo and the tests): when nbgrader creates a new gradebook it records its schema version, which it
gets by running ``alembic heads`` in a subprocess, about 4 s because that process imports nbgrader again.
``alembic_head()`` reads the same version from the same alembic scripts in this process, in a tenth of a second.
"""

import json
import os
import time
from functools import lru_cache
from queue import Empty

import jsonschema
import nbgrader.api
from jupyter_client.asynchronous import AsyncKernelClient
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
    config.AsyncKernelManager.client_factory = PromptKernelClient
    return config


def is_idle_status(message):
    """Whether an IOPub message is the kernel's status "idle" (it has finished the request it answers)."""
    return message["msg_type"] == "status" and message["content"].get("execution_state") == "idle"


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous kernel client, whose wait for a new kernel ends as soon as the kernel has
    answered (see the module's docstring); everything else is AsyncKernelClient's."""

    #: Seconds to wait for the reply to one kernel_info request, and then for its idle status on IOPub, before
    #: asking again (jupyter_client's own loop waits 1 s for the reply).
    REPLY_WAIT = 1.0
    IDLE_WAIT = 1.0

    async def wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            reply = await self._next_message(self.shell_channel, request, lambda m: True, self.REPLY_WAIT)
            # The idle status of the same request on IOPub also shows that IOPub is connected (a subscription
            # made too late misses it, and the loop asks again, as jupyter_client's does).
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and await self._next_message(
                    self.iopub_channel, request, is_idle_status, self.IDLE_WAIT):
                self._handle_kernel_info_reply(reply)
                return
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    @staticmethod
    async def _next_message(channel, request, wanted, wait):
        """The first message on channel that answers request and is wanted, read within wait seconds (None when
        none came); the messages read before it are dropped."""
        end = time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            try:
                message = await channel.get_msg(timeout=left)
            except Empty:
                return None
            if message.get("parent_header", {}).get("msg_id") == request and wanted(message):
                return message
        return None


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
