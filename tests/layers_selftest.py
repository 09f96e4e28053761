#!/usr/bin/env python3
"""Self-test of tools/check_layers.py on tiny synthetic trees.

  layers_selftest.py CHECKER [CC...]

Each case writes a two-layer tree (src/low below src/high) into a temp folder, compiles its
C files with CC -c into objects named as meson names them, runs the checker and compares the
exit status and the lines it must print.  The trees are small on purpose: each differs from
the clean one by the one thing the checker must catch.
"""
import os
import subprocess
import sys
import tempfile

CLEAN = {
    'tools/layers.txt': '# lowest first\nlow src/low\nhigh src/high   # the top\n',
    'src/low/a.h': 'int a_fn(void);\n',
    'src/low/a.c': '#include "a.h"\nint a_fn(void) { return 1; }\n',
    'src/low/b.h': 'int b_fn(void);\n',
    'src/low/b.c': '#include "b.h"\nint b_fn(void) { return 2; }\n',
    'src/high/h.h': 'int h_fn(void);\n',
    # "a.h" is not in src/high nor on the -I list: the checker finds it by name in src/.
    'src/high/h.c': '#include "h.h"\n#include "a.h"\nint h_fn(void) { return a_fn(); }\n',
}

CASES = [
    # name, changed files, expected exit status, strings the output must contain
    ('clean', {}, 0, ['0 violation(s), 0 cycle(s)']),
    ('upward include', {'src/low/b.c': '#include "b.h"\n#include "h.h"\nint b_fn(void) { return 2; }\n'},
     1, ['src/low/b.c:2: includes src/high/h.h of higher layer high from layer low']),
    ('upward call', {'src/low/b.c': '#include "b.h"\nint h_fn(void);\nint b_fn(void) { return h_fn(); }\n'},
     1, ['src/low/b.c: uses h_fn defined only in src/high/h.c of higher layer high from layer low']),
    ('cycle', {'src/low/a.c': '#include "a.h"\n#include "b.h"\nint a_fn(void) { return b_fn(); }\n',
               'src/low/b.c': '#include "b.h"\nint a_fn(void);\nint b_fn(void) { return a_fn(); }\n'},
     1, ['cycle of 2 modules: src/low/a src/low/b', 'src/low/a -> src/low/b  [src/low/a.c:2, b_fn]',
         'src/low/b -> src/low/a  [a_fn]', '1 violation(s), 1 cycle(s)']),
    ('file in no layer', {'src/other/o.c': 'int o_fn(void) { return 3; }\n'},
     1, ['src/other/o.c: in no layer of the config']),
    ('bad config', {'tools/layers.txt': 'low src/low\nhigh src/hihg\n'}, 2, []),
    # "a.h" now names both src/low/a.h and src/high/sub/a.h, neither next to h.c nor on the -I list.
    ('ambiguous include', {'src/high/sub/a.h': 'int a_fn(void);\n'}, 2, ['is ambiguous']),
]


def run_case(checker, cc, name, changes, want_rc, want_lines):
    with tempfile.TemporaryDirectory() as root:
        files = dict(CLEAN, **changes)
        for rel, text in files.items():
            os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(root, rel), 'w') as f:
                f.write(text)
        objdir = os.path.join(root, 'build', 'libtiny.so.p')
        os.makedirs(objdir)
        # As a layered meson.build would: every layer folder on the compiler's include path.
        incs = ['-I' + os.path.join(root, 'src', d) for d in ('low', 'high')]
        for rel in files:
            if rel.endswith('.c'):
                obj = os.path.join(objdir, rel.replace('/', '_') + '.o')
                subprocess.run(cc + incs + ['-c', os.path.join(root, rel), '-o', obj], check=True)
        r = subprocess.run([sys.executable, checker, '--root', root, '--build', os.path.join(root, 'build')],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        missing = [w for w in want_lines if w not in out]
        ok = r.returncode == want_rc and not missing
        print(f'{"ok  " if ok else "FAIL"} {name}: exit {r.returncode} (want {want_rc})')
        if not ok:
            print('  missing: ' + repr(missing) + '\n  output:\n' + out)
        return ok


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    checker, cc = sys.argv[1], sys.argv[2:] or [os.environ.get('CC', 'cc')]
    results = [run_case(checker, cc, *c) for c in CASES]
    print(f'{sum(results)}/{len(results)} cases passed')
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
