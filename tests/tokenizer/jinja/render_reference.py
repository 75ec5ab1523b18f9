#!/usr/bin/python3
"""Renders chat templates with Python's jinja2 the way transformers does, for C++ parity tests.

Environment: jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols]) plus HF's additions (tojson without HTML escaping or key sorting,
raise_exception, strftime_now). Writes OUT/cases.json: a list of
{"group", "name", "template", "context", "expected"} or {..., "error": "<exception type>"}.

Groups: "features" (small templates, one per engine feature), "smolvlm" (the real SmolVLM
chat_template.json, when --smolvlm exists) and one group per real tokenizer_config.json found
under --tokenizers (gemma3, llama3, qwen3, deepseek_v3; absent ones are listed in
OUT/missing.json).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationTag(jinja2.ext.Extension):
    """HF's AssistantTracker without tracking: {% generation %}...{% endgeneration %} renders its
    body unchanged."""

    tags = {"generation"}

    def parse(self, parser: Any) -> Any:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def make_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, "jinja2.ext.loopcontrols"]
    )

    def tojson(x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None,
               sort_keys: bool = False) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def render(env: ImmutableSandboxedEnvironment, template: str, context: dict) -> dict:
    try:
        return {"expected": env.from_string(template).render(**context)}
    except Exception as e:  # the C++ side only checks that it fails too
        return {"error": type(e).__name__, "message": str(e)}


def text(t: str) -> dict:
    return {"type": "text", "text": t}


IMAGE = {"type": "image"}
VIDEO = {"type": "video"}

# Conversations for the multimodal (content list) templates.
MM_CONVERSATIONS = {
    "single_image": [{"role": "user", "content": [IMAGE, text("Can you describe this image?")]}],
    "text_only": [{"role": "user", "content": [text("What is 2+2?")]}],
    "several_images": [{"role": "user", "content": [IMAGE, IMAGE, text("Compare these two images.")]}],
    "image_after_text": [{"role": "user", "content": [text("Look: "), IMAGE, text(" what is it?")]}],
    "video": [{"role": "user", "content": [VIDEO, text("Describe the video.")]}],
    "system_and_multi_turn": [
        {"role": "system", "content": [text("You are a helpful assistant.")]},
        {"role": "user", "content": [IMAGE, text("What is in the picture?")]},
        {"role": "assistant", "content": [text("A cat on a sofa.")]},
        {"role": "user", "content": [text("What colour is it?")]},
    ],
}

# Conversations with plain string content (text-only LLM templates).
STR_CONVERSATIONS = {
    "single_turn": [{"role": "user", "content": "Hello there!"}],
    "system": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "  Name a colour.  "},
    ],
    "multi_turn": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke.\nA short one."},
    ],
    "unicode": [{"role": "user", "content": "Grüße, 世界! ☃ — “quotes” 'single'"}],
}

# Qwen3 / DeepSeek specifics: thinking, tools, tool calls.
QWEN_EXTRA = {
    "thinking_history": (
        [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "<think>\nadd them\n</think>\n\n4"},
            {"role": "user", "content": "3+3?"},
        ],
        {},
    ),
    "no_thinking": ([{"role": "user", "content": "hi"}], {"enable_thinking": False}),
    "tools": (
        [
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"type": "function", "function": {"name": "get_weather",
                                                  "arguments": {"city": "Paris", "unit": "c"}}}]},
            {"role": "tool", "content": "{\"temp\": 21.5}"},
            {"role": "tool", "content": "sunny"},
        ],
        {"tools": [{"type": "function", "function": {
            "name": "get_weather", "description": "Weather <now> & \"later\"",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]}}}]},
    ),
}

DEEPSEEK_EXTRA = {
    "tool_calls": (
        [
            {"role": "system", "content": "sys A"},
            {"role": "system", "content": "sys B"},
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                {"type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
            {"role": "tool", "content": "21C"},
            {"role": "tool", "content": "noon"},
            {"role": "assistant", "content": "It is 21C at noon."},
        ],
        {},
    ),
}

# Small templates exercising one feature each (with the context they render).
FEATURES: list[tuple[str, str, dict]] = [
    ("text_and_output", "Hello {{ name }}!", {"name": "World"}),
    ("comment", "a{# hidden #}b{#- stripped -#}  c", {}),
    ("strip_both_sides", "x  {{- 1 -}}  y\n  {%- if true -%}  z  {%- endif -%}  w", {}),
    ("trim_blocks", "{% if true %}\nline\n{% endif %}\nend\n", {}),
    ("lstrip_blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc", {}),
    ("lstrip_not_after_text", "a  {% if true %}b{% endif %}", {}),
    ("plus_disables_lstrip_and_trim", "a\n  {%+ if true +%}\nb\n  {%+ endif %}\n", {}),
    ("var_tags_not_trimmed", "{{ 'a' }}\n  {{ 'b' }}\n", {}),
    ("trailing_newline_dropped", "x\n", {}),
    ("crlf_normalised", "a\r\nb{% if true %}\r\nc{% endif %}", {}),
    ("raw_block", "{% raw %}{{ not rendered }}{% endraw %}!", {}),
    ("if_elif_else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %},{% endfor %}", {}),
    ("for_loop_vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", {}),
    ("for_prev_next", "{% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}", {}),
    ("for_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("for_filter", "{% for x in range(10) if x is odd %}{{ x }}{{ loop.length }} {% endfor %}", {}),
    ("for_dict_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_tuple_unpack", "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {}),
    ("nested_loops", "{% for i in [1, 2] %}{% for j in [1, 2] %}{{ loop.index }}{{ i }}{% endfor %}{{ loop.index }}{% endfor %}", {}),
    ("break_continue", "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}", {}),
    ("set_scoping", "{% set x = 0 %}{% for i in [1, 2, 3] %}{{ x }}{% if i == 1 %}{% set x = 5 %}{% endif %}{% endfor %}{{ x }}", {}),
    ("set_per_iteration", "{% for i in [1, 2, 3] %}{% if i == 1 %}{% set y = 5 %}{% endif %}[{{ y }}]{% endfor %}", {}),
    ("namespace", "{% set ns = namespace(count=0, names=[]) %}{% for i in [1, 2, 3] %}{% set ns.count = ns.count + i %}{% endfor %}{{ ns.count }}", {}),
    ("set_tuple_and_block", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set body %}inner {{ a }}{% endset %}[{{ body }}]", {}),
    ("literals", "{{ [1, 'a', none, true, 1.5, {'k': 'v'}] }} {{ 'it''s' }} {{ \"q\\\"uote\" }} {{ 'esc\\n\\t\\u00e9' }} {{ 1_000 }} {{ 0x1F }} {{ 2.5e3 }}", {}),
    ("arithmetic", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 10 / 4 * 2 }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 1 + 2.5 }} {{ -3 }} {{ 0.1 + 0.2 }}", {}),
    ("float_repr", "{{ 1e20 }} {{ 1e-5 }} {{ 1.0e16 }} {{ 123456789.0 }} {{ 3.0 }} {{ 1 / 3 }} {{ 2.5 }} {{ 1e15 }} {{ 0.0001 }}", {}),
    ("concat", "{{ 'a' ~ 1 ~ none ~ true ~ [1] }}", {}),
    ("comparisons", "{{ 1 == 1.0 }} {{ '1' == 1 }} {{ 1 != 2 }} {{ 2 > 1 }} {{ 'a' < 'b' }} {{ [1, 2] == [1, 2] }} {{ 2 >= 2 }} {{ 1 <= 0 }}", {}),
    ("in_not_in", "{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'cat' }} {{ 3 not in [1] }}", {}),
    ("logic", "{{ true and false }} {{ true or false }} {{ not true }} {{ not (1 == 2) }} {{ 0 or 'x' }} {{ '' and 'y' }} {{ none or [] }}", {}),
    ("conditional_expr", "{{ 'y' if x else 'n' }}{{ 'only' if false }}|{{ 1 if x else 2 if y else 3 }}", {"x": False, "y": True}),
    ("attribute_and_subscript", "{{ m.role }} {{ m['role'] }} {{ m.content[0].text }} {{ m.missing }} {{ l[-1] }} {{ l.0 }} {{ l[10] }}", {"m": {"role": "user", "content": [{"text": "hi"}]}, "l": [1, 2, 3]}),
    ("slicing", "{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ 'héllo'[1:3] }} {{ 'abc'[::-1] }} {{ l[-2:] }}", {"l": [1, 2, 3, 4]}),
    ("tests", "{{ x is defined }} {{ y is undefined }} {{ n is none }} {{ s is string }} {{ d is mapping }} {{ l is iterable }} {{ s is iterable }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ f is false }} {{ t is true }} {{ 1 is number }} {{ 1 is integer }} {{ 1.5 is float }} {{ n is not none }} {{ 'a' is in 'cat' }} {{ 1 is eq 1 }}", {"x": 1, "n": None, "s": "str", "d": {}, "l": [], "f": False, "t": True}),
    ("filters_text", "{{ 'hello WORLD' | capitalize }}|{{ 'ab' | upper }}|{{ 'AB' | lower }}|{{ '  pad  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'hello world-wide (x)' | title }}|{{ 'aaa' | replace('a', 'b') }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 42 | string }}", {}),
    ("filters_sequences", "{{ [3, 1, 2] | length }} {{ 'héllo' | length }} {{ d | length }} {{ [3, 1] | first }} {{ [3, 1] | last }} {{ 'abc' | first }} {{ ['a', 'b'] | join(', ') }} {{ [1, 2] | join }} {{ [1, 2] | reverse | list }} {{ 'ab' | list }} {{ [1, 1, 2] | unique | list }}", {"d": {"a": 1}}),
    ("filters_items_default", "{% for k, v in d | items %}{{ k }}{{ v }}{% endfor %} {{ missing | default('dflt') }} {{ '' | default('e', true) }} {{ none | default('n') }} {{ x | d('z') }}", {"d": {"b": 1, "a": 2}, "x": 0}),
    ("filters_numbers", "{{ '42' | int }} {{ 'x' | int }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 4 | float }} {{ -3 | abs }} {{ 2.567 | round(2) }}", {}),
    ("filter_tojson", "{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ 'é<>&\\'' | tojson }}|{{ [1.0, none, true] | tojson }}", {"x": {"b": 1, "a": [1.5, "é", {"z": None}], "c": "q\"\n"}}),
    ("filters_select", "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }}|{{ msgs | rejectattr('role', 'eq', 'user') | list | length }}|{{ [0, 1, 2] | select('odd') | list }}|{{ msgs | map(attribute='role') | list }}", {"msgs": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}),
    ("string_methods", "{{ '  x  '.strip() }}|{{ 'xxyxx'.strip('x') }}|{{ '\\n\\nab\\n'.lstrip('\\n') }}|{{ 'ab  '.rstrip() }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'aBc'.upper() }}{{ 'aBc'.lower() }}|{{ 'hello world'.title() }}|{{ 'x</think>y'.split('</think>')[-1] }}|{{ 'a-b'.replace('-', '+') }}|{{ ', '.join(['a', 'b']) }}", {}),
    ("dict_methods", "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list }} {% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", {"d": {"a": 1, "b": [2]}}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }} {{ greet(name='C') }}", {}),
    ("range_and_globals", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1) }}", {}),
    ("print_values", "{{ none }}|{{ true }}|{{ [none, 'x', 1.0] }}|{{ {'k': 'v', 'n': none} }}|{{ \"it's\" }}|{{ [\"it's\"] }}|{{ missing }}|", {}),
    ("whitespace_in_loops", "{%- for m in messages -%}\n  <{{ m }}>\n{%- endfor -%}\n", {"messages": ["a", "b"]}),
    ("generation_tag", "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}", {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
    ("chained_comparisons", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 1 }} {{ 1 < 3 > 2 }} {{ 1 == 1 != 2 }} {{ 2 > 1 in [false, true] }}", {}),
    ("sum_and_indent", "{{ [1, 2, 3] | sum }} {{ msgs | sum(attribute='n') }} {{ [0.5, 1] | sum(start=1) }}|{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent('> ', first=true) }}|{{ 'a\n\nb' | indent(1, blank=true) }}", {"msgs": [{"n": 2}, {"n": 5}]}),
    ("unicode_case", "{{ 'éCOLE' | capitalize }} {{ 'straße' | upper }} {{ 'ÀÉÎ' | lower }} {{ 'ǆemal' | capitalize }} {{ 'ünïcode wörds' | title }}", {}),
    ("none_attribute", "[{{ n.x }}][{{ n['x'] }}]", {"n": None}),
    ("string_in_and_compare", "{{ m.content is string and '<tool_response>' in m.content }} {{ 'b' > 'a' }} {{ [1, 2] < [1, 3] }}", {"m": {"content": "x<tool_response>y"}}),
    ("nested_namespace_loops", "{% set ns = namespace(found=false, idx=-1) %}{% for m in msgs %}{% for c in m.content if c.type == 'image' %}{% set ns.found = true %}{% set ns.idx = loop.index0 %}{% endfor %}{% endfor %}{{ ns.found }} {{ ns.idx }}", {"msgs": [{"content": [{"type": "text"}, {"type": "image"}]}]}),
    ("set_in_if_at_top_level", "{% if true %}{% set v = 'set' %}{% endif %}{{ v }}", {}),
    ("filter_on_literal_and_neg", "{{ -2 | abs }} {{ (-2) | abs }} {{ 'ab' | upper ~ 'c' }} {{ [1, 2] | length + 1 }}", {}),
    ("raise_exception", "{% if x %}{{ raise_exception('Conversation roles must alternate') }}{% endif %}ok", {"x": True}),
    ("undefined_attribute_error", "{{ x.y }}", {}),
    ("bad_syntax_error", "{% if %}", {}),
    ("unclosed_error", "{% for x in y %}", {}),
]


# SmolVLM2's chat format (MODELS.md §5.3 plus the <video> branch), which vlmrt builds in for
# Idefics3-like folders that ship no template; the C++ test checks its built-in source is this.
SMOLVLM2_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}"
    "{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


def load_tokenizer_template(path: Path) -> tuple[str, dict]:
    config = json.loads(path.read_text(encoding="utf-8"))

    def token(name: str) -> Any:
        value = config.get(name)
        return value.get("content") if isinstance(value, dict) else value

    specials = {name: token(name) for name in ("bos_token", "eos_token", "unk_token", "pad_token")}
    return config["chat_template"], specials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output folder (cases.json, missing.json)")
    parser.add_argument("--smolvlm", type=Path, help="SmolVLM chat_template.json")
    parser.add_argument("--tokenizers", type=Path, help="folder holding <name>/tokenizer_config.json")
    args = parser.parse_args()

    env = make_env()
    cases: list[dict] = []
    missing: list[str] = []

    def add(group: str, name: str, template: str, context: dict) -> None:
        cases.append({"group": group, "name": name, "template": template, "context": context,
                      **render(env, template, context)})

    for name, template, context in FEATURES:
        add("features", name, template, context)

    for conv_name, messages in MM_CONVERSATIONS.items():
        for agp in (True, False):
            add("smolvlm2_format", f"{conv_name}/agp={agp}", SMOLVLM2_TEMPLATE,
                {"messages": messages, "add_generation_prompt": agp})

    if args.smolvlm and args.smolvlm.is_file():
        template = json.loads(args.smolvlm.read_text(encoding="utf-8"))["chat_template"]
        for conv_name, messages in MM_CONVERSATIONS.items():
            for agp in (True, False):
                add("smolvlm", f"{conv_name}/agp={agp}", template,
                    {"messages": messages, "add_generation_prompt": agp, "bos_token": "<|im_start|>"})
    else:
        missing.append("smolvlm")

    for tok_name in ("gemma3", "llama3", "qwen3", "deepseek_v3"):
        path = args.tokenizers / tok_name / "tokenizer_config.json" if args.tokenizers else None
        if not path or not path.is_file():
            missing.append(tok_name)
            continue
        template, specials = load_tokenizer_template(path)
        conversations: dict[str, tuple[list, dict]] = {k: (v, {}) for k, v in STR_CONVERSATIONS.items()}
        if tok_name == "gemma3":
            conversations.update({k: (v, {}) for k, v in MM_CONVERSATIONS.items() if k != "video"})
            conversations["bad_alternation"] = ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], {})
        if tok_name == "qwen3":
            conversations.update(QWEN_EXTRA)
        if tok_name == "deepseek_v3":
            conversations.update(DEEPSEEK_EXTRA)
        for conv_name, (messages, extra) in conversations.items():
            for agp in (True, False):
                context = {"messages": messages, "add_generation_prompt": agp, "tools": None,
                           "documents": None, **specials, **extra}
                add(tok_name, f"{conv_name}/agp={agp}", template, context)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=1), encoding="utf-8")
    (args.out / "missing.json").write_text(json.dumps(missing), encoding="utf-8")


if __name__ == "__main__":
    main()
