package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.common.AbstractStreamingChatModelIT;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import io.llamaffm.Model;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;

/**
 * LangChain4j's own conformance kit for streaming chat models ({@code langchain4j-core}'s test jar), run against
 * {@link LlamaFfmStreamingChatModel} on stories260K; the same settings as {@link ConformanceChatModelIT}, and the tests
 * that need a capable model disabled by {@link KitDisabled}.
 */
@ExtendWith(KitDisabled.class)
class ConformanceStreamingChatModelIT extends AbstractStreamingChatModelIT {
    private final Model model = Model.load(TestEnv.stories());
    private final List<LlamaFfmStreamingChatModel> made = new ArrayList<>();

    private LlamaFfmStreamingChatModel make(ChatRequestParameters parameters, ChatModelListener listener) {
        // on a thread of its own, as the kit expects of a streaming model (llama-ffm's default is the calling thread)
        LlamaFfmStreamingChatModel.Builder b = LlamaFfmStreamingChatModel.builder().model(model).contextParams(ChatModelIT.CONTEXT)
                .executor(runnable -> Thread.ofPlatform().daemon().start(runnable));
        if (parameters != null) {
            b.defaultRequestParameters(parameters);
        }
        if (listener != null) {
            b.listeners(List.of(listener));
        }
        LlamaFfmStreamingChatModel m = b.build();
        made.add(m);
        return m;
    }

    @Override
    protected List<StreamingChatModel> models() {
        return List.of(make(null, null));
    }

    @Override
    protected StreamingChatModel createModelWith(ChatRequestParameters parameters) {
        return make(parameters, null);
    }

    @Override
    public StreamingChatModel createModelWith(ChatModelListener listener) {
        return make(null, listener);
    }

    @Override
    protected ChatRequestParameters createIntegrationSpecificParameters(int maxOutputTokens) {
        return LlamaFfmChatRequestParameters.builder().maxOutputTokens(maxOutputTokens).build();
    }

    @Override
    protected boolean supportsModelNameParameter() {
        return false; // the model is the loaded GGUF; another name is refused
    }

    @Override
    protected boolean supportsToolsAndJsonResponseFormatWithSchema() {
        return false; // the tools' grammar holds the reply: a response format's grammar cannot be added
    }

    @Override
    protected boolean supportsSingleImageInputAsBase64EncodedString() {
        return false;
    }

    @Override
    protected boolean supportsMultipleImageInputsAsBase64EncodedStrings() {
        return false;
    }

    @Override
    protected boolean supportsSingleImageInputAsPublicURL() {
        return false;
    }

    @Override
    protected boolean supportsMultipleImageInputsAsPublicURLs() {
        return false;
    }

    @AfterAll
    void close() {
        made.forEach(LlamaFfmStreamingChatModel::close);
        model.close();
    }
}
