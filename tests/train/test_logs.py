"""A run's logs when resumed: later records dropped, a torn last line tolerated, others named."""

import json
import logging

import pytest

from clearzoom.errors import ConfigError
from clearzoom.train.logs import RunLog


def _write(path, records, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)


def test_resume_drops_later_records_and_a_half_written_last_line(tmp_path, caplog):
    recs = [{"kind": "train", "step": s, "loss": 1.0 / s} for s in (100, 200, 300)]
    _write(tmp_path / "log.jsonl", recs, tail='{"kind": "train", "step": 40')  # killed mid-write
    (tmp_path / "log.csv").write_text("step,loss\n100,1\n200,0.5\n300,0.3\n40")
    with caplog.at_level(logging.WARNING, logger="clearzoom.train.logs"):
        log = RunLog(tmp_path, resume_step=200)
    log.close()
    assert "log.jsonl:4: a half-written last record" in caplog.text
    assert [r["step"] for r in log.records()] == [100, 200]
    assert (tmp_path / "log.csv").read_text().splitlines()[1:] == ["100,,,1,,,,", "200,,,0.5,,,,"]


def test_a_damaged_line_before_the_last_is_named(tmp_path):
    (tmp_path / "log.jsonl").write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(ConfigError, match=r"log.jsonl:2: not a log record"):
        RunLog(tmp_path, resume_step=2)
