package io.llamaffm.spark;

import io.llamaffm.ContextParams;
import io.llamaffm.ContextPool;
import io.llamaffm.LlamaException;
import io.llamaffm.Model;
import io.llamaffm.ModelParams;
import org.apache.spark.SparkFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The models of one JVM (a Spark executor, or the driver in local mode): one loaded {@link Model} per {@link Key}
 * (where the model is and how it is loaded), shared by every task that asks for it, with a lazy {@link ContextPool}
 * per context configuration so that concurrent tasks run on different contexts.
 *
 * <p>Reference counted: each task holds a {@link Handle} while it runs; a model with no handle stays loaded for the
 * next task (loading is the expensive part) until {@link #closeIdle()} or the JVM shuts down, when a hook closes
 * every model no task holds. A changed load parameter is a different key, so a different model: a parameter is never
 * ignored because some model was loaded first.
 *
 * <p>Two tasks asking for the same key load it once: the first loads (outside the cache's lock, so that tasks of other
 * models are not held up by a load or a download), the others wait for it. A failed load is thrown to every task
 * waiting for it and forgotten, so Spark's retry of the task tries again.
 */
final class ModelCache {
    /** The prefix of a location that names a file given to {@code SparkContext.addFile} or {@code --files}. */
    static final String SPARK_FILES = "sparkfiles:";
    /** Contexts per model and configuration at most: more concurrent tasks than this wait for one. */
    static final int MAX_CONTEXTS = 64;

    /**
     * What identifies a loaded model.
     *
     * @param location  the model location as the transformer names it (a path, {@code sparkfiles:NAME}, a hub
     *                  reference)
     * @param gpuLayers layers offloaded to the GPU
     */
    record Key(String location, int gpuLayers) {
        Key {
            Objects.requireNonNull(location, "location");
        }
    }

    private static final Map<Key, Entry> ENTRIES = new LinkedHashMap<>(); // guarded by ModelCache.class
    private static boolean hookAdded; // guarded by ModelCache.class
    private static int loads; // guarded by ModelCache.class: models loaded since the JVM started (for tests)

    private ModelCache() {}

    private static final class Entry {
        final Key key;
        final Map<ContextParams, ContextPool> pools = new HashMap<>(); // guarded by ModelCache.class
        Model model; // guarded by ModelCache.class; null while loading
        RuntimeException failure; // guarded by ModelCache.class; why the load failed
        int handles; // guarded by ModelCache.class

        Entry(Key key) {
            this.key = key;
        }
    }

    /**
     * A task's hold on a cached model; close it when the task ends (idempotent).
     */
    static final class Handle implements AutoCloseable {
        private final Entry entry;
        private boolean closed; // guarded by ModelCache.class

        private Handle(Entry entry) {
            this.entry = entry;
        }

        /** {@return the model} */
        Model model() {
            synchronized (ModelCache.class) {
                return entry.model;
            }
        }

        /**
         * The pool of contexts of this model made with {@code params}, created on first use.
         *
         * @param params the context configuration
         * @return the pool (owned by the cache)
         */
        ContextPool pool(ContextParams params) {
            synchronized (ModelCache.class) {
                if (closed) throw new IllegalStateException("the handle on " + entry.key.location() + " is closed");
                return entry.pools.computeIfAbsent(params, p -> ContextPool.lazy(entry.model, p, MAX_CONTEXTS));
            }
        }

        @Override
        public void close() {
            synchronized (ModelCache.class) {
                if (!closed) {
                    closed = true;
                    entry.handles--;
                }
            }
        }
    }

    /**
     * Holds the model of {@code key}, loading it when this JVM has not yet.
     *
     * @param key the model and its load parameters
     * @return a handle to close when the task ends
     * @throws LlamaException if the model cannot be found or loaded (the message names the location and the host)
     */
    static Handle acquire(Key key) {
        Entry e;
        boolean loader = false;
        synchronized (ModelCache.class) {
            e = ENTRIES.get(key);
            if (e == null || (e.model != null && e.model.isClosed())) {
                e = new Entry(key);
                ENTRIES.put(key, e);
                loader = true;
                if (!hookAdded) {
                    hookAdded = true;
                    Runtime.getRuntime().addShutdownHook(new Thread(ModelCache::closeIdle, "llama-ffm-spark-models"));
                }
            }
            e.handles++;
        }
        if (loader) {
            // loaded outside the lock: tasks of other models go on while this one loads (or downloads)
            Model model;
            try {
                model = load(key);
            } catch (RuntimeException ex) {
                synchronized (ModelCache.class) {
                    e.failure = ex;
                    e.handles--;
                    ENTRIES.remove(key, e); // the next task (Spark's retry) tries again
                    ModelCache.class.notifyAll();
                }
                throw ex;
            }
            synchronized (ModelCache.class) {
                e.model = model;
                loads++;
                ModelCache.class.notifyAll();
            }
        } else {
            synchronized (ModelCache.class) {
                try {
                    while (e.model == null && e.failure == null) ModelCache.class.wait(); // another task loads it
                } catch (InterruptedException ie) {
                    e.handles--;
                    Thread.currentThread().interrupt();
                    throw new LlamaException("interrupted while waiting for the model " + key.location() + " to load", ie);
                }
                if (e.failure != null) {
                    e.handles--;
                    throw new LlamaException(e.failure.getMessage(), e.failure);
                }
            }
        }
        return new Handle(e);
    }

    private static Model load(Key key) {
        SparkJvmFlags.checkJava();
        String where = resolve(key.location());
        try {
            return Model.load(where, ModelParams.defaults().withGpuLayers(key.gpuLayers()), null);
        } catch (RuntimeException ex) {
            throw new LlamaException("cannot load the model " + key.location()
                    + (where.equals(key.location()) ? "" : " (" + where + ")") + " on " + host() + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * Where a location is on this node: {@code sparkfiles:NAME} becomes {@code SparkFiles.get(NAME)}; a hub reference
     * or a path stays as it is ({@link Model#load(String, ModelParams, io.llamaffm.LoadProgressListener)} resolves it).
     */
    static String resolve(String location) {
        if (location.toLowerCase(Locale.ROOT).startsWith(SPARK_FILES)) {
            String name = location.substring(SPARK_FILES.length());
            if (name.isEmpty() || name.contains("/") || name.contains("\\")) {
                throw new IllegalArgumentException("a sparkfiles: location names a file given to SparkContext.addFile or "
                        + "--files by its file name, got '" + location + "'");
            }
            String path = SparkFiles.get(name);
            if (!Files.isRegularFile(Path.of(path))) {
                throw new LlamaException("the model " + location + " is not among this node's Spark files (" + path
                        + " is missing on " + host() + "): give it to spark-submit --files or SparkContext.addFile");
            }
            return path;
        }
        return location;
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "this host";
        }
    }

    /**
     * Closes every model that no task holds, with its contexts.
     *
     * @return how many models were closed
     */
    static int closeIdle() {
        synchronized (ModelCache.class) {
            int closed = 0;
            for (var it = ENTRIES.values().iterator(); it.hasNext(); ) {
                Entry e = it.next();
                if (e.handles > 0 || e.model == null) continue; // held, or being loaded
                try {
                    for (ContextPool p : e.pools.values()) p.close();
                    e.model.close();
                    closed++;
                    it.remove();
                } catch (RuntimeException ex) {
                    // a context still leased (a task killed without its completion listener): leave it to the OS
                    System.err.println("llama-ffm-spark: cannot close " + e.key.location() + ": " + ex.getMessage());
                }
            }
            return closed;
        }
    }

    // ---- package-private hooks for tests -------------------------------------------------------------------

    /** {@return the keys of the loaded models, in load order} */
    static List<Key> keys() {
        synchronized (ModelCache.class) {
            return new ArrayList<>(ENTRIES.keySet());
        }
    }

    /** {@return the loaded model of {@code key}, or null} */
    static Model loaded(Key key) {
        synchronized (ModelCache.class) {
            Entry e = ENTRIES.get(key);
            return e == null ? null : e.model;
        }
    }

    /** {@return the open handles on {@code key}'s model, 0 when none or not loaded} */
    static int handles(Key key) {
        synchronized (ModelCache.class) {
            Entry e = ENTRIES.get(key);
            return e == null ? 0 : e.handles;
        }
    }

    /** {@return the configurations of the context pools of {@code key}'s model} */
    static List<ContextParams> contextParams(Key key) {
        synchronized (ModelCache.class) {
            Entry e = ENTRIES.get(key);
            return e == null ? List.of() : new ArrayList<>(e.pools.keySet());
        }
    }

    /** {@return how many models this JVM has loaded} */
    static int loads() {
        synchronized (ModelCache.class) {
            return loads;
        }
    }
}
