/* Raw baselines; see raw_baselines.h. */
#define _GNU_SOURCE
#include "raw_baselines.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t raw_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int raw_pin_cpu(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return sched_setaffinity(0, sizeof s, &s);
}

/* 0 on success, -1 on error or end of stream. */
static int read_full(int fd, void* buf, size_t n) {
  char* p = (char*)buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_full(int fd, const void* buf, size_t n) {
  const char* p = (const char*)buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* Forks a child that runs body(fd) on its end of a fresh socketpair. */
static pid_t fork_child(int* parent_fd, int child_cpu, void (*body)(int)) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  if (pid == 0) {
    close(sv[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    if (child_cpu >= 0 && raw_pin_cpu(child_cpu) != 0) _exit(1);
    body(sv[1]);
    _exit(0);
  }
  close(sv[1]);
  *parent_fd = sv[0];
  return pid;
}

static void stop_child(int* fd, pid_t* pid) {
  if (*fd >= 0) close(*fd);
  if (*pid > 0) {
    kill(*pid, SIGKILL);
    while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR) {
    }
  }
  *fd = -1;
  *pid = -1;
}

/* ---- B1: ping-pong */

static void echo_body(int fd) {
  char buf[RAW_MSG_BYTES];
  for (;;) {
    if (read_full(fd, buf, sizeof buf) != 0) return;
    if (write_full(fd, buf, sizeof buf) != 0) return;
  }
}

int raw_pingpong_start(raw_pingpong* pp, int child_cpu) {
  pp->fd = -1;
  pp->pid = fork_child(&pp->fd, child_cpu, echo_body);
  return pp->pid < 0 ? -1 : 0;
}

uint64_t raw_pingpong_run(raw_pingpong* pp, long iters) {
  char buf[RAW_MSG_BYTES];
  memset(buf, 'p', sizeof buf);
  uint64_t t0 = raw_now_ns();
  for (long i = 0; i < iters; i++) {
    if (write_full(pp->fd, buf, sizeof buf) != 0) return 0;
    if (read_full(pp->fd, buf, sizeof buf) != 0) return 0;
  }
  return raw_now_ns() - t0;
}

void raw_pingpong_stop(raw_pingpong* pp) { stop_child(&pp->fd, &pp->pid); }

/* ---- B2: one-way stream. Per repetition: the parent writes the byte count to
 * expect (8 B), the reader answers 'R', the parent starts the clock and writes,
 * the reader reads everything in 64 KiB chunks and answers 'D'. */

static void reader_body(int fd) {
  static char rbuf[65536];
  for (;;) {
    uint64_t total;
    if (read_full(fd, &total, sizeof total) != 0) return;
    char c = 'R';
    if (write_full(fd, &c, 1) != 0) return;
    uint64_t left = total;
    while (left > 0) {
      size_t want = left < sizeof rbuf ? (size_t)left : sizeof rbuf;
      ssize_t n = read(fd, rbuf, want);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      left -= (uint64_t)n;
    }
    c = 'D';
    if (write_full(fd, &c, 1) != 0) return;
  }
}

int raw_stream_start(raw_stream* st, int child_cpu) {
  st->fd = -1;
  st->batch = malloc((size_t)RAW_BATCH * RAW_MSG_BYTES);
  if (st->batch == NULL) return -1;
  memset(st->batch, 'b', (size_t)RAW_BATCH * RAW_MSG_BYTES);
  st->pid = fork_child(&st->fd, child_cpu, reader_body);
  return st->pid < 0 ? -1 : 0;
}

uint64_t raw_stream_run(raw_stream* st, raw_stream_mode mode, long msgs, long* sent) {
  if (mode == raw_stream_batch_buf) msgs = (msgs / RAW_BATCH) * RAW_BATCH;
  *sent = msgs;
  uint64_t total = (uint64_t)msgs * RAW_MSG_BYTES;
  char c;
  if (write_full(st->fd, &total, sizeof total) != 0) return 0;
  if (read_full(st->fd, &c, 1) != 0 || c != 'R') return 0;
  uint64_t t0 = raw_now_ns();
  if (mode == raw_stream_batch_buf) {
    for (long i = 0; i < msgs; i += RAW_BATCH) {
      if (write_full(st->fd, st->batch, (size_t)RAW_BATCH * RAW_MSG_BYTES) != 0) return 0;
    }
  } else {
    char msg[RAW_MSG_BYTES];
    memset(msg, 'm', sizeof msg);
    for (long i = 0; i < msgs; i++) {
      ssize_t n = write(st->fd, msg, sizeof msg);
      if (n != (ssize_t)sizeof msg) {
        if (n < 0 && errno != EINTR) return 0;
        if (write_full(st->fd, msg + (n > 0 ? n : 0), sizeof msg - (size_t)(n > 0 ? n : 0)) != 0) return 0;
      }
    }
  }
  if (read_full(st->fd, &c, 1) != 0 || c != 'D') return 0;
  return raw_now_ns() - t0;
}

void raw_stream_stop(raw_stream* st) {
  stop_child(&st->fd, &st->pid);
  free(st->batch);
  st->batch = NULL;
}

/* ---- two clients, one server (see raw_rpc2 in the header) */

static int rpc2_server_fds[2] = {-1, -1}; /* set before fork_child, for server_body */

static void rpc2_server_body(int unused) {
  (void)unused;
  char buf[RAW_MSG_BYTES];
  struct pollfd p[2] = {{.fd = rpc2_server_fds[0], .events = POLLIN}, {.fd = rpc2_server_fds[1], .events = POLLIN}};
  for (;;) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].revents == 0) continue;
      if (read_full(p[i].fd, buf, sizeof buf) != 0) return;
      if (write_full(p[i].fd, buf, sizeof buf) != 0) return;
    }
  }
}

