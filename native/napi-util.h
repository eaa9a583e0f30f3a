// N-API plumbing shared by overlayd's bindings (tun.c, udp.c): Node-style system errors, argument
// checks that throw instead of crashing, and calling back into JS from the event loop. Each binding is
// its own shared object, so everything here is static inline (no warning for what one of them leaves
// unused).
#ifndef OVERLAYD_NAPI_UTIL_H
#define OVERLAYD_NAPI_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <node_api.h>
#include <uv.h>

// An Error that looks like Node's system errors: `code` is the errno name, `errno` the negative errno,
// `syscall` names the operation; the message reads "CODE: why, syscall where" (why defaults to
// strerror).
static inline napi_value ovl_errno_error(napi_env env, int err, const char *syscall, const char *where, const char *why) {
  const char *code = uv_err_name(-err);
  char fallback[24];
  if (strncmp(code, "Unknown", 7) == 0) {
    snprintf(fallback, sizeof(fallback), "ERRNO%d", err);
    code = fallback;
  }
  char msg[256];
  snprintf(msg, sizeof(msg), "%s: %s, %s %s", code, why != NULL ? why : uv_strerror(-err), syscall, where);

  napi_value code_v, msg_v, error, errno_v, syscall_v;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v);
  napi_create_error(env, code_v, msg_v, &error);
  napi_create_int32(env, -err, &errno_v);
  napi_set_named_property(env, error, "errno", errno_v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_v);
  napi_set_named_property(env, error, "syscall", syscall_v);
  return error;
}

// A failed napi_* call (usually a wrong argument type) becomes a TypeError unless it already threw:
// some, like napi_get_typedarray_info on a non-TypedArray, return an error status without throwing.
static inline void ovl_throw_napi(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  const char *msg = info != NULL && info->error_message != NULL ? info->error_message : "invalid argument";
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
}

// In a napi_callback: return to JS with the error thrown if `call` fails.
#define OVL_CALL(call)                                                                                       \
  do {                                                                                                       \
    if ((call) != napi_ok) {                                                                                 \
      ovl_throw_napi(env);                                                                                   \
      return NULL;                                                                                           \
    }                                                                                                        \
  } while (0)

// In a napi_callback: `argv` holds the first `n` arguments, or a TypeError is thrown.
#define OVL_ARGS(n)                                                                                          \
  size_t argc = (n);                                                                                         \
  napi_value argv[(n)];                                                                                      \
  OVL_CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                                            \
  if (argc < (n)) {                                                                                          \
    napi_throw_type_error(env, "ERR_INVALID_ARG_COUNT", "missing arguments");                               \
    return NULL;                                                                                             \
  }

// The state struct a binding keeps in a JS Buffer: at least `size` bytes and pointer-aligned, or NULL
// with a TypeError naming `what` (the JS-visible sizeof_* constant).
static inline void *ovl_handle(napi_env env, napi_value handle, size_t size, const char *what) {
  void *data = NULL;
  size_t len = 0;
  if (napi_get_buffer_info(env, handle, &data, &len) != napi_ok || len < size ||
      ((uintptr_t)data % sizeof(void *)) != 0) {
    char msg[96];
    snprintf(msg, sizeof(msg), "handle must be an aligned Buffer of %s bytes", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
    return NULL;
  }
  return data;
}

// A typed array of the given type with at least `min_len` elements; NULL (and a RangeError) otherwise.
static inline void *ovl_typed(napi_env env, napi_value v, napi_typedarray_type want, size_t min_len, const char *what) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok) {
    ovl_throw_napi(env);
    return NULL;
  }
  if (type != want || len < min_len) {
    char msg[96];
    snprintf(msg, sizeof(msg), "%s has the wrong type or is too short", what);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
    return NULL;
  }
  return data;
}

static inline napi_value ovl_undefined(napi_env env) {
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

// Calls a JS function from the event loop: inside a callback scope (async context), with an exception
// raised as an uncaught exception, exactly like any other callback Node makes.
static inline void ovl_call_js(napi_env env, napi_async_context context, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_value fn, global, result;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || napi_get_global(env, &global) != napi_ok) return;
  if (napi_make_callback(env, context, global, fn, argc, argv, &result) == napi_pending_exception) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
  }
}

#endif
