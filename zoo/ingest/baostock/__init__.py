"""baostock importer: baostock's native files -> the Wind tables of `zoo.ingest.wind`.

`convert(src, out)` writes one parquet per Wind table it can feed into `out` and returns a
`ConvertReport` (also written as `out/convert_report.json`); `zoo.ingest.load.load_dir(out,
...)` loads them. `converted(src, parent)` does the same into a temporary folder, for a load
straight from baostock's files (`zoo data load --format baostock`). Price recovery is
described in `zoo.ingest.baostock.prices`, statements in
`zoo.ingest.baostock.fundamentals`, index membership in `zoo.ingest.baostock.indices`.
"""

from zoo.ingest.baostock.convert import convert, converted
from zoo.ingest.baostock.report import ConvertReport, Issue
from zoo.ingest.baostock.source import BaostockFormatError

__all__ = ["BaostockFormatError", "ConvertReport", "Issue", "convert", "converted"]
