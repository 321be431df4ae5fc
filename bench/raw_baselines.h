/* Raw baselines for actorproc_bench (socketpairs), shared_bench (two clients of
 * one server) and restart_bench (process creation, death notification), measured in the same run as the actor figures. The logic follows shared/anchors/c/pingpong.c (B1, stream mode)
 * and shared/anchors/c/stream.c (B2, write1 and batch_buf), reimplemented here so
 * that the benchmark builds without ../shared.
 *
 * Each baseline keeps one forked child alive across repetitions, so repetitions
 * of the raw and the actor cases can be interleaved. Children inherit the CPU
 * affinity of the caller at start time, die with their parent (PR_SET_PDEATHSIG),
 * and should be started before any thread exists (fork of a single-threaded
 * process).
 */
#ifndef ACTORPROC_BENCH_RAW_BASELINES_H
#define ACTORPROC_BENCH_RAW_BASELINES_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RAW_MSG_BYTES 64
#define RAW_BATCH 1000

/* B1: 64 B ping-pong over SOCK_STREAM socketpair, blocking read/write, forked echo child. */
typedef struct {
  int fd;
  pid_t pid;
} raw_pingpong;

/* 0 on success, -1 with errno. `child_cpu` >= 0 pins the echo child to that CPU
 * (otherwise it inherits the caller's affinity). */
int raw_pingpong_start(raw_pingpong* pp, int child_cpu);
/* `iters` round trips; returns the elapsed nanoseconds (0 on failure). */
uint64_t raw_pingpong_run(raw_pingpong* pp, long iters);
void raw_pingpong_stop(raw_pingpong* pp);

/* B2: one-way 64 B messages parent -> forked reader child over a SOCK_STREAM
 * socketpair; the reader read()s 64 KiB chunks. Timed from "reader ready" to
 * "reader received everything". */
typedef enum {
  raw_stream_write1 = 1,    /* one write() per 64 B message */
  raw_stream_batch_buf = 2, /* 1000 messages packed in one 64,000 B buffer, one write() per 1000 */
} raw_stream_mode;

typedef struct {
  int fd;
  pid_t pid;
  char* batch; /* RAW_BATCH * RAW_MSG_BYTES bytes */
} raw_stream;

int raw_stream_start(raw_stream* st, int child_cpu);
/* Sends `msgs` messages (rounded down to a multiple of RAW_BATCH for batch_buf);
 * returns the elapsed nanoseconds (0 on failure) and stores the count sent. */
uint64_t raw_stream_run(raw_stream* st, raw_stream_mode mode, long msgs, long* sent);
void raw_stream_stop(raw_stream* st);

/* Two clients, one server: the shape of a dict actor serving two connected
 * clients, each sending one 64 B request and waiting for its 64 B answer. The
 * server poll()s both sockets, and for each readable one reads a request and
 * writes the answer (poll + read + write, as a worker with direct channels
 * does); the clients write, then block in read. Three forked processes. */
typedef struct {
  pid_t server;
  pid_t clients[2];
  int ctl[2]; /* the parent's end of each client's control socket */
} raw_rpc2;

int raw_rpc2_start(raw_rpc2* r);
/* Each client does `iters` round trips at once; returns the slower client's
 * elapsed nanoseconds (0 on failure). */
uint64_t raw_rpc2_run(raw_rpc2* r, long iters);
void raw_rpc2_stop(raw_rpc2* r);

/* B4 / B5 single samples, for restart_bench. The logic follows
 * shared/anchors/c/spawn.c (fork_exit) and shared/anchors/c/deathnotify.c
 * (pidfd_poll). Call them from a small single-threaded process: fork() costs
 * grow with the caller's mappings and threads. */

/* fork(); the child _exit(0)s at once; waitpid(). Returns the elapsed nanoseconds
 * (0 on failure). */
uint64_t raw_fork_exit_ns(void);
/* Forks a child that reports ready over a socketpair and sleeps in pause(); waits
 * 2 ms so that it is asleep; then t0 = now, kill(SIGKILL), poll(POLLIN) on the
 * child's pidfd_open() descriptor until it wakes = t1. The child is reaped after
 * t1. Returns t1 - t0 in nanoseconds (0 on failure). */
uint64_t raw_sigkill_pidfd_ns(void);

/* Pins the calling thread (and what it forks or spawns afterwards) to `cpu`. */
int raw_pin_cpu(int cpu);

uint64_t raw_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
