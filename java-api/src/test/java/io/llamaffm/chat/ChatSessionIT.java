package io.llamaffm.chat;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.GenerationParams;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A multi-turn session reuses the KV prefix of the earlier turns and answers as a fresh context would. */
class ChatSessionIT {
    @Test
    void theSecondTurnReusesTheFirstAndAnswersAsAFreshContextWould() {
        GenerationParams p = GenerationParams.defaults().withMaxTokens(24);
        try (Model m = Model.load(TestEnv.stories());
             Context ctx = m.newContext(ContextParams.defaults().withContextLength(512));
             Context fresh = m.newContext(ContextParams.defaults().withContextLength(512))) {
            ChatFormat format = ChatFormat.forModel(m);
            assertInstanceOf(PlainChatFormat.class, format, "stories260K has no chat template");
            ChatSession session = new ChatSession(ctx, format, "You tell stories.");
            Completion first = session.send("Tell me about Lily.", p, SamplerChain.greedy(), null);
            assertEquals(0, first.reusedTokens());
            Completion second = session.send("What did she do next?", p, SamplerChain.greedy(), null);
            assertTrue(second.reusedTokens() > first.promptTokens() - 2, second.reusedTokens() + " of " + second.promptTokens());

            List<ChatMessage> all = session.messages();
            assertEquals(5, all.size());
            assertEquals("system", all.getFirst().role());
            String rendered = format.render(all.subList(0, 4));
            Completion ref = fresh.generate(m.tokenizer().encode(rendered, true, false),
                    p.withStopStrings(PlainChatFormat.STOP), SamplerChain.greedy(), null);
            assertEquals(ref.text(), second.text());
            assertEquals(second.text().strip(), all.getLast().content());
        }
    }
}
