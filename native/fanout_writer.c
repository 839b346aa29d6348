// The native fan-out writer: one batch of stream bytes to many sockets in one
// call from JavaScript (src/fanout/direct-writer.ts decides which sockets).
//
//   new FanoutWriter(method: 'io_uring' | 'send')
//   writer.method: 'io_uring' | 'send'   (the one in use)
//   writer.sendAll(fds: Int32Array, count: number, data: Uint8Array, out: Int32Array): number
//
// For i < count: one send of `data` to fds[i], never blocking (MSG_DONTWAIT)
// and never raising SIGPIPE (MSG_NOSIGNAL); out[i] = the bytes the kernel
// took, or -errno. Returns how many descriptors took all of `data`. A short
// write is not retried: the socket's buffer is full, and the rest belongs to
// the caller's normal write path (libuv), which waits for the socket to drain.
//
// How: with io_uring (Linux >= 5.6, when the kernel and any seccomp policy
// allow it) the sends of a batch are queued as IORING_OP_SEND entries and
// made by one io_uring_enter() per RING_ENTRIES sockets; the kernel runs each
// inline, as send() would (MSG_DONTWAIT: a full socket answers -EAGAIN,
// nothing is left pending). One system call per batch instead of one per
// socket: where a system call is dear (page-table isolation, virtual
// machines) that is much of the cost. Otherwise, or with method 'send', one
// send() per socket. io_uring is set up on first use and given up for good
// by that writer when it cannot be set up or fails; a send whose outcome the
// failed ring never reported is out[i] = -EIO (the caller must not send
// those bytes again: it ends that connection).
//
// Also exported, for the thread worker mode (src/primary/descriptor-dup.ts):
//
//   dupCloexec(fd: number): number
//
// A second descriptor of the same open socket (fcntl F_DUPFD_CLOEXEC: never
// inherited by the programs workers spawn). Threads share the process's
// descriptor table, so the primary hands a client to a worker thread by
// this number; Node has no dup of its own. Throws with the errno's text.
//
//   dupCloexecTo(fd: number, target: number): number
//
// The same copy, at the number `target` (dup3 with O_CLOEXEC: whatever
// `target` was is closed first, atomically). The primary keeps a spare
// descriptor and copies a client's socket onto it, so a hand-off needs no
// free descriptor, and the client's copy sits low in the table.
//
//   reapChild(pid: number): boolean
//
// waitpid(pid, WNOHANG): true once `pid` is no longer a child to wait for
// (reaped now, or by someone else before: ECHILD), false while it runs. The
// programs of a worker thread that died are children of this process that
// no event loop waits for any more (libuv reaps only the children its own
// loop spawned): the primary kills them, then reaps them with this.
//
// Each writer has its own ring; Node-API only (ABI-stable): one binary
// serves every Node version >= 18.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/io_uring.h>)
#define HAVE_IO_URING 1
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#endif
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 // Node ignores SIGPIPE anyway
#endif

#define SEND_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)
// Sends queued per io_uring_enter; a bigger batch goes in several rounds.
#define RING_ENTRIES 1024u

typedef struct {
  int want_ring; // setMethod('io_uring') was asked (the default)
  int ring_failed; // io_uring could not be set up or failed: send() for good
#ifdef HAVE_IO_URING
  int fd; // -1: no ring yet
  unsigned entries;
  unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
  unsigned *cq_head, *cq_tail, *cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *sq_map, *cq_map;
  size_t sq_len, cq_len, sqes_len;
#endif
} writer;

#ifdef HAVE_IO_URING
static void ring_close(writer *w) {
  if (w->sqes) munmap(w->sqes, w->sqes_len);
  if (w->cq_map && w->cq_map != w->sq_map) munmap(w->cq_map, w->cq_len);
  if (w->sq_map) munmap(w->sq_map, w->sq_len);
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  w->sqes = NULL;
  w->sq_map = w->cq_map = NULL;
}

static void *map_ring(int fd, size_t len, off_t offset) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  return p == MAP_FAILED ? NULL : p;
}

// Sets up the ring and checks the kernel knows IORING_OP_SEND; 0 when it cannot.
static int ring_open(writer *w) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = RING_ENTRIES * 2;
  int fd = (int)syscall(__NR_io_uring_setup, RING_ENTRIES, &p);
  if (fd < 0) return 0;
  w->fd = fd;
  w->entries = p.sq_entries;
  w->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  w->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    if (w->cq_len > w->sq_len) w->sq_len = w->cq_len;
    w->sq_map = w->cq_map = map_ring(fd, w->sq_len, IORING_OFF_SQ_RING);
  } else {
    w->sq_map = map_ring(fd, w->sq_len, IORING_OFF_SQ_RING);
    w->cq_map = map_ring(fd, w->cq_len, IORING_OFF_CQ_RING);
  }
  w->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  w->sqes = map_ring(fd, w->sqes_len, IORING_OFF_SQES);
  if (!w->sq_map || !w->cq_map || !w->sqes) {
    ring_close(w);
    return 0;
  }
  char *sq = w->sq_map, *cq = w->cq_map;
  w->sq_head = (unsigned *)(sq + p.sq_off.head);
  w->sq_tail = (unsigned *)(sq + p.sq_off.tail);
  w->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  w->sq_array = (unsigned *)(sq + p.sq_off.array);
  w->cq_head = (unsigned *)(cq + p.cq_off.head);
  w->cq_tail = (unsigned *)(cq + p.cq_off.tail);
  w->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  w->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  // A kernel older than the opcode would fail every send with -EINVAL: ask first.
  size_t probe_len = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
  struct io_uring_probe *probe = calloc(1, probe_len);
  int ok = probe && syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, probe, 256) == 0 && probe->last_op >= IORING_OP_SEND &&
           (probe->ops[IORING_OP_SEND].flags & IO_URING_OP_SUPPORTED);
  free(probe);
  if (!ok) ring_close(w);
  return ok;
}

