package io.llamaffm.langchain4j;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.Map;

/**
 * The tests of LangChain4j's conformance kit that need a model able to answer questions, disabled by name with the
 * reason (the kit declares some of them package-private, so they cannot be overridden). stories260K only continues
 * children's stories; every test of the adapters' mechanics runs.
 */
final class KitDisabled implements ExecutionCondition {
    static final String CAPABLE = "needs a model that answers questions (expects e.g. \"Berlin\" for the capital of Germany); "
            + "stories260K only continues children's stories";
    static final String CAPABLE_TOOLS = "needs a model that picks the right tool and arguments for the question (e.g. "
            + "getWeather for \"Munich\"); on stories260K the grammar makes every call valid, not relevant";
    static final String CAPABLE_JSON = "needs a model that fills the JSON with facts from the prompt (the grammar makes it "
            + "valid JSON for the schema, not the right values)";

    private static final Map<String, String> DISABLED = Map.ofEntries(
            Map.entry("should_respect_user_message", CAPABLE),
            Map.entry("should_respect_system_message", CAPABLE),
            Map.entry("should_respect_multiple_messages", CAPABLE),
            Map.entry("should_respect_stopSequences_in_chat_request", CAPABLE + " (the stop sequence is a word of the answer)"),
            Map.entry("should_respect_stopSequences_in_default_model_parameters", CAPABLE + " (the stop sequence is a word of the answer)"),
            Map.entry("should_propagate_user_exceptions_thrown_from_onPartialResponse", CAPABLE + " (it checks the answer too)"),
            Map.entry("should_propagate_user_exceptions_thrown_from_onCompleteResponse", CAPABLE + " (it checks the answer too)"),
            Map.entry("should_ignore_user_exceptions_thrown_from_onError", CAPABLE + " (it checks the answer too)"),
            Map.entry("should_respect_JSON_response_format", CAPABLE_JSON),
            Map.entry("should_respect_JSON_response_format_with_schema", CAPABLE_JSON),
            Map.entry("should_respect_JsonRawSchema_responseFormat", CAPABLE_JSON),
            Map.entry("should_execute_a_tool_then_answer", CAPABLE_TOOLS),
            Map.entry("should_execute_a_tool_without_arguments_then_answer", CAPABLE_TOOLS),
            Map.entry("should_execute_multiple_tools_in_parallel_then_answer", CAPABLE_TOOLS),
            Map.entry("should_force_LLM_to_execute_any_tool", CAPABLE_TOOLS),
            Map.entry("should_force_LLM_to_execute_specific_tool", CAPABLE_TOOLS));

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        String reason = context.getTestMethod().map(m -> DISABLED.get(m.getName())).orElse(null);
        return reason == null ? ConditionEvaluationResult.enabled("a mechanics test") : ConditionEvaluationResult.disabled(reason);
    }
}
