#!/usr/bin/env python3
"""Python multiprocessing's side of the benchmark table (scripts/bench.sh).

The project's own copy of what it needs of the anchor script it was measured
against (shared/anchors/py/mp_anchors.py, sections A1-A5, A7, A8), plus the
figures that script lacks: a Queue used from the parent (A3h). Each figure does
the same work as its libactorproc counterpart (bench/README.md says how, side
by side). One line per figure, the format bench/report.py reads:

    ANCHOR<TAB>name<TAB>median<TAB>unit<TAB>min<TAB>max<TAB>nreps

usage: mp_baselines.py [--quick] [section ...]
  sections: a1 a2 a3 a3h a4 a5 a7 a8 (default: all)
  --quick  fewer repetitions and smaller counts (the names stay those of the
           full sizes; bench/README.md lists both sizes)

Start method 'fork' (the Linux default). No CPU affinity is set here: the
placement is the caller's (scripts/bench.sh --placement same runs this under
taskset -c 0, like everything else).
"""
import concurrent.futures as cf
import multiprocessing as mp
import statistics
import sys
import time
from multiprocessing import resource_tracker, shared_memory

pc = time.perf_counter
MIB64 = 64 * 1024 * 1024
QUICK = False


def size(full, quick):
    return quick if QUICK else full


def emit(name, vals, unit):
    vals = sorted(vals)
    med = statistics.median(vals)
    print(f"ANCHOR\t{name}\t{med:.6g}\t{unit}\t{vals[0]:.6g}\t{vals[-1]:.6g}\t{len(vals)}",
          flush=True)


# --------------------------------------------------------------------------- children
# (top level, as multiprocessing's children need)

def square(x):
    return x * x


def _echo(conn):
    while True:
        try:
            x = conn.recv()
        except EOFError:
            break
        if x is None:
            break
        conn.send(x)


def _sink(conn, n, reps):
    for _ in range(reps):
        conn.send("R")
        for _ in range(n):
            conn.recv_bytes()
        conn.send("D")


def _q_producer(q, n, barrier):
    barrier.wait()
    put = q.put
    for i in range(n):
        put(i)
    put(None)


def _q_consumer(q, nprod, barrier, done_conn):
    barrier.wait()
    finished = count = 0
    get = q.get
    while finished < nprod:
        x = get()
        if x is None:
            finished += 1
        else:
            count += 1
    done_conn.send(count)


def _q_drain(q, n, barrier, done_conn):
    barrier.wait()
    get = q.get
    for _ in range(n):
        get()
    done_conn.send(n)


def _jq_consumer(q):
    while True:
        x = q.get()
        q.task_done()
        if x is None:
            break


def _mgr_worker(d, lock, n, barrier):
    barrier.wait()
    for _ in range(n):
        with lock:
            d["k"] = d["k"] + 1


def _big_pipe_reader(conn, reps):
    for _ in range(reps):
        conn.send("R")
        b = conn.recv_bytes()
        conn.send(len(b))


def _shm_reader(conn, reps):
    for _ in range(reps):
        conn.send("R")
        name = conn.recv()
        # (fork: the child shares the parent's resource tracker; the creator unlinks.)
        shm = shared_memory.SharedMemory(name=name)
        bytes(shm.buf[::4096])      # touch one byte of every page
        n = shm.size
        shm.close()
        conn.send(n)


# --------------------------------------------------------------------------- A1
def a1_pingpong():
    """Pipe ping-pong with an echo child; per rep: total time / round trips
    (the mean, as ours is measured) and the median of single round trips."""
    reps, n = size(5, 3), size(4000, 1500)
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(daemon=True, target=_echo, args=(b,))
    p.start()
    b.close()
    for i in range(500):
        a.send(i)
        a.recv()
    meds, means = [], []
    for _ in range(reps):
        samples = [0] * n
        t_all = time.perf_counter_ns()
        for i in range(n):
            t0 = time.perf_counter_ns()
            a.send(i)
            a.recv()
            samples[i] = time.perf_counter_ns() - t0
        means.append((time.perf_counter_ns() - t_all) / n / 1000)
        meds.append(statistics.median(samples) / 1000)
    a.send(None)
    p.join()
    emit("A1 pipe_pingpong_int_median", meds, "us/rt")
    emit("A1 pipe_pingpong_int_mean", means, "us/rt")


