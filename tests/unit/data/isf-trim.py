#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cut a real dwarf2json ISF down to what qvmi's Linux views ask of it.

Regenerate the fixture (needs dwarf2json, which is not part of qvmi:
build it from its own sources with Debian's golang-go and
golang-github-spf13-pflag-dev, GO111MODULE=off GOPATH=DIR:/usr/share/gocode):

    V=6.1.0-50-686-pae
    apt-get download linux-image-$V-dbg:i386=6.1.176-1
    dpkg-deb --fsys-tarfile linux-image-$V-dbg_*.deb | tar -x \
        --occurrence=1 ./usr/lib/debug/boot/vmlinux-$V \
        ./usr/lib/debug/boot/System.map-$V
    dwarf2json linux --elf usr/lib/debug/boot/vmlinux-$V \
        --system-map usr/lib/debug/boot/System.map-$V > linux32.json
    tests/unit/data/isf-trim.py linux32.json \
        > tests/unit/data/linux32-dwarf2json.json

The x86_64 fixture, tests/unit/data/linux64-dwarf2json.json, the same
way from the demo guest's kernel (dwarf2json: ~75 s, 4.3 GB peak RSS,
38 MB out; delete the 858 MB .deb and the 633 MB vmlinux afterwards):

    V=6.1.0-56-amd64
    apt-get download linux-image-$V-dbg=6.1.192-2
    (same dpkg-deb | tar and dwarf2json lines) > linux64.json
    tests/unit/data/isf-trim.py linux64.json \
        > tests/unit/data/linux64-dwarf2json.json

