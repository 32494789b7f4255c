#!/usr/bin/env python3
"""Build tests/data/ethereum_transaction_tests.json from ethereum/tests.

Usage: extract_txtests.py GIT_DIR [OUTPUT]

GIT_DIR is a (bare) git directory of the public ethereum/tests repository.
Every filled JSON file under TransactionTests/ at HEAD is read; for each test
the result of the newest fork present among FORKS is kept, as either
{"hash", "sender"} (lowercase hex, no 0x) or {"exception"}.

Standard library only.
"""

import json
import os
import re
import subprocess
import sys

FORKS = ["Prague", "Cancun", "Shanghai", "Paris", "Merge", "London", "Berlin", "Istanbul"]
SIZE_LIMIT = 2 * 1024 * 1024
LONG_TX_HEX = 4000
HEX_RE = re.compile(r"\A(?:[0-9a-fA-F]{2})*\Z")

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, os.pardir, "tests", "data", "ethereum_transaction_tests.json")


def git(gitdir, *args):
    r = subprocess.run(["git", "--git-dir", gitdir, *list(args)], capture_output=True)
    if r.returncode != 0:
        return None
    return r.stdout


def strip0x(s):
    s = s.strip()
    if s[:2] in ("0x", "0X"):
        s = s[2:]
    return s


def license_name(gitdir):
    text = git(gitdir, "show", "HEAD:LICENSE")
    if text is None:
        return "unknown (no LICENSE file)"
    text = text.decode("utf-8", "replace")
    if "Permission is hereby granted, free of charge" in text:
        first = text.strip().splitlines()[0].strip()
        return f'MIT License (LICENSE: "{first}")'
    return "see LICENSE file"


def dumps(obj):
    return json.dumps(obj, indent=1, sort_keys=False) + "\n"


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    gitdir = argv[1]
    out_path = os.path.normpath(argv[2] if len(argv) > 2 else DEFAULT_OUT)

    commit = git(gitdir, "rev-parse", "HEAD").decode().strip()
    listing = git(gitdir, "ls-tree", "-r", "--name-only", "HEAD", "TransactionTests")
    names = sorted(n for n in listing.decode().splitlines() if n.endswith(".json"))

    tests = []
    missing, bad_hex, no_fork = [], [], []
    for path in names:
        blob = git(gitdir, "show", "HEAD:" + path)
        if blob is None:  # blob absent from the mirror (large file)
            missing.append(path)
            continue
        data = json.loads(blob.decode("utf-8"))
        for name, body in data.items():
            if not isinstance(body, dict) or "txbytes" not in body:
                continue
            tx = strip0x(str(body["txbytes"]))
            if not HEX_RE.match(tx):
                bad_hex.append(f"{path}:{name}")
                continue
            results = body.get("result", {})
            fork = next((f for f in FORKS if f in results), None)
            if fork is None:
                no_fork.append(f"{path}:{name}")
                continue
            res = results[fork]
            if "exception" in res:
                kept = {"exception": res["exception"]}
            else:
                kept = {"hash": strip0x(res["hash"]).lower(), "sender": strip0x(res["sender"]).lower()}
            tests.append({"file": path, "name": name, "fork": fork, "txbytes": tx.lower(), "result": kept})

    source = (
        "ethereum/tests (https://github.com/ethereum/tests), commit {}, "
        "TransactionTests/; license: {}. For each test the result of "
        "the newest fork present among {} is kept.".format(commit, license_name(gitdir), ", ".join(FORKS))
    )
    if missing:
        source += " Not included (file content unavailable in the mirror used): {}.".format(", ".join(missing))
    if bad_hex:
        source += " Skipped (txbytes not valid hex): {}.".format(", ".join(bad_hex))
    if no_fork:
        source += " Skipped (no result for any listed fork): {}.".format(", ".join(no_fork))

    doc = {"source": source, "tests": tests}
    if len(dumps(doc).encode()) > SIZE_LIMIT:
        dropped = [t for t in tests if len(t["txbytes"]) > LONG_TX_HEX]
        tests = [t for t in tests if len(t["txbytes"]) <= LONG_TX_HEX]
        names = ", ".join(f"{t['file']}:{t['name']}" for t in dropped)
        doc["source"] = source + (
            f" To keep the file small, {len(dropped)} test(s) with txbytes longer than {LONG_TX_HEX} hex "
            f"characters were dropped: {names}."
        )
        doc["tests"] = tests

    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        f.write(dumps(doc))
    sys.stderr.write(
        f"wrote {out_path}: {len(doc['tests'])} tests (missing files {len(missing)}, bad hex {len(bad_hex)}, "
        f"no fork {len(no_fork)})\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
