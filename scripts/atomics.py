#!/usr/bin/env python3
"""Census of the atomic read-modify-write instructions a run executed.

usage: atomics.py CALLGRIND_OUT BINARY OPS

CALLGRIND_OUT comes from `valgrind --tool=callgrind --dump-instr=yes BINARY ...`;
OPS is the number of operations the run made (round trips, selects), so that the
counts print per operation. Lists each locked instruction (lock-prefixed, xchg with
memory, mfence) of BINARY with the function it was attributed to, then the total.
"""
import collections
import re
import subprocess
import sys


def executed(path):
    """Instruction counts by (object, address) from a callgrind file."""
    counts, fn_of = collections.Counter(), {}
    names, ob, fn, last, skip_next = {}, None, None, 0, False
    for line in open(path):
        line = line.rstrip("\n")
        m = re.match(r"(c?ob|c?fn|c?fl|fi|fe)=\((\d+)\)(?: (.*))?", line)
        if m:
            kind, idx, name = m.groups()
            key = (kind.lstrip("c"), idx)
            if name:
                names[key] = name
            if kind == "ob":
                ob = names.get(key)
            if kind == "fn":
                fn = names.get(key)
            continue
        if line.startswith("calls="):
            skip_next = True  # the next line is the call's inclusive cost
            continue
        if not line or line[0] not in "0123456789+-*":
            continue
        parts = line.split()
        pos = parts[0]
        if pos.startswith("0x"):
            last = int(pos, 16)
        elif pos[0] in "+-":
            step = int(pos[1:], 16) if pos[1:].startswith("0x") else int(pos[1:])
            last = last + step if pos[0] == "+" else last - step
        elif pos != "*":
            last = int(pos)
        if skip_next:
            skip_next = False
            continue
        if len(parts) >= 3:
            counts[(ob, last)] += int(parts[2])
            fn_of[(ob, last)] = fn
    return counts, fn_of


def main():
    path, binary, ops = sys.argv[1], sys.argv[2], float(sys.argv[3])
    counts, fn_of = executed(path)
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", binary], capture_output=True, text=True
    ).stdout
    instructions = {}
    for line in listing.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if m:
            instructions[int(m.group(1), 16)] = m.group(2)
    name = binary.split("/")[-1]
    per_site, total = collections.Counter(), 0
    for (ob, addr), n in counts.items():
        text = instructions.get(addr, "")
        if ob and ob.endswith(name) and re.search(r"\block\b|xchg\s+%\w+,.*\(|mfence", text):
            per_site[(fn_of[(ob, addr)], text)] += n
            total += n
    for (fn, text), n in per_site.most_common():
        if n / ops >= 0.05:
            print(f"{n / ops:6.2f}  {text:40.40s} {fn[:100]}")
    print(f"atomics per op: {total / ops:.2f}")


if __name__ == "__main__":
    main()
