"""No storage password in any file a run or a sweep writes, nor in any line it prints.

The way to keep a password secret is to leave it out of the command line: PostgreSQL's client
library reads it from ``PGPASSWORD`` or ``~/.pgpass`` when ``tuning.storage`` names none
(``postgresql://user@host/db``), and for any driver the URL may read it from the environment,
``tuning.storage='postgresql://user:${oc.env:DB_PASSWORD}@host/db'``, which Hydra records
unresolved. A password typed in the URL still works, but Hydra records the command line
verbatim (``.hydra/overrides.yaml``, ``hydra.yaml``, ``config.yaml``, a sweep's
``multirun.yaml``) and its launchers log each job's overrides. :class:`RedactSecrets`, a Hydra
callback (``hydra.callbacks`` in ``conf/config.yaml``), writes ``***`` in place of the password
in those files as each job starts, and in every log line (:func:`redact_log_lines`). automata's
own messages redact it where they are made (:func:`automata.passwords.redact`).

The password still reaches the shell's history and the process list (``ps``) when it is typed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from automata.hydra_compat import RECORDS, SWEEP_RECORD
from automata.passwords import redact

log = logging.getLogger("automata")


def redact_log_lines() -> None:
    """Every log record of this process is made without passwords, whichever handler then
    writes it: Hydra replaces the handlers (its launcher's, each job's) as a sweep runs, so a
    filter on them would not last; a record factory does (the logging module's own hook)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    make_record.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def redact_file(path: Path) -> bool:
    """Rewrite a text file without passwords; True if it held one."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return False
    clean = redact(text)
    if clean == text:
        return False
    # Jobs of a sweep in several processes may rewrite the sweep's record at once.
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(clean)
    tmp.replace(path)
    return True


class RedactSecrets(Callback):
    """Keeps a password typed in ``tuning.storage`` out of Hydra's records and of the log."""

    def __init__(self) -> None:
        self.warned = False

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        redact_log_lines()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        redact_log_lines()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        redact_log_lines()  # a job in a process of its own (joblib, submitit)
        hydra = config.hydra
        files = []
        if hydra.output_subdir is not None:
            records = Path(str(hydra.runtime.output_dir)) / str(hydra.output_subdir)
            files += [records / name for name in RECORDS]
        if hydra.mode == RunMode.MULTIRUN:
            files.append(Path(str(hydra.sweep.dir)) / SWEEP_RECORD)
        redacted = [path for path in files if redact_file(path)]
        if redacted and not self.warned:
            self.warned = True
            log.warning(
                "tuning.storage: the password typed in the URL is shown as *** in the records "
                "and the log; PGPASSWORD or ~/.pgpass keeps it off the command line too"
            )
