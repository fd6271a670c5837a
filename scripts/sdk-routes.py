"""Checks that every app and phone route in openapi.yaml has a method in the
generated SDK. App routes are the user routes an app calls: every operation
except the ops and vendor-phone tags (a vendor phone's firmware calls the
latter) and those whose summary ends in "(admin)" (the admin console's);
phone routes are the phone-device tag. The table
(mobile-ffi/sdk-routes.toml) names the SDK method of each; a route missing
from it, or naming a method the generated bindings lack, fails the check.

    python3 scripts/sdk-routes.py openapi.yaml mobile-ffi/sdk-routes.toml target/sdk/python/deskbind.py
"""

import re
import sys
import tomllib

METHODS = {"get", "put", "post", "patch", "delete"}


def operations(spec_path):
    """(operationId, method, path, summary, tags) of every operation."""
    ops, path, method, current = [], None, None, None
    with open(spec_path) as f:
        lines = f.read().split("\n")
    in_paths = False
    for line in lines:
        if line == "paths:":
            in_paths = True
            continue
        if in_paths and line and not line.startswith(" "):
            break
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):$", line)
        if m:
            path = m.group(1)
            continue
        m = re.match(r"^    ([a-z]+):$", line)
        if m and m.group(1) in METHODS:
            method = m.group(1).upper()
            current = {"method": method, "path": path, "summary": "", "tags": []}
            ops.append(current)
            continue
        if current is None:
            continue
        m = re.match(r"^      operationId: (\S+)$", line)
        if m:
            current["id"] = m.group(1)
        m = re.match(r"^      summary: (.*)$", line)
        if m:
            current["summary"] = m.group(1).strip()
        m = re.match(r"^      tags: \[(.*)\]$", line)
        if m:
            current["tags"] = [t.strip() for t in m.group(1).split(",")]
    return ops


def sdk_methods(bindings_path):
    """class name -> method names of the generated Python bindings."""
    classes, current = {}, None
    with open(bindings_path) as f:
        for line in f:
            m = re.match(r"^class (\w+)\((\w+)Protocol\):", line)
            if m:
                current = classes.setdefault(m.group(1), set())
                continue
            if line.startswith("class "):
                current = None
                continue
            m = re.match(r"^    (?:async )?def (\w+)\(", line)
            if m and current is not None:
                current.add(m.group(1))
            m = re.match(r"^    async def (\w+)\(cls", line)
    return classes


def main(spec_path, table_path, bindings_path):
    with open(table_path, "rb") as f:
        table = tomllib.load(f)["routes"]
    classes = sdk_methods(bindings_path)
    problems, counted = [], 0
    for op in operations(spec_path):
        if "ops" in op["tags"] or "vendor-phone" in op["tags"] or op["summary"].endswith("(admin)"):
            continue
        counted += 1
        name = op.get("id", f"{op['method']} {op['path']}")
        target = table.get(name)
        if target is None:
            problems.append(f"{name} ({op['method']} {op['path']}) has no SDK method in {table_path}")
            continue
        cls, _, method = target.partition(".")
        if method not in classes.get(cls, set()):
            problems.append(f"{name}: {target} is not in the generated bindings")
    for p in problems:
        print("!!", p)
    print(f"sdk routes: {counted} app and phone routes, {len(problems)} without a method")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