// One round of at most w->entries sends through the ring. 1: every out[i] is set.
// 0: the ring failed; the entries it never took were sent with send(), and a send
// it took but never reported is out[i] = -EIO (its outcome is unknown: the caller
// must not send those bytes again).
static void send_loop(const int32_t *fds, uint32_t n, const void *data, size_t len, int32_t *out);

static int ring_round(writer *w, const int32_t *fds, uint32_t n, const void *data, size_t len, int32_t *out) {
  unsigned tail = *w->sq_tail, mask = *w->sq_mask;
  for (uint32_t i = 0; i < n; i++) {
    unsigned idx = (tail + i) & mask;
    struct io_uring_sqe *s = &w->sqes[idx];
    memset(s, 0, sizeof *s);
    s->opcode = IORING_OP_SEND;
    s->fd = fds[i];
    s->addr = (uint64_t)(uintptr_t)data;
    s->len = (uint32_t)len;
    s->msg_flags = SEND_FLAGS;
    s->user_data = i;
    w->sq_array[idx] = idx;
    out[i] = -EIO;
  }
  __atomic_store_n(w->sq_tail, tail + n, __ATOMIC_RELEASE);
  uint32_t done = 0;
  int broken = 0;
  while (done < n && !broken) {
    unsigned pending = tail + n - __atomic_load_n(w->sq_head, __ATOMIC_ACQUIRE);
    long r = syscall(__NR_io_uring_enter, w->fd, pending, n - done, IORING_ENTER_GETEVENTS, NULL, 0);
    // EINTR, EAGAIN, EBUSY: nothing lost, reap what completed and go on; anything else: the ring is broken.
    if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) broken = 1;
    unsigned head = *w->cq_head, cmask = *w->cq_mask;
    unsigned ctail = __atomic_load_n(w->cq_tail, __ATOMIC_ACQUIRE);
    for (; head != ctail; head++) {
      struct io_uring_cqe *c = &w->cqes[head & cmask];
      if (c->user_data < n) out[c->user_data] = c->res;
      done++;
    }
    __atomic_store_n(w->cq_head, head, __ATOMIC_RELEASE);
  }
  if (!broken) return 1;
  // Entries are taken in order: those from `taken` on never reached the kernel.
  uint32_t taken = __atomic_load_n(w->sq_head, __ATOMIC_ACQUIRE) - tail;
  if (taken < n) send_loop(fds + taken, n - taken, data, len, out + taken);
  return 0;
}
#endif

static void send_loop(const int32_t *fds, uint32_t n, const void *data, size_t len, int32_t *out) {
  for (uint32_t i = 0; i < n; i++) {
    ssize_t r;
    do r = send(fds[i], data, len, SEND_FLAGS);
    while (r < 0 && errno == EINTR);
    out[i] = r >= 0 ? (int32_t)r : -errno;
  }
}

static int ring_ready(writer *w) {
#ifdef HAVE_IO_URING
  if (!w->want_ring || w->ring_failed) return 0;
  if (w->fd >= 0) return 1;
  if (ring_open(w)) return 1;
  w->ring_failed = 1;
#else
  (void)w;
#endif
  return 0;
}

static void write_all(writer *w, const int32_t *fds, uint32_t n, const void *data, size_t len, int32_t *out) {
#ifdef HAVE_IO_URING
  if (ring_ready(w)) {
    for (uint32_t at = 0; at < n;) {
      uint32_t m = n - at < w->entries ? n - at : w->entries;
      int ok = ring_round(w, fds + at, m, data, len, out + at);
      at += m;
      if (ok) continue;
      // The ring failed: give it up for good, and send the rest the plain way.
      w->ring_failed = 1;
      ring_close(w);
      send_loop(fds + at, n - at, data, len, out + at);
      return;
    }
    return;
  }
#endif
  send_loop(fds, n, data, len, out);
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

// The typed array `value` of `type`, its element count and its data.
static int typed(napi_env env, napi_value value, napi_typedarray_type type, size_t *length, void **data) {
  bool is = false;
  napi_typedarray_type got;
  if (napi_is_typedarray(env, value, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, value, &got, length, data, NULL, NULL) != napi_ok) return 0;
  return got == type;
}

static writer *writer_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *w = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &w) != napi_ok) return NULL;
  return w;
}

