package io.llamaffm.examples;

import io.llamaffm.ContextParams;
import io.llamaffm.Model;
import io.llamaffm.server.OpenAiServer;
import io.llamaffm.server.ServerConfig;

import java.nio.file.Path;

/**
 * Starts the OpenAI-compatible server from Java: {@code ServeFromJava MODEL.gguf [PORT]} serves the model with 4 slots
 * (continuous batching over one context of 8192 tokens) until the process is stopped.
 */
public final class ServeFromJava {
    private ServeFromJava() {}

    /**
     * Serves the model.
     *
     * @param args the model file, then the port (default 8080; 0 picks a free one)
     * @throws Exception if the model cannot be loaded or the port bound
     */
    public static void main(String[] args) throws Exception {
        ServerConfig config = ServerConfig.defaults()
                .withPort(args.length > 1 ? Integer.parseInt(args[1]) : 8080)
                .withParallel(4)
                .withContext(ContextParams.defaults().withContextLength(8192));
        try (Model model = Model.load(Path.of(args[0]));
             OpenAiServer server = OpenAiServer.start(model, null, config)) {
            System.out.println("listening on " + server.baseUri());
            Thread.currentThread().join(); // until Ctrl-C
        }
    }
}