Each makes its fixture byte for byte.  The first
makes tests/unit/data/linux32-dwarf2json.json (test-isf-real.c) from
`dwarf2json linux --elf vmlinux-6.1.0-50-686-pae --system-map
System.map-6.1.0-50-686-pae` (Debian's linux-image-6.1.0-50-686-pae-dbg
6.1.176-1, dwarf2json 0.6.0).  Nothing is rewritten: the metadata block
and base_types are copied whole; every struct in QUERIES, and every struct
an anonymous member on a queried path leads through, keeps all its field
entries verbatim; structs those fields hold by value (and symbols' types)
are kept with their real kind and size and no fields; enums used by kept
fields are copied whole.  Pointers to dropped structs dangle, as pointers
to opaque structs do in the full file.  Symbols: SYMBOLS, verbatim.
"""
import json
import sys

# (struct, member path) pairs qvmi's ps/pstree/lsmod/maps/cmdline/env/
# dmesg/sym/read --pid ask the ISF on 6.1 (traced); what they ask and
# must miss (module.mem, 6.4+) misses in the kept whole structs too.
QUERIES = [
    ("task_struct", p) for p in (
        "__state", "comm", "cred", "exit_state", "flags", "mm", "pid",
        "real_parent", "signal", "start_boottime", "tasks", "tgid",
        "thread_node")
] + [
    ("mm_struct", p) for p in (
        "arg_end", "arg_start", "brk", "env_end", "env_start", "mm_mt",
        "mm_mt.ma_root", "pgd", "start_brk", "start_stack")
] + [
    ("vm_area_struct", p) for p in (
        "vm_end", "vm_file", "vm_flags", "vm_mm", "vm_ops", "vm_pgoff",
        "vm_private_data", "vm_start")
] + [
    ("module", p) for p in (
        "core_layout.base", "core_layout.size", "core_layout.text_size",
        "data_layout.size", "init_layout.size", "list", "name", "state")
] + [
    ("maple_node", p) for p in (
        "ma64.pivot", "ma64.slot", "mr64.pivot", "mr64.slot")
] + [
    ("printk_ringbuffer", p) for p in (
        "desc_ring.count_bits", "desc_ring.descs", "desc_ring.head_id",
        "desc_ring.infos", "desc_ring.tail_id", "text_data_ring.data",
        "text_data_ring.size_bits")
] + [
    ("printk_info", p) for p in (
        "caller_id", "facility", "level", "seq", "text_len", "ts_nsec")
] + [
    ("prb_desc", "state_var"), ("prb_desc", "text_blk_lpos.begin"),
    ("prb_desc", "text_blk_lpos.next"), ("cred", "uid.val"),
    ("dentry", "d_name.name"), ("dentry", "d_parent"),
    ("file", "f_path.dentry"), ("file", "f_path.mnt"),
    ("mount", "mnt"), ("mount", "mnt_mountpoint"), ("mount", "mnt_parent"),
    ("signal_struct", "thread_head"), ("vfsmount", "mnt_root"),
    ("list_head", "next"), ("list_head", "prev"),
    ("vm_special_mapping", "name"),
]

SYMBOLS = [
    "_text", "_stext", "_end", "high_memory", "init_mm", "init_task",
    "linux_banner", "modules", "prb", "special_mapping_vmops",
    "legacy_special_mapping_vmops", "swapper_pg_dir", "__per_cpu_offset",
    # dwarf2json writes address 0 for these (a file symbol, a local
    # static): qvmi must treat them as absent
    "8250_core.c", "CHUNKSZ",
    # typed as a pointer to an opaque struct (struct maple_enode)
    "a_enode",
]
# x86_64 has no swapper_pg_dir symbol (a macro for init_top_pgt).
OPTIONAL = {"swapper_pg_dir"}
# x86_64 (8-byte pointers) also keeps: per-CPU offsets near 0 (0 itself
# for fixed_percpu_data, so qvmi must take it from kallsyms); symbols
# kallsyms lacks (the kallsyms tables: only the ISF has them); absolute
# constants below _text (not to be slid); .init.scratch past _end (slid).
SYMBOLS64 = [
    "init_top_pgt", "page_offset_base", "phys_base", "current_task",
    "fixed_percpu_data", "__per_cpu_start", "__per_cpu_end",
    "kallsyms_num_syms", "kallsyms_relative_base", "kallsyms_token_table",
    "phys_startup_64", "L4_PAGE_OFFSET", "__init_scratch_begin",
]

USER = ("struct", "union", "class")


def user_of(desc):
    """The user type a descriptor holds by value, or None."""
    while desc:
        k = desc.get("kind")
        if k in USER:
            return desc["name"]
        if k == "array":
            desc = desc.get("subtype")
        elif k == "bitfield":
            desc = desc.get("type")
        else:
            return None
    return None


def enums_of(desc, out):
    while desc:
        k = desc.get("kind")
        if k == "enum":
            out.add(desc["name"])
        desc = desc.get("subtype") or desc.get("type") \
            if k in ("array", "bitfield", "pointer") else None


def find(ut, name, full, user):
    """Field entry `name` of struct ut, descending through anonymous
    members (recorded in full); None if absent."""
    fields = user[ut]["fields"]
    if name in fields:
        return fields[name]
    for fn, f in fields.items():
        sub = f["type"].get("name") if f["type"].get("kind") in USER \
            else None
        if fn.startswith("unnamed_field") and sub in user:
            hit = find(sub, name, full, user)
            if hit is not None:
                full.add(sub)
                return hit
    return None


def main():
    src = json.load(open(sys.argv[1]))
    user, enums = src["user_types"], src["enums"]
    full, stubs, used_enums = set(), set(), set()
    for ut, path in QUERIES:
        cur = ut
        for comp in path.split("."):
            if cur is None:
                break
            full.add(cur)
            f = find(cur, comp, full, user)
            cur = user_of(f["type"]) if f else None
    for ut in full:
        for f in user[ut]["fields"].values():
            n = user_of(f["type"])
            if n and n in user and n not in full:
                stubs.add(n)
            enums_of(f["type"], used_enums)
    syms = {}
    wide = src["base_types"]["pointer"]["size"] == 8
    for s in SYMBOLS + (SYMBOLS64 if wide else []):
        if s in OPTIONAL and s not in src["symbols"]:
            continue
        syms[s] = src["symbols"][s]
        n = user_of(syms[s].get("type"))
        if n and n not in full:
            stubs.add(n)
    out_user = {}
    for n in sorted(full | stubs):
        t = user[n]
        out_user[n] = t if n in full else \
            {"size": t["size"], "fields": {}, "kind": t["kind"]}
    doc = {
        "metadata": src["metadata"],
        "base_types": src["base_types"],
        "user_types": out_user,
        "enums": {n: enums[n] for n in sorted(used_enums) if n in enums},
        "symbols": syms,
    }
    # One table entry a line: small, and a diff shows which type changed.
    c = (",", ":")
    w = sys.stdout.write
    w('{"metadata":%s,\n' % json.dumps(doc["metadata"], separators=c))
    for i, key in enumerate(("base_types", "user_types", "enums",
                             "symbols")):
        w('"%s":{\n' % key)
        items = list(doc[key].items())
        for j, (n, v) in enumerate(items):
            w("%s:%s%s\n" % (json.dumps(n), json.dumps(v, separators=c),
                             "," if j + 1 < len(items) else ""))
        w("}%s\n" % ("," if i < 3 else "}"))


if __name__ == "__main__":
    main()
