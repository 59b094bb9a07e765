"""Work spread over local processes or a Dask cluster gives the same corpus and the same suggestions."""

from __future__ import annotations

import io

import pandas as pd
import pytest

import qualcode as qc
from qualcode.coders import ensemble
from qualcode.errors import ParameterError, SchedulerError
from qualcode.parallel import Runner, current
from qualcode.progress import Progress

FILES = ["fg_cerroazul_diagnostico.txt", "int_d02_intermedia.txt", "int_d13_final.md", "int_pa4_final.vtt",
         "int_d05_final.docx"]


def _project(path, corpus, codebook):
    project = qc.Project.create(path)
    project.add_codebook(codebook)
    project.add_corpus(corpus)
    return project


@pytest.fixture(scope="module")
def small(samples):
    corpus, _ = qc.load_corpus([samples / "transcripts" / f for f in FILES],
                               attributes=samples / "attributes.csv")
    return corpus


def _suggest(tmp_path, name, corpus, codebook, **where):
    project = _project(tmp_path / f"{name}.qualcode", corpus, codebook)
    out = qc.suggest(project, **where)
    stored = project.suggestions.drop(columns="created_at")
    project.close()
    return out, stored


def test_runner_keeps_order_and_sets_the_current_runner():
    with Runner(workers=2) as runner:
        assert current() is runner
        assert runner.map(abs, range(-5, 5)) == [abs(i) for i in range(-5, 5)]
    assert not current().parallel
    with pytest.raises(ParameterError, match="workers"):
        Runner(workers=0)


def test_an_error_in_a_worker_reaches_the_caller():
    with Runner(workers=2) as runner, pytest.raises(ValueError):
        runner.map(int, ["1", "dos", "3"])


def test_progress_in_a_log_is_a_few_plain_lines():
    out = io.StringIO()
    with Progress(1000, "encode", stream=out) as bar:
        for _ in range(1000):
            bar.update()
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("encode: 1000/1000 (100%)") and len(lines) <= 11 and "\r" not in out.getvalue()


def test_loading_with_two_workers_is_identical(samples):
    one, report_one = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    two, report_two = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv", workers=2)
    pd.testing.assert_frame_equal(one.segments, two.segments)
    pd.testing.assert_frame_equal(one.documents, two.documents)
    pd.testing.assert_frame_equal(report_one, report_two)


def test_suggestions_with_two_workers_are_identical(tmp_path, small, study_codebook, monkeypatch):
    # Small chunks, so that keyword matching is spread too, not only encoding.
    monkeypatch.setattr(ensemble, "CHUNK_SEGMENTS", 40)
    one, stored_one = _suggest(tmp_path, "one", small, study_codebook)
    two, stored_two = _suggest(tmp_path, "two", small, study_codebook, workers=2)
    assert len(one) > 50 and {"keyword", "embedding"} <= set("+".join(one["method"]).split("+"))
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(stored_one, stored_two)


@pytest.mark.slow  # starts a Dask cluster (a minute and a half on a busy machine)
def test_a_dask_cluster_gives_identical_results(tmp_path, samples, small, study_codebook, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(ensemble, "CHUNK_SEGMENTS", 40)
    one, stored_one = _suggest(tmp_path, "one", small, study_codebook)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as cluster:
        address = cluster.scheduler_address
        loaded, _ = qc.load_corpus([samples / "transcripts" / f for f in FILES],
                                   attributes=samples / "attributes.csv", scheduler=address)
        pd.testing.assert_frame_equal(small.segments, loaded.segments)
        dask, stored_dask = _suggest(tmp_path, "dask", loaded, study_codebook, scheduler=address)
    pd.testing.assert_frame_equal(one, dask)
    pd.testing.assert_frame_equal(stored_one, stored_dask)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, small, study_codebook):
    pytest.importorskip("distributed")
    project = _project(tmp_path / "p.qualcode", small, study_codebook)
    with (pytest.raises(SchedulerError, match=r"scheduler='tcp://127\.0\.0\.1:9': nothing listens at 127\.0\.0\.1:9"),
          Runner(scheduler="tcp://127.0.0.1:9") as runner):
        runner.map(abs, [1, 2])
    assert project.suggestions.empty