# --------------------------------------------------------------------------- A2
def a2_pipe_throughput():
    """64 B send_bytes to a child; timed from the child's 'ready' to its 'done'."""
    reps, n = size(5, 3), size(50000, 20000)
    ctx = mp.get_context("fork")
    msg = b"x" * 64
    a, b = ctx.Pipe()
    p = ctx.Process(daemon=True, target=_sink, args=(b, n, reps))
    p.start()
    b.close()
    rates = []
    for _ in range(reps):
        assert a.recv() == "R"
        t0 = pc()
        for _ in range(n):
            a.send_bytes(msg)
        assert a.recv() == "D"
        rates.append(n / (pc() - t0))
    p.join()
    emit("A2 pipe_oneway_64B_send_bytes", rates, "msg/s")


# --------------------------------------------------------------------------- A3
def a3_queue_2to1():
    """2 producer processes put n ints each, 1 consumer gets them all; from the
    common start (a Barrier) until the consumer reports its count."""
    reps, n = size(5, 3), size(30000, 10000)
    ctx = mp.get_context("fork")
    rates = []
    for _ in range(reps):
        q = ctx.Queue()
        barrier = ctx.Barrier(4)
        rx, tx = ctx.Pipe(duplex=False)
        cons = ctx.Process(daemon=True, target=_q_consumer, args=(q, 2, barrier, tx))
        prods = [ctx.Process(daemon=True, target=_q_producer, args=(q, n, barrier)) for _ in range(2)]
        for p in [cons] + prods:
            p.start()
        barrier.wait()
        t0 = pc()
        count = rx.recv()
        dt = pc() - t0
        assert count == 2 * n
        for p in [cons] + prods:
            p.join()
        rates.append(count / dt)
    emit("A3 queue_2prod_1cons_int", rates, "items/s")


# --------------------------------------------------------------------------- A3h
def a3h_queue_parent():
    """A Queue used from the parent.
    put: the parent puts n ints, one child (started and waiting) gets them; from
         the first put until the child reports it has got all n.
    get: one child puts n ints; the parent gets them; from the common start (a
         Barrier) until the parent has got the n-th."""
    reps, n = size(5, 3), size(30000, 10000)
    ctx = mp.get_context("fork")
    rates = []
    for _ in range(reps):
        q = ctx.Queue()
        barrier = ctx.Barrier(2)
        rx, tx = ctx.Pipe(duplex=False)
        p = ctx.Process(daemon=True, target=_q_drain, args=(q, n, barrier, tx))
        p.start()
        barrier.wait()
        t0 = pc()
        put = q.put
        for i in range(n):
            put(i)
        assert rx.recv() == n
        rates.append(n / (pc() - t0))
        p.join()
    emit("A3h queue_parent_put", rates, "items/s")

    rates = []
    for _ in range(reps):
        q = ctx.Queue()
        barrier = ctx.Barrier(2)
        p = ctx.Process(daemon=True, target=_q_producer, args=(q, n, barrier))
        p.start()
        barrier.wait()
        t0 = pc()
        get = q.get
        for _ in range(n):
            get()
        rates.append(n / (pc() - t0))
        assert q.get() is None
        p.join()
    emit("A3h queue_parent_get", rates, "items/s")


# --------------------------------------------------------------------------- A4
def a4_joinable_queue():
    """The parent puts n ints, a consumer gets and task_done()s each; until the
    parent's join() returns."""
    reps, n = size(5, 3), size(20000, 8000)
    ctx = mp.get_context("fork")
    rates = []
    for _ in range(reps):
        q = ctx.JoinableQueue()
        p = ctx.Process(daemon=True, target=_jq_consumer, args=(q,))
        p.start()
        q.put("warm")
        q.join()                      # the consumer is up and running
        t0 = pc()
        for i in range(n):
            q.put(i)
        q.join()
        rates.append(n / (pc() - t0))
        q.put(None)
        p.join()
    emit("A4 joinablequeue_put_taskdone_join", rates, "items/s")


