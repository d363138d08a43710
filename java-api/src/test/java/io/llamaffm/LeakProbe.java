package io.llamaffm;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run in a fresh JVM by {@link LeakIT}: {@code CYCLES} times loads the model (with a progress listener), creates a
 * context, builds a sampler chain with a Java stage, generates four tokens with it, builds and closes a second
 * sampler, and closes everything. Each cycle allocates six upcall stubs (progress, abort callback, two per Java
 * stage) and four arenas. Prints the resident set size and the code-cache segment that holds the upcall stubs after
 * {@code WARMUP} cycles and at the end, one {@code key=value} a line.
 */
public final class LeakProbe {
    private static final java.util.Optional<java.lang.invoke.MethodHandle> MALLOC_TRIM = java.lang.foreign.Linker
            .nativeLinker().defaultLookup().find("malloc_trim").map(f -> java.lang.foreign.Linker.nativeLinker()
                    .downcallHandle(f, java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_INT,
                            java.lang.foreign.ValueLayout.JAVA_LONG)).asType(java.lang.invoke.MethodType.methodType(void.class, long.class)));

    private LeakProbe() {}

    public static void main(String[] args) throws IOException {
        int cycles = Integer.parseInt(args[0]);
        int warmup = Integer.parseInt(args[1]);
        Path model = Path.of(args[2]);
        long rssWarm = 0;
        long stubsWarm = 0;
        int javaStageCalls = 0;
        for (int i = 1; i <= cycles; i++) {
            int[] calls = {0};
            SamplerChain chain = SamplerChain.of(new SamplerChain.Custom("count", c -> calls[0]++),
                    new SamplerChain.TopK(40), new SamplerChain.Dist(i));
            try (Model m = Model.load(model, ModelParams.defaults(), fraction -> true);
                 Context ctx = m.newContext(ContextParams.defaults().withContextLength(64).withThreads(1))) {
                Completion c = ctx.generate("Once upon a time", GenerationParams.defaults().withMaxTokens(4).withIgnoreEos(true), chain, null);
                if (c.tokens().length != 4) {
                    throw new AssertionError("cycle " + i + " generated " + c.tokens().length + " tokens");
                }
                try (Sampler s = Sampler.create(m, chain)) {
                    s.apply(new float[m.tokenizer().vocabularySize()]);
                }
            }
            javaStageCalls += calls[0];
            if (i == warmup) {
                rssWarm = rssKiB();
                stubsWarm = nonMethodCodeBytes();
                System.out.println("warm.rss.kib=" + rssWarm);
                System.out.println("warm.stubs.bytes=" + stubsWarm);
            }
            if (i % 100 == 0) {
                System.out.println("cycle." + i + ".rss.kib=" + rssKiB());
            }
        }
        long rssEnd = rssKiB();
        long stubsEnd = nonMethodCodeBytes();
        System.out.println("end.rss.kib=" + rssEnd);
        System.out.println("end.stubs.bytes=" + stubsEnd);
        System.out.println("growth.rss.kib=" + (rssEnd - rssWarm));
        System.out.println("growth.stubs.bytes=" + (stubsEnd - stubsWarm));
        System.out.println("java.stage.calls=" + javaStageCalls);
    }

    /**
     * VmRSS of this process after a GC and, where the C library has it (glibc), {@code malloc_trim(0)}: freed native
     * memory that the allocator keeps for reuse is handed back first, so that the figure counts live memory.
     */
    static long rssKiB() throws IOException {
        System.gc();
        MALLOC_TRIM.ifPresent(trim -> {
            try {
                trim.invokeExact(0L);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        });
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /**
     * Bytes used in the code cache where the JVM puts upcall stubs: the segment of non-method code, or the whole code
     * cache when it is not segmented (interpreter only: then it holds stubs and adapters alone).
     */
    static long nonMethodCodeBytes() {
        for (String name : new String[] {"CodeHeap 'non-nmethods'", "CodeCache"}) {
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getName().equals(name)) {
                    return pool.getUsage().getUsed();
                }
            }
        }
        throw new IllegalStateException("no code cache memory pool");
    }
}