static napi_value get_method(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  writer *w = writer_of(env, info, &argc, NULL);
  if (!w) return fail(env, "method: not a FanoutWriter");
  napi_value result;
  napi_create_string_utf8(env, ring_ready(w) ? "io_uring" : "send", NAPI_AUTO_LENGTH, &result);
  return result;
}

static napi_value send_all(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  writer *w = writer_of(env, info, &argc, argv);
  if (!w) return fail(env, "sendAll: not a FanoutWriter");
  if (argc < 4) return fail(env, "sendAll(fds, count, data, out)");
  size_t nfds, nout, len;
  void *fds_p, *out_p, *data;
  uint32_t count;
  if (!typed(env, argv[0], napi_int32_array, &nfds, &fds_p)) return fail(env, "sendAll: fds must be an Int32Array");
  if (napi_get_value_uint32(env, argv[1], &count) != napi_ok) return fail(env, "sendAll: count must be a number");
  if (!typed(env, argv[2], napi_uint8_array, &len, &data)) return fail(env, "sendAll: data must be a Buffer or Uint8Array");
  if (!typed(env, argv[3], napi_int32_array, &nout, &out_p)) return fail(env, "sendAll: out must be an Int32Array");
  if (count > nfds || count > nout) return fail(env, "sendAll: count exceeds fds or out");
  if (len > INT32_MAX) return fail(env, "sendAll: data longer than 2 GiB");
  int32_t *out = out_p;
  uint32_t full = 0;
  if (len > 0 && count > 0) write_all(w, fds_p, count, data, len, out);
  for (uint32_t i = 0; i < count; i++) {
    if (len == 0) out[i] = 0;
    if ((size_t)out[i] == len) full++;
  }
  napi_value result;
  napi_create_uint32(env, full, &result);
  return result;
}

static void writer_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
#ifdef HAVE_IO_URING
  ring_close(data);
#endif
  free(data);
}

static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  char name[16] = "";
  size_t got = 0;
  if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &got) != napi_ok || (strcmp(name, "io_uring") != 0 && strcmp(name, "send") != 0))
    return fail(env, "new FanoutWriter('io_uring' | 'send')");
  writer *w = calloc(1, sizeof *w);
  if (!w) {
    napi_throw_error(env, "ENOMEM", "FanoutWriter: out of memory");
    return NULL;
  }
  w->want_ring = strcmp(name, "io_uring") == 0;
#ifdef HAVE_IO_URING
  w->fd = -1;
#endif
  if (napi_wrap(env, self, w, writer_free, NULL, NULL) != napi_ok) {
    free(w);
    return fail(env, "FanoutWriter: cannot wrap");
  }
  return self;
}

// The new descriptor, or the errno's text thrown (ERR_DUP) when the copy failed.
static napi_value descriptor_or_throw(napi_env env, int copy) {
  if (copy < 0) {
    napi_throw_error(env, "ERR_DUP", strerror(errno));
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, copy, &result);
  return result;
}

static napi_value dup_cloexec(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
    return fail(env, "dupCloexec(fd: a descriptor number)");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return descriptor_or_throw(env, copy);
}

static napi_value dup_cloexec_to(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd, target;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int32(env, argv[1], &target) != napi_ok || fd < 0 || target < 0 || fd == target)
    return fail(env, "dupCloexecTo(fd: a descriptor number, target: another one)");
  int copy;
  do copy = dup3(fd, target, O_CLOEXEC);
  while (copy < 0 && errno == EINTR);
  return descriptor_or_throw(env, copy);
}

static napi_value reap_child(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t pid;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0)
    return fail(env, "reapChild(pid: a process id > 0)");
  int status;
  pid_t got;
  do got = waitpid(pid, &status, WNOHANG);
  while (got < 0 && errno == EINTR);
  napi_value result;
  napi_get_boolean(env, got == pid || (got < 0 && errno == ECHILD), &result);
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"sendAll", NULL, send_all, NULL, NULL, NULL, napi_default_method, NULL},
      {"method", NULL, NULL, get_method, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value cls;
  if (napi_define_class(env, "FanoutWriter", NAPI_AUTO_LENGTH, construct, NULL, 2, props, &cls) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "FanoutWriter", cls) != napi_ok) return NULL;
  napi_value dup;
  if (napi_create_function(env, "dupCloexec", NAPI_AUTO_LENGTH, dup_cloexec, NULL, &dup) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dupCloexec", dup) != napi_ok) return NULL;
  napi_value dup_to;
  if (napi_create_function(env, "dupCloexecTo", NAPI_AUTO_LENGTH, dup_cloexec_to, NULL, &dup_to) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "dupCloexecTo", dup_to) != napi_ok) return NULL;
  napi_value reap;
  if (napi_create_function(env, "reapChild", NAPI_AUTO_LENGTH, reap_child, NULL, &reap) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "reapChild", reap) != napi_ok) return NULL;
  return exports;
}
