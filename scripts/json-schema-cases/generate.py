#!/usr/bin/env python3
"""Records the expected grammars of java-api's JsonSchemaToGrammarTest from llama.cpp's own converters.

The cases are the schema -> grammar cases of llama.cpp's tests/test-json-schema-to-grammar.cpp (pinned source)
plus the schemas of extra-schemas.txt beside this script. For each case the script records what the reference
produces:
  - llama.cpp's C++ converter (json_schema_to_grammar / build_grammar in libllama-common), run through the small
    reference.cpp program built here against the pinned build; this is the converter llama.cpp itself uses and
    the one JsonSchemaToGrammar matches;
  - for the options that only the Python converter has (prop-order, raw-pattern), examples/json_schema_to_grammar.py.
It also runs the Python converter on every case and notes whether it agrees (python: same | differs | fails).

Run it after the llama.cpp pin changes (needs python3, g++ and the native module built):
  scripts/json-schema-cases/generate.py [--native-build native/target/natives/<platform>/native-build.properties]
It rewrites java-api/src/test/resources/io/llamaffm/grammar/json-schema-cases.txt.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUTPUT = os.path.join(REPO, 'java-api/src/test/resources/io/llamaffm/grammar/json-schema-cases.txt')

TEST_CASE_RE = re.compile(
    r'(?:test|run)\(\{\s*(SUCCESS|FAILURE),\s*"((?:[^"\\]|\\.)*)",\s*'
    r'(?:R"""\((.*?)\)"""|"((?:[^"\\]|\\.)*)"),\s*'
    r'(?:R"""\((.*?)\)"""|""),?\s*\}\);', re.S)


def read_properties(path):
    props = {}
    with open(path) as f:
        for line in f:
            if '=' in line and not line.startswith('#'):
                key, value = line.rstrip('\n').split('=', 1)
                props[key.strip()] = value.strip()
    return props


def build_reference(source_dir, bin_dir, work):
    exe = os.path.join(work, 'reference')
    subprocess.run(['g++', '-std=c++17', '-O1', '-I', f'{source_dir}/common', '-I', f'{source_dir}/include',
                    '-I', f'{source_dir}/ggml/include', os.path.join(HERE, 'reference.cpp'), '-L', bin_dir,
                    '-lllama-common', f'-Wl,-rpath,{bin_dir}', '-o', exe], check=True)
    return exe


def trim(text):
    """The comparison llama.cpp's test uses: outer blanks and each line's leading blanks removed."""
    return re.sub(r'(^|\n)[ \t]+', r'\1', text.strip(' \n\r\t'))


def llama_cpp_cases(source_dir):
    with open(os.path.join(source_dir, 'tests/test-json-schema-to-grammar.cpp')) as f:
        text = f.read()
    cases = []
    for m in TEST_CASE_RE.finditer(text):
        status, name, raw_schema, quoted_schema, grammar = m.groups()
        schema = raw_schema if raw_schema is not None else bytes(quoted_schema, 'utf-8').decode('unicode_escape')
        cases.append({'name': name, 'origin': 'llama.cpp tests/test-json-schema-to-grammar.cpp',
                      'options': '', 'schema': dedent(schema),
                      'status': status, 'test_grammar': grammar or ''})
    return cases


def dedent(text):
    lines = text.strip('\n').split('\n')
    indents = [len(l) - len(l.lstrip(' ')) for l in lines[1:] if l.strip()]
    cut = min(indents) if indents else 0
    if cut <= 0:
        return '\n'.join(lines)
    return '\n'.join([lines[0]] + [l[cut:] for l in lines[1:]])


def extra_cases():
    cases = []
    with open(os.path.join(HERE, 'extra-schemas.txt')) as f:
        current, section = None, None
        for line in f.read().split('\n'):
            if line.startswith('#') and current is None:
                continue
            if line.startswith('=== '):
                current = {'name': line[4:], 'origin': 'extra-schemas.txt', 'options': '', 'schema': ''}
                cases.append(current)
                section = None
            elif line.startswith('options: ') and section is None:
                current['options'] = line[len('options: '):]
            elif line == '--- schema':
                section = 'schema'
            elif section == 'schema':
                current['schema'] += line + '\n'
    for c in cases:
        c['schema'] = c['schema'].strip('\n')
    return cases


def python_args(options):
    args = []
    for opt in options.split():
        if opt == 'dotall':
            args.append('--dotall')
        elif opt == 'raw-pattern':
            args.append('--raw-pattern')
        elif opt.startswith('prop-order='):
            args += ['--prop-order', opt[len('prop-order='):]]
        else:
            sys.exit(f'unknown option {opt}')
    return args


def run_cpp(exe, case):
    args = [exe] + (['--dotall'] if 'dotall' in case['options'].split() else [])
    p = subprocess.run(args, input=case['schema'].encode(), capture_output=True)
    prefix = 'WARNING: JSON schema conversion was incomplete: '
    warnings = [w for line in p.stderr.decode().splitlines() if line.startswith(prefix)
                for w in line[len(prefix):].split('; ')]
    if p.returncode != 0:
        return {'ok': False, 'error': p.stderr.decode().strip()}
    return {'ok': True, 'grammar': p.stdout.decode(), 'warnings': warnings}


def run_python(source_dir, case, work):
    path = os.path.join(work, 'schema.json')
    with open(path, 'w') as f:
        f.write(case['schema'])
    try:
        p = subprocess.run([sys.executable, os.path.join(source_dir, 'examples/json_schema_to_grammar.py')]
                           + python_args(case['options']) + [path], capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:  # its pattern parser loops forever on some patterns, e.g. a stray ']'
        return {'ok': False, 'error': 'timed out'}
    if p.returncode != 0:
        return {'ok': False, 'error': (p.stderr.decode().strip().splitlines() or ['exit status %d' % p.returncode])[-1]}
    return {'ok': True, 'grammar': p.stdout.decode(), 'warnings': []}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--native-build', help='native-build.properties (source.dir, bin.dir)')
    args = parser.parse_args()
    build_file = args.native_build or next(iter(glob.glob(os.path.join(REPO, 'native/target/natives/*/native-build.properties'))), None)
    if not build_file:
        sys.exit('native-build.properties not found: build the native module first (or pass --native-build)')
    props = read_properties(build_file)
    source_dir, bin_dir = props['source.dir'], props.get('bin.dir')
    if not bin_dir:
        sys.exit('the natives were not built from source here: libllama-common is needed')

    with tempfile.TemporaryDirectory() as work:
        exe = build_reference(source_dir, bin_dir, work)
        out = [f'# JSON Schema -> GBNF cases with the grammars llama.cpp\'s converter produces for them.',
               f'# Generated by scripts/json-schema-cases/generate.py; do not edit by hand.',
               f'# source: {os.path.basename(source_dir)}',
               f'# Per case: origin, reference (cpp: common/json-schema-to-grammar.cpp; python:',
               f'# examples/json_schema_to_grammar.py), options, python (does the Python converter agree?),',
               f'# then the schema and either the grammar (+ warnings) or the reference\'s error.', '']
        counts = {}
        for case in llama_cpp_cases(source_dir) + extra_cases():
            python_only = any(o.startswith('prop-order=') or o == 'raw-pattern' for o in case['options'].split())
            python = run_python(source_dir, case, work)
            expected = python if python_only else run_cpp(exe, case)
            check_against_test(case, expected)
            agreement = 'n/a' if python_only else python_agreement(python, expected)
            counts[agreement] = counts.get(agreement, 0) + 1
            out += [f'=== {case["name"]}', f'origin: {case["origin"]}',
                    f'reference: {"python" if python_only else "cpp"}', f'options: {case["options"]}',
                    f'python: {agreement}', '--- schema', case['schema']]
            if expected['ok']:
                out += ['--- grammar', expected['grammar'].rstrip('\n')]
                if expected['warnings']:
                    out += ['--- warnings'] + expected['warnings']
            else:
                out += ['--- error', expected['error']]
            out.append('')
        for line in out:
            if line.startswith(('=== ', '--- ')) and not re.match(r'^(=== .*|--- (schema|grammar|warnings|error))$', line):
                sys.exit(f'a case contains a line that looks like a section marker: {line}')
        os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
        with open(OUTPUT, 'w') as f:
            f.write('\n'.join(out))
        total = sum(counts.values())
        print(f'{total} cases written to {os.path.relpath(OUTPUT, REPO)}; Python converter: {counts}')


def python_agreement(python, expected):
    if python['ok'] and expected['ok']:
        return 'same' if python['grammar'] == expected['grammar'] else 'differs'
    if not python['ok'] and not expected['ok']:
        return 'same'  # both reject the schema
    return 'fails' if expected['ok'] else 'differs'


def check_against_test(case, expected):
    """llama.cpp's own cases: the reference must still give what its test expects."""
    if 'status' not in case:
        return
    if (case['status'] == 'SUCCESS') != expected['ok']:
        sys.exit(f'case {case["name"]}: expected {case["status"]}, the reference gave {expected}')
    if expected['ok'] and trim(expected['grammar']) != trim(case['test_grammar']):
        sys.exit(f'case {case["name"]}: the reference output differs from the test expectation')


if __name__ == '__main__':
    main()
