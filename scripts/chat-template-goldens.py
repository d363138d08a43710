#!/usr/bin/env python3
"""Regenerates the chat-template goldens of ChatTemplateTest with Python's Jinja2, set up as Hugging Face's
transformers renders chat templates (apply_chat_template): ImmutableSandboxedEnvironment with trim_blocks,
lstrip_blocks and loop controls, the `generation` tag, a tojson filter that is json.dumps(ensure_ascii=False),
raise_exception and strftime_now (at a fixed time, 2026-01-15 10:30, as the test's clock).

Renders every models/templates/*.jinja of the pinned llama.cpp source for the scenarios below and writes one
file per scenario to java-api/src/test/resources/io/llamaffm/chat/golden/; renders the chat templates stored in
the source's models/ggml-vocab-*.gguf (default and named ones, with each model's BOS/EOS text) for the
"conversation" scenario into golden/gguf.txt. Needs jinja2 (pip install jinja2).

usage: scripts/chat-template-goldens.py [LLAMA_CPP_SOURCE_DIR]   (default: source.dir of the native build)
"""
import copy, datetime, glob, json, os, sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "java-api/src/test/resources/io/llamaffm/chat/golden")
NOW = datetime.datetime(2026, 1, 15, 10, 30)


class Generation(jinja2.ext.Extension):
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: NOW.strftime(fmt)
    return env


def msg(role, content):
    return {"role": role, "content": content}


# keep in step with ChatTemplateTest.SCENARIOS
CONVERSATION = [msg("system", "You are a helpful assistant"), msg("user", "Hello"), msg("assistant", "Hi there"),
                msg("user", "Who are you"), msg("assistant", "   I am an assistant   "), msg("user", "Another question")]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
TOOL_MESSAGES = [msg("user", "Weather in Zürich?"),
                 {"role": "assistant", "content": "", "tool_calls": [{"id": "call00001", "type": "function",
                  "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
                 {"role": "tool", "tool_call_id": "call00001", "name": "get_weather", "content": "{\"temp_c\": 21.5}"},
                 msg("assistant", "It is 21.5 °C in Zürich.")]
SCENARIOS = {
    "conversation": dict(messages=CONVERSATION, add_generation_prompt=True),
    "no-generation-prompt": dict(messages=CONVERSATION, add_generation_prompt=False),
    "tools": dict(messages=TOOL_MESSAGES, tools=TOOLS, add_generation_prompt=True),
}


def gguf_metadata(path):
    """The key/value metadata of a GGUF file (arrays of strings and numbers included)."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"GGUF":
        raise ValueError(path + " is not a GGUF file")
    pos = 4 + 4 + 8
    (count,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    scalars = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

    def read(kind):
        nonlocal pos
        if kind == 8:
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            text = data[pos:pos + n].decode("utf-8")
            pos += n
            return text
        if kind == 9:
            (item_kind, n) = struct.unpack_from("<IQ", data, pos)
            pos += 12
            return [read(item_kind) for _ in range(n)]
        (value,) = struct.unpack_from(scalars[kind], data, pos)
        pos += struct.calcsize(scalars[kind])
        return value

    meta = {}
    for _ in range(count):
        key = read(8)
        (kind,) = struct.unpack_from("<I", data, pos)
        pos += 4
        meta[key] = read(kind)
    return meta


def write_gguf_goldens(source):
    path_out = os.path.join(OUT, "gguf.txt")
    with open(path_out, "w", encoding="utf-8", newline="") as out:
        for path in sorted(glob.glob(os.path.join(source, "models/ggml-vocab-*.gguf"))):
            meta = gguf_metadata(path)
            tokens = meta.get("tokenizer.ggml.tokens", [])

            def token(key):
                return tokens[meta[key]] if key in meta and meta[key] < len(tokens) else ""

            for key in sorted(k for k in meta if k == "tokenizer.chat_template" or k.startswith("tokenizer.chat_template.")):
                name = os.path.basename(path) + key[len("tokenizer.chat_template"):].replace(".", ":")
                variables = dict(bos_token=token("tokenizer.ggml.bos_token_id"), eos_token=token("tokenizer.ggml.eos_token_id"),
                                 tools=None, documents=None)
                variables.update(copy.deepcopy(SCENARIOS["conversation"]))
                try:
                    text = environment().from_string(meta[key]).render(**variables)
                    out.write("### %s ok %d\n%s\n" % (name, len(text.encode("utf-16-le")) // 2, text))
                except Exception as e:
                    out.write("### %s error %s\n" % (name, type(e).__name__))
    print("wrote", path_out)


def source_dir():
    if len(sys.argv) > 1:
        return sys.argv[1]
    props = glob.glob(os.path.join(ROOT, "native/target/natives/*/native-build.properties"))
    for line in open(props[0], encoding="utf-8"):
        if line.startswith("source.dir="):
            return line.split("=", 1)[1].strip()
    sys.exit("no source.dir: build the native module first or pass the llama.cpp source dir")


def main():
    source = source_dir()
    templates = sorted(glob.glob(os.path.join(source, "models/templates/*.jinja")))
    os.makedirs(OUT, exist_ok=True)
    for name, scenario in SCENARIOS.items():
        with open(os.path.join(OUT, name + ".txt"), "w", encoding="utf-8", newline="") as out:
            for path in templates:
                template = open(path, encoding="utf-8", newline="").read()
                variables = dict(bos_token="<s>", eos_token="</s>", tools=None, documents=None)
                variables.update(copy.deepcopy(scenario))
                try:
                    text = environment().from_string(template).render(**variables)
                    length = len(text.encode("utf-16-le")) // 2  # Java string length
                    out.write("### %s ok %d\n%s\n" % (os.path.basename(path), length, text))
                except Exception as e:  # the template fails for this input: so must ours
                    out.write("### %s error %s\n" % (os.path.basename(path), type(e).__name__))
        print("wrote", os.path.join(OUT, name + ".txt"))
    write_gguf_goldens(source)


if __name__ == "__main__":
    main()
