package io.llamaffm.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.common.AbstractChatModelIT;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import io.llamaffm.Model;
import io.llamaffm.TestEnv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;

/**
 * LangChain4j's own conformance kit for chat models ({@code langchain4j-core}'s test jar), run against
 * {@link LlamaFfmChatModel} on stories260K. Every test of the adapter's mechanics runs; the tests that need a model able
 * to answer questions (stories260K only continues children's stories) are disabled by {@link KitDisabled}, each with its reason.
 */
@ExtendWith(KitDisabled.class)
class ConformanceChatModelIT extends AbstractChatModelIT {
    static final String CAPABLE = "needs a model that answers questions (expects e.g. \"Berlin\" for the capital of Germany); "
            + "stories260K only continues children's stories";
    static final String CAPABLE_TOOLS = "needs a model that picks the right tool and arguments for the question (e.g. "
            + "getWeather for \"Munich\"); on stories260K the grammar makes every call valid, not relevant";
    private final Model model = Model.load(TestEnv.stories());
    private final List<LlamaFfmChatModel> made = new ArrayList<>();

    private LlamaFfmChatModel make(ChatRequestParameters parameters) {
        LlamaFfmChatModel.Builder b = LlamaFfmChatModel.builder().model(model).contextParams(ChatModelIT.CONTEXT);
        if (parameters != null) {
            b.defaultRequestParameters(parameters);
        }
        LlamaFfmChatModel m = b.build();
        made.add(m);
        return m;
    }

    @Override
    protected List<ChatModel> models() {
        return List.of(make(null));
    }

    @Override
    protected ChatModel createModelWith(ChatRequestParameters parameters) {
        return make(parameters);
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
        made.forEach(LlamaFfmChatModel::close);
        model.close();
    }
}
