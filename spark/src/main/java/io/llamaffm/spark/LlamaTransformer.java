package io.llamaffm.spark;

import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.ContextPool;
import io.llamaffm.LlamaException;
import io.llamaffm.Model;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.TaskCompletionListener;

import java.io.Serial;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * What the llama-ffm transformers share: where the model is ({@link #setModel}), how it is loaded and run (GPU layers,
 * context length, threads, rows per batch), and what a failing row does (an error column, or failing the task).
 *
 * <p><b>Where the work runs.</b> {@link #transform} adds columns with {@code mapPartitions}: each task holds the model
 * of its executor JVM (loaded once per JVM and load parameters, shared by the JVM's tasks, closed at JVM shutdown),
 * leases one context for the partition, and runs the partition's rows in batches of {@link #setBatchSize}. The model
 * file never passes through the driver: the executors read it from {@link #setModel its location}.
 *
 * <p><b>Errors.</b> A row that fails (null or invalid input, too long, a failed generation) gets a null output and the
 * exception's message in the error column ({@link #setErrorCol}; a successful row has null there), unless
 * {@link #setFailFast fail-fast} is on: then the first failing row fails the task with its exception. With no error
 * column ({@code ""}) a failing row always fails the task: an empty result is never silent. A model that cannot be
 * loaded fails the task (and so the job, after Spark's retries) with a {@link LlamaException} naming the location and
 * the host, never every row's error.
 *
 * <p><b>The JVM.</b> {@link #transform} (on the driver) and each executor's first model load check the Java floor of
 * Spark 4.2 ({@link SparkJvmFlags#checkJava()}); {@link SparkJvmFlags} lists the JVM flags Spark on Java 25 needs.
 *
 * @param <T> the transformer's own type, which the setters return
 */
public abstract class LlamaTransformer<T extends LlamaTransformer<T>> extends Transformer implements DefaultParamsWritable {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> model;
    private final Param<String> errorCol;
    private final BooleanParam failFast;
    private final IntParam threads;
    private final IntParam contextLength;
    private final IntParam gpuLayers;
    private final IntParam batchSize;

    /**
     * Declares the shared parameters and their defaults.
     *
     * @param uid the transformer's unique id
     */
    protected LlamaTransformer(String uid) {
        this.uid = uid;
        model = new Param<>(this, "model", "where the executors find the model: a path every node sees, "
                + "sparkfiles:NAME (a file given to --files or SparkContext.addFile), or a hub reference (hf:owner/repo:QUANT, "
                + "an https URL) downloaded once per node");
        errorCol = new Param<>(this, "errorCol", "the per-row error column (string, null when the row succeeded); "
                + "empty for none (then a failing row fails the task)");
        failFast = new BooleanParam(this, "failFast", "whether the first failing row fails the task with its exception");
        threads = new IntParam(this, "threads", "llama.cpp threads per task; 0 = the task's CPUs (spark.task.cpus)",
                ParamValidators.gtEq(0));
        contextLength = new IntParam(this, "contextLength", "the context length in tokens; 0 = the model's trained length",
                ParamValidators.gtEq(0));
        gpuLayers = new IntParam(this, "gpuLayers", "layers offloaded to the GPU; -1 = all", ParamValidators.gtEq(-1));
        batchSize = new IntParam(this, "batchSize", "rows run together in one call inside a partition",
                ParamValidators.inRange(1, 4096));
        setDefault(errorCol, "error");
        setDefault(failFast, false);
        setDefault(threads, 0);
        setDefault(contextLength, 0);
        setDefault(gpuLayers, 0);
        setDefault(batchSize, 64);
    }

    @Override
    public String uid() {
        return uid;
    }

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    /** {@return the model location parameter} */
    public Param<String> model() {
        return model;
    }

    /** {@return the error column parameter} */
    public Param<String> errorCol() {
        return errorCol;
    }

    /** {@return the fail-fast parameter} */
    public BooleanParam failFast() {
        return failFast;
    }

    /** {@return the threads parameter} */
    public IntParam threads() {
        return threads;
    }

    /** {@return the context length parameter} */
    public IntParam contextLength() {
        return contextLength;
    }

    /** {@return the GPU layers parameter} */
    public IntParam gpuLayers() {
        return gpuLayers;
    }

    /** {@return the batch size parameter} */
    public IntParam batchSize() {
        return batchSize;
    }

    /** {@return where the executors find the model; null when not set} */
    public String getModel() {
        return isDefined(model) ? getOrDefault(model) : null;
    }

    /**
     * Sets where the executors find the model: a path every node sees, {@code sparkfiles:NAME} (a file given to
     * {@code spark-submit --files} or {@code SparkContext.addFile}, found with {@code SparkFiles.get} on the
     * executor), or a hub reference ({@code hf:owner/repo:QUANT}, an https URL) that each node downloads once into
     * its locked download cache.
     *
     * @param location the location
     * @return this
     */
    public T setModel(String location) {
        set(model, location);
        return self();
    }

    /** {@return the error column, "" for none} */
    public String getErrorCol() {
        return getOrDefault(errorCol);
    }

    /**
     * Sets the per-row error column (string; null where the row succeeded). Default {@code error}.
     *
     * @param column the column name, or "" (or null) for none: then a failing row fails the task
     * @return this
     */
    public T setErrorCol(String column) {
        set(errorCol, column == null ? "" : column);
        return self();
    }

    /** {@return whether the first failing row fails the task} */
    public boolean getFailFast() {
        return (Boolean) getOrDefault(failFast);
    }

    /**
     * Sets whether the first failing row fails the task with its exception (default false: the error column).
     *
     * @param on true to fail fast
     * @return this
     */
    public T setFailFast(boolean on) {
        set(failFast, on);
        return self();
    }

    /** {@return llama.cpp threads per task, 0 for the task's CPUs} */
    public int getThreads() {
        return (Integer) getOrDefault(threads);
    }

    /**
     * Sets llama.cpp's threads per task. Default 0: the task's CPUs ({@code spark.task.cpus}), so that the tasks of
     * an executor together use its cores.
     *
     * @param n at least 0
     * @return this
     */
    public T setThreads(int n) {
        set(threads, n);
        return self();
    }

    /** {@return the context length in tokens, 0 for the model's trained length} */
    public int getContextLength() {
        return (Integer) getOrDefault(contextLength);
    }

    /**
     * Sets the context length in tokens (default 0: the model's trained length).
     *
     * @param tokens at least 0
     * @return this
     */
    public T setContextLength(int tokens) {
        set(contextLength, tokens);
        return self();
    }

    /** {@return layers offloaded to the GPU} */
    public int getGpuLayers() {
        return (Integer) getOrDefault(gpuLayers);
    }

    /**
     * Sets the layers offloaded to the GPU (default 0; -1 for all). A load parameter: a different value loads a
     * different model.
     *
     * @param layers at least -1
     * @return this
     */
    public T setGpuLayers(int layers) {
        set(gpuLayers, layers);
        return self();
    }

    /** {@return rows run together in one call} */
    public int getBatchSize() {
        return (Integer) getOrDefault(batchSize);
    }

    /**
     * Sets how many rows of a partition run together in one batched call (default 64).
     *
     * @param rows 1 to 4096
     * @return this
     */
    public T setBatchSize(int rows) {
        set(batchSize, rows);
        return self();
    }

    @Override
    public T copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    // ---- schema ---------------------------------------------------------------------------------------------

    /** {@return the output column's name} */
    abstract String outputColumn();

    /** {@return the output column's type} */
    abstract DataType outputType();

    /** Checks the input columns of {@code schema}, throwing {@link IllegalArgumentException} when one is wrong. */
    abstract void checkInputs(StructType schema);

    @Override
    public StructType transformSchema(StructType schema) {
        String name = getClass().getSimpleName();
        if (getModel() == null) {
            throw new IllegalArgumentException(name + ": no model: setModel(path | sparkfiles:NAME | hf:owner/repo:QUANT)");
        }
        checkInputs(schema);
        List<StructField> fields = new ArrayList<>(Arrays.asList(schema.fields()));
        String out = outputColumn();
        requireNew(schema, out, "output");
        fields.add(DataTypes.createStructField(out, outputType(), true));
        String err = getErrorCol();
        if (!err.isEmpty()) {
            if (err.equals(out)) throw new IllegalArgumentException(name + ": the error column and the output column are both '" + out + "'");
            requireNew(schema, err, "error");
            fields.add(DataTypes.createStructField(err, DataTypes.StringType, true));
        }
        return DataTypes.createStructType(fields);
    }

    private void requireNew(StructType schema, String column, String role) {
        if (column == null || column.isEmpty()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": the " + role + " column has no name");
        }
        if (Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": the " + role + " column '" + column
                    + "' already exists in the input");
        }
    }

    /**
     * Checks that {@code schema} has a column {@code column} of a text type.
     *
     * @param binary whether a binary column (UTF-8 bytes, decoded strictly) is accepted too
     */
    void requireText(StructType schema, String column, String role, boolean binary) {
        String name = getClass().getSimpleName();
        if (column == null || column.isEmpty()) {
            throw new IllegalArgumentException(name + ": the " + role + " column is not set");
        }
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException(name + ": the " + role + " column '" + column + "' is not in the input; its columns are "
                    + Arrays.toString(schema.fieldNames()));
        }
        DataType type = schema.apply(column).dataType();
        if (!type.equals(DataTypes.StringType) && !(binary && type.equals(DataTypes.BinaryType))) {
            throw new IllegalArgumentException(name + ": the " + role + " column '" + column + "' must be of type string"
                    + (binary ? " or binary (UTF-8 bytes)" : "") + ", got " + type.simpleString());
        }
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        SparkJvmFlags.checkJava();
        StructType out = transformSchema(dataset.schema());
        return dataset.toDF().mapPartitions(work(dataset.schema()), Encoders.row(out));
    }

    /** The partition work for input rows of {@code schema}, made on the driver and sent to the executors. */
    abstract RowWork work(StructType schema);

    /** {@return the settings the executors need, taken from the parameters} */
    Common common() {
        return new Common(getModel(), getGpuLayers(), getThreads(), getContextLength(), getBatchSize(), getFailFast(),
                !getErrorCol().isEmpty());
    }

    // ---- executor side --------------------------------------------------------------------------------------

    /**
     * The parameters every task needs.
     *
     * @param model         model location
     * @param gpuLayers     layers offloaded
     * @param threads       threads, 0 for the task's CPUs
     * @param contextLength tokens, 0 for the trained length
     * @param batchSize     rows per call
     * @param failFast      whether a failing row fails the task
     * @param errorColumn   whether rows carry an error column
     */
    record Common(String model, int gpuLayers, int threads, int contextLength, int batchSize, boolean failFast,
                  boolean errorColumn) implements Serializable {
        /** {@return the threads a task uses: the parameter, else the task's CPUs} */
        int taskThreads() {
            if (threads > 0) return threads;
            TaskContext tc = TaskContext.get();
            return tc != null ? Math.max(1, tc.cpus()) : Runtime.getRuntime().availableProcessors();
        }
    }

    /**
     * One row's result: a value, or the exception that failed it.
     *
     * @param value the output value (null when failed)
     * @param error the failure, or null
     */
    record Outcome(Object value, Throwable error) {
        static Outcome ok(Object value) {
            return new Outcome(value, null);
        }

        static Outcome failed(Throwable error) {
            return new Outcome(null, error);
        }
    }

    /**
     * The work of one partition: rows in, rows with the output (and error) column out, in batches on one leased
     * context of the JVM's cached model.
     */
    abstract static class RowWork implements MapPartitionsFunction<Row, Row> {
        @Serial
        private static final long serialVersionUID = 1L;
        final Common common;

        RowWork(Common common) {
            this.common = common;
        }

        /** {@return the configuration of the contexts this work runs on} */
        abstract ContextParams contextParams(int threads);

        /**
         * Runs one batch.
         *
         * @return one outcome per row, in order
         */
        abstract List<Outcome> run(Model model, Context context, List<Row> rows);

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            return new Iterator<>() {
                private final List<Row> ready = new ArrayList<>();
                private int next;
                private Task task;

                @Override
                public boolean hasNext() {
                    if (next < ready.size()) return true;
                    ready.clear();
                    next = 0;
                    if (!input.hasNext()) {
                        if (task != null) task.close(); // the partition is done: give the context and model back now
                        return false;
                    }
                    List<Row> batch = new ArrayList<>(common.batchSize());
                    while (batch.size() < common.batchSize() && input.hasNext()) batch.add(input.next());
                    if (task == null) task = new Task();
                    List<Outcome> outcomes = run(task.handle.model(), task.context(), batch);
                    for (int i = 0; i < batch.size(); i++) ready.add(output(batch.get(i), outcomes.get(i)));
                    return true;
                }

                @Override
                public Row next() {
                    if (!hasNext()) throw new NoSuchElementException();
                    return ready.get(next++);
                }
            };
        }

        private final class Task implements TaskCompletionListener {
            final ModelCache.Handle handle;
            private ContextPool.Lease lease;

            Task() {
                handle = ModelCache.acquire(new ModelCache.Key(common.model(), common.gpuLayers()));
                TaskContext tc = TaskContext.get();
                if (tc != null) tc.addTaskCompletionListener(this); // a failed or killed task gives them back too
            }

            Context context() {
                if (lease == null) {
                    try {
                        lease = handle.pool(contextParams(common.taskThreads())).acquire();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new LlamaException("interrupted while waiting for a context of " + common.model(), e);
                    }
                }
                return lease.context();
            }

            void close() {
                if (lease != null) {
                    lease.close();
                    lease = null;
                }
                handle.close();
            }

            @Override
            public void onTaskCompletion(TaskContext context) {
                close();
            }
        }

        private Row output(Row in, Outcome outcome) {
            if (outcome.error() != null && (common.failFast() || !common.errorColumn())) {
                Throwable e = outcome.error();
                if (e instanceof RuntimeException re) throw re;
                if (e instanceof Error er) throw er;
                throw new LlamaException(e.getMessage(), e);
            }
            int n = in.size();
            Object[] values = new Object[n + (common.errorColumn() ? 2 : 1)];
            for (int i = 0; i < n; i++) values[i] = in.get(i);
            values[n] = outcome.value();
            if (common.errorColumn()) values[n + 1] = outcome.error() == null ? null : message(outcome.error());
            return RowFactory.create(values);
        }

        static String message(Throwable e) {
            String m = e.getMessage();
            return m == null || m.isBlank() ? e.getClass().getName() : m;
        }
    }

    /**
     * The text of a row's input column: a string, or binary UTF-8 decoded strictly.
     *
     * @throws IllegalArgumentException if the value is null or its bytes are not valid UTF-8
     */
    static String text(Row row, int index, String column) {
        if (row.isNullAt(index)) throw new IllegalArgumentException("the input column '" + column + "' is null");
        Object v = row.get(index);
        if (v instanceof String s) return s;
        byte[] bytes = (byte[]) v;
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the input column '" + column + "' is not valid UTF-8 (" + e.getMessage() + ")", e);
        }
    }
}
