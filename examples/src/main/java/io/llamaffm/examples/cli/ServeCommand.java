package io.llamaffm.examples.cli;

import io.llamaffm.Model;
import io.llamaffm.server.OpenAiServer;
import io.llamaffm.server.ServerConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code serve --model FILE}: an OpenAI-compatible HTTP server until the process is stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves the model over HTTP with OpenAI's API: GET /v1/models, POST /v1/completions, "
                + "POST /v1/chat/completions (streaming with \"stream\": true), and POST /v1/embeddings with "
                + "--embedding-model. Prints 'listening on URL' when ready; stops on Ctrl-C (SIGINT) or SIGTERM.",
                "Continuous batching: --parallel slots share one context of --ctx tokens (ctx/parallel each) and every "
                        + "step decodes the next token of every busy slot in one batch; further requests wait up to "
                        + "--queue-timeout for a slot, then get 503. Set --api-key before opening --host beyond this machine."})
final class ServeCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL",
            description = "The GGUF model that generates: a file, or hf:OWNER/REPO[:QUANT], hf:OWNER/REPO/PATH.gguf, an https URL.")
    String model;

    @Option(names = "--embedding-model", paramLabel = "MODEL",
            description = "A GGUF embedding model (e.g. all-MiniLM-L6-v2 from convert-onnx) for /v1/embeddings; a file or a reference.")
    String embeddingModel;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "The address to listen on (default ${DEFAULT-VALUE}: this machine only; 0.0.0.0 for all).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080",
            description = "The TCP port (default ${DEFAULT-VALUE}; 0 picks a free one).")
    int port;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "1",
            description = "Slots: requests generating at once in one batch (default ${DEFAULT-VALUE}).")
    int parallel;

    @Option(names = "--queue-timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "How long a request waits for a free context before it gets 503 (default ${DEFAULT-VALUE}).")
    int queueTimeoutSeconds;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:LLAMAFFM_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' on every request but /health (default: $LLAMAFFM_API_KEY; none).")
    String apiKey;

    @Mixin
    ContextOptions context;

    @Mixin
    LoadOptions load;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new CliException("--port must be in 0..65535, got " + port);
        }
        CliException.atLeast(parallel, 1, "--parallel");
        CliException.atLeast(queueTimeoutSeconds, 0, "--queue-timeout");
        ServerConfig config = ServerConfig.defaults().withHost(host).withPort(port).withParallel(parallel)
                .withContext(context.params()).withQueueTimeout(Duration.ofSeconds(queueTimeoutSeconds))
                .withApiKey(apiKey == null || apiKey.isEmpty() ? null : apiKey);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> { // Ctrl-C or SIGTERM: let the server close its contexts and the models go
            stop.countDown();
            try {
                stopped.await(15, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "llama-ffm-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (Model m = cli.loadModel(model, load.params(), err);
             Model e = embeddingModel == null ? null : cli.loadModel(embeddingModel, load.params(), err);
             OpenAiServer server = start(m, e, config)) {
            out.println("listening on " + server.baseUri() + " (" + parallel + " slot" + (parallel == 1 ? "" : "s")
                    + " of " + server.contextLength() + " tokens; Ctrl-C stops)");
            out.flush();
            stop.await();
        } finally {
            stopped.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it ends once stopped is counted down
            }
        }
        return LlamaCli.EXIT_OK;
    }

    private OpenAiServer start(Model m, Model e, ServerConfig config) {
        try {
            return OpenAiServer.start(m, e, config);
        } catch (IOException io) {
            throw new CliException("cannot listen on " + host + ":" + port + ": " + io.getMessage(), io);
        }
    }
}
