/*
 * The *at filesystem calls Node does not have, for work inside a tree held by
 * a directory handle (src/archive/tree.ts): mknodat (device nodes, fifos,
 * overlayfs whiteouts), extended attributes, and openat, mkdirat, symlinkat,
 * linkat, unlinkat, fchownat, utimensat, fstatat and readlinkat on a handle
 * and one name (Node reaches them only through /proc/self/fd/N/name, at a
 * procfs walk per call, which costs a layer of 20,000 files a quarter more).
 * Each takes a directory fd and a single name (or the directory itself), so nothing is resolved by
 * string from a root a container could re-point (see src/archive/tree.ts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <node_api.h>
#include "errno_error.h"

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "berth_native: bad arguments"); return NULL; } } while (0)

/* A single path component: never empty, ".", ".." or containing "/". */
static int bad_name(const char *s) {
  return s[0] == '\0' || strchr(s, '/') != NULL || strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t cap) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, buf, cap, &len) != napi_ok) return -1;
  return len + 1 >= cap ? -1 : 0;
}

/* Argument readers shared by every wrapper below. */
static int arg_fd(napi_env env, napi_value v, int32_t *out) { return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1; }
static int arg_name(napi_env env, napi_value v, char *buf, size_t cap) { return get_string(env, v, buf, cap) < 0 || bad_name(buf) ? -1 : 0; }
#define ARGS(n) size_t argc = n; napi_value argv[n]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); \
  if (argc < n) { napi_throw_type_error(env, NULL, "berth_native: missing arguments"); return NULL; }
#define BAD_ARGS() do { napi_throw_type_error(env, NULL, "berth_native: bad arguments (a name must be one path component)"); return NULL; } while (0)

/* mknodat(dirfd, name, mode, major, minor): mode carries the type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
static napi_value js_mknodat(napi_env env, napi_callback_info info) {
  ARGS(5)
  int32_t dirfd; uint32_t mode, major, minor; char name[4096];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  CHECK(napi_get_value_uint32(env, argv[2], &mode));
  CHECK(napi_get_value_uint32(env, argv[3], &major));
  CHECK(napi_get_value_uint32(env, argv[4], &minor));
  if (mknodat(dirfd, name, (mode_t)mode, makedev(major, minor)) != 0) return throw_errno(env, errno, "mknodat", name);
  return NULL;
}

/* setxattrAt(dirfd, name, attr, value): the attribute of the entry itself, a symlink never followed. */
static napi_value js_setxattr_at(napi_env env, napi_callback_info info) {
  ARGS(4)
  int32_t dirfd; char name[4096], attr[256], path[4200];
  void *data; size_t len;
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name) || get_string(env, argv[2], attr, sizeof attr) < 0) BAD_ARGS();
  CHECK(napi_get_buffer_info(env, argv[3], &data, &len));
  /* The directory through its handle (a magic link the container cannot re-point), then one name, not followed. */
  snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, name);
  if (lsetxattr(path, attr, data, len, 0) != 0) return throw_errno(env, errno, "lsetxattr", name);
  return NULL;
}

/* setxattrFd(fd, attr, value): the attribute of the directory a handle holds (the magic link leads to exactly it). */
static napi_value js_setxattr_fd(napi_env env, napi_callback_info info) {
  ARGS(3)
  int32_t fd; char attr[256], path[64];
  void *data; size_t len;
  if (arg_fd(env, argv[0], &fd) || get_string(env, argv[1], attr, sizeof attr) < 0) BAD_ARGS();
  CHECK(napi_get_buffer_info(env, argv[2], &data, &len));
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if (setxattr(path, attr, data, len, 0) != 0) return throw_errno(env, errno, "setxattr", attr);
  return NULL;
}