static int rpc2_client_fd = -1; /* the client's end of its socket to the server */

/* Per run: reads the round-trip count on `ctl`, does them, writes the elapsed ns. */
static void rpc2_client_body(int ctl) {
  char buf[RAW_MSG_BYTES];
  memset(buf, 'q', sizeof buf);
  for (;;) {
    int64_t iters;
    if (read_full(ctl, &iters, sizeof iters) != 0) return;
    uint64_t t0 = raw_now_ns();
    for (int64_t i = 0; i < iters; i++) {
      if (write_full(rpc2_client_fd, buf, sizeof buf) != 0) return;
      if (read_full(rpc2_client_fd, buf, sizeof buf) != 0) return;
    }
    uint64_t elapsed = raw_now_ns() - t0;
    if (write_full(ctl, &elapsed, sizeof elapsed) != 0) return;
  }
}

int raw_rpc2_start(raw_rpc2* r) {
  int pairs[2][2];
  r->server = r->clients[0] = r->clients[1] = -1;
  r->ctl[0] = r->ctl[1] = -1;
  for (int i = 0; i < 2; i++) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs[i]) != 0) return -1;
  }
  int server_ctl = -1;
  rpc2_server_fds[0] = pairs[0][0];
  rpc2_server_fds[1] = pairs[1][0];
  r->server = fork_child(&server_ctl, -1, rpc2_server_body);
  if (server_ctl >= 0) close(server_ctl);
  close(pairs[0][0]);
  close(pairs[1][0]);
  for (int i = 0; i < 2; i++) {
    rpc2_client_fd = pairs[i][1];
    if (r->server > 0) r->clients[i] = fork_child(&r->ctl[i], -1, rpc2_client_body);
    close(pairs[i][1]);
  }
  return r->server > 0 && r->clients[0] > 0 && r->clients[1] > 0 ? 0 : -1;
}

uint64_t raw_rpc2_run(raw_rpc2* r, long iters) {
  int64_t n = iters;
  for (int i = 0; i < 2; i++) {
    if (write_full(r->ctl[i], &n, sizeof n) != 0) return 0;
  }
  uint64_t slowest = 0;
  for (int i = 0; i < 2; i++) {
    uint64_t elapsed;
    if (read_full(r->ctl[i], &elapsed, sizeof elapsed) != 0) return 0;
    if (elapsed > slowest) slowest = elapsed;
  }
  return slowest;
}

void raw_rpc2_stop(raw_rpc2* r) {
  for (int i = 0; i < 2; i++) stop_child(&r->ctl[i], &r->clients[i]);
  int none = -1;
  stop_child(&none, &r->server); /* its sockets closed with the clients */
}

/* ---- B4 fork_exit and B5 pidfd_poll (shared/anchors/c/spawn.c, deathnotify.c) */

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

uint64_t raw_fork_exit_ns(void) {
  uint64_t t0 = raw_now_ns();
  pid_t pid = fork();
  if (pid < 0) return 0;
  if (pid == 0) _exit(0);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 0;
  }
  uint64_t t1 = raw_now_ns();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? t1 - t0 : 0;
}

uint64_t raw_sigkill_pidfd_ns(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 0;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return 0;
  }
  if (pid == 0) {
    close(sv[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
    char c = 'R';
    if (write_full(sv[1], &c, 1) != 0) _exit(1);
    for (;;) pause();
  }
  close(sv[1]);
  uint64_t elapsed = 0;
  int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
  char c;
  if (pfd >= 0 && read_full(sv[0], &c, 1) == 0) {
    usleep(2000); /* so that the child is asleep in pause() */
    uint64_t t0 = raw_now_ns();
    if (kill(pid, SIGKILL) == 0) {
      struct pollfd p = {.fd = pfd, .events = POLLIN};
      int n;
      while ((n = poll(&p, 1, -1)) < 0 && errno == EINTR) {
      }
      if (n == 1) elapsed = raw_now_ns() - t0;
    }
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  if (pfd >= 0) close(pfd);
  close(sv[0]);
  return elapsed;
}
