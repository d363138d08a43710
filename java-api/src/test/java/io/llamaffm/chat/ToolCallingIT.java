package io.llamaffm.chat;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tool calling with the JSON format every model can follow, on stories260K (which has no chat template and was
 * never trained for tools): the grammar alone must make every reply a call of an offered tool with valid arguments.
 */
class ToolCallingIT {
    private static final Tool WEATHER = NativeToolCallingIT.WEATHER;
    private static final Tool TIME = NativeToolCallingIT.TIME;
    private static final GenerationParams PARAMS = GenerationParams.defaults().withMaxTokens(200);

    private static Model model;
    private static Context ctx;

    @BeforeAll
    static void load() {
        model = Model.load(TestEnv.stories());
        ctx = model.newContext(ContextParams.defaults().withContextLength(1024));
    }

    @AfterAll
    static void close() {
        ctx.close();
        model.close();
    }

    private static ChatSession session() {
        return new ChatSession(ctx, new PlainChatFormat(), "You help with the weather.");
    }

    @Test
    void requiredYieldsAValidCallOfAnOfferedToolForEverySeed() {
        Set<String> cities = new HashSet<>();
        for (int seed = 0; seed < 200; seed++) {
            boolean parallel = seed % 2 == 1;
            Tools tools = Tools.of(WEATHER, TIME).withChoice(ToolChoice.REQUIRED).withParallelCalls(parallel);
            ChatResult r = session().send("What is the weather in Paris?", tools, PARAMS,
                    SamplerChain.sampling(1.0f, 0, 1.0f, 0, seed), null);
            // parallel calls on: a model that keeps adding calls is cut by the budget, keeping the complete ones
            assertTrue(r.finishReason() == ChatResult.FinishReason.TOOL_CALLS
                    || (parallel && r.finishReason() == ChatResult.FinishReason.LENGTH), "seed " + seed + ": " + r.completion().text());
            assertFalse(r.toolCalls().isEmpty(), "seed " + seed + ": " + r.completion().text());
            assertTrue(parallel || r.toolCalls().size() == 1, "seed " + seed + ": parallel calls off, " + r.toolCalls());
            assertEquals("", r.content());
            Set<String> ids = new HashSet<>();
            for (ToolCall c : r.toolCalls()) {
                assertTrue(ids.add(c.id()), "ids are unique: " + r.toolCalls());
                NativeToolCallingIT.checkCall(c, cities);
            }
        }
        assertTrue(cities.size() > 1, "seeded sampling explores the allowed values: " + cities);
    }

    @Test
    void aNamedToolIsTheOnlyOneCalled() {
        for (int seed = 0; seed < 20; seed++) {
            ChatResult r = session().send("What time is it?", Tools.of(WEATHER, TIME).withChoice(ToolChoice.named("get_time"))
                    .withParallelCalls(false), PARAMS, SamplerChain.sampling(1.0f, 0, 1.0f, 0, seed), null);
            assertEquals(ChatResult.FinishReason.TOOL_CALLS, r.finishReason(), r.completion().text());
            assertEquals(1, r.toolCalls().size());
            assertTrue(r.toolCalls().stream().allMatch(c -> c.name().equals("get_time")), r.toolCalls().toString());
        }
    }

    @Test
    void autoAnswersInTextOrCallsAndEveryReplyIsAValidEnvelope() {
        int calls = 0;
        int texts = 0;
        for (int seed = 0; seed < 30; seed++) {
            StringBuilder streamed = new StringBuilder();
            ChatResult r = session().send("Hello", Tools.of(WEATHER), PARAMS, SamplerChain.sampling(1.0f, 0, 1.0f, 0, seed),
                    streamed::append);
            if (!r.toolCalls().isEmpty()) { // TOOL_CALLS, or LENGTH when the budget cut a long list of calls
                calls++;
                assertTrue(r.toolCalls().stream().allMatch(c -> c.name().equals("get_weather")), r.toolCalls().toString());
                assertEquals("", streamed.toString(), "no envelope text is streamed");
            } else {
                assertEquals(ChatResult.FinishReason.STOP, r.finishReason(), r.completion().text());
                texts++;
                assertEquals(r.content(), streamed.toString());
                assertTrue(r.toolCalls().isEmpty());
                Map<?, ?> envelope = (Map<?, ?>) JsonParser.parse(r.completion().text());
                assertEquals(r.content(), ((String) envelope.get("response")).strip());
            }
        }
        assertEquals(30, calls + texts);
    }

