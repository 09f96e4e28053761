#!/usr/bin/env python3
"""Keep src/'s architecture honest: layers only depend downwards, and no module cycles.

  check_layers.py [--root .] [--config tools/layers.txt] [--build BUILD] [-I DIR]... [--dot]

The layer order comes from the config file (lowest first; "name folder..." per line, # comments).
A file belongs to the layer whose folder is the longest prefix of its own folder.  On src/ only:
 1. an #include may not reach a header of a higher layer (include/ and generated headers are free);
 2. with --build, a C file may not use a symbol that only higher-layer files define: a call with a
    declaration written inline is an include in disguise (found with nm on meson's objects);
 3. the module graph (name.c + name.h in one folder; a lone header is a module too), with edges
    from includes and symbol uses, may have no cycle; each one is printed with the edges forming it.
Prints one line per violation (a cycle's edges follow, indented) and a summary; exit 0 when clean, 1 on violations, 2 on usage errors.
"""
import argparse
import os
import re
import subprocess
import sys
from collections import defaultdict

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
NM_RE = re.compile(r'^(.*?): (\S+) (\S)')


def die(msg):
    print(f'check_layers: {msg}', file=sys.stderr)
    sys.exit(2)


def read_layers(path, root):
    """[(name, [folder...])], lowest layer first."""
    try:
        lines = open(path, encoding='utf-8').read().splitlines()
    except OSError as e:
        die(f'cannot read config: {e}')
    layers, seen = [], set()
    for n, line in enumerate(lines, 1):
        words = line.split('#', 1)[0].split()
        if not words:
            continue
        if len(words) < 2:
            die(f'{path}:{n}: a layer needs a name and at least one folder')
        name, folders = words[0], [os.path.normpath(f) for f in words[1:]]
        for f in folders:
            # A typo would silently leave files out of their layer; catch it here.
            if f in seen or not os.path.isdir(os.path.join(root, f)):
                die(f'{path}:{n}: folder {f} is listed twice or does not exist')
            seen.add(f)
        layers.append((name, folders))
    if not layers:
        die(f'{path}: no layers')
    return layers


def layer_of(rel, layers):
    """Index of the layer owning file rel (longest folder prefix wins), or None."""
    d, best, best_len = os.path.dirname(rel), None, -1
    for i, (_, folders) in enumerate(layers):
        for f in folders:
            if (f == '.' or d == f or d.startswith(f + '/')) and len(f) > best_len:
                best, best_len = i, len(f)
    return best


def source_files(root, top):
    out = []
    for dirpath, dirs, files in os.walk(os.path.join(root, top)):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(('.c', '.h', '.cpp')):   # .cpp: the OpenCV wrapper (src/video/flow_dis.cpp)
                out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return out


def resolve(rel, name, quoted, root, build, incdirs, headers):
    """The file an include names, relative to root (or None for a system header).

    Mirrors the compiler: a quoted include tries the including file's folder first, then the
    -I folders (meson adds each one in the source and in the build tree).  If that fails, the
    header is searched for by name in src/ and include/ so that the check keeps working while
    meson.build's include list is being changed; two candidates there is an error."""
    tries = ([os.path.dirname(rel)] if quoted else []) + list(incdirs)
    for d in tries:
        for base in [root] + ([build] if build and d != os.path.dirname(rel) else []):
            p = os.path.normpath(os.path.join(base, d, name))
            if os.path.isfile(p):
                return os.path.relpath(p, root)
    if not quoted:
        return None
    hits = [h for h in headers if h == name or h.endswith('/' + name)]
    if len(hits) > 1:
        die(f'{rel}: #include "{name}" is ambiguous: {", ".join(hits)}')
    return hits[0] if hits else None


def object_sources(build, root, csrc):
    """{source file: [objects]} for meson's objects (TARGET.p/src_dir_name.c.o) of src/ files."""
    by_name = defaultdict(list)
    for c in csrc:
        by_name[c.replace('/', '_')].append(c)
    out = defaultdict(list)
    for dirpath, _, files in os.walk(build):
        if '.p' not in dirpath:
            continue
        for f in files:
            if not f.endswith(('.c.o', '.cpp.o')):
                continue
            base = f[:-2]
            # Other targets may prefix the path (e.g. ".._src_x.c.o" from a subfolder).
            cands = [k for k in by_name if base == k or base.endswith('_' + k)]
            if not cands:
                continue   # not a src/ file, or its source is gone (a stale object)
            srcs = by_name[max(cands, key=len)]
            if len(srcs) > 1:
                die(f'object {f} could come from any of {", ".join(srcs)}')
            out[srcs[0]].append(os.path.join(dirpath, f))
    return out


