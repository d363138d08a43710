package io.llamaffm.examples.cli;

import io.llamaffm.hub.DownloadParams;
import io.llamaffm.hub.ModelDownloader;
import io.llamaffm.hub.ModelFiles;
import io.llamaffm.hub.ModelRef;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code pull REF...}: downloads models named by reference into the cache and prints their local paths. */
@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Downloads models into the cache (verified against the hub's sha256, resumed after a cut) and prints "
                + "the path of each file, one a line. Later, the same reference resolves from the cache, even offline.",
                "REF: hf:OWNER/REPO:QUANT (the repository's .gguf file for that quantization, case-insensitive), "
                        + "hf:OWNER/REPO (Q4_K_M, else Q8_0, else the first model), hf:OWNER/REPO/PATH.gguf, each with an "
                        + "optional @REVISION (branch, tag or commit); or an http(s) URL. A split model comes whole.",
                "Environment: HF_TOKEN (gated or private repositories), HF_ENDPOINT (a mirror), HF_HUB_OFFLINE=1 (cache only), "
                        + "LLAMAFFM_MODELS_DIR (the cache, default ~/.cache/llama-ffm/models)."})
final class PullCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "REF", description = "Model references.")
    List<String> refs;

    @Option(names = "--offline", description = "Only look in the cache (as HF_HUB_OFFLINE=1): never touch the network.")
    boolean offline;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        for (String ref : refs) {
            if (!ModelRef.isReference(ref)) {
                throw new CliException("'" + ref + "' is not a reference: expected hf:OWNER/REPO[:QUANT][@REVISION], "
                        + "hf:OWNER/REPO/PATH.gguf or an http(s) URL", LlamaCli.EXIT_USAGE, null);
            }
            ModelRef.parse(ref); // a malformed reference fails here, before anything is asked
        }
        DownloadParams params = DownloadParams.defaults();
        ModelDownloader downloader = ModelDownloader.create(offline ? params.withOffline(true) : params);
        for (String ref : refs) {
            ModelFiles files = ModelDownloads.resolve(downloader, ref, err, cli.showProgress());
            for (Path p : files.parts()) {
                out.println(p);
            }
            out.flush();
            err.println(ref + ": " + files.parts().size() + (files.parts().size() == 1 ? " file" : " files")
                    + (files.downloadedBytes() > 0 ? ", " + Units.bytes(files.downloadedBytes()) + " downloaded" : ", in the cache")
                    + files.commit().map(c -> " (commit " + c.substring(0, 12) + ")").orElse(""));
            err.flush();
        }
        return LlamaCli.EXIT_OK;
    }
}
