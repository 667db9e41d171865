"""tests/pyodide: the files under inside/ run in Pyodide (see test_pyodide.py), not in CPython."""

collect_ignore: list[str] = ["inside"]
