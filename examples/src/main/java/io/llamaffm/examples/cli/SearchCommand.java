package io.llamaffm.examples.cli;

import io.llamaffm.Context;
import io.llamaffm.Embedding;
import io.llamaffm.Model;
import io.llamaffm.embeddings.Chunk;
import io.llamaffm.embeddings.Chunker;
import io.llamaffm.embeddings.SearchResult;
import io.llamaffm.embeddings.VectorIndex;
import io.llamaffm.embeddings.VectorStore;
import io.llamaffm.lucene.HnswConfig;
import io.llamaffm.lucene.LuceneVectorStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code search MODEL --index FILE [--index-type flat|hnsw] [--add FILES/FOLDERS...] [--query Q]}: a semantic index
 * over text files, either the exact in-memory {@link VectorIndex} kept in one file (flat) or a Lucene HNSW
 * {@link LuceneVectorStore} kept in a directory (hnsw).
 */
@Command(name = "search", mixinStandardHelpOptions = true,
        description = {"Adds text files, or every text file under a folder, to a semantic index (chunked with overlap, "
                + "one embedding per chunk) and/or answers a query with the closest chunks."})
final class SearchCommand implements Callable<Integer> {
    @ParentCommand
    LlamaCli cli;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Mixin
    EmbeddingOptions embedding;

    @Option(names = "--index", paramLabel = "PATH", required = true,
            description = "The index: a file for flat, a directory for hnsw (created when missing).")
    Path index;

    /** The kinds of index. */
    enum IndexType {
        /** exact search over every vector, one file ({@link VectorIndex}) */
        flat,
        /** approximate search in a Lucene HNSW graph, one directory ({@link LuceneVectorStore}) */
        hnsw
    }

    @Option(names = "--index-type", paramLabel = "TYPE", defaultValue = "flat",
            description = "flat (exact, one file; default) or hnsw (approximate, Lucene HNSW in a directory; for large indexes).")
    IndexType indexType;

    @Option(names = "--candidates", paramLabel = "N", defaultValue = "100",
            description = "hnsw: candidates gathered per query (fan-out; higher: better recall, slower; default 100).")
    int candidates;

    @Option(names = "--add", paramLabel = "PATH", arity = "1..*",
            description = "Text files to add, or folders: their UTF-8 text files, hidden ones and binary files skipped.")
    List<Path> add = new ArrayList<>();

    @Option(names = {"-q", "--query"}, paramLabel = "Q", description = "The query.")
    String query;

    @Option(names = {"-k", "--top"}, paramLabel = "K", defaultValue = "3", description = "Results to show (default 3).")
    int top;

    @Option(names = "--chunk", paramLabel = "TOKENS", defaultValue = "256", description = "Chunk size in tokens (default 256).")
    int chunkTokens;

    @Option(names = "--overlap", paramLabel = "TOKENS", defaultValue = "64", description = "Overlap between chunks (default 64).")
    int overlapTokens;

    @Override
    public Integer call() throws IOException {
        if (add.isEmpty() && query == null) {
            throw new CliException("nothing to do: give --add FILES and/or --query Q");
        }
        PrintWriter out = spec.commandLine().getOut();
        List<TextFile> files = TextFile.under(add, spec.commandLine().getErr()); // a bad path fails before the model loads
        HnswConfig hnsw = HnswConfig.defaults().withCandidates(candidates); // validates before the model loads
        try (Model m = cli.loadModel(model.model, model.params(), spec.commandLine().getErr());
             Context ctx = m.newContext(embedding.contextParams())) {
            if (indexType == IndexType.hnsw) {
                return hnsw(m, ctx, files, hnsw, out);
            }
            VectorIndex idx = Files.exists(index) ? VectorIndex.load(index) : null;
            if (!files.isEmpty()) {
                Chunker chunker = new Chunker(chunkTokens, overlapTokens);
                for (TextFile file : files) {
                    String text = file.text();
                    List<Chunk> chunks = chunker.chunk(m.tokenizer(), text);
                    List<String> texts = chunks.stream().map(Chunk::text).toList();
                    List<Embedding> vectors = ctx.embed(texts, embedding.params());
                    for (int i = 0; i < chunks.size(); i++) {
                        if (idx == null) {
                            idx = new VectorIndex(vectors.get(i).dimension());
                        }
                        idx.add(file.id() + "#" + chunks.get(i).index(), vectors.get(i).vector(), chunks.get(i).text());
                    }
                    spec.commandLine().getErr().println("added " + chunks.size() + " chunks of " + file.path());
                }
                if (idx != null) { // null when every file was empty
                    idx.save(index);
                }
            }
            if (query != null) {
                if (idx == null) {
                    throw new CliException("no index at " + index + ": add files first with --add");
                }
                float[] q = ctx.embed(query, embedding.params()).vector();
                print(idx.search(q, top), out);
            }
            out.flush();
        }
        return LlamaCli.EXIT_OK;
    }

    private int hnsw(Model m, Context ctx, List<TextFile> files, HnswConfig config, PrintWriter out) throws IOException {
        VectorStore store = null;
        try {
            if (!files.isEmpty()) {
                Chunker chunker = new Chunker(chunkTokens, overlapTokens);
                for (TextFile file : files) {
                    List<Chunk> chunks = chunker.chunk(m.tokenizer(), file.text());
                    List<Embedding> vectors = ctx.embed(chunks.stream().map(Chunk::text).toList(), embedding.params());
                    for (int i = 0; i < chunks.size(); i++) {
                        if (store == null) {
                            store = LuceneVectorStore.open(index, vectors.get(i).dimension(), config);
                        }
                        store.add(file.id() + "#" + chunks.get(i).index(), vectors.get(i).vector(), chunks.get(i).text(),
                                Map.of("file", file.id()));
                    }
                    spec.commandLine().getErr().println("added " + chunks.size() + " chunks of " + file.path());
                }
            }
            if (query != null) {
                float[] q = ctx.embed(query, embedding.params()).vector();
                if (store == null) {
                    store = openForQuery(index, config);
                }
                print(store.search(q, top), out);
            }
            out.flush();
        } finally {
            if (store != null) {
                store.close(); // commits what was added
            }
        }
        return LlamaCli.EXIT_OK;
    }

    /**
     * Opens an existing HNSW index for queries, as {@code search --index-type hnsw --query} does.
     *
     * @param directory the index directory
     * @param config    the HNSW parameters
     * @return the store
     * @throws IOException if it cannot be read (a missing index is a {@link CliException})
     */
    static VectorStore openForQuery(Path directory, HnswConfig config) throws IOException {
        try {
            return LuceneVectorStore.openExisting(directory, config);
        } catch (NoSuchFileException e) {
            throw new CliException("no index at " + directory + ": add files first with --add");
        }
    }

    private static void print(List<SearchResult> results, PrintWriter out) {
        for (SearchResult r : results) {
            String snippet = r.metadata() == null ? "" : r.metadata().strip().replaceAll("\\s+", " ");
            out.println(String.format(Locale.ROOT, "%.4f  %s  %s", r.score(), r.id(),
                    snippet.length() > 120 ? snippet.substring(0, 117) + "..." : snippet));
        }
    }
}
