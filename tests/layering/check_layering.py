#!/usr/bin/env python3
"""The layering test: checks every #include, libcurl call and write of shared state under src/
(and the public headers' system includes) against the tables in docs/architecture.md,
"Include rules".

Usage: check_layering.py PROJECT_DIR. Prints each broken rule and exits 1, or prints a summary
and exits 0. The tables are the data: a new rule is one row there.
"""
import os
import re
import sys


def table_after(text, heading):
    """The rows (lists of cells) of the first Markdown table after `heading`."""
    start = text.find(heading)
    if start < 0:
        raise SystemExit(f"docs/architecture.md has no {heading!r}")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith('|'):
            cells = [c.strip() for c in line.strip().strip('|').split('|')]
            if set(''.join(cells)) <= set('-: '):
                continue  # the separator row
            rows.append(cells)
        elif rows:
            break
    return rows[1:]  # without the header row


def names(cell):
    return re.findall(r'`([^`]+)`', cell)


def strip_comments_and_strings(code):
    code = re.sub(r'//[^\n]*', '', code)
    code = re.sub(r'/\*.*?\*/', '', code, flags=re.S)
    return re.sub(r'"(?:\\.|[^"\\\n])*"', '""', code)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    with open(os.path.join(root, 'docs/architecture.md'), encoding='utf-8') as f:
        doc = f.read()
    includes = {names(r[0])[0]: names(r[1]) for r in table_after(doc, '### Which layer may include which')}
    system = {names(r[0])[0]: names(r[1]) for r in table_after(doc, '### Which files may include a library')}
    calls = {names(r[0])[0]: names(r[1]) for r in table_after(doc, '### Which files may call libcurl')}
    writers = [(names(r[0]), names(r[1])) for r in table_after(doc, '### Which files may write shared state')]
    if not includes or not system or not calls or not writers:
        raise SystemExit('a rules table in docs/architecture.md is empty')

    failures = []
    checked = 0
    for top in ('src', 'include'):
        for folder, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(('.cpp', '.hpp')):
                    continue
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.join(root, top)).replace(os.sep, '/')
                with open(path, encoding='utf-8') as f:
                    code = f.read()
                checked += 1
                layer = rel.split('/')[0] + '/'
                # Library and call rules name files under src/ by their path there, and files
                # under include/ by their path from the project's root.
                ruled = rel if top == 'src' else 'include/' + rel
                for quoted in re.findall(r'^\s*#\s*include\s+"([^"]+)"', code, flags=re.M):
                    if top == 'include':
                        if not quoted.startswith('opsmeter/'):
                            failures.append(f'include/{rel}: includes "{quoted}", not a public header')
                        continue
                    allowed = includes.get(layer)
                    if allowed is None:
                        failures.append(f'src/{rel}: its folder {layer} has no row in the include rules')
                    elif not any(quoted.startswith(a) for a in allowed):
                        failures.append(f'src/{rel}: includes "{quoted}"; {layer} may include only {", ".join(allowed)}')
                for angled in re.findall(r'^\s*#\s*include\s+<([^>]+)>', code, flags=re.M):
                    for library, only in system.items():
                        if angled.startswith(library) and not any(ruled.startswith(o) for o in only):
                            failures.append(f'{top}/{rel}: includes <{angled}>, allowed only in {", ".join(only)}')
                bare = strip_comments_and_strings(code)
                if top == 'src':
                    for state, only in writers:
                        for name in state:
                            if name.endswith('()'):  # a method that writes: its call
                                pattern = r'\b' + re.escape(name[:-2]) + r'\s*\('
                            else:  # an atomic: a store or read-modify-write on it
                                pattern = (r'\b' + re.escape(name) + r'\s*(?:\[[^\]]*\])?\s*\.\s*'
                                           r'(?:store|fetch_add|fetch_sub|exchange|compare_exchange_\w+)\s*\(')
                            if re.search(pattern, bare) and not any(ruled.startswith(o) for o in only):
                                failures.append(f'src/{rel}: writes {name}, written only in {", ".join(only)}')
                for prefix, only in calls.items():
                    for call in sorted(set(re.findall(r'\b(' + re.escape(prefix) + r'\w*)\s*\(', bare))):
                        if not any(ruled.startswith(o) for o in only):
                            failures.append(f'{top}/{rel}: calls {call}(), allowed only in {", ".join(only)}')
    for failure in failures:
        print('layering:', failure)
    if failures:
        print(f'layering: {len(failures)} rule(s) broken in {checked} files (rules: docs/architecture.md)')
        return 1
    print(f'layering: {checked} files follow the {len(includes)} include, {len(system)} library, '
          f'{len(calls)} call and {len(writers)} writer rules of docs/architecture.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
