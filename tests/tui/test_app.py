"""Running the inbox from the command line: keymap errors and logging while the screen is drawn."""

from __future__ import annotations

import logging
import sys

from core.config import load_settings
from tui.app import logging_to_file, run


def test_logging_goes_to_file_then_back(tmp_path) -> None:
    root = logging.getLogger()
    terminal = logging.StreamHandler(sys.stderr)
    root.addHandler(terminal)
    log_path = tmp_path / "logs" / "tui.log"
    try:
        with logging_to_file(log_path):
            assert terminal not in root.handlers
            logging.getLogger("core.ingest").warning("payload for %s was odd", "*********156")
        assert terminal in root.handlers
        assert not any(getattr(h, "baseFilename", None) == str(log_path) for h in root.handlers)
    finally:
        root.removeHandler(terminal)
    assert "WARNING core.ingest: payload for *********156 was odd" in log_path.read_text()


def test_run_rejects_unknown_key_action(tmp_path, capsys) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    settings = load_settings(config_path=config, tui={"keys": {"snd": "ctrl+x"}})
    assert run(settings) == 2
    error = capsys.readouterr().err
    assert "'snd'" in error
    assert "[tui.keys]" in error