/* openat(dirfd, name, flags, mode) -> fd */
static napi_value js_openat(napi_env env, napi_callback_info info) {
  ARGS(4)
  int32_t dirfd, flags; uint32_t mode; char name[4096];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  CHECK(napi_get_value_int32(env, argv[2], &flags));
  CHECK(napi_get_value_uint32(env, argv[3], &mode));
  int fd = openat(dirfd, name, flags | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return throw_errno(env, errno, "openat", name);
  napi_value r; napi_create_int32(env, fd, &r); return r;
}

/* mkdirat(dirfd, name, mode) */
static napi_value js_mkdirat(napi_env env, napi_callback_info info) {
  ARGS(3)
  int32_t dirfd; uint32_t mode; char name[4096];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  CHECK(napi_get_value_uint32(env, argv[2], &mode));
  if (mkdirat(dirfd, name, (mode_t)mode) != 0) return throw_errno(env, errno, "mkdirat", name);
  return NULL;
}

/* symlinkat(target, dirfd, name) */
static napi_value js_symlinkat(napi_env env, napi_callback_info info) {
  ARGS(3)
  int32_t dirfd; char target[4096], name[4096];
  if (get_string(env, argv[0], target, sizeof target) < 0 || arg_fd(env, argv[1], &dirfd) || arg_name(env, argv[2], name, sizeof name)) BAD_ARGS();
  if (symlinkat(target, dirfd, name) != 0) return throw_errno(env, errno, "symlinkat", name);
  return NULL;
}

/* linkat(olddirfd, oldname, newdirfd, newname): the old entry itself, a symlink never followed */
static napi_value js_linkat(napi_env env, napi_callback_info info) {
  ARGS(4)
  int32_t odir, ndir; char oname[4096], nname[4096];
  if (arg_fd(env, argv[0], &odir) || arg_name(env, argv[1], oname, sizeof oname) || arg_fd(env, argv[2], &ndir) || arg_name(env, argv[3], nname, sizeof nname)) BAD_ARGS();
  if (linkat(odir, oname, ndir, nname, 0) != 0) return throw_errno(env, errno, "linkat", nname);
  return NULL;
}

/* unlinkat(dirfd, name, removeDir) */
static napi_value js_unlinkat(napi_env env, napi_callback_info info) {
  ARGS(3)
  int32_t dirfd; bool dir; char name[4096];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  CHECK(napi_get_value_bool(env, argv[2], &dir));
  if (unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0) != 0) return throw_errno(env, errno, "unlinkat", name);
  return NULL;
}

/* lchownat(dirfd, name, uid, gid): the entry itself */
static napi_value js_lchownat(napi_env env, napi_callback_info info) {
  ARGS(4)
  int32_t dirfd; uint32_t uid, gid; char name[4096];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  CHECK(napi_get_value_uint32(env, argv[2], &uid));
  CHECK(napi_get_value_uint32(env, argv[3], &gid));
  if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, errno, "fchownat", name);
  return NULL;
}

/* lutimesat(dirfd, name, atime, mtime): seconds (fractional), the entry itself */
static napi_value js_lutimesat(napi_env env, napi_callback_info info) {
  ARGS(4)
  int32_t dirfd; double at, mt; char name[4096];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  CHECK(napi_get_value_double(env, argv[2], &at));
  CHECK(napi_get_value_double(env, argv[3], &mt));
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)at; ts[0].tv_nsec = (long)((at - (double)ts[0].tv_sec) * 1e9);
  ts[1].tv_sec = (time_t)mt; ts[1].tv_nsec = (long)((mt - (double)ts[1].tv_sec) * 1e9);
  if (ts[0].tv_nsec < 0) ts[0].tv_nsec = 0;
  if (ts[1].tv_nsec < 0) ts[1].tv_nsec = 0;
  if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) return throw_errno(env, errno, "utimensat", name);
  return NULL;
}

/* modeAt(dirfd, name) -> st_mode of the entry itself, or 0 when there is none */
static napi_value js_mode_at(napi_env env, napi_callback_info info) {
  ARGS(2)
  int32_t dirfd; char name[4096];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  struct stat st;
  uint32_t mode = 0;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) mode = st.st_mode;
  else if (errno != ENOENT) return throw_errno(env, errno, "fstatat", name);
  napi_value r; napi_create_uint32(env, mode, &r); return r;
}

/* readlinkat(dirfd, name) -> the link's text */
static napi_value js_readlinkat(napi_env env, napi_callback_info info) {
  ARGS(2)
  int32_t dirfd; char name[4096], buf[4097];
  if (arg_fd(env, argv[0], &dirfd) || arg_name(env, argv[1], name, sizeof name)) BAD_ARGS();
  ssize_t n = readlinkat(dirfd, name, buf, sizeof buf - 1);
  if (n < 0) return throw_errno(env, errno, "readlinkat", name);
  napi_value r; napi_create_string_utf8(env, buf, (size_t)n, &r); return r;
}

#define EXPORT(js, fn) do { napi_create_function(env, js, NAPI_AUTO_LENGTH, fn, NULL, &f); napi_set_named_property(env, exports, js, f); } while (0)

NAPI_MODULE_INIT() {
  napi_value f;
  EXPORT("mknodat", js_mknodat);
  EXPORT("setxattrAt", js_setxattr_at);
  EXPORT("setxattrFd", js_setxattr_fd);
  EXPORT("openat", js_openat);
  EXPORT("mkdirat", js_mkdirat);
  EXPORT("symlinkat", js_symlinkat);
  EXPORT("linkat", js_linkat);
  EXPORT("unlinkat", js_unlinkat);
  EXPORT("lchownat", js_lchownat);
  EXPORT("lutimesat", js_lutimesat);
  EXPORT("modeAt", js_mode_at);
  EXPORT("readlinkat", js_readlinkat);
  return exports;
}
