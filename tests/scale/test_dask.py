"""The Dask engine (issue 13, item 3): a real LocalCluster with 2 worker processes audits the
bundled sample exactly as one process does — findings, metrics and scores, and the report."""

from __future__ import annotations

import builtins
import logging

import pytest
from typer.testing import CliRunner

from kefuguard.audit import PARQUET_FILES, AuditOptions, run_audit
from kefuguard.audit_dask import DaskUnavailableError
from kefuguard.cli import app
from kefuguard.io.parquet import read_sorted
from kefuguard.sample import sample_dir

from .test_audit_parallel import assert_same_outputs, sample_commerce

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as local:
        yield local


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    return out, run_audit([sample_dir()], AuditOptions(out_dir=out, workers=1, reader="serial", parquet=True,
                                                       **sample_commerce()))


def test_dask_cluster_equals_the_single_process_run(cluster, single, tmp_path):
    with distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
    out = tmp_path / "dask"
    # small spans and partitions: many read tasks, a real shuffle of every conversation
    report = run_audit([sample_dir()], AuditOptions(out_dir=out, engine="dask", scheduler=cluster.scheduler_address,
                                                    split_bytes=30_000, partition_bytes=40_000, **sample_commerce()))
    assert report.kpis is not None and report.kpis.rows  # the KPIs and order checks travel to the workers too
    single_out, single_report = single
    for name in ("findings", "metrics", "scores"):
        rows = read_sorted(out / f"{name}.parquet")
        assert rows and rows == read_sorted(single_out / f"{name}.parquet"), name
    assert_same_outputs(single_out, single_report, out, report)


def test_cli_engine_dask_on_a_scheduler(cluster, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["audit", str(sample_dir()), "--engine", "dask", "--scheduler",
                                      cluster.scheduler_address, "--out", str(out), "--formats", "json"])
    assert result.exit_code == 0, result.output
    assert all((out / name).is_file() for name in (*PARQUET_FILES, "report.json", "findings.csv"))


def test_missing_dask_is_a_clear_error_in_both_languages(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(DaskUnavailableError) as info:
        run_audit([sample_dir()], AuditOptions(out_dir=tmp_path / "o", engine="dask"))
    assert "pip install 'kefuguard[dask]'" in info.value.zh and "pip install 'kefuguard[dask]'" in info.value.en
    result = CliRunner().invoke(app, ["audit", str(sample_dir()), "--engine", "dask", "--out", str(tmp_path / "c"),
                                      "--lang", "en"])
    assert result.exit_code == 2 and "needs Dask" in result.output


def test_cli_engine_dask_without_a_scheduler_starts_a_local_cluster(single, tmp_path):
    out = tmp_path / "local"
    commerce = sample_commerce()
    exports = [arg for path in commerce["orders"] for arg in ("--orders", str(path))] + [
        arg for path in commerce["refunds"] for arg in ("--refunds", str(path))]
    result = CliRunner().invoke(app, ["audit", str(sample_dir()), "--engine", "dask", "--workers", "2",
                                      "--out", str(out), "--formats", "json", *exports])
    assert result.exit_code == 0, result.output
    single_out, _ = single
    for name in ("findings", "metrics", "scores"):
        assert read_sorted(out / f"{name}.parquet") == read_sorted(single_out / f"{name}.parquet"), name