    @Test
    void noneShowsNoToolsAndGeneratesAsWithoutThem() {
        SamplerChain greedy = SamplerChain.greedy();
        ChatResult withNone = session().send("Hello", Tools.of(WEATHER).withChoice(ToolChoice.NONE), PARAMS.withMaxTokens(24),
                greedy, null);
        String plain = session().send("Hello", PARAMS.withMaxTokens(24), greedy, null).text().strip();
        assertEquals(plain, withNone.content());
        assertTrue(withNone.toolCalls().isEmpty());
    }

    @Test
    void aRoundTripSendsTheResultsBackAndRefusesUnknownIds() {
        ChatSession s = session();
        Tools required = Tools.of(WEATHER).withChoice(ToolChoice.REQUIRED).withParallelCalls(false);
        ChatResult call = s.send("Weather in Oslo?", required, PARAMS, SamplerChain.sampling(1.0f, 0, 1.0f, 0, 7), null);
        assertEquals(ChatResult.FinishReason.TOOL_CALLS, call.finishReason());
        String id = call.toolCalls().getFirst().id();
        assertThrows(IllegalArgumentException.class,
                () -> s.sendToolResults(List.of(ChatMessage.toolResult("call_999", "sunny")), Tools.of(WEATHER), PARAMS,
                        SamplerChain.greedy(), null), "a result for no pending call");
        assertThrows(IllegalArgumentException.class,
                () -> s.sendToolResults(List.of(ChatMessage.user("sunny")), Tools.of(WEATHER), PARAMS, SamplerChain.greedy(), null));
        int before = s.messages().size();
        ChatResult answer = s.sendToolResults(List.of(ChatMessage.toolResult(id, "sunny, 21 C")),
                Tools.of(WEATHER).withChoice(ToolChoice.NONE), PARAMS.withMaxTokens(16), SamplerChain.greedy(), null);
        assertTrue(answer.toolCalls().isEmpty());
        List<ChatMessage> history = s.messages();
        assertEquals(before + 2, history.size(), "the tool result and the answer");
        assertEquals(id, history.get(before).toolCallId());
        assertEquals(List.of(call.toolCalls().getFirst()), history.get(before - 1).toolCalls());
        // the call's id is answered: sending it again is refused
        assertThrows(IllegalArgumentException.class, () -> s.sendToolResults(List.of(ChatMessage.toolResult(id, "again")),
                Tools.of(WEATHER), PARAMS, SamplerChain.greedy(), null));
    }

    @Test
    void aBudgetThatEndsInsideTheCallIsLengthWithoutCalls() {
        ChatResult r = session().send("Weather?", Tools.of(WEATHER).withChoice(ToolChoice.REQUIRED), PARAMS.withMaxTokens(6),
                SamplerChain.greedy(), null);
        assertEquals(ChatResult.FinishReason.LENGTH, r.finishReason());
        assertTrue(r.toolCalls().isEmpty());
        assertEquals(r.completion().text().strip(), r.content(), "the cut reply is the content");
    }

    @Test
    void aSamplerWithItsOwnGrammarOrASchemaWithoutAGrammarIsRefused() {
        SamplerChain withGrammar = SamplerChain.of(SamplerChain.Grammar.of("root ::= \"x\""), new SamplerChain.Greedy());
        assertThrows(IllegalArgumentException.class,
                () -> session().send("Hi", Tools.of(WEATHER).withChoice(ToolChoice.REQUIRED), PARAMS, withGrammar, null));
        Tool remote = Tool.of("remote", "", "{\"$ref\":\"https://example.org/schema.json\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> session().send("Hi", Tools.of(remote).withChoice(ToolChoice.REQUIRED), PARAMS, SamplerChain.greedy(), null));
        assertTrue(e.getMessage().contains("cannot be turned into a grammar"), e.getMessage());
    }
}
