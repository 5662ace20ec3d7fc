/*
 * The two filesystem calls Node does not have, for unpacking layers inside a
 * tree held by a directory handle: mknodat (device nodes, fifos, overlayfs
 * whiteouts) and an extended attribute set on a name in a directory handle.
 * Each takes a directory fd and a single name (or the directory itself), so nothing is resolved by
 * string from a root a container could re-point (see src/archive/tree.ts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <node_api.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "berth_native: bad arguments"); return NULL; } } while (0)

/* An Error shaped like Node's fs errors: code, errno, syscall. */
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *name) {
  char msg[512];
  const char *code = strerrorname_np(err);
  if (!code) code = "EIO";
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall, name);
  napi_value m, e, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_value c;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_error(env, c, m, &e);
  napi_set_named_property(env, e, "code", c);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  napi_throw(env, e);
  return NULL;
}

/* A single path component: never empty, ".", ".." or containing "/". */
static int bad_name(const char *s) {
  return s[0] == '\0' || strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) return -1;
  return len + 1 >= cap ? -1 : 0;
}

/* mknodat(dirfd, name, mode, major, minor): mode carries the type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
static napi_value js_mknodat(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) { napi_throw_type_error(env, NULL, "mknodat(dirfd, name, mode, major, minor)"); return NULL; }
  int32_t dirfd; uint32_t mode, major, minor;
  char name[4096];
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  if (get_string(env, argv[1], name, sizeof name) < 0 || bad_name(name)) { napi_throw_type_error(env, NULL, "mknodat: name must be one path component"); return NULL; }
  CHECK(napi_get_value_uint32(env, argv[2], &mode));
  CHECK(napi_get_value_uint32(env, argv[3], &major));
  CHECK(napi_get_value_uint32(env, argv[4], &minor));
  if (mknodat(dirfd, name, (mode_t)mode, makedev(major, minor)) != 0) return throw_errno(env, errno, "mknodat", name);
  return NULL;
}

/* setxattrAt(dirfd, name, attr, value): the attribute of the entry itself, a symlink never followed. */
static napi_value js_setxattr_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) { napi_throw_type_error(env, NULL, "setxattrAt(dirfd, name, attr, value)"); return NULL; }
  int32_t dirfd;
  char name[4096], attr[256], path[4200];
  void *data; size_t len;
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  if (get_string(env, argv[1], name, sizeof name) < 0 || bad_name(name)) { napi_throw_type_error(env, NULL, "setxattrAt: name must be one path component"); return NULL; }
  if (get_string(env, argv[2], attr, sizeof attr) < 0) { napi_throw_type_error(env, NULL, "setxattrAt: bad attribute name"); return NULL; }
  CHECK(napi_get_buffer_info(env, argv[3], &data, &len));
  /* The directory through its handle (a magic link the container cannot re-point), then one name, not followed. */
  snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, name);
  if (lsetxattr(path, attr, data, len, 0) != 0) return throw_errno(env, errno, "lsetxattr", name);
  return NULL;
}

/* setxattrFd(fd, attr, value): the attribute of the directory a handle holds (the magic link leads to exactly it). */
static napi_value js_setxattr_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) { napi_throw_type_error(env, NULL, "setxattrFd(fd, attr, value)"); return NULL; }
  int32_t fd;
  char attr[256], path[64];
  void *data; size_t len;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  if (get_string(env, argv[1], attr, sizeof attr) < 0) { napi_throw_type_error(env, NULL, "setxattrFd: bad attribute name"); return NULL; }
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if (setxattr(path, attr, data, len, 0) != 0) return throw_errno(env, errno, "setxattr", attr);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "mknodat", NAPI_AUTO_LENGTH, js_mknodat, NULL, &fn);
  napi_set_named_property(env, exports, "mknodat", fn);
  napi_create_function(env, "setxattrAt", NAPI_AUTO_LENGTH, js_setxattr_at, NULL, &fn);
  napi_set_named_property(env, exports, "setxattrAt", fn);
  napi_create_function(env, "setxattrFd", NAPI_AUTO_LENGTH, js_setxattr_fd, NULL, &fn);
  napi_set_named_property(env, exports, "setxattrFd", fn);
  return exports;
}