def nm_symbols(objs_of):
    """({source: symbols it uses}, {symbol: sources defining it}) for global symbols."""
    obj_src = {o: s for s, objs in objs_of.items() for o in objs}
    uses, defs = defaultdict(set), defaultdict(set)
    if not obj_src:
        return uses, defs
    try:
        text = subprocess.run(['nm', '-A', '-P', '-g'] + sorted(obj_src), check=True,
                              capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        die(f'nm failed: {e}')
    for line in text.splitlines():
        m = NM_RE.match(line)
        if not m or m.group(1) not in obj_src:
            continue
        src, sym, kind = obj_src[m.group(1)], m.group(2), m.group(3)
        # U is undefined; w/v are weak references that are not defined here.
        if kind in 'Uwv':
            uses[src].add(sym)
        else:
            defs[sym].add(src)
    return uses, defs


def module(rel):
    return os.path.splitext(rel)[0]


def sccs(nodes, edges):
    """Tarjan's strongly connected components (recursion is fine for a few hundred modules)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--root', default='.', help='source tree root (default .)')
    ap.add_argument('--config', help='layer file (default ROOT/tools/layers.txt)')
    ap.add_argument('--build', help="meson build folder: its objects give rule 2's symbol uses")
    ap.add_argument('-I', dest='incdirs', action='append',
                    help="include folder relative to ROOT, as meson.build passes them "
                         "(default: include src .)")
    ap.add_argument('--dot', action='store_true', help='print the module graph as Graphviz dot')
    ap.add_argument('build_pos', nargs='?', help='same as --build')
    a = ap.parse_args()
    root = os.path.abspath(a.root)
    build = a.build or a.build_pos
    if build and not os.path.isdir(build):
        die(f'no build folder {build}')
    build = os.path.abspath(build) if build else None
    incdirs = a.incdirs or ['include', 'src', '.']
    if not os.path.isdir(os.path.join(root, 'src')):
        die(f'no src/ in {root}')
    layers = read_layers(a.config or os.path.join(root, 'tools', 'layers.txt'), root)
    names = [n for n, _ in layers]

    files = source_files(root, 'src')
    headers = [f for f in files + source_files(root, 'include') if f.endswith('.h')]
    violations = []
    lay = {}
    for f in files:
        lay[f] = layer_of(f, layers)
        if lay[f] is None:
            violations.append(f'{f}: in no layer of the config')

    # edges[a][b] = evidence ("file:line" for includes, symbol names for uses)
    edges = defaultdict(lambda: defaultdict(list))
    nodes = {module(f) for f in files}
    mod_layer = {module(f): lay[f] for f in files}

    def up(src, dst):
        return lay[src] is not None and lay[dst] is not None and lay[dst] > lay[src]

    for f in files:
        with open(os.path.join(root, f), encoding='utf-8', errors='replace') as fh:
            for n, line in enumerate(fh, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                t = resolve(f, m.group(2), m.group(1) == '"', root, build, incdirs, headers)
                if t is None or t not in lay:
                    continue   # system, public (include/) or generated header: allowed everywhere
                if up(f, t):
                    violations.append(f'{f}:{n}: includes {t} of higher layer {names[lay[t]]} '
                                      f'from layer {names[lay[f]]}')
                if module(t) != module(f):
                    edges[module(f)][module(t)].append(f'{f}:{n}')

    nobj = 0
    if build:
        objs_of = object_sources(build, root, [f for f in files if f.endswith(('.c', '.cpp'))])
        if not objs_of:
            die(f'no objects of src/ files under {build} (is it built?)')
        nobj = len(objs_of)
        uses, defs = nm_symbols(objs_of)
        for f in sorted(uses):
            upward = defaultdict(list)
            for sym in sorted(uses[f]):
                definers = defs.get(sym, set()) - {f}
                if not definers:
                    continue   # a libc or dependency symbol
                # Only an error when no same-or-lower-layer file would do.
                if lay[f] is not None and all(up(f, d) for d in definers):
                    for d in definers:
                        upward[d].append(sym)
                for d in definers:
                    if module(d) != module(f):
                        edges[module(f)][module(d)].append(sym)
            for d, syms in sorted(upward.items()):
                violations.append(f'{f}: uses {", ".join(syms)} defined only in {d} of higher '
                                  f'layer {names[lay[d]]} from layer {names[lay[f]]}')

    if a.dot:
        print('digraph modules {\n  rankdir=BT;')
        for i, name in enumerate(names):
            print(f'  subgraph "cluster_{name}" {{ label="{name}";')
            for m in sorted(nodes):
                if mod_layer[m] == i:
                    print(f'    "{m}";')
            print('  }')
        for s in sorted(edges):
            for d in sorted(edges[s]):
                print(f'  "{s}" -> "{d}";')
        print('}')
        return 0

    ncycles = 0
    for comp in sccs(nodes, edges):
        if len(comp) < 2:
            continue
        ncycles += 1
        inside = set(comp)
        # One edge per continuation line: a big component is unreadable on one line.
        parts = [f'\n    {s} -> {d}  [{", ".join(edges[s][d])}]'
                 for s in comp for d in sorted(edges[s]) if d in inside]
        violations.append(f'cycle of {len(comp)} modules: {" ".join(comp)}' + ''.join(parts))

    for v in violations:
        print(v)
    print(f'check_layers: {len(violations)} violation(s), {ncycles} cycle(s); {len(files)} files '
          f'in {len(layers)} layer(s), {len(nodes)} modules, '
          + (f'{nobj} sources with objects' if build else 'symbol uses not checked (no --build)'))
    return 1 if violations else 0


if __name__ == '__main__':
    sys.exit(main())
