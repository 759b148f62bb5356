package dev.panbuf.arrow;

import dev.panbuf.NdArray;
import dev.panbuf.internal.Leaks;
import dev.panbuf.shim.ArrowShim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A sequence of record batches exported as a {@code struct ArrowArrayStream}
 * (the Arrow C stream interface), made by {@link Arrow#exportStream}.
 *
 * <p>The consumer pulls: {@code get_schema} gives the schema of the first
 * batch, each {@code get_next} takes the next batch from the iterator and
 * exports it as {@link Arrow#exportBatch} does (no copy; its memory pinned
 * until the consumer releases that batch), and the end is an array whose
 * release is NULL. The callbacks may be called from any thread (one at a
 * time, as the specification says); an exception from the iterator or an
 * export becomes an errno result ({@code EINVAL} for a batch Arrow cannot
 * carry or whose schema differs from the first, {@code EIO} otherwise) and
 * its message the answer of {@code get_last_error}.
 *
 * <h2>Ownership</h2>
 * Java owns the stream until {@link #handOff()}; {@link #close()} releases
 * it then. The consumer of a handed-off stream calls its release exactly
 * once; the iterator is closed then (when it is {@link AutoCloseable}).
 * Batches already given out stay the consumer's and are released one by one.
 */
public final class ArrowStreamExport implements AutoCloseable {

    private static final int EINVAL = 22;
    private static final int EIO = 5;

    /** Producers by the stream's private_data (an id, never an address). */
    private static final ConcurrentHashMap<Long, Producer> PRODUCERS = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static volatile ArrowShim.Stubs stubs;

    private final Producer producer;

    private ArrowStreamExport(Producer producer) {
        this.producer = producer;
    }

    /** Upcall stubs in the global arena: a consumer may call them whenever it holds a stream, from any thread. */
    private static ArrowShim.Stubs stubs() {
        ArrowShim.Stubs s = stubs;
        if (s == null) {
            synchronized (ArrowStreamExport.class) {
                s = stubs;
                if (s == null) {
                    s = new ArrowShim.Stubs(new Callbacks(), Arena.global());
                    stubs = s;
                }
            }
        }
        return s;
    }

    static ArrowStreamExport of(Iterator<List<Column>> batches, MemorySegment out) {
        Objects.requireNonNull(batches, "batches");
        if (!batches.hasNext()) {
            throw new IllegalArgumentException("the stream has no batch, and Arrow needs one to know the schema;"
                    + " give at least one record batch (it may have 0 rows)");
        }
        List<Column> first = List.copyOf(batches.next());
        for (Column c : first) {
            String why = Arrow.refusal(c);
            if (why != null) {
                throw new IllegalArgumentException("cannot export the stream to Arrow: batch 0, " + why);
            }
        }
        Arena shell = null;
        MemorySegment stream = out;
        if (stream == null) {
            shell = Arena.ofAuto();
            stream = shell.allocate(ArrowShim.STREAM_BYTES, 8);
        }
        Producer p = new Producer(IDS.incrementAndGet(), first, batches, stream, shell);
        PRODUCERS.put(p.id, p);
        ArrowShim.fillStream(stream, stubs(), p.id);
        if (out != null) {
            p.state.set(Producer.HANDED_OFF);
        }
        ArrowStreamExport handle = new ArrowStreamExport(p);
        Throwable site = Leaks.creationSite();
        if (site != null) {
            // The check reads the producer only: a reference to the handle would keep it reachable forever.
            Leaks.watch(handle, site, () -> p.state.get() == Producer.JAVA_OWNED,
                    () -> "Arrow stream #" + p.id + " was never released (ArrowStreamExport.close()) nor handed off before"
                            + " its handle became unreachable; its iterator is never closed and its producer never freed");
        }
        return handle;
    }

    /** {@return the {@code struct ArrowArrayStream *}, a zero-length segment; pass it on after {@link #handOff()}} */
    public MemorySegment stream() {
        return MemorySegment.ofAddress(producer.stream.address());
    }

    /**
     * Gives the stream to a consumer, which must release it exactly once.
     *
     * @return this
     * @throws IllegalStateException when already handed off or released
     */
    public ArrowStreamExport handOff() {
        if (!producer.state.compareAndSet(Producer.JAVA_OWNED, Producer.HANDED_OFF)) {
            throw new IllegalStateException("the Arrow stream #" + producer.id + " is already "
                    + (producer.released ? "released" : "handed off"));
        }
        return this;
    }

    /** {@return true once the stream's release has run} */
    public boolean isReleased() {
        return producer.released;
    }

    /** {@return how many batches the consumer has taken} */
    public long batchesExported() {
        return producer.batches.get();
    }

    /** Releases the stream unless it was handed off; calling it again is harmless. */
    @Override
    public void close() {
        if (producer.state.compareAndSet(Producer.JAVA_OWNED, Producer.RELEASED)) {
            ArrowShim.releaseStream(producer.stream.address());
        }
    }

    static boolean isOwn(long stream) {
        return stubs != null && stubs().isReleaseOf(stream);
    }

    /** The producer behind one of this JVM's streams, or null. */
    static Producer producerOf(long stream) {
        return isOwn(stream) ? PRODUCERS.get(ArrowShim.streamPrivateData(stream)) : null;
    }

    /** One stream's producer: the iterator, the first batch (kept for the schema) and the last error. */
    static final class Producer {
        static final int JAVA_OWNED = 0, HANDED_OFF = 1, RELEASED = 2;
        final long id;
        final List<Column> first;
        final Iterator<List<Column>> rest;
        final MemorySegment stream;
        final Arena shell;
        final AtomicInteger state = new AtomicInteger(JAVA_OWNED);
        final AtomicLong batches = new AtomicLong();
        private boolean firstSent;
        private Arena errorArena;
        private MemorySegment lastError = MemorySegment.NULL;
        volatile boolean released;

        Producer(long id, List<Column> first, Iterator<List<Column>> rest, MemorySegment stream, Arena shell) {
            this.id = id;
            this.first = first;
            this.rest = rest;
            this.stream = stream;
            this.shell = shell;
        }

        synchronized int fail(int errno, Throwable t) {
            errorArena = Arena.ofAuto();
            String message = t.getMessage() == null ? t.toString() : t.getMessage();
            lastError = errorArena.allocateFrom(message);
            return errno;
        }

        synchronized int next(MemorySegment out) {
            List<Column> batch;
            if (!firstSent) {
                firstSent = true;
                batch = first;
            } else if (rest.hasNext()) {
                batch = List.copyOf(rest.next());
                String mismatch = mismatch(batch);
                if (mismatch != null) {
                    return fail(EINVAL, new IllegalArgumentException("batch " + batches.get() + " " + mismatch));
                }
            } else {
                ArrowShim.markReleased(ArrowShim.arrayAt(out.address()));
                return 0;
            }
            Arrow.export(batch, true, ArrowShim.arrayAt(out.address()), MemorySegment.NULL);
            batches.incrementAndGet();
            return 0;
        }

        /** How {@code batch} differs from the first batch's schema, or null. */
        private String mismatch(List<Column> batch) {
            if (batch.size() != first.size()) {
                return "has " + batch.size() + " columns but the stream's schema has " + first.size();
            }
            for (int i = 0; i < batch.size(); i++) {
                Column c = batch.get(i);
                Column f = first.get(i);
                NdArray v = c.values();
                NdArray fv = f.values();
                boolean sameRow = v.ndim() == fv.ndim() && Arrays.equals(Arrays.copyOfRange(v.shape(), 1, v.ndim()),
                        Arrays.copyOfRange(fv.shape(), 1, fv.ndim()));
                if (!c.name().equals(f.name()) || !v.dtype().equals(fv.dtype()) || !sameRow
                        || (c.mask() == null) != (f.mask() == null)) {
                    return "column " + i + " (\"" + c.name() + "\" " + v.dtype().str() + " " + Arrays.toString(v.shape())
                            + (c.mask() == null ? "" : " with mask") + ") does not match the stream's schema (\"" + f.name()
                            + "\" " + fv.dtype().str() + " " + Arrays.toString(fv.shape())
                            + (f.mask() == null ? "" : " with mask") + ")";
                }
            }
            return null;
        }

        void release(MemorySegment stream) {
            PRODUCERS.remove(id, this);
            released = true;
            state.set(RELEASED);
            ArrowShim.markStreamReleased(stream.address());
            if (rest instanceof AutoCloseable closeable) {
                try {
                    closeable.close();
                } catch (Exception e) {
                    org.slf4j.LoggerFactory.getLogger(ArrowStreamExport.class)
                            .warn("closing the iterator of Arrow stream #{} failed", id, e);
                }
            }
        }
    }

    /** The upcalls: each finds its producer by private_data and never lets an exception reach C. */
    private static final class Callbacks implements ArrowShim.StreamCallbacks {
        private static Producer producer(MemorySegment stream) {
            return PRODUCERS.get(ArrowShim.streamPrivateData(stream.address()));
        }

        @Override
        public int getSchema(MemorySegment stream, MemorySegment out) {
            Producer p = producer(stream);
            if (p == null) {
                return EINVAL;
            }
            try {
                Arrow.exportSchemaInto(p.first, true, ArrowShim.schemaAt(out.address()));
                return 0;
            } catch (Throwable t) {
                return p.fail(t instanceof IllegalArgumentException ? EINVAL : EIO, t);
            }
        }

        @Override
        public int getNext(MemorySegment stream, MemorySegment out) {
            Producer p = producer(stream);
            if (p == null) {
                return EINVAL;
            }
            try {
                return p.next(out);
            } catch (Throwable t) {
                return p.fail(t instanceof IllegalArgumentException ? EINVAL : EIO, t);
            }
        }

        @Override
        public MemorySegment getLastError(MemorySegment stream) {
            Producer p = producer(stream);
            if (p == null) {
                return MemorySegment.NULL;
            }
            synchronized (p) {
                return p.lastError;
            }
        }

        @Override
        public void release(MemorySegment stream) {
            try {
                Producer p = producer(stream);
                if (p != null) {
                    p.release(stream);
                } else {
                    ArrowShim.markStreamReleased(stream.address());
                }
            } catch (Throwable t) {
                org.slf4j.LoggerFactory.getLogger(ArrowStreamExport.class).error("releasing an Arrow stream failed", t);
            }
        }
    }
}