# --------------------------------------------------------------------------- A5
def a5_pools():
    """Pool(2) and ProcessPoolExecutor(2) on square(i)."""
    reps = size(3, 3)
    n_map, n_async, n_fut = size(1000000, 200000), size(40000, 10000), size(25000, 5000)
    ctx = mp.get_context("fork")
    with ctx.Pool(2) as pool:
        pool.map(square, range(1000))
        rates = []
        for _ in range(reps):
            t0 = pc()
            res = pool.map(square, range(n_map))
            rates.append(n_map / (pc() - t0))
            assert res[-1] == (n_map - 1) ** 2
        emit("A5 pool2_map_1M_default_chunksize", rates, "tasks/s")
        rates = []
        for _ in range(reps):
            t0 = pc()
            rs = [pool.apply_async(square, (i,)) for i in range(n_async)]
            for r in rs:
                r.get()
            rates.append(n_async / (pc() - t0))
        emit("A5 pool2_apply_async_40k", rates, "tasks/s")

    with cf.ProcessPoolExecutor(2, mp_context=ctx) as ex:
        list(ex.map(square, range(100)))   # workers up
        rates = []
        for _ in range(reps):
            t0 = pc()
            fs = [ex.submit(square, i) for i in range(n_fut)]
            for f in fs:
                f.result()
            rates.append(n_fut / (pc() - t0))
        emit("A5 ppe2_submit_25k", rates, "tasks/s")


# --------------------------------------------------------------------------- A7
def a7_manager_dict():
    """2 processes x n times `with lock: d['k'] = d['k'] + 1` on a Manager's
    dict and Lock (4 proxy round trips per increment); total increments/s."""
    reps, n = size(5, 3), size(1000, 300)
    ctx = mp.get_context("fork")
    with ctx.Manager() as m:
        rates = []
        for _ in range(reps):
            d = m.dict(k=0)
            lock = m.Lock()
            barrier = ctx.Barrier(3)
            ps = [ctx.Process(daemon=True, target=_mgr_worker, args=(d, lock, n, barrier)) for _ in range(2)]
            for p in ps:
                p.start()
            barrier.wait()
            t0 = pc()
            for p in ps:
                p.join()
            dt = pc() - t0
            assert d["k"] == 2 * n, d["k"]
            rates.append(2 * n / dt)
    emit("A7 manager_dict_incr_under_mgr_lock_2proc", rates, "ops/s")


# --------------------------------------------------------------------------- A8
def a8_large_payload():
    """64 MiB parent -> child: Pipe.send_bytes until the child has it and acks;
    a shared_memory segment filled before t0, handed over by name, every page
    touched by the child, closed and unlinked by the parent, all timed."""
    reps = size(5, 3)
    ctx = mp.get_context("fork")
    data = b"\x01" * MIB64

    a, b = ctx.Pipe()
    p = ctx.Process(daemon=True, target=_big_pipe_reader, args=(b, reps + 1))
    p.start()
    bw = []
    for r in range(reps + 1):
        assert a.recv() == "R"
        t0 = pc()
        a.send_bytes(data)
        assert a.recv() == MIB64
        if r:
            bw.append(MIB64 / 1e9 / (pc() - t0))
    p.join()
    emit("A8 pipe_send_bytes_64MiB", bw, "GB/s")

    # Start the resource tracker before forking so the child shares it.
    resource_tracker.ensure_running()
    a, b = ctx.Pipe()
    p = ctx.Process(daemon=True, target=_shm_reader, args=(b, reps + 1))
    p.start()
    bw = []
    for r in range(reps + 1):
        assert a.recv() == "R"
        shm = shared_memory.SharedMemory(create=True, size=MIB64)
        shm.buf[:] = data               # produced before the clock starts
        t0 = pc()
        a.send(shm.name)
        assert a.recv() == MIB64
        shm.close()
        shm.unlink()
        dt = pc() - t0
        if r:
            bw.append(MIB64 / 1e9 / dt)
    p.join()
    emit("A8 shared_memory_64MiB_handoff", bw, "GB/s")


SECTIONS = {
    "a1": a1_pingpong,
    "a2": a2_pipe_throughput,
    "a3": a3_queue_2to1,
    "a3h": a3h_queue_parent,
    "a4": a4_joinable_queue,
    "a5": a5_pools,
    "a7": a7_manager_dict,
    "a8": a8_large_payload,
}


def main(argv):
    global QUICK
    QUICK = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")] or list(SECTIONS)
    unknown = [nm for nm in names if nm not in SECTIONS]
    if unknown:
        print(f"mp_baselines.py: unknown section(s) {' '.join(unknown)}; known: {' '.join(SECTIONS)}",
              file=sys.stderr)
        return 2
    for nm in names:
        t0 = pc()
        SECTIONS[nm]()
        print(f"# section {nm} took {pc() - t0:.1f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
