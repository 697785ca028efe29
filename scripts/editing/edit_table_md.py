#!/usr/bin/env python3
"""Prints out/edit-table/table.tsv (scripts/editing/edit-table.sh) as the Markdown table of
README.md and docs/lab/2026-12-06-editing-results.md.
Usage: python3 scripts/editing/edit_table_md.py [TSV]"""
import csv
import sys

path = sys.argv[1] if len(sys.argv) > 1 else "out/edit-table/table.tsv"
rows = list(csv.DictReader(open(path), delimiter="\t"))


def method(job):
    j = job.split("-", 1)[1].rsplit("-", 1)[0]
    return {"rome": "ROME", "r-rome": "R-ROME", "memit": "MEMIT", "alphaedit": "AlphaEdit",
            "alphaedit-memitz": "AlphaEdit, MEMIT's z settings", "ft-l": "FT-L",
            "ft-m": "FT-M"}.get(j, j)


PREC = {"fp32": "FP32", "pytorch-bf16": "BF16", "pytorch-fp16": "FP16"}
print("| method | edits | precision | Edit Succ. | Portability | Locality | Fluency "
      "| before: Edit Succ. / Fluency | s/edit, median (range) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    mode = ("%s sequential, evaluated after all" % r["records"] if r["mode"] == "sequential"
            else "single (first %s)" % r["records"])
    print("| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s (%s–%s) |" % (
        method(r["job"]), mode, PREC.get(r["policy"], r["policy"]), r["edit_succ"],
        r["portability"], r["locality"], r["fluency"], r["pre_edit_succ"], r["pre_fluency"],
        r["sec_per_edit_median"], r["sec_min"], r["sec_max"]))
