/*
 * Idmapped mounts for user-namespace remapping (src/snapshots/idmap.ts):
 * open_tree(2) a detached clone of a directory, mount_setattr(2) it with
 * MOUNT_ATTR_IDMAP and a user namespace's mapping, then move_mount(2) it onto
 * a target. Node has none of these calls, nor has runc 1.1 or util-linux
 * mount 2.38 a way to ask for them, so a layer can be shown to a remapped
 * container with shifted owners without a chowned copy of the image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/mount.h>
#include <node_api.h>
#include "errno_error.h"

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/* idmapMount(usernsFd, source, target): `source` (one directory, not its submounts) idmapped onto `target`. */
static napi_value js_idmap_mount(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t nsfd;
  char src[4096], dst[4096];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || napi_get_value_int32(env, argv[0], &nsfd) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], src, sizeof src, &len) != napi_ok || len + 1 >= sizeof src ||
      napi_get_value_string_utf8(env, argv[2], dst, sizeof dst, &len) != napi_ok || len + 1 >= sizeof dst) {
    napi_throw_type_error(env, NULL, "berth_idmap: idmapMount(usernsFd, source, target)");
    return NULL;
  }
  int fd = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open_tree", src);
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (unsigned long long)nsfd;
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "mount_setattr", src);
  }
  if (syscall(SYS_move_mount, fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "move_mount", dst);
  }
  close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "idmapMount", NAPI_AUTO_LENGTH, js_idmap_mount, NULL, &fn);
  napi_set_named_property(env, exports, "idmapMount", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
