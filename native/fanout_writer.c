// The native fan-out writer: one batch of stream bytes to many sockets in one
// call from JavaScript (src/fanout/direct-writer.ts decides which sockets).
//
//   sendAll(fds: Int32Array, count: number, data: Uint8Array, out: Int32Array): number
//
// For i < count: send(fds[i], data) once, never blocking (MSG_DONTWAIT) and
// never raising SIGPIPE (MSG_NOSIGNAL); out[i] = the bytes the kernel took,
// or -errno. Returns how many descriptors took all of `data`. A short write
// is not retried: the socket's buffer is full, and the rest belongs to the
// caller's normal write path (libuv), which waits for the socket to drain.
//
// Only Node-API (ABI-stable): one binary serves every Node version >= 18.
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 // Node ignores SIGPIPE anyway
#endif

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

static napi_value send_all(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return fail(env, "sendAll(fds, count, data, out)");
  size_t nfds, nout, len;
  void *fds_p, *out_p, *data;
  uint32_t count;
  if (!typed(env, argv[0], napi_int32_array, &nfds, &fds_p)) return fail(env, "sendAll: fds must be an Int32Array");
  if (napi_get_value_uint32(env, argv[1], &count) != napi_ok) return fail(env, "sendAll: count must be a number");
  if (!typed(env, argv[2], napi_uint8_array, &len, &data)) return fail(env, "sendAll: data must be a Buffer or Uint8Array");
  if (!typed(env, argv[3], napi_int32_array, &nout, &out_p)) return fail(env, "sendAll: out must be an Int32Array");
  if (count > nfds || count > nout) return fail(env, "sendAll: count exceeds fds or out");
  if (len > INT32_MAX) return fail(env, "sendAll: data longer than 2 GiB");
  const int32_t *fds = fds_p;
  int32_t *out = out_p;
  uint32_t full = 0;
  for (uint32_t i = 0; i < count; i++) {
    ssize_t n;
    do n = send(fds[i], data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    out[i] = n >= 0 ? (int32_t)n : -errno;
    if ((size_t)n == len) full++;
  }
  napi_value result;
  napi_create_uint32(env, full, &result);
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "sendAll", NAPI_AUTO_LENGTH, send_all, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendAll", fn) != napi_ok) return NULL;
  return exports;
}
