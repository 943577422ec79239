"""Writes the small Parquet files ParquetTests reads (pyarrow; run from this folder).

Row i of every file is the vector x[i][j] = (8 i + j) / 4 - 60, j < 8 (exact in float16 too),
with id 1000 + i; 60 rows in row groups of 25 and pages of about 300 bytes."""
import numpy as np, pyarrow as pa, pyarrow.parquet as pq

x = ((np.arange(60)[:, None] * 8 + np.arange(8)[None, :]) / 4 - 60).astype(np.float32)
ids = np.arange(60, dtype=np.int64) + 1000
table = pa.table({'id': ids, 'v': pa.array(list(x), type=pa.list_(pa.float32()))})
common = dict(row_group_size=25, data_page_size=300)
pq.write_table(table, 'vectors-snappy.parquet', compression='snappy', **common)
pq.write_table(table, 'vectors-zstd.parquet', compression='zstd', data_page_version='2.0', **common)
pq.write_table(table, 'vectors-gzip.parquet', compression='gzip', use_dictionary=False, **common)
pq.write_table(table, 'vectors-none.parquet', compression='none', use_byte_stream_split=['v'], use_dictionary=['id'], **common)
