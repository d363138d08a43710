package io.llamaffm.langchain4j;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.model.TokenCountEstimator;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import io.llamaffm.chat.ChatFormat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A LangChain4j {@link TokenCountEstimator} that counts exactly, with the model's own tokenizer: for token-based
 * document splitters ({@code DocumentSplitters.recursive(maxTokens, overlap, estimator)}) and token-window chat
 * memories.
 *
 * <ul>
 *   <li>{@link #estimateTokenCountInText}: the tokens of the text alone (no BOS, special-token text not parsed);</li>
 *   <li>{@link #estimateTokenCountInMessage}: the tokens of the message's text alone;</li>
 *   <li>{@link #estimateTokenCountInMessages}: the tokens of the whole prompt {@link LlamaFfmChatModel} builds from
 *       the messages with the same chat format (template markup, BOS and the assistant's generation prompt
 *       included) — the {@code inputTokenCount} the chat model reports for them.</li>
 * </ul>
 *
 * <p>Thread-safe (the tokenizer is). Borrows a model given with {@code model(Model)}; with {@code modelPath(Path)}
 * it loads the vocabulary only (no weights) and closes it in {@link #close()}.
 */
public final class LlamaFfmTokenCountEstimator implements TokenCountEstimator, AutoCloseable {
    private final Model model;
    private final boolean ownsModel;
    private final ChatFormat format;

    private LlamaFfmTokenCountEstimator(Model model, boolean ownsModel, ChatFormat format) {
        this.model = model;
        this.ownsModel = ownsModel;
        this.format = format;
    }

    /** A builder: give it {@code model(Model)} or {@code modelPath(Path)}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Tokens of {@code text} alone. */
    @Override
    public int estimateTokenCountInText(String text) {
        return model.tokenizer().encode(text, false, false).length;
    }

    /**
     * Tokens of the message's text alone.
     *
     * @throws dev.langchain4j.exception.UnsupportedFeatureException for messages the chat models do not take
     */
    @Override
    public int estimateTokenCountInMessage(ChatMessage message) {
        return estimateTokenCountInText(Prompts.toLlamaFfm(message).content());
    }

    /**
     * Tokens of the prompt the chat model builds from {@code messages}.
     *
     * @throws dev.langchain4j.exception.UnsupportedFeatureException for messages the chat models do not take
     */
    @Override
    public int estimateTokenCountInMessages(Iterable<ChatMessage> messages) {
        List<ChatMessage> list = new ArrayList<>();
        messages.forEach(list::add);
        return Prompts.encode(model, format, list).length;
    }

    /** Closes the model when this estimator loaded it; idempotent. */
    @Override
    public void close() {
        if (ownsModel) {
            model.close();
        }
    }

    /** Builds a {@link LlamaFfmTokenCountEstimator}. */
    public static final class Builder {
        private Model model;
        private Path modelPath;
        private ChatFormat chatFormat;

        private Builder() {}

        /** A loaded model whose tokenizer to use; borrowed (the caller closes it). */
        public Builder model(Model model) {
            this.model = model;
            return this;
        }

        /** A GGUF file whose vocabulary to load (weights are not loaded); owned and closed with the estimator. */
        public Builder modelPath(Path modelPath) {
            this.modelPath = modelPath;
            return this;
        }

        /** The chat format for {@link #estimateTokenCountInMessages}: the same as the chat model's; defaults alike. */
        public Builder chatFormat(ChatFormat chatFormat) {
            this.chatFormat = chatFormat;
            return this;
        }

        /**
         * The estimator; loads the vocabulary now when {@code modelPath} was given.
         *
         * @throws IllegalArgumentException if neither or both of model and modelPath were given
         */
        public LlamaFfmTokenCountEstimator build() {
            ModelSource source = new ModelSource(model, modelPath, ModelParams.defaults().withVocabOnly(true));
            Model m = source.open();
            try {
                return new LlamaFfmTokenCountEstimator(m, source.owned(), chatFormat != null ? chatFormat : ChatFormat.forModel(m));
            } catch (RuntimeException | Error e) {
                if (source.owned()) {
                    m.close();
                }
                throw e;
            }
        }
    }
}
