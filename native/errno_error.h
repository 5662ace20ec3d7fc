/*
 * The one error every addon throws or rejects with for a failed system call:
 * shaped like Node's fs errors (message "CODE: description, syscall 'path'",
 * and code, errno, syscall, path), so callers test `e.code` as for fs calls.
 */
#ifndef BERTH_ERRNO_ERROR_H
#define BERTH_ERRNO_ERROR_H
/* strerrorname_np needs _GNU_SOURCE, defined by each addon before its first include. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <node_api.h>

static napi_value errno_error(napi_env env, int err, const char *syscall, const char *path) {
  const char *code = strerrorname_np(err);
  if (!code) code = "EIO";
  size_t cap = strlen(path) + strlen(syscall) + 160;
  char *msg = malloc(cap);
  if (msg) snprintf(msg, cap, "%s: %s, %s '%s'", code, strerror(err), syscall, path);
  napi_value m, c, e, v;
  napi_create_string_utf8(env, msg ? msg : code, NAPI_AUTO_LENGTH, &m);
  free(msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_set_named_property(env, e, "code", c);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "path", v);
  return e;
}

/* Throw it; returns NULL for `return throw_errno(...)`. */
static inline napi_value throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  napi_throw(env, errno_error(env, err, syscall, path));
  return NULL;
}

#endif
