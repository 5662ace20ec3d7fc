/*
 * mount(2) and umount2(2) for the snapshotter and the network namespaces
 * (src/core/mounts.ts), on libuv's thread pool with a promise. Running
 * util-linux mount/umount costs a fork of berthd and a parse of the whole
 * mount table, which grows with every running container: two of each on
 * every container's way up and down. An overlay's umount can wait on a sync
 * of its upper filesystem, so neither call runs on the event loop.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <node_api.h>
#include "errno_error.h"

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int unmount;           /* umount2(target, flags) instead of mount(...) */
  char *source, *target, *fstype, *data;
  unsigned long flags;
  int err;
} job;

/* A JS string argument as a malloc'd C string; NULL for null/undefined. Sets *bad on a non-string. */
static char *dup_arg(napi_env env, napi_value v, int *bad) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) { *bad = 1; return NULL; }
  if (t == napi_null || t == napi_undefined) return NULL;
  size_t len;
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) { *bad = 1; return NULL; }
  char *s = malloc(len + 1);
  if (!s || napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) { free(s); *bad = 1; return NULL; }
  return s;
}

static void free_job(job *j) {
  free(j->source); free(j->target); free(j->fstype); free(j->data); free(j);
}

static void execute(napi_env env, void *p) {
  (void)env;
  job *j = p;
  int r = j->unmount ? umount2(j->target, (int)j->flags) : mount(j->source, j->target, j->fstype, j->flags, j->data);
  j->err = r == 0 ? 0 : errno;
}

/* Settle the promise: undefined, or an Error shaped like Node's fs errors (code, errno, syscall, path). */
static void complete(napi_env env, napi_status status, void *p) {
  job *j = p;
  int err = status == napi_ok ? j->err : EINTR;
  if (err == 0) {
    napi_value u;
    napi_get_undefined(env, &u);
    napi_resolve_deferred(env, j->deferred, u);
  } else {
    napi_value e = errno_error(env, err, j->unmount ? "umount2" : "mount", j->target);
    napi_reject_deferred(env, j->deferred, e);
  }
  napi_delete_async_work(env, j->work);
  free_job(j);
}

/* The call on the thread pool, and its promise; a failure to queue it is thrown, never a promise left pending. */
static napi_value queue(napi_env env, job *j) {
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok) {
    free_job(j);
    napi_throw_error(env, NULL, "berth_mount: cannot make a promise");
    return NULL;
  }
  napi_create_string_utf8(env, j->unmount ? "berth_umount" : "berth_mount", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, execute, complete, j, &j->work) != napi_ok) {
    free_job(j);
    napi_throw_error(env, NULL, "berth_mount: cannot queue the call");
    return NULL;
  }
  if (napi_queue_async_work(env, j->work) != napi_ok) {
    napi_delete_async_work(env, j->work);
    free_job(j);
    napi_throw_error(env, NULL, "berth_mount: cannot queue the call");
    return NULL;
  }
  return promise;
}

static int arg_flags(napi_env env, napi_value v, unsigned long *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || d < 0) return -1;
  *out = (unsigned long)d;
  return 0;
}

/* mount(source, target, fstype, flags, data) -> Promise<void>; source/fstype/data may be null. */
static napi_value js_mount(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) goto bad;
  job *j = calloc(1, sizeof *j);
  if (!j) goto bad;
  int badarg = 0;
  j->source = dup_arg(env, argv[0], &badarg);
  j->target = dup_arg(env, argv[1], &badarg);
  j->fstype = dup_arg(env, argv[2], &badarg);
  j->data = dup_arg(env, argv[4], &badarg);
  if (badarg || !j->target || arg_flags(env, argv[3], &j->flags) < 0) { free_job(j); goto bad; }
  return queue(env, j);
bad:
  napi_throw_type_error(env, NULL, "berth_mount: mount(source, target, fstype, flags, data)");
  return NULL;
}

/* umount(target, flags) -> Promise<void> */
static napi_value js_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) goto bad;
  job *j = calloc(1, sizeof *j);
  if (!j) goto bad;
  int badarg = 0;
  j->unmount = 1;
  j->target = dup_arg(env, argv[0], &badarg);
  if (badarg || !j->target || arg_flags(env, argv[1], &j->flags) < 0) { free_job(j); goto bad; }
  return queue(env, j);
bad:
  napi_throw_type_error(env, NULL, "berth_mount: umount(target, flags)");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "mount", NAPI_AUTO_LENGTH, js_mount, NULL, &f);
  napi_set_named_property(env, exports, "mount", f);
  napi_create_function(env, "umount", NAPI_AUTO_LENGTH, js_umount, NULL, &f);
  napi_set_named_property(env, exports, "umount", f);
  return exports;
}
