// llamaffm-chat: llama.cpp's own chat-template rendering and tool-call parsing (common/chat.h), driven by JSON,
// so the Java tests can compare our tool formats with the pinned source's. Built from that source like
// llamaffm-greedy; follows tests/test-chat.cpp (common_chat_templates_init with the template text,
// common_chat_templates_apply, then the PEG parser the apply step saved, loaded and run on each model output).
//
// stdin:  {"cases":[{"id", "template", "bos_token"?, "eos_token"?, "messages" (OpenAI), "tools"? (OpenAI),
//                    "tool_choice"?, "parallel_tool_calls"?, "enable_thinking"? (true), "reasoning_format"?
//                    ("deepseek"), "add_generation_prompt"? (true), "now"? (epoch seconds),
//                    "chat_template_kwargs"? {name: JSON value}, "outputs": [text, ...]}]}
// stdout: {"results":[{"id", "ok": true, "prompt", "format", "generation_prompt", "grammar", "grammar_lazy",
//                      "grammar_triggers", "preserved_tokens", "additional_stops", "supports_thinking",
//                      "thinking_start_tag", "thinking_end_tags",
//                      "parsed": [{"content", "reasoning_content", "tool_calls": [{"id","name","arguments"}]}
//                                 | {"error"}]} | {"id", "ok": false, "error"}]}
// Every failure of a case or of one output is reported in the document; the exit status is 0 unless stdin is
// not a cases document (then 2, with the reason on stderr).
#include "chat.h"
#include "log.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <iterator>
#include <string>

static const char * trigger_type_name(common_grammar_trigger_type type) {
    switch (type) {
        case COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN:        return "token";
        case COMMON_GRAMMAR_TRIGGER_TYPE_WORD:         return "word";
        case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN:      return "pattern";
        case COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL: return "pattern_full";
    }
    return "unknown";
}

static common_json parse_output(const common_peg_arena & arena, const common_chat_parser_params & pp,
                                const std::string & output) {
    common_json r = common_json::object();
    try {
        common_chat_msg msg = common_chat_peg_parse(arena, output, /* is_partial = */ false, pp);
        r["content"] = msg.content;
        r["reasoning_content"] = msg.reasoning_content;
        common_json calls = common_json::array();
        for (const auto & tc : msg.tool_calls) {
            calls.push_back(common_json::object({ { "id", tc.id }, { "name", tc.name }, { "arguments", tc.arguments } }));
        }
        r["tool_calls"] = calls;
    } catch (const std::exception & e) {
        r = common_json::object({ { "error", std::string(e.what()) } });
    }
    return r;
}

static common_json run_case(const common_json & c) {
    const std::string bos = c.value("bos_token", std::string());
    const std::string eos = c.value("eos_token", std::string());
    auto tmpls = common_chat_templates_init(nullptr, c.at("template").get<std::string>(), bos, eos);

    common_chat_templates_inputs inputs;
    inputs.use_jinja = true;
    inputs.messages = common_chat_msgs_parse_oaicompat(c.at("messages"));
    if (c.contains("tools") && !c.at("tools").is_null()) {
        inputs.tools = common_chat_tools_parse_oaicompat(c.at("tools"));
    }
    if (c.contains("tool_choice")) {
        inputs.tool_choice = common_chat_tool_choice_parse_oaicompat(c.at("tool_choice").get<std::string>());
    }
    inputs.parallel_tool_calls = c.value("parallel_tool_calls", false);
    inputs.enable_thinking = c.value("enable_thinking", true);
    inputs.reasoning_format = common_reasoning_format_from_name(c.value("reasoning_format", std::string("deepseek")));
    inputs.add_generation_prompt = c.value("add_generation_prompt", true);
    if (c.contains("now")) {
        inputs.now = std::chrono::system_clock::time_point(std::chrono::seconds(c.at("now").get<long long>()));
    }
    if (c.contains("chat_template_kwargs")) {
        for (const auto & [key, value] : c.at("chat_template_kwargs").items()) {
            inputs.chat_template_kwargs[key] = value.dump();
        }
    }

    common_chat_params params = common_chat_templates_apply(tmpls.get(), inputs);

    common_json r = common_json::object();
    r["id"] = c.at("id");
    r["ok"] = true;
    r["prompt"] = params.prompt;
    r["format"] = std::string(common_chat_format_name(params.format));
    r["generation_prompt"] = params.generation_prompt;
    r["grammar"] = params.grammar;
    r["grammar_lazy"] = params.grammar_lazy;
    common_json triggers = common_json::array();
    for (const auto & t : params.grammar_triggers) {
        triggers.push_back(common_json::object({ { "type", trigger_type_name(t.type) }, { "value", t.value } }));
    }
    r["grammar_triggers"] = triggers;
    r["preserved_tokens"] = params.preserved_tokens;
    r["additional_stops"] = params.additional_stops;
    r["supports_thinking"] = params.supports_thinking;
    r["thinking_start_tag"] = params.thinking_start_tag;
    r["thinking_end_tags"] = params.thinking_end_tags;

    // the parser as llama-server runs it: the saved PEG arena plus the request's reasoning format
    common_peg_arena arena;
    arena.load(params.parser);
    common_chat_parser_params pp(params);
    pp.reasoning_format = inputs.reasoning_format;
    common_json parsed = common_json::array();
    if (c.contains("outputs")) {
        for (const auto & out : c.at("outputs")) {
            parsed.push_back(parse_output(arena, pp, out.get<std::string>()));
        }
    }
    r["parsed"] = parsed;
    return r;
}

int main() {
    // llama.cpp's warnings go to stderr; stdout carries the result document only
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    common_json doc;
    try {
        doc = common_json::parse(text);
        if (!doc.is_object() || !doc.contains("cases") || !doc.at("cases").is_array()) {
            throw std::runtime_error("expected {\"cases\": [...]}");
        }
    } catch (const std::exception & e) {
        fprintf(stderr, "llamaffm-chat: bad input: %s\n", e.what());
        return 2;
    }
    common_json results = common_json::array();
    for (const auto & c : doc.at("cases")) {
        try {
            results.push_back(run_case(c));
        } catch (const std::exception & e) {
            common_json r = common_json::object();
            r["id"] = c.contains("id") ? c.at("id") : common_json(nullptr);
            r["ok"] = false;
            r["error"] = std::string(e.what());
            results.push_back(r);
        }
    }
    common_json out = common_json::object();
    out["results"] = results;
    std::string s = out.dump_safe();
    fwrite(s.data(), 1, s.size(), stdout);
    fputc('\n', stdout);
    return 0;
}
