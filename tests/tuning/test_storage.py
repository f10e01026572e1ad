"""Storage URLs: passwords never shown, unusable journal files refused with one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from automata.errors import ConfigError
from automata.passwords import redact
from automata.tuning import storage
from automata.tuning.storage import make_storage


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://user:secret@host/db", "postgresql://user:***@host/db"),
        (
            "postgresql+psycopg://u:pa/ss@db:5432/x?sslmode=require",
            "postgresql+psycopg://u:***@db:5432/x?sslmode=require",
        ),
        ("mysql://u@h/db?password=secret&x=1", "mysql://u@h/db?password=***&x=1"),
        # A sweep job's overrides, as Hydra escapes them.
        (
            r"tuning.storage=postgresql\://u\:secret@h\:5432/db",
            r"tuning.storage=postgresql\://u\:***@h\:5432/db",
        ),
        (
            "cannot open 'postgresql://u:secret@h/db': refused",
            "cannot open 'postgresql://u:***@h/db': refused",
        ),
        # Read from the environment when resolved: no secret, kept.
        ("postgresql://u:${oc.env:DB_PASSWORD}@h/db", "postgresql://u:${oc.env:DB_PASSWORD}@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///a/study.db", "sqlite:///a/study.db"),
        ("journal:///shared/study.log", "journal:///shared/study.log"),
        (
            "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools",
            "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools",
        ),
    ],
)
def test_redact_hides_only_the_password(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_an_unreachable_server_is_one_line_without_the_password(monkeypatch) -> None:
    monkeypatch.setattr(storage.time, "sleep", lambda _: None)  # the retries, at once
    with pytest.raises(ConfigError) as info:
        make_storage("postgresql://user:s3cret-PW@127.0.0.1:1/db")
    message = str(info.value)
    assert message.startswith("tuning.storage: cannot open 'postgresql://user:***@127.0.0.1:1/db'")
    assert "s3cret-PW" not in message and "\n" not in message


def test_a_url_that_is_no_url_is_shown_without_its_password() -> None:
    with pytest.raises(ConfigError, match=r"^tuning.storage: '...@host/db' is not a storage URL"):
        make_storage("user:s3cret@host/db")  # (no scheme: not a URL, but still a secret)


def test_a_journal_file_in_a_missing_folder_is_refused_and_the_folder_not_made(tmp_path: Path):
    folder = tmp_path / "nonexistent" / "dir"
    with pytest.raises(ConfigError) as info:
        make_storage(f"journal://{folder / 'x.log'}")
    assert str(info.value) == (
        f"tuning.storage: folder {folder} of the journal file does not exist; create it (on a "
        "filesystem every worker sees) or name another"
    )
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("path", ["/proc/x.log", "{tmp}"])
def test_an_unwritable_journal_file_is_one_line(path: str, tmp_path: Path) -> None:
    path = path.format(tmp=tmp_path)  # /proc refuses new files, even root's; a folder is no file
    with pytest.raises(
        ConfigError, match=rf"^tuning.storage: cannot write the journal file {path} \("
    ):
        make_storage(f"journal://{path}")


def test_a_journal_file_in_an_existing_folder_opens(tmp_path: Path) -> None:
    import optuna

    url = f"journal://{tmp_path / 'study.log'}"
    optuna.create_study(storage=make_storage(url), study_name="s")
    assert optuna.load_study(storage=make_storage(url), study_name="s").study_name == "s"
