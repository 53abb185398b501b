"""The drift benchmark's data generator, on small data."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from drift import data

SMALL = data.Spec(rows=4000, reference_rows=1000, seed=7)


def test_plan_has_the_issue_columns_and_documents_the_drift():
    columns = data.plan(data.Spec())
    kinds = [c.kind for c in columns]
    assert kinds.count("numeric") == 14 and kinds.count("categorical") == 6
    drifted = [c.name for c in columns if c.drifted]
    assert drifted == ["num_0", "num_4", "num_8", "num_12", "cat_1", "cat_5"]
    assert all(c.injected for c in columns if c.drifted)
    assert not any(c.injected for c in columns if not c.drifted)
    levels = [c.levels for c in columns if c.kind == "categorical"]
    assert {3, 5, 10, 50} <= set(levels)


def test_same_spec_same_data_other_seed_other_data():
    ref_a, cur_a = data.make_data(SMALL)
    ref_b, cur_b = data.make_data(SMALL)
    ref_c, _ = data.make_data(data.Spec(rows=4000, reference_rows=1000, seed=8))
    for name in ref_a:
        if ref_a[name].dtype.kind == "f":
            assert np.array_equal(ref_a[name], ref_b[name], equal_nan=True)
            assert np.array_equal(cur_a[name], cur_b[name], equal_nan=True)
        else:
            assert ref_a[name].tolist() == ref_b[name].tolist()
            assert cur_a[name].tolist() == cur_b[name].tolist()
    assert not np.array_equal(ref_a["num_0"], ref_c["num_0"], equal_nan=True)


def test_windows_have_the_sizes_missing_values_and_injected_drift():
    reference, current = data.make_data(data.Spec(rows=20_000, reference_rows=20_000, seed=1))
    assert all(len(v) == 20_000 for v in [*reference.values(), *current.values()])
    num, cat = current["num_1"], current["cat_0"]
    assert num.dtype == np.float64 and 0.005 < np.isnan(num).mean() < 0.015
    values = [v for v in cat.tolist() if v is not None]
    assert 0.005 < 1 - len(values) / len(cat) < 0.015
    assert set(values) <= {"level_0", "level_1", "level_2"}
    # num_0 drifts by +0.3 sd, num_3 does not
    assert abs(np.nanmean(current["num_0"]) - np.nanmean(reference["num_0"]) - 0.3) < 0.05
    assert abs(np.nanmean(current["num_3"]) - np.nanmean(reference["num_3"])) < 0.05


def test_write_makes_parquet_with_nulls_and_reuses_it(tmp_path):
    files = data.write(SMALL, tmp_path)
    reference = pq.read_table(files.reference)
    current = pq.read_table(files.current)
    assert (reference.num_rows, current.num_rows) == (1000, 4000)
    assert reference.schema.field("num_0").type == pa.float64()
    assert reference.schema.field("cat_0").type == pa.string()
    assert current.column("num_0").null_count > 0 and current.column("cat_0").null_count > 0
    assert files.size_bytes == files.reference.stat().st_size + files.current.stat().st_size
    written = files.current.stat().st_mtime_ns
    assert data.write(SMALL, tmp_path).current.stat().st_mtime_ns == written
    other = data.write(data.Spec(rows=3000, reference_rows=1000, seed=7), tmp_path)
    assert pq.read_table(other.current).num_rows == 3000
